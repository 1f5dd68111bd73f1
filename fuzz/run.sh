#!/usr/bin/env bash
# Short fuzzing run of every weir fuzz target, for CI (`make fuzz`) and by hand:
#   fuzz/run.sh 60        # each target for 60 seconds
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Fails when a target finds a crash (reproducer in fuzz/artifacts/TARGET/, log in
# fuzz/out/TARGET.log) or cannot be built or run.
# The build goes to ~/.cache/weir/target-fuzz (WEIR_FUZZ_TARGET_DIR overrides it), outside
# the clone, so CI on a fresh clone reuses it. corpus/, artifacts/ and out/ are not committed.
set -euo pipefail

seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: fuzz/run.sh [SECONDS per target]" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

cargo +nightly --version >/dev/null 2>&1 && cargo +nightly fuzz --version >/dev/null 2>&1 || {
  echo "fuzz: needs 'cargo +nightly' and 'cargo fuzz' (rustup toolchain install nightly; cargo install cargo-fuzz)" >&2
  exit 1
}

# The fuzz workspace keeps its own target dir, not make's CARGO_TARGET_DIR: its sanitizer
# flags would otherwise invalidate the shared build cache of the main workspace.
export CARGO_TARGET_DIR="${WEIR_FUZZ_TARGET_DIR:-$HOME/.cache/weir/target-fuzz}"
mkdir -p "$CARGO_TARGET_DIR" out

# Seed the template target with the built-in templates.
mkdir -p corpus/render_template
cp ../crates/weir-render/src/templates/*.yaml.j2 corpus/render_template/
# Seed the resource parser with the examples and the CLI tests' broken inputs.
mkdir -p corpus/parse_resources
cp ../examples/*.yaml ../examples/templates/*.yaml ../crates/weir/tests/fixtures/* corpus/parse_resources/

targets="$(cargo +nightly fuzz list)"
[[ -n "$targets" ]] || { echo "fuzz: 'cargo fuzz list' found no targets" >&2; exit 1; }

# Build every target in one cargo call first (the targets' binaries then link in parallel);
# each `cargo fuzz run` below only finds them up to date.
cargo +nightly fuzz build

status=0
for target in $targets; do
  mkdir -p "corpus/$target"
  log="out/$target.log"
  extra=()
  if [[ -f "$target.dict" ]]; then
    extra+=("-dict=$target.dict")
  fi
  echo "== $target (${seconds}s)"
  # -rss_limit_mb: the renderer caps output at 1 MiB, so 2 GiB means a leak or blow-up.
  # The full output goes to the log; the summary lines to the terminal.
  set +e
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      "${extra[@]}" 2>&1 | tee "$log" \
    | grep -E "^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ?ERROR|SUMMARY)"
  rc=${PIPESTATUS[0]}
  set -e
  if grep -qE "^==[0-9]+== ?ERROR|panicked at|deadly signal|SUMMARY: libFuzzer" "$log"; then
    echo "!! $target found a crash: log fuzz/out/$target.log, reproducer in fuzz/artifacts/$target/" \
      "(replay: CARGO_TARGET_DIR=$CARGO_TARGET_DIR cargo +nightly fuzz run $target fuzz/artifacts/$target/FILE)"
    grep -m1 -A1 "panicked at" "$log" || true
    status=1
  elif [[ "$rc" -ne 0 ]]; then
    echo "!! $target: cargo fuzz exited with $rc; see fuzz/out/$target.log"
    status=1
  fi
done
exit "$status"
