#!/usr/bin/env bash
# weir side by side with Argo Workflows v3.7.18 on the same local cluster (issue 13):
#
#   bench/compare.sh [--quick] [--qps 50] [--burst 100] [--out FILE]
#
# Workloads (the same DAG for both: a weir Pipeline and an Argo WorkflowTemplate, runs
# referencing them, step pods kept, the same kwok pod run time):
#   1 step × 1,000 runs, a 10-step chain × 100, a 100-item fan-out × 10;
#   each with pods that run 1 s and 30 s.
# Systems: weir; weir creating bare Pods through `resource:` steps ("weir-pod", the
# prototype of a bare-Pod step mode); Argo's workflow-controller alone ("argo"); Argo with
# the harness playing its executor's WorkflowTaskResult writes ("argo-exec").
# Every scenario gets a fresh cluster
# (its own WEIR_CLUSTER_DIR, never a developer's), so the API server's and etcd's counters
# hold that scenario only. --quick divides the run counts by 10 (fan-out: 2 runs).
#
# Environment: WEIR_COMPARE_SYSTEMS, WEIR_COMPARE_WORKLOADS, WEIR_COMPARE_RUN_MS narrow the
# matrix (space-separated); WEIR_BENCH_TARGET_DIR is the cargo target dir (release).
# Builds a release weir and the harness, and Argo's controller (bench/peers/build.sh argo,
# cached). Prints the Markdown tables of BENCHMARKS.md at the end (bench-compare table).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

qps=50 burst=100 quick=0 out=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --qps) qps=$2; shift ;;
    --burst) burst=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

export CARGO_TARGET_DIR=${WEIR_BENCH_TARGET_DIR:-$HOME/.cache/weir/target-release}
export WEIR_CLUSTER_DIR=${WEIR_BENCH_CLUSTER_DIR:-$root/.cluster/compare}
export WEIR_CLUSTER_EXTRA_STAGES=$root/bench/argo-stages.yaml
mkdir -p "$WEIR_CLUSTER_DIR"
out=${out:-$WEIR_CLUSTER_DIR/results-$(date -u +%Y%m%dT%H%M).jsonl}

cargo build -q --release -p weir -p weir-e2e --bin weir --bin bench-compare
argo_bin=$(bench/peers/build.sh argo)
argo_mod=$(cd bench/peers/argo && GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' github.com/argoproj/argo-workflows/v3)
argo_crds=$argo_mod/manifests/base/crds/minimal
export WEIR_BIN=$CARGO_TARGET_DIR/release/weir
harness=$CARGO_TARGET_DIR/release/bench-compare

runs_for() { # WORKLOAD -> runs
  case "$1:$quick" in
    single:0) echo 1000 ;; chain:0) echo 100 ;; fanout:0) echo 10 ;;
    single:1) echo 100 ;; chain:1) echo 10 ;; fanout:1) echo 2 ;;
  esac
}

# The etcd metrics URL of the running cluster (kwokctl's generated config names the port).
etcd_metrics() {
  local cfg=$WEIR_CLUSTER_DIR/kwok/clusters/weir/kwok.yaml port
  port=$(awk '/^ *etcdPort:/ {print $2; exit}' "$cfg" 2>/dev/null || true)
  [ -n "$port" ] && echo "http://127.0.0.1:$port/metrics"
}

trap 'tests/cluster/cluster.sh down >/dev/null 2>&1 || true' EXIT
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "results: $out"
for run_ms in ${WEIR_COMPARE_RUN_MS:-1000 30000}; do
  for workload in ${WEIR_COMPARE_WORKLOADS:-single chain fanout}; do
    for system in ${WEIR_COMPARE_SYSTEMS:-weir weir-pod argo argo-exec}; do
      echo "== $system $workload ${run_ms}ms × $(runs_for "$workload") runs ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
      tests/cluster/cluster.sh down >/dev/null 2>&1 || true
      tests/cluster/cluster.sh up >/dev/null
      etcd=$(etcd_metrics || true)
      "$harness" run --system "$system" --workload "$workload" --runs "$(runs_for "$workload")" \
        --run-ms "$run_ms" --qps "$qps" --burst "$burst" --argo-bin "$argo_bin" \
        --argo-crds "$argo_crds" ${etcd:+--etcd-metrics "$etcd"} --out "$out" >/dev/null \
        || echo "compare.sh: $system $workload ${run_ms}ms failed; see above" >&2
    done
  done
done
tests/cluster/cluster.sh down >/dev/null 2>&1 || true
"$harness" table "$out"
