#!/usr/bin/env bash
# The chart installs the CRDs from its own crds/ directory (Helm reads CRDs only there, and
# packages only files inside the chart), so charts/weir/crds/ holds copies of the generated
# files in crds/. This fails when the copies differ from crds/ in any way: a changed,
# missing or extra file.
#
#   charts/weir/check-crds.sh          check (make lint)
#   charts/weir/check-crds.sh --fix    make the copies match crds/ (after `weir crd --write crds`)
#
# Why copies and not a symlink: Helm follows a symlinked crds/ (with a warning on every
# command) and `helm package` stores real files, but Flux builds charts from Git without
# following symlinks and Windows checkouts turn them into text files.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src=$root/crds
dst=$root/charts/weir/crds

case ${1:-} in
  --fix)
    rm -rf "$dst"
    mkdir -p "$dst"
    cp "$src"/*.yaml "$dst"/
    echo "check-crds.sh: copied $(ls "$src"/*.yaml | wc -l) CRDs from crds/ into charts/weir/crds/"
    ;;
  "")
    if ! diff -r "$src" "$dst" >/dev/null; then
      diff -r --brief "$src" "$dst" >&2 || true
      echo "check-crds.sh: charts/weir/crds/ differs from crds/; run charts/weir/check-crds.sh --fix" >&2
      exit 1
    fi
    echo "check-crds.sh: charts/weir/crds/ matches crds/ ($(ls "$src"/*.yaml | wc -l) files)"
    ;;
  *) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac
