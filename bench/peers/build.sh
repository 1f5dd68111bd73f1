#!/usr/bin/env bash
# Builds a benchmark peer from the pinned Go module next to this script and prints the path
# of its binary:  bench/peers/build.sh rclone
#
# Each peer has its own wrapper module (bench/peers/<peer>/go.mod + go.sum), never shared:
# Go's version selection would otherwise move one peer's dependencies for another. The
# cache lives outside the clone (WEIR_PEERS_CACHE, default ~/.cache/weir/peers), keyed by
# the Go version, the peer's go.mod/go.sum and this script. A build happens in a temporary
# directory and is renamed into place only when the binary is there, so an interrupted
# build is never used. A second run costs a hash. Cold, each takes minutes on a busy 2-core
# machine (Argo's workflow-controller ~5 min, 1.4 GB of modules): run it niced, and not from
# `make test`.
set -euo pipefail

peer=${1:?usage: bench/peers/build.sh PEER (rclone, argo, gofakes3)}
case "$peer" in
  rclone) pkg=github.com/rclone/rclone ;;
  argo) pkg=github.com/argoproj/argo-workflows/v3/cmd/workflow-controller ;;
  gofakes3) pkg=github.com/johannesboyne/gofakes3/cmd/gofakes3 ;;
  *) echo "build.sh: unknown peer '$peer' (known: rclone, argo, gofakes3)" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mod=$here/$peer
key=$(
  {
    go version
    echo "$peer"
    cat "$mod/go.mod" "$mod/go.sum" "$here/build.sh"
  } | sha256sum | cut -c1-16
)
base=${WEIR_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weir/peers}
out=$base/$key
if [ -f "$out/.complete" ]; then
  echo "$out/bin/$peer"
  exit 0
fi

mkdir -p "$base"
tmp=$(mktemp -d "$base/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
# -mod=readonly: the committed go.sum is the pin; a build never rewrites it.
export CGO_ENABLED=0 GOFLAGS=-mod=readonly

started=$(date +%s)
(cd "$mod" && nice -n 10 go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp/bin/$peer" "$pkg")
echo "build.sh: $peer built ($(( $(date +%s) - started ))s)" >&2

[ -x "$tmp/bin/$peer" ] || { echo "build.sh: $peer is missing after the build" >&2; exit 1; }
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out/bin/$peer"
