{{/* Names, labels and shared pieces of the weir chart. */}}

{{- define "weir.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: "weir" for a release named weir, else "<release>-weir". */}}
{{- define "weir.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "weir.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* What tells this release's objects apart from other releases'. */}}
{{- define "weir.instanceLabels" -}}
app.kubernetes.io/name: {{ include "weir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The controller pods, as the Deployment, Service and monitors select them. */}}
{{- define "weir.selectorLabels" -}}
{{ include "weir.instanceLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{/* Labels of every object, without a component; callers add theirs. */}}
{{- define "weir.commonLabels" -}}
helm.sh/chart: {{ include "weir.chart" . }}
{{ include "weir.instanceLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: weir
{{- end }}

{{/* Labels of the controller's objects. */}}
{{- define "weir.labels" -}}
{{ include "weir.commonLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "weir.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "weir.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "weir.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Lease the replicas elect their leader with (--lease-name; RBAC grants only it). */}}
{{- define "weir.leaseName" -}}
{{- .Values.leaderElection.leaseName }}
{{- end }}

{{/* Namespaces that get the pipeline-env ConfigMap, as a list. */}}
{{- define "weir.pipelineEnvNamespaces" -}}
{{- $ns := .Values.pipelineEnv.namespaces }}
{{- if not $ns }}
{{- $ns = list (default .Release.Namespace .Values.watchNamespace) }}
{{- end }}
{{- toYaml (uniq $ns) }}
{{- end }}

{{/*
Combinations the schema cannot express. Two replicas without leader election would both
reconcile every run: each would create the other's Jobs' next attempts and fight over status.
*/}}
{{- define "weir.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicas > 1 needs leaderElection.enabled=true: without a Lease every replica would reconcile every run" }}
{{- end }}
{{- if and .Values.webhook.enabled (eq (int .Values.webhook.port) (int .Values.metrics.port)) }}
{{- fail "webhook.port must differ from metrics.port: the webhook has its own port and Service" }}
{{- end }}
{{- $secretNamespaces := list }}
{{- range .Values.rbac.secrets }}
{{- if has .namespace $secretNamespaces }}
{{- fail (printf "rbac.secrets lists namespace %s twice: put its Secrets in one entry" .namespace) }}
{{- end }}
{{- $secretNamespaces = append $secretNamespaces .namespace }}
{{- end }}
{{- end }}

{{/*
What the controller does through the API server, rule by rule; the same rules go into a
ClusterRole (every namespace) or a Role (watchNamespace). `get` sits next to `list` and
`watch` on watched kinds: it reveals nothing a list does not, and spares a future
single-object read a round of RBAC changes.
*/}}
{{- define "weir.rules" -}}
# Pipelines and PipelineRuns: both controllers keep watch caches of them.
- apiGroups: ["weir.dev"]
  resources: ["pipelines", "pipelineruns"]
  verbs: ["get", "list", "watch"]
# SparkJobs and DbtRuns: the standalone controllers keep watch caches of them.
- apiGroups: ["weir.dev"]
  resources: ["sparkjobs", "dbtruns"]
  verbs: ["get", "list", "watch"]
# The Pipeline controller deletes finished runs past the history limits or their TTL, and
# creates the runs its triggers start (bucket objects, schedules).
- apiGroups: ["weir.dev"]
  resources: ["pipelineruns"]
  verbs: ["create", "delete"]
# One server-side apply of /status per reconcile, for runs, pipelines, SparkJobs and DbtRuns.
- apiGroups: ["weir.dev"]
  resources: ["pipelines/status", "pipelineruns/status", "sparkjobs/status", "dbtruns/status"]
  verbs: ["patch"]
# Children carry a controller ownerReference with blockOwnerDeletion to their run; where the
# OwnerReferencesPermissionEnforcement admission plugin is on, setting that needs this.
- apiGroups: ["weir.dev"]
  resources: ["pipelineruns/finalizers", "sparkjobs/finalizers", "dbtruns/finalizers"]
  verbs: ["update"]
# Step Jobs and DbtRun Jobs: watched (label weir.dev/run; DbtRuns' by
# app.kubernetes.io/managed-by=weir), server-side applied (create when new, patch otherwise)
# and deleted (retries, timeouts, cancellation, delete policies).
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Step pods: watched (label weir.dev/run) to read why a step fails (OOMKilled,
# ImagePullBackOff, termination messages). Never created or changed.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# Templates kept in ConfigMaps (templateRef.configMapKeyRef), read by name: by a run when it
# renders its steps, and by the Pipeline controller when it checks a changed spec (Valid).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
# Events on runs and pipelines; a repeated Event is patched into a series.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.rbac.sparkApplications }}
# spark: steps and SparkJobs become spark-operator SparkApplications: applied, read by name,
# deleted (timeouts), and watched (label weir.dev/run, or app.kubernetes.io/managed-by=weir
# for SparkJobs' own) so that a state change wakes the run or the SparkJob.
- apiGroups: ["sparkoperator.k8s.io"]
  resources: ["sparkapplications"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- end }}
{{- with .Values.rbac.extraRules }}
# rbac.extraRules
{{ toYaml . }}
{{- end }}
{{- end }}
