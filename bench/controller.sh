#!/usr/bin/env bash
# The run engine's benchmark (issue 4) on a fresh local cluster:
#   bench/controller.sh [SCALE]      (SCALE single-step runs, SCALE/10 10-step runs,
#                                     SCALE runs active at once; default 1000)
# Builds a release controller, starts a dedicated cluster (its own WEIR_CLUSTER_DIR, so it
# never touches a developer's), runs tests/src/bin/bench-runs.rs, stops the cluster, and
# prints the Markdown table BENCHMARKS.md quotes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scale=${1:-1000}
export CARGO_TARGET_DIR=${WEIR_BENCH_TARGET_DIR:-$HOME/.cache/weir/target-release}
export WEIR_CLUSTER_DIR=${WEIR_BENCH_CLUSTER_DIR:-/tmp/weir-bench-cluster}
cargo build -q --release -p weir -p weir-e2e --bin weir --bin bench-runs
trap 'tests/cluster/cluster.sh down >/dev/null 2>&1 || true' EXIT
tests/cluster/cluster.sh down >/dev/null 2>&1 || true
tests/cluster/cluster.sh up
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ)"
WEIR_BIN=$CARGO_TARGET_DIR/release/weir WEIR_BENCH_SCALE=$scale "$CARGO_TARGET_DIR/release/bench-runs"
