#!/usr/bin/env bash
# Template rendering benchmark (issue 3): weir-render (Rust) against Python
# Jinja2 on the same template text and the same context, in one run.
#
#   bench/render.sh            # from the repository root or anywhere
#
# 1. checks that both engines render the built-ins byte for byte alike (same work);
# 2. runs the criterion bench `render` of weir-render (median of its samples);
# 3. runs bench/jinja2_render.py (median of timeit repeats);
# 4. prints the medians and the ratio Python / Rust for each Rust row. The `job`
#    built-in renders through its compiled form (crates/weir-render/src/fast);
#    the last row renders it through minijinja, as every other template is.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 -c 'import jinja2' 2>/dev/null || python3 -m pip install --quiet jinja2

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
  grep -E "^job/|time:" || true

echo "== Python (Jinja2)"
python3 bench/jinja2_render.py --json >"$tmp/python.json"

python3 - "$CARGO_TARGET_DIR/criterion" "$tmp/python.json" <<'PY'
import json, pathlib, sys
criterion, python = pathlib.Path(sys.argv[1]), json.loads(pathlib.Path(sys.argv[2]).read_text())
def median(bench):
    return json.loads((criterion / "job" / bench / "new" / "estimates.json").read_text())["median"]["point_estimate"]
rows = [
    ("render", "Rust render (context conversion included)"),
    ("render_prepared", "Rust render (context prepared once)"),
    ("render_typed", "Rust render + YAML -> typed Job"),
    ("render_interpreted", "Rust render through minijinja (prepared)"),
]
py = python["median_ns"]
print(f"{'Python Jinja2 ' + python['jinja2'] + ' (Python ' + python['python'] + ') render:':48} {py / 1000:8.2f} µs")
for bench, label in rows:
    rust = median(bench)
    print(f"{label + ':':48} {rust / 1000:8.2f} µs   ratio {py / rust:5.1f}x")
PY
