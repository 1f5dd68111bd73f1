#!/usr/bin/env bash
# python-venv.sh REQUIREMENTS NAME: prints the path of a venv with REQUIREMENTS installed,
# building it first when missing, into ~/.cache/weir/venv-NAME-<hash of the file + python>.
# Built in a temporary directory and renamed into place when complete, so an interrupted
# build is never used; changing the requirements builds a new one.
set -euo pipefail
req=$1
name=$2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/weir"
venv="$cache/venv-$name-$({ python3 -VV; cat "$req"; } | sha256sum | cut -c1-16)"
if [ ! -f "$venv/.complete" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.venv-build.XXXXXX")
  echo "building $venv (once per requirements change)" >&2
  python3 -m venv "$tmp" >&2
  "$tmp/bin/python" -m pip install --quiet --no-input -r "$req" >&2 || { rm -rf "$tmp"; exit 1; }
  touch "$tmp/.complete"
  # Another run may have finished first; its venv is as good as ours.
  if [ -f "$venv/.complete" ]; then rm -rf "$tmp"; else rm -rf "$venv" && mv "$tmp" "$venv"; fi
fi
echo "$venv"
