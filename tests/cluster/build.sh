#!/usr/bin/env bash
# Builds the local control plane's binaries from the pinned Go modules next to this script
# and prints the directory that holds them.
#
# The cache lives outside the clone (WEIR_CLUSTER_CACHE, default ~/.cache/weir/cluster),
# keyed by the Go version, every go.mod/go.sum here and this script. A build happens in a
# temporary directory and is renamed into place only when every binary is there, so an
# interrupted build is never used. A second run costs a hash.
set -euo pipefail

K8S_VERSION=v1.36.3
K8S_MINOR=36
HELM_VERSION=v3.21.4

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
key=$(
  {
    go version
    for m in k8s etcd kwok helm; do cat "$here/$m/go.mod" "$here/$m/go.sum"; done
    cat "$here/build.sh"
  } | sha256sum | cut -c1-16
)
base=${WEIR_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weir/cluster}
out=$base/$key
if [ -f "$out/.complete" ]; then
  echo "$out/bin"
  exit 0
fi

mkdir -p "$base"
tmp=$(mktemp -d "$base/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

# The version is only known through ldflags; without them /version says v0.0.0-master.
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
  ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

started=$(date +%s)
log() { echo "build.sh: $* ($(( $(date +%s) - started ))s)" >&2; }
(cd "$here/etcd" && go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3)
log "etcd built"
(cd "$here/kwok" && go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp/bin/" \
  sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
log "kwok, kwokctl built"
(cd "$here/k8s" && go build -buildvcs=false -trimpath -ldflags "$ld" -o "$tmp/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
log "kubernetes built"
# Without the k8sVersion stamps helm assumes Kubernetes v1.20 for `helm template` and
# `helm lint`, and a chart's `kubeVersion: >=1.33` then fails offline.
helm_ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for p in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  helm_ld="$helm_ld -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$K8S_MINOR"
done
(cd "$here/helm" && go build -buildvcs=false -trimpath -ldflags "$helm_ld" -o "$tmp/bin/helm" helm.sh/helm/v3/cmd/helm)
log "helm built"

for b in etcd kwok kwokctl kube-apiserver kube-controller-manager kube-scheduler kubectl helm; do
  [ -x "$tmp/bin/$b" ] || { echo "build.sh: $b is missing after the build" >&2; exit 1; }
done
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out/bin"
