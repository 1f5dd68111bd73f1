#!/usr/bin/env bash
# Template rendering benchmark (issues 3 and 14): weir-render (Rust) against
# Python Jinja2 + PyYAML on the same template text and the same context, in one run.
#
#   bench/render.sh            # from the repository root or anywhere
#
# 1. checks that both engines render the built-ins byte for byte alike (same work);
# 2. runs the criterion bench `render` of weir-render (median of its samples);
# 3. runs bench/jinja2_render.py (median of timeit repeats);
# 4. prints the medians and the ratio Python / Rust for each Rust row: first the
#    whole per-step path (render -> typed, stamped Job; the seed's Jinja2 render +
#    yaml.safe_load_all), then the render alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 -c 'import jinja2, yaml' 2>/dev/null || python3 -m pip install --quiet jinja2 pyyaml

echo "== same output from both engines"
cargo build -q --release -p weir-render --example render_builtin
for name in job spark dbt; do
  "$CARGO_TARGET_DIR/release/examples/render_builtin" "$name" "bench/${name}_context.json" >"$tmp/rust.yaml"
  python3 bench/jinja2_render.py --print "$name" "bench/${name}_context.json" >"$tmp/python.yaml"
  if ! cmp -s "$tmp/rust.yaml" "$tmp/python.yaml"; then
    echo "$name: minijinja and Jinja2 render different text:" >&2
    diff "$tmp/rust.yaml" "$tmp/python.yaml" >&2 || true
    exit 1
  fi
  echo "$name: identical ($(wc -c <"$tmp/rust.yaml") bytes)"
done

echo "== Rust (criterion)"
cargo bench -q -p weir-render --bench render -- --warm-up-time 2 --measurement-time 5 2>&1 |
  grep -E "^(step|job)/|time:" || true

echo "== Python (Jinja2)"
python3 bench/jinja2_render.py --json >"$tmp/python.json"

python3 - "$CARGO_TARGET_DIR/criterion" "$tmp/python.json" <<'PY'
import json, pathlib, sys
criterion, python = pathlib.Path(sys.argv[1]), json.loads(pathlib.Path(sys.argv[2]).read_text())
def median(group, bench):
    estimates = criterion / group / bench / "new" / "estimates.json"
    return json.loads(estimates.read_text())["median"]["point_estimate"]
def table(title, python_ns, python_label, rows):
    print(f"-- {title}")
    print(f"{python_label + ':':58} {python_ns / 1000:9.2f} µs")
    for group, bench, label in rows:
        rust = median(group, bench)
        print(f"{label + ':':58} {rust / 1000:9.2f} µs   Python / Rust {python_ns / rust:6.1f}x")
versions = f"Jinja2 {python['jinja2']}, PyYAML {python['pyyaml']}, Python {python['python']}"
print(versions)
table("per step attempt (template -> typed, stamped Job)", python["step_median_ns"],
      "Python: Jinja2 render + yaml.safe_load_all (seed, KJO)", [
    ("step", "job", "Rust: render_value, render_job, stamp_job"),
])
for bench, label in [("parse_yaml", "  of which YAML text -> JSON value"), ("typed", "  of which JSON value -> typed Job"),
                     ("yaml_to_job", "  (YAML text -> typed Job directly)")]:
    print(f"{label + ':':58} {median('step', bench) / 1000:9.2f} µs")
table("template -> text only", python["median_ns"], "Python: Jinja2 render", [
    ("job", "render", "Rust: context converted per call"),
    ("job", "render_prepared", "Rust: context prepared once"),
])
PY
