#!/usr/bin/env bash
# TLS is rustls with aws-lc-rs everywhere: a second rustls crypto provider (ring) panics at
# the first TLS call, and OpenSSL would make the images non-static. This fails when either
# is anywhere in the workspace's dependency tree (normal, build and dev, every target).
# Cargo.lock may list such crates as unused optional dependencies; `cargo tree` is the truth.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=0
for crate in ring openssl-sys; do
  tree=$(cargo tree -q --workspace --target all -e normal,build,dev -i "$crate" 2>/dev/null || true)
  if [ -n "$tree" ]; then
    echo "check-tls: $crate is in the dependency tree:" >&2
    echo "$tree" >&2
    failed=1
  fi
done
exit "$failed"
