#!/usr/bin/env bash
# weir-data transfer against rclone copy (issue 10), S3 → GCS on the loopback emulators,
# both tools in the same run on the same source objects:
#
#   bench/transfer.sh [SET_OBJECTS] [SET_OBJECT_MIB]     (default 64 objects of 4 MiB)
#
# 1. builds weir-data (release) and rclone (bench/peers/build.sh, cached);
# 2. starts its own object-store servers (WEIR_CLUSTER_DIR=/tmp/weir-bench-objstore, so a
#    developer's are untouched) and stops them on exit;
# 3. writes the source objects to S3 (random bytes, through weir-data from local files);
# 4. copies each case once with each tool into an empty GCS prefix, timing it with
#    /usr/bin/time (wall seconds, peak RSS of the process);
# 5. checks each tool's copy has every object with the source's size (and weir's the CRC32C)
#    and prints the Markdown table BENCHMARKS.md quotes.
#
# Both tools stream with 4 objects at once and 8 MiB upload chunks (rclone's GCS default is
# 16 MiB; the emulator copies its whole upload buffer on every chunk, so equal chunks mean
# equal server work). rclone is configured by RCLONE_CONFIG_* variables only.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
set_objects=${1:-64}
set_mib=${2:-4}
export CARGO_TARGET_DIR=${WEIR_BENCH_TARGET_DIR:-$HOME/.cache/weir/target-release}
export WEIR_CLUSTER_DIR=${WEIR_BENCH_OBJSTORE_DIR:-/tmp/weir-bench-objstore}

cargo build -q --release -p weir-data
weir_data=$CARGO_TARGET_DIR/release/weir-data
rclone=$(bench/peers/build.sh rclone)

work=$(mktemp -d)
cleanup() {
  tests/cluster/objstore.sh down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
tests/cluster/objstore.sh down >/dev/null 2>&1 || true
tests/cluster/objstore.sh up >/dev/null
# shellcheck disable=SC1091
source "$WEIR_CLUSTER_DIR/objstore.env"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
wd() {
  "$weir_data" --s3-endpoint "$WEIR_S3_ENDPOINT" --s3-region us-east-1 --s3-path-style \
    --gcs-endpoint "$WEIR_GCS_ENDPOINT" --gcs-anonymous "$@"
}
# rclone: an S3 remote and a GCS remote from the environment alone (no config file).
export RCLONE_CONFIG=$work/no-rclone.conf
export RCLONE_CONFIG_SRC_TYPE=s3 RCLONE_CONFIG_SRC_PROVIDER=Other
export RCLONE_CONFIG_SRC_ENDPOINT=$WEIR_S3_ENDPOINT RCLONE_CONFIG_SRC_REGION=us-east-1
export RCLONE_CONFIG_SRC_ACCESS_KEY_ID=test RCLONE_CONFIG_SRC_SECRET_ACCESS_KEY=test
export RCLONE_CONFIG_SRC_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_DST_TYPE=gcs RCLONE_CONFIG_DST_ANONYMOUS=true
export RCLONE_CONFIG_DST_ENDPOINT=$WEIR_GCS_ENDPOINT/storage/v1/
export RCLONE_CONFIG_DST_BUCKET_POLICY_ONLY=true

make_bucket() {
  case $1 in
    s3) curl -fsS -X PUT "$WEIR_S3_ENDPOINT/$2" >/dev/null ;;
    gcs) curl -fsS -X POST -H 'content-type: application/json' -d "{\"name\":\"$2\"}" \
      "$WEIR_GCS_ENDPOINT/storage/v1/b?project=test" >/dev/null ;;
  esac
}
make_bucket s3 src
make_bucket gcs weir
make_bucket gcs rclone

# Source objects: local random files, uploaded to S3 by weir-data (file:// → s3://).
mkdir -p "$work/src/set" "$work/src/one64" "$work/src/one1024"
for i in $(seq -w 1 "$set_objects"); do
  head -c $((set_mib << 20)) /dev/urandom >"$work/src/set/obj-$i.bin"
done
head -c $((64 << 20)) /dev/urandom >"$work/src/one64/object.bin"
head -c $((1024 << 20)) /dev/urandom >"$work/src/one1024/object.bin"
wd transfer --quiet --from "file://$work/src/" --to s3://src/ >/dev/null 2>&1
rm -rf "$work/src"

# measure TOOL CASE: one copy of s3://src/CASE/ into gs://TOOL/CASE/; prints "seconds kib".
measure() {
  local tool=$1 case=$2 out=$work/$1-$2.time
  case $tool in
    weir) /usr/bin/time -o "$out" -f '%e %M' "$weir_data" --s3-endpoint "$WEIR_S3_ENDPOINT" \
      --s3-region us-east-1 --s3-path-style --gcs-endpoint "$WEIR_GCS_ENDPOINT" --gcs-anonymous \
      transfer --quiet --concurrency 4 --part-size-mib 8 \
      --from "s3://src/$case/" --to "gs://weir/$case/" >"$work/weir-$case.json" 2>"$work/weir-$case.err" ;;
    rclone) /usr/bin/time -o "$out" -f '%e %M' "$rclone" copy --transfers 4 --gcs-chunk-size 8M \
      "src:src/$case" "dst:rclone/$case" 2>"$work/rclone-$case.err" ;;
  esac || { echo "transfer.sh: $tool failed on $case" >&2; cat "$work/$tool-$case.err" >&2; exit 1; }
  tail -1 "$out"
}

# check TOOL CASE COUNT BYTES: the copy holds COUNT objects of BYTES total.
check() {
  local listing
  listing=$(curl -fsS "$WEIR_GCS_ENDPOINT/storage/v1/b/$1/o?prefix=$2/")
  python3 - "$listing" "$3" "$4" "$1/$2" <<'EOF'
import json, sys
items = json.loads(sys.argv[1]).get("items", [])
n, total = len(items), sum(int(i["size"]) for i in items)
if (n, total) != (int(sys.argv[2]), int(sys.argv[3])):
    sys.exit(f"transfer.sh: {sys.argv[4]} holds {n} objects, {total} bytes")
EOF
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "weir-data $(git rev-parse --short HEAD), rclone $("$rclone" version | head -1 | awk '{print $2}')"
echo
echo "| case | tool | seconds | MiB/s | peak RSS MiB |"
echo "|---|---|---:|---:|---:|"
declare -A secs
for case in set one64 one1024; do
  case $case in
    set) count=$set_objects bytes=$((set_objects * set_mib << 20)) label="$set_objects × $set_mib MiB" ;;
    one64) count=1 bytes=$((64 << 20)) label="1 × 64 MiB" ;;
    one1024) count=1 bytes=$((1024 << 20)) label="1 × 1 GiB" ;;
  esac
  for tool in weir rclone; do
    read -r s kib < <(measure "$tool" "$case")
    check "$tool" "$case" "$count" "$bytes"
    secs[$tool-$case]=$s
    awk -v l="$label" -v t="$tool" -v s="$s" -v b="$bytes" -v k="$kib" \
      'BEGIN { printf "| %s | %s | %.2f | %.1f | %.1f |\n", l, t, s, b / 1048576 / s, k / 1024 }'
  done
done
echo
for case in set one64 one1024; do
  awk -v c="$case" -v w="${secs[weir-$case]}" -v r="${secs[rclone-$case]}" \
    'BEGIN { printf "throughput weir / rclone, %s: %.2f×\n", c, r / w }'
done
