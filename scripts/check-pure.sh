#!/usr/bin/env bash
# The pure crates (types, DAG, templates, planner) must build without kube's client, an
# async runtime or an HTTP stack. In a workspace build cargo unifies features, so a pure
# crate that starts using, say, `kube::Client` still compiles there (weir-controller turns
# the client on). This checks each pure crate on its own: its dependency tree holds none of
# those crates, and it compiles with only the features it asks for.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pure=(weir-api weir-dag weir-render weir-core weir-glob)
forbidden='^(kube-client|kube-runtime|tokio|hyper|reqwest|tower|rustls|futures-executor) '
failed=0
for crate in "${pure[@]}"; do
  leaked=$(cargo tree -q -p "$crate" -e normal --prefix none | grep -E "$forbidden" | sort -u || true)
  if [ -n "$leaked" ]; then
    echo "check-pure: $crate depends on $(echo "$leaked" | awk '{print $1}' | paste -sd, -)" >&2
    failed=1
  fi
  if ! cargo check -q -p "$crate" --lib; then
    echo "check-pure: $crate does not build on its own (it relies on a feature another crate turns on)" >&2
    failed=1
  fi
done
exit "$failed"
