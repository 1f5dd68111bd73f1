#!/usr/bin/env bash
# schema-groups benchmark (issue 10): weir-data schema-groups against pyarrow reading the same
# Parquet footers (pyarrow.parquet.read_schema through pyarrow's S3FileSystem), side by side
# in one run, on the loopback S3 servers (moto, and gofakes3 built from its Go module by
# bench/peers/build.sh) and on file://.
#
#   bench/schema_groups.sh [FILES]        # default 10000; from anywhere
#   ROUNDS=2 bench/schema_groups.sh       # rounds per tool (default 3); medians are reported
#   MOTO=0 bench/schema_groups.sh         # without the moto rows (server-bound, slow)
#
# Needs python3 and cargo. Starts the object-store servers (tests/cluster/objstore.sh up) if
# they are not up, and leaves them as they were found. The venv (pyarrow, boto3; pinned in
# bench/schema_groups-requirements.txt) is built once into ~/.cache/weir/venv-bench-<hash>;
# weir-data is built with --release into $CARGO_TARGET_DIR (default
# ~/.cache/weir/target-release). The generated files are cached in
# ~/.cache/weir/bench-parquet-FILES; the upload is skipped while the server holds them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
files=${1:-10000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target-release}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/weir"
req=bench/schema_groups-requirements.txt

venv="$cache/venv-bench-$({ python3 -VV; cat "$req"; } | sha256sum | cut -c1-16)"
if [ ! -f "$venv/.complete" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.venv-build.XXXXXX")
  echo "building $venv (once per requirements change)" >&2
  python3 -m venv "$tmp" >&2
  "$tmp/bin/python" -m pip install --quiet --no-input -r "$req" >&2 || { rm -rf "$tmp"; exit 1; }
  touch "$tmp/.complete"
  if [ -f "$venv/.complete" ]; then rm -rf "$tmp"; else rm -rf "$venv" && mv "$tmp" "$venv"; fi
fi

started_servers=
if ! tests/cluster/objstore.sh status >/dev/null 2>&1; then
  tests/cluster/objstore.sh up >&2
  started_servers=1
fi
scratch=$(mktemp -d)
fakes3_pid=
cleanup() {
  if [ -n "$fakes3_pid" ]; then kill "$fakes3_pid" 2>/dev/null || true; wait "$fakes3_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
  if [ -n "$started_servers" ]; then tests/cluster/objstore.sh down >&2; fi
}
trap cleanup EXIT

# The second S3 server: gofakes3 (Go, in memory), built from its pinned module like the other
# peers. It serves requests on all cores, so it shows what the clients cost when the server
# is not the limit. It prints its port once it listens.
gofakes3=$(bench/peers/build.sh gofakes3)
"$gofakes3" -backend memory -host 127.0.0.1:0 -initialbucket weir-bench -quiet \
  >"$scratch/gofakes3.log" 2>&1 &
fakes3_pid=$!
fakes3_port=
for _ in $(seq 100); do
  fakes3_port=$(sed -n 's/.*using port: \([0-9]*\).*/\1/p' "$scratch/gofakes3.log")
  [ -n "$fakes3_port" ] && break
  kill -0 "$fakes3_pid" 2>/dev/null || { cat "$scratch/gofakes3.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$fakes3_port" ] || { echo "gofakes3 did not start" >&2; exit 1; }

run_dir=${WEIR_CLUSTER_DIR:-$root/.cluster}
# shellcheck disable=SC1091
source "$run_dir/objstore.env"
moto_pid=$(cat "$run_dir/objstore/s3.pid")

echo "building weir-data (release) in $CARGO_TARGET_DIR" >&2
cargo build -q --release -p weir-data

echo "== machine"
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "gofakes3 $(sed -n 's/.*johannesboyne\/gofakes3 \(v[^ ]*\).*/\1/p' bench/peers/gofakes3/go.mod)"
echo "$("$venv/bin/python" -c 'import pyarrow, sys; print("pyarrow", pyarrow.__version__, "Python", sys.version.split()[0])'), moto $(grep -E '^moto\[server\]==' tests/cluster/objstore-requirements.txt)"
moto_flag=()
if [ "${MOTO:-1}" = 0 ]; then moto_flag=(--no-moto); fi
echo "== schema-groups over $files files"
"$venv/bin/python" bench/schema_groups.py --weir-data "$CARGO_TARGET_DIR/release/weir-data" \
  --endpoint "$WEIR_S3_ENDPOINT" --moto-pid "$moto_pid" --moto-log "$run_dir/objstore/s3.log" \
  --gofakes3-endpoint "http://127.0.0.1:$fakes3_port" --gofakes3-pid "$fakes3_pid" \
  --files "$files" --rounds "${ROUNDS:-3}" --scratch "$scratch" "${moto_flag[@]}"
