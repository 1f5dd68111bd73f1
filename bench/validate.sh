#!/usr/bin/env bash
# validate benchmark (issue 15): `weir-data validate` against Great Expectations 1.24 on its
# pandas engine, each end to end in a fresh process (import, read, validate, result), on the
# same Parquet files and the same 10-expectation suite; then weir alone on 10x the rows, to
# show whether its memory stays flat. One script, one run.
#
#   bench/validate.sh                      # 2,000,000 rows (and 20,000,000 for weir)
#   ROUNDS=5 ROWS=2000000 BIG=20000000 bench/validate.sh
#
# Needs python3 and cargo. The GE venv (great_expectations 1.24.1, pandas 3.1.1, pyarrow
# 26.0.1; pinned in bench/validate-requirements.txt) is built once into
# ~/.cache/weir/venv-ge-<hash>; weir-data is built with --release into $CARGO_TARGET_DIR
# (default ~/.cache/weir/target-release, shared with the other benchmarks). The data is
# generated once into ~/.cache/weir/bench-validate-ROWS. Peak RSS is /usr/bin/time -v's
# maximum resident set.
# Before any number counts, GE's and weir's results are compared: every expectation's
# success, unexpected count and numeric observed value must agree.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rows=${ROWS:-2000000}
big=${BIG:-20000000}
rounds=${ROUNDS:-5}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target-release}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/weir"
venv=$(scripts/python-venv.sh bench/validate-requirements.txt ge)
py="$venv/bin/python"
bin="$CARGO_TARGET_DIR/release/weir-data"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "building weir-data (release) in $CARGO_TARGET_DIR" >&2
cargo build -q --release -p weir-data

data_for() {
  local n=$1 dir="$cache/bench-validate-$1"
  if [ ! -f "$dir/.complete" ]; then
    echo "generating $n rows into $dir" >&2
    rm -rf "$dir"
    "$py" bench/validate_data.py --rows "$n" --out "$dir" >&2
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# measure NAME CMD...: one run; appends "wall_seconds peak_kib" to $scratch/NAME.
measure() {
  local name=$1; shift
  /usr/bin/time -v "$@" >"$scratch/$name.out" 2>"$scratch/$name.err" || {
    local code=$?
    # weir-data exits 3 when the data is below the threshold; anything else is a failure.
    if [ "$code" != 3 ]; then cat "$scratch/$name.err" >&2; exit 1; fi
  }
  awk '/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s }
       /Maximum resident set size/ { m = $NF }
       END { print w, m }' "$scratch/$name.err" >>"$scratch/$name"
}

# median COLUMN FILE
median() {
  sort -n -k"$1" "$2" | awk -v c="$1" '{ v[NR] = $c } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

small=$(data_for "$rows")
weir() {
  measure "$1" "$bin" --termination-log "$scratch/termination-log" validate \
    --suite "$2/suite.json" --data "file://$2/data/" --threshold 0
}
ge() {
  measure "$1" "$py" bench/validate_ge.py run --suite "$2/suite.json" --data "$2/data" --out "$scratch/ge.json"
}

echo "== machine"
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ { print $2 " GiB" }')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" -c 'import great_expectations as gx, pandas, pyarrow, sys; print("great_expectations", gx.__version__, "pandas", pandas.__version__, "pyarrow", pyarrow.__version__, "Python", sys.version.split()[0])' 2>/dev/null
echo "weir-data: $(git rev-parse --short HEAD), polars $(grep -A1 '^name = "polars"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p')"

echo "== agreement ($rows rows)"
weir agree-weir "$small"
ge agree-ge "$small"
"$py" bench/validate_ge.py compare --ge "$scratch/ge.json" --weir "$scratch/agree-weir.out"

echo "== $rows rows x 10 expectations, $rounds rounds each, alternating"
for _ in $(seq "$rounds"); do
  weir weir "$small"
  ge ge "$small"
done
for tool in weir ge; do
  printf '%s: wall s %s (runs: %s); peak RSS MiB %s\n' "$tool" \
    "$(median 1 "$scratch/$tool")" "$(cut -d' ' -f1 "$scratch/$tool" | tr '\n' ' ')" \
    "$(awk '{ print $2 / 1024 }' "$scratch/$tool" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
done
echo "weir's own summary: $(grep '^validate: [0-9]' "$scratch/weir.err" | tail -1)"
echo "GE's own split: $(grep '^ge:' "$scratch/ge.err" | tail -1)"

echo "== weir alone: memory against rows"
for n in "$rows" "$big"; do
  dir=$(data_for "$n")
  for _ in 1 2 3; do weir "big-$n" "$dir"; done
  printf '%s rows (%s files, %s MiB): wall s %s; peak RSS MiB %s\n' "$n" \
    "$(ls "$dir/data" | wc -l)" "$(du -sm "$dir/data" | cut -f1)" \
    "$(median 1 "$scratch/big-$n")" "$(awk '{ print $2 / 1024 }' "$scratch/big-$n" | sort -n | sed -n 2p)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
