#!/usr/bin/env bash
# Short fuzzing run of every weir fuzz target, for CI and by hand:
#   fuzz/run.sh 60        # each target for 60 seconds
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Fails when a target finds a crash; the reproducer lands in fuzz/artifacts/.
set -euo pipefail

seconds="${1:-60}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
# The fuzz workspace keeps its own target dir: its sanitizer flags would
# otherwise invalidate the shared build cache of the main workspace.
export CARGO_TARGET_DIR="$here/target"

# Seed the template target with the built-in templates (corpus/ is not committed).
mkdir -p corpus/render_template target
cp ../crates/weir-render/src/templates/*.yaml.j2 corpus/render_template/
# Seed the resource parser with the examples and the CLI tests' broken inputs.
mkdir -p corpus/parse_resources
cp ../examples/*.yaml ../examples/templates/*.yaml ../crates/weir/tests/fixtures/* corpus/parse_resources/

status=0
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target"
  extra=()
  if [[ -f "$target.dict" ]]; then
    extra+=("-dict=$target.dict")
  fi
  echo "== $target (${seconds}s)"
  # -rss_limit_mb: the renderer caps output at 1 MiB, so 2 GiB means a leak or blow-up.
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      "${extra[@]}" 2>&1 | tee "target/$target.log" | grep -E "^(#[0-9]+ +(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY)"; then
    :
  fi
  if grep -qE "^==[0-9]+== ERROR|panicked at|deadly signal|SUMMARY: libFuzzer" "target/$target.log"; then
    echo "!! $target found a crash: see fuzz/target/$target.log and fuzz/artifacts/$target/"
    status=1
  fi
done
exit "$status"
