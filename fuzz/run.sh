#!/usr/bin/env bash
# Short fuzzing run of every weir fuzz target, for CI (`make fuzz`) and by hand:
#   fuzz/run.sh 60        # each target for 60 seconds
# Installs what it needs (cargo-fuzz; see below) on first use.
# Fails when a target finds a crash (reproducer in fuzz/artifacts/TARGET/, log in
# fuzz/out/TARGET.log) or cannot be built or run.
# The build goes to ~/.cache/weir/target-fuzz (WEIR_FUZZ_TARGET_DIR overrides it), outside
# the clone, so CI on a fresh clone reuses it. corpus/, artifacts/ and out/ are not committed.
set -euo pipefail

seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: fuzz/run.sh [SECONDS per target]" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# What the fuzz build needs is installed by the project, never by hand (a fresh CI machine has
# neither cargo-fuzz nor, necessarily, a nightly toolchain):
# - cargo-fuzz, pinned, built from crates.io into ~/.cache/weir/tools (once per machine);
# - libFuzzer's sanitizer flags are nightly-only: a nightly toolchain when rustup has one,
#   otherwise the pinned stable toolchain with RUSTC_BOOTSTRAP=1 (same flags, same compiler
#   front end; only the unstable-feature gate is lifted, for this build alone).
CARGO_FUZZ_VERSION=0.13.2
tools="${WEIR_TOOLS_DIR:-$HOME/.cache/weir/tools}"
export PATH="$tools/bin:$PATH"
if [[ "$(cargo-fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into $tools (crates.io, once per machine)" >&2
  # The pinned toolchain builds it; its own target dir keeps the weir caches untouched.
  CARGO_TARGET_DIR="$tools/build" cargo install --quiet --locked --root "$tools" \
    --version "$CARGO_FUZZ_VERSION" cargo-fuzz
  rm -rf "$tools/build"
fi
if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  echo "fuzz: no nightly toolchain; using the pinned one with RUSTC_BOOTSTRAP=1" >&2
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi

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

targets="$(cargo "${toolchain[@]}" fuzz list)"
[[ -n "$targets" ]] || { echo "fuzz: 'cargo fuzz list' found no targets" >&2; exit 1; }

# Build every target in one cargo call first (the targets' binaries then link in parallel);
# each `cargo fuzz run` below only finds them up to date.
cargo "${toolchain[@]}" fuzz build

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
  cargo "${toolchain[@]}" fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      "${extra[@]}" 2>&1 | tee "$log" \
    | grep -E "^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ?ERROR|SUMMARY)"
  rc=${PIPESTATUS[0]}
  set -e
  if grep -qE "^==[0-9]+== ?ERROR|panicked at|deadly signal|SUMMARY: libFuzzer" "$log"; then
    echo "!! $target found a crash: log fuzz/out/$target.log, reproducer in fuzz/artifacts/$target/" \
      "(replay: CARGO_TARGET_DIR=$CARGO_TARGET_DIR cargo ${toolchain[*]} fuzz run $target fuzz/artifacts/$target/FILE)"
    grep -m1 -A1 "panicked at" "$log" || true
    status=1
  elif [[ "$rc" -ne 0 ]]; then
    echo "!! $target: cargo fuzz exited with $rc; see fuzz/out/$target.log"
    status=1
  fi
done
exit "$status"
