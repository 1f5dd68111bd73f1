#!/usr/bin/env bash
# The README's first command (`make demo`): builds what is needed, starts the local control
# plane, installs weir's CRDs, runs the controller, applies examples/hello.yaml and follows a
# run of it to the end with live per-step progress. The cluster and the controller stay up
# for exploring; `make cluster-down` stops both.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}
run_dir=${WEIR_CLUSTER_DIR:-$root/.cluster}
say() { echo "demo: $*" >&2; }

say "building the control plane's binaries (cached after the first time)"
bin=$(tests/cluster/build.sh)
export PATH="$bin:$PATH"
say "building weir"
cargo build -q -p weir
weir=$CARGO_TARGET_DIR/debug/weir

tests/cluster/cluster.sh up
export KUBECONFIG=$run_dir/kubeconfig

say "installing weir's CRDs"
"$weir" crd | kubectl apply --server-side --field-manager=weir-demo -f - >/dev/null
kubectl wait --for=condition=Established crd/pipelines.weir.dev crd/pipelineruns.weir.dev --timeout=60s >/dev/null

# One controller, found again by its pid file (never by name) so a second `make demo`
# replaces it instead of starting another.
pid_file=$run_dir/demo-controller.pid
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  kill "$(cat "$pid_file")" && sleep 1
fi
log=$run_dir/demo-controller.log
say "starting the controller (log: $log, metrics: http://127.0.0.1:18080/metrics)"
nohup "$weir" controller --metrics-addr 127.0.0.1:18080 --normal-events >"$log" 2>&1 &
echo $! >"$pid_file"
for _ in $(seq 1 100); do
  curl -fsS http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS http://127.0.0.1:18080/readyz >/dev/null || { cat "$log" >&2; say "the controller did not become ready"; exit 1; }

say "applying examples/hello.yaml and running it"
kubectl apply -f examples/hello.yaml >/dev/null
"$weir" run hello -p greeting=hi --wait
run=$(kubectl get pipelineruns -o jsonpath='{.items[-1:].metadata.name}' --sort-by=.metadata.creationTimestamp)
echo
"$weir" describe run "$run"
echo
kubectl get pipelineruns,jobs
echo
say "the cluster and the controller are still up:"
say "  export KUBECONFIG=$KUBECONFIG PATH=$bin:\$PATH"
say "  $weir run hello --wait    |   curl -s 127.0.0.1:18080/metrics | grep ^weir_"
say "stop both with: make cluster-down"
