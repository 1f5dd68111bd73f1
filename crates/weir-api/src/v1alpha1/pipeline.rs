//! `Pipeline`: a DAG of steps, its parameters, defaults, concurrency, history and triggers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{
    DeletePolicy, EnvFromRef, TemplateRef, VolumeRef, any_value_list, conditions_schema,
    free_form_object,
};
use super::{BucketTriggerStatus, DbtRunSpec, SparkJobSpec, Triggers};

/// A data pipeline: a DAG of steps, each rendered from a template into a Kubernetes object
/// (a Job, a SparkApplication, …) when its upstream steps allow. Runs are `PipelineRun`s.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "weir.dev",
    version = "v1alpha1",
    kind = "Pipeline",
    namespaced,
    shortname = "pl",
    status = "PipelineStatus",
    printcolumn = r#"{"name":"Valid","type":"string","jsonPath":".status.conditions[?(@.type==\"Valid\")].status"}"#,
    printcolumn = r#"{"name":"Active","type":"integer","jsonPath":".status.activeRuns"}"#,
    printcolumn = r#"{"name":"Last run","type":"string","jsonPath":".status.lastRun"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    /// Parameters a run may set (`weir run -p KEY=VALUE`), like Airflow's `dag_run.conf`.
    /// Templates see them as `params.NAME`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[schemars(length(max = 100))]
    pub params: Vec<ParamSpec>,
    /// Settings applied to every step unless the step sets its own.
    #[serde(default, skip_serializing_if = "StepDefaults::is_empty")]
    pub defaults: StepDefaults,
    /// The steps. Names are unique; `dependsOn` edges must form a DAG.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[schemars(length(min = 1, max = 200))]
    pub steps: Vec<Step>,
    /// How many runs may be active at once and what happens to the next one.
    #[serde(default, skip_serializing_if = "Concurrency::is_empty")]
    pub concurrency: Concurrency,
    /// How long finished runs are kept.
    #[serde(default, skip_serializing_if = "History::is_empty")]
    pub history: History,
    /// How long a whole run may take before its active steps are stopped and it fails with
    /// reason `Timeout` (e.g. `6h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// What starts runs besides `weir run`: a cron schedule, new objects in a bucket.
    #[serde(default, skip_serializing_if = "Triggers::is_empty")]
    pub triggers: Triggers,
}

/// A parameter of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParamSpec {
    /// The name templates use (`params.NAME`).
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// The value when a run does not set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// What the parameter means, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A run without a value (and no default) is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

/// Settings every step inherits; a step's own setting wins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepDefaults {
    /// The template job steps use when they name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// The ServiceAccount step pods run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Environment sources added to every step, e.g. the platform's `pipeline-env` ConfigMap.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromRef>,
    /// Labels added to every child object and pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to every child object and pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Node selector for step pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for step pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Affinity for step pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Resources of the main container when a step sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Names of Secrets used to pull step images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
    /// What happens to a step's children when it finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_policy: Option<DeletePolicy>,
}

impl StepDefaults {
    /// True when nothing is set (keeps serialized specs short).
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// One node of the DAG. Exactly one of `job`, `spark`, `dbt` and `resource` says what it runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "(has(self.job) ? 1 : 0) + (has(self.spark) ? 1 : 0) + (has(self.dbt) ? 1 : 0) + (has(self.resource) ? 1 : 0) == 1"
).message("a step sets exactly one of job, spark, dbt and resource"))]
pub struct Step {
    /// The step's name: lower-case letters, digits and dashes. Part of child object names.
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Steps that must finish (as the trigger rule requires) before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    pub depends_on: Vec<String>,
    /// When the step runs, given its upstream steps' outcomes (Airflow's trigger rules).
    #[serde(default, skip_serializing_if = "TriggerRule::is_default")]
    pub trigger_rule: TriggerRule,
    /// How a failed attempt is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetryPolicy>,
    /// How long one attempt may run before it is failed with reason `Timeout` (e.g. `30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// Run the step once per item, as indexed children.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// What happens to this step's children when it finishes (overrides the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_policy: Option<DeletePolicy>,
    /// Run a container as a batch/v1 Job rendered from a pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobStep>,
    /// Run a Spark application (rendered into a spark-operator SparkApplication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark: Option<SparkJobSpec>,
    /// Run dbt commands (rendered into a Job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbt: Option<DbtRunSpec>,
    /// Create any Kubernetes object from a template and read its state by field rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceStep>,
}

impl Step {
    /// What the step runs: `job`, `spark`, `dbt` or `resource` (the field that is set; `job`
    /// when none is, which validation reports). Bounded, so it is also a metric label.
    pub fn kind(&self) -> &'static str {
        if self.spark.is_some() {
            "spark"
        } else if self.dbt.is_some() {
            "dbt"
        } else if self.resource.is_some() {
            "resource"
        } else {
            "job"
        }
    }

    /// The template the step names itself, if any (a job step without one falls back to the
    /// pipeline default, then to the kind's built-in).
    pub fn template(&self) -> Option<&TemplateRef> {
        self.job
            .as_ref()
            .and_then(|j| j.template.as_ref())
            .or(self.spark.as_ref().and_then(|s| s.template.as_ref()))
            .or(self.dbt.as_ref().and_then(|d| d.template.as_ref()))
            .or(self.resource.as_ref().map(|r| &r.template))
    }
}

/// When a step runs given its upstream steps' outcomes; Airflow's trigger rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TriggerRule {
    /// Every upstream step succeeded.
    #[default]
    AllSuccess,
    /// Every upstream step failed.
    AllFailed,
    /// Every upstream step finished, whatever the outcome.
    AllDone,
    /// At least one upstream step succeeded (runs as soon as one does).
    OneSuccess,
    /// At least one upstream step failed (runs as soon as one does).
    OneFailed,
    /// No upstream step failed: each succeeded or was skipped.
    NoneFailed,
    /// No upstream step was skipped.
    NoneSkipped,
    /// Runs regardless of upstream steps.
    Always,
}

impl TriggerRule {
    fn is_default(&self) -> bool {
        *self == Self::AllSuccess
    }
}

/// How failed attempts are retried.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// How many retries after the first attempt (0 = none).
    #[schemars(range(max = 100))]
    pub limit: u32,
    /// Wait between attempts; none retries at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Retry only failures with one of these reasons (e.g. `OOMKilled`, `Timeout`,
    /// `DeadlineExceeded`, `Error`); empty retries every failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_on: Vec<String>,
}

/// Exponential backoff: attempt n waits `initial * factor^(n-2)`, capped at `max`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// The wait before the first retry (e.g. `10s`).
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub initial: String,
    /// Multiplier between consecutive waits (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub factor: Option<u32>,
    /// The longest wait (e.g. `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub max: Option<String>,
}

/// Fan-out: one child per item. Exactly one of `items` and `fromStep` is set; weir checks
/// that itself (`Valid=False`), because CEL cannot see a list of untyped items.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForEach {
    /// A literal list of items; templates see the current one as `item`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_value_list")]
    pub items: Option<Vec<Value>>,
    /// An upstream step whose result (its main container's termination message, JSON) is a
    /// list of items, or an object holding one under `key`. Must be in `dependsOn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_step: Option<String>,
    /// With `fromStep`: the key of the result object that holds the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A container step: a batch/v1 Job rendered from a pod template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStep {
    /// The template to render; default: the pipeline's default, else the built-in `job`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// The main container's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The main container's command (templated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The main container's arguments (templated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables of the main container (values templated), like the seed's `envs`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose keys become environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromRef>,
    /// Volumes and where the main container mounts them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeRef>,
    /// Resources of the main container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Free-form values for the template, the seed's `jinja_job_args` (e.g. `gitsync: true`).
    /// Templates see them, merged with the fields above, as `job`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(schema_with = "free_form_object")]
    pub job_args: Map<String, Value>,
}

/// Any Kubernetes object rendered from a template, with rules that read its state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStep {
    /// The manifest template (one document).
    pub template: TemplateRef,
    /// Free-form values for the template, seen as `job`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schemars(schema_with = "free_form_object")]
    pub job_args: Map<String, Value>,
    /// The object succeeded when any of these rules matches.
    #[schemars(length(min = 1))]
    pub success_when: Vec<FieldRule>,
    /// The object failed when any of these rules matches (checked first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure_when: Vec<FieldRule>,
}

/// Matches when the field at `path` (dot-separated, e.g. `status.phase`) equals one of
/// `values` (compared as strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldRule {
    /// Dot-separated path into the object, e.g. `status.applicationState.state`; numbers
    /// index arrays, and `name[key=value]` picks an array element by a field, e.g.
    /// `status.conditions[type=Available].status`.
    pub path: String,
    /// Values that match.
    #[schemars(length(min = 1))]
    pub values: Vec<String>,
}

/// Limits on concurrent runs and steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Concurrency {
    /// The most runs of this pipeline active at once; unset means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_active_runs: Option<u32>,
    /// What happens to a run started while `maxActiveRuns` runs are active.
    #[serde(default, skip_serializing_if = "ConcurrencyPolicy::is_default")]
    pub policy: ConcurrencyPolicy,
    /// The most steps (children) of one run active at once; unset means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_parallel_steps: Option<u32>,
}

impl Concurrency {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// What happens to a run started while `maxActiveRuns` runs are already active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConcurrencyPolicy {
    /// The new run waits (phase `Queued`) until a slot frees, oldest first.
    #[default]
    Queue,
    /// The new run starts anyway; `maxActiveRuns` is ignored.
    Allow,
    /// The new run is refused (phase `Failed`, reason `ConcurrencyForbidden`).
    Forbid,
    /// The oldest active run is cancelled to make room.
    Replace,
}

impl ConcurrencyPolicy {
    fn is_default(&self) -> bool {
        *self == Self::Queue
    }
}

/// How long finished runs are kept; the controller deletes older ones with their children.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// Succeeded runs kept per pipeline (newest first); unset keeps all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_runs_limit: Option<u32>,
    /// Failed or cancelled runs kept per pipeline; unset keeps all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_runs_limit: Option<u32>,
    /// Delete a finished run this many seconds after it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<u32>,
}

impl History {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// What the controller last observed about a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStatus {
    /// The generation these conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Valid`: the spec passed weir's checks (DAG, templates, params).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Runs of this pipeline that are not finished.
    #[serde(default)]
    pub active_runs: u32,
    /// Runs waiting for a slot (`Queue` policy).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub queued_runs: u32,
    /// The newest run's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// The last time the schedule started a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<Time>,
    /// What each bucket trigger has accounted for, so that every object starts exactly one
    /// run across restarts and repeated listings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub buckets: Vec<BucketTriggerStatus>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
