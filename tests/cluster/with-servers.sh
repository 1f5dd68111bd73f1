#!/usr/bin/env bash
# Runs a command against a freshly started local cluster and object-store servers, then stops
# them whatever happens (failure, Ctrl-C, TERM). When anything fails, prints the servers' logs.
#
#   tests/cluster/with-servers.sh make e2e
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ]; then
    echo "with-servers.sh: failed (exit $rc); server logs follow" >&2
    "$here/cluster.sh" logs || true
    "$here/objstore.sh" logs || true
  fi
  "$here/cluster.sh" down || rc=1
  "$here/objstore.sh" down || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Fresh servers: nothing a previous run left behind leaks into this one.
"$here/cluster.sh" down
"$here/objstore.sh" down
"$here/cluster.sh" up
"$here/objstore.sh" up
"$@"
