#!/usr/bin/env bash
# weir-data transfer against rclone copy (issue 10) on the loopback object-store servers,
# both tools in the same run on the same source objects:
#
#   bench/transfer.sh [SET_OBJECTS] [SET_OBJECT_MIB]     (default 64 objects of 4 MiB)
#
# 1. builds weir-data (release) and rclone (bench/peers/build.sh, cached);
# 2. starts its own object-store servers (WEIR_CLUSTER_DIR=/tmp/weir-bench-objstore, so a
#    developer's are untouched) and stops them on exit;
# 3. writes the source objects to S3 (random bytes, through weir-data from local files);
# 4. copies each case once with each tool into an empty prefix, timed by /usr/bin/time
#    (wall seconds, peak RSS of the process): the set S3 → GCS, the 64 MiB and the 1 GiB
#    object S3 → S3 (see below);
# 5. checks each copy holds every object at the source's size, and prints the Markdown
#    table BENCHMARKS.md quotes.
#
# Both tools run with their defaults, 4 objects at once (weir --concurrency, rclone
# --transfers): weir uploads 8 MiB parts one after the other per object; rclone 5 MiB S3
# chunks 4 at a time per object, 16 MiB GCS chunks. rclone is configured by RCLONE_CONFIG_*
# variables only (no config file).
#
# Why the large objects go S3 → S3: rclone's GCS client (google.golang.org/api) uploads an
# object over one 16 MiB chunk as a resumable upload that sends `X-GUploader-No-308: yes`,
# and fails on the 308 gcp-storage-emulator answers anyway ("unexpected 308 response status
# code"; real GCS answers 200 with X-Http-Status-Code-Override). The set's objects are below
# 16 MiB, so S3 → GCS works for both tools there.
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
# The S3 → S3 destination is a second remote: within one remote rclone would copy server-side
# (CopyObject), and no byte would go through it.
export RCLONE_CONFIG_S3DST_TYPE=s3 RCLONE_CONFIG_S3DST_PROVIDER=Other
export RCLONE_CONFIG_S3DST_ENDPOINT=$WEIR_S3_ENDPOINT RCLONE_CONFIG_S3DST_REGION=us-east-1
export RCLONE_CONFIG_S3DST_ACCESS_KEY_ID=test RCLONE_CONFIG_S3DST_SECRET_ACCESS_KEY=test
export RCLONE_CONFIG_S3DST_FORCE_PATH_STYLE=true

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
make_bucket s3 weir-s3
make_bucket s3 rclone-s3

# Source objects: local random files, uploaded to S3 by weir-data (file:// → s3://).
mkdir -p "$work/src/set" "$work/src/one64" "$work/src/one1024"
for i in $(seq -w 1 "$set_objects"); do
  head -c $((set_mib << 20)) /dev/urandom >"$work/src/set/obj-$i.bin"
done
head -c $((64 << 20)) /dev/urandom >"$work/src/one64/object.bin"
head -c $((1024 << 20)) /dev/urandom >"$work/src/one1024/object.bin"
wd transfer --quiet --from "file://$work/src/" --to s3://src/ >/dev/null 2>&1
rm -rf "$work/src"

# dest TOOL CASE: where a copy goes: gs://TOOL/set/ for the set, s3://TOOL-s3/CASE/ else.
dest() { if [ "$2" = set ]; then echo "gs://$1/set/"; else echo "s3://$1-s3/$2/"; fi; }

# measure TOOL CASE: one copy of s3://src/CASE/; prints "seconds peak-KiB".
measure() {
  local tool=$1 case=$2 out=$work/$1-$2.time to
  to=$(dest "$tool" "$case")
  case $tool in
    weir) /usr/bin/time -o "$out" -f '%e %M' "$weir_data" --s3-endpoint "$WEIR_S3_ENDPOINT" \
      --s3-region us-east-1 --s3-path-style --gcs-endpoint "$WEIR_GCS_ENDPOINT" --gcs-anonymous \
      transfer --quiet --concurrency 4 --from "s3://src/$case/" --to "$to" \
      >"$work/weir-$case.json" 2>"$work/weir-$case.err" ;;
    rclone) /usr/bin/time -o "$out" -f '%e %M' "$rclone" copy --transfers 4 \
      "src:src/$case" "$(sed -E 's#^gs://#dst:#; s#^s3://#s3dst:#' <<<"$to")" \
      2>"$work/rclone-$case.err" ;;
  esac || { echo "transfer.sh: $tool failed on $case" >&2; cat "$work/$tool-$case.err" >&2; exit 1; }
  tail -1 "$out"
}

# check TOOL CASE COUNT BYTES: the copy holds COUNT objects of BYTES in all.
check() {
  local to listing
  to=$(dest "$1" "$2")
  if [ "${to#gs://}" != "$to" ]; then
    listing=$(curl -fsS "$WEIR_GCS_ENDPOINT/storage/v1/b/$1/o?prefix=$2/")
  else
    listing=$(curl -fsS "$WEIR_S3_ENDPOINT/$1-s3?list-type=2&prefix=$2/")
  fi
  python3 -c '
import json, re, sys
text = sys.argv[1]
if text.startswith("{"):
    sizes = [int(i["size"]) for i in json.loads(text).get("items", [])]
else:
    sizes = [int(s) for s in re.findall(r"<Size>(\d+)</Size>", text)]
if (len(sizes), sum(sizes)) != (int(sys.argv[2]), int(sys.argv[3])):
    sys.exit(f"transfer.sh: {sys.argv[4]} holds {len(sizes)} objects, {sum(sizes)} bytes")
' "$listing" "$3" "$4" "$to"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "weir-data $(git rev-parse --short HEAD) (release), rclone $("$rclone" version | head -1 | awk '{print $2}')"
echo
echo "| objects | route | tool | seconds | MiB/s | peak RSS MiB |"
echo "|---|---|---|---:|---:|---:|"
declare -A secs
for case in set one64 one1024; do
  case $case in
    set) count=$set_objects bytes=$((set_objects * set_mib << 20)) label="$set_objects × $set_mib MiB" route="S3 → GCS" ;;
    one64) count=1 bytes=$((64 << 20)) label="1 × 64 MiB" route="S3 → S3" ;;
    one1024) count=1 bytes=$((1024 << 20)) label="1 × 1 GiB" route="S3 → S3" ;;
  esac
  for tool in weir rclone; do
    read -r s kib < <(measure "$tool" "$case")
    check "$tool" "$case" "$count" "$bytes"
    secs[$tool-$case]=$s
    awk -v l="$label" -v r="$route" -v t="$tool" -v s="$s" -v b="$bytes" -v k="$kib" \
      'BEGIN { printf "| %s | %s | %s | %.2f | %.1f | %.1f |\n", l, r, t, s, b / 1048576 / s, k / 1024 }'
  done
done
echo
for case in set one64 one1024; do
  awk -v c="$case" -v w="${secs[weir-$case]}" -v r="${secs[rclone-$case]}" \
    'BEGIN { printf "throughput weir / rclone, %s: %.2f×\n", c, r / w }'
done
