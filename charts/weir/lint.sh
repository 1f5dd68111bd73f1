#!/usr/bin/env bash
# Static checks of the chart, no cluster needed (make lint):
#   - charts/weir/crds/ matches crds/ (check-crds.sh);
#   - the dashboard is valid JSON, its queries valid PromQL (when promtool is at hand), and
#     the ConfigMap carries it unchanged;
#   - `helm lint --strict` and `helm template` pass with the default values and with each
#     values file in ci/ (every optional object on; watchNamespace; one replica);
#   - values the chart must refuse are refused (schema and template checks).
# HELM points at a helm binary; default: the one tests/cluster/build.sh builds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
helm=${HELM:-$("$root/tests/cluster/build.sh")/helm}
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion); helm's default is older.
kube=(--kube-version 1.33.0)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { echo "lint.sh: $*"; }
fail() { echo "lint.sh: FAIL: $*" >&2; exit 1; }

"$here/check-crds.sh"

python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$here/dashboards/weir.json" ||
  fail "dashboards/weir.json is not valid JSON"
say "dashboards/weir.json is valid JSON"

# Every query of the dashboard is valid PromQL (promtool comes with the prometheus Debian
# package; PROMTOOL points at another one). Grafana's variables become plain values.
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -n "$promtool" ]; then
  python3 - "$here/dashboards/weir.json" >"$tmp/rules.yml" <<'PY'
import json, sys
queries = [t["expr"] for p in json.load(open(sys.argv[1]))["panels"] for t in p.get("targets", [])]
print("groups:\n  - name: dashboard\n    rules:")
for i, q in enumerate(queries):
    for var, value in (("$__rate_interval", "5m"), ("$step_window", "6h"), ("$job", ".*"), ("$namespace", ".*")):
        q = q.replace(var, value)
    print(f"      - record: dashboard:query{i}\n        expr: {json.dumps(q)}")
PY
  "$promtool" check rules "$tmp/rules.yml" >"$tmp/promtool.out" 2>&1 ||
    { cat "$tmp/promtool.out" >&2; fail "a dashboard query is not valid PromQL"; }
  say "every dashboard query is valid PromQL ($(grep -c 'expr:' "$tmp/rules.yml") queries)"
else
  say "promtool not found: dashboard queries not checked (set PROMTOOL; the prometheus Debian package ships it)"
fi

sets=("")
for f in "$here"/ci/*.yaml; do sets+=("$f"); done
for values in "${sets[@]}"; do
  args=()
  [ -n "$values" ] && args=(-f "$values")
  name=${values:+ci/$(basename "$values")}
  "$helm" lint --strict "$here" "${kube[@]}" "${args[@]}" >"$tmp/lint.out" 2>&1 ||
    { cat "$tmp/lint.out" >&2; fail "helm lint ${name:-(default values)}"; }
  "$helm" template weir "$here" -n weir-system "${kube[@]}" "${args[@]}" >"$tmp/out.yaml" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "helm template ${name:-(default values)}"; }
  say "helm lint --strict and helm template pass: ${name:-default values} ($(grep -c '^kind:' "$tmp/out.yaml") objects)"
done

# The dashboard ConfigMap holds the file byte for byte (a block scalar must not re-indent
# or trim it).
"$helm" template weir "$here" "${kube[@]}" --set dashboard.enabled=true \
  --show-only templates/dashboard.yaml >"$tmp/dashboard.yaml"
python3 - "$tmp/dashboard.yaml" "$here/dashboards/weir.json" <<'PY' || fail "the dashboard ConfigMap does not carry dashboards/weir.json unchanged"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
start = lines.index("  weir.json: |-") + 1
body = "\n".join(l[4:] for l in lines[start:] if l.startswith("    ") or l == "")
assert json.loads(body) == json.load(open(sys.argv[2]))
PY
say "the dashboard ConfigMap carries dashboards/weir.json"

# must_fail WHAT EXPECTED-MESSAGE HELM-ARGS...: helm template refuses these values.
must_fail() {
  local what=$1 expect=$2
  shift 2
  if "$helm" template weir "$here" "${kube[@]}" "$@" >/dev/null 2>"$tmp/err"; then
    fail "accepted $what"
  fi
  grep -q -- "$expect" "$tmp/err" || { cat "$tmp/err" >&2; fail "refused $what, but not with '$expect'"; }
  say "refuses $what"
}
must_fail "an unknown key" "additional properties 'replica' not allowed" --set replica=3
must_fail "two replicas without leader election" "needs leaderElection.enabled" \
  --set replicas=2 --set leaderElection.enabled=false
must_fail "a wildcard in rbac.extraRules" "extraRules/0/verbs/0" \
  --set 'rbac.extraRules[0].apiGroups[0]=x' --set 'rbac.extraRules[0].resources[0]=y' \
  --set 'rbac.extraRules[0].verbs[0]=*'
must_fail "a wildcard resource in rbac.extraRules" "extraRules/0/resources/0" \
  --set 'rbac.extraRules[0].apiGroups[0]=x' --set 'rbac.extraRules[0].resources[0]=*' \
  --set 'rbac.extraRules[0].verbs[0]=get'
must_fail "an unknown log format" "/log/format" --set log.format=xml
must_fail "the webhook on the metrics port" "webhook.port must differ from metrics.port" \
  --set webhook.enabled=true --set webhook.port=8080
must_fail "one namespace twice in rbac.secrets" "lists namespace pl twice" \
  --set 'rbac.secrets[0].namespace=pl' --set 'rbac.secrets[0].names[0]=a' \
  --set 'rbac.secrets[1].namespace=pl' --set 'rbac.secrets[1].names[0]=b'
must_fail "a wildcard Secret name" "secrets/0/names/0" \
  --set 'rbac.secrets[0].namespace=pl' --set 'rbac.secrets[0].names[0]=*'
must_fail "Kubernetes older than 1.33" "incompatible with Kubernetes" --kube-version 1.32.9
say "ok"
