//! `DbtRun`: dbt commands in a pod, the seed's `dbt_run.sh` as a resource.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{EnvFromRef, TemplateRef, VolumeRef, conditions_schema};
use super::pipeline::RetryPolicy;

/// dbt commands run in one pod: optional `deps` and `seed`, the listed commands, then
/// optionally `docs generate` with the docs bundled and uploaded.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new(
    "!has(self.docsDestination) || (has(self.generateDocs) && self.generateDocs)"
).message("docsDestination needs generateDocs: true"))]
#[kube(
    group = "weir.dev",
    version = "v1alpha1",
    kind = "DbtRun",
    namespaced,
    shortname = "dbt",
    status = "DbtRunStatus",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Job","type":"string","jsonPath":".status.jobName"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DbtRunSpec {
    /// The template to render; default: the built-in `dbt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// An image with dbt and its adapter.
    pub image: String,
    /// Where the dbt project is.
    #[serde(default)]
    pub project: DbtProject,
    /// The directory holding `profiles.yml` (`--profiles-dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles_dir: Option<String>,
    /// The profile target (`--target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Project variables (`--vars`), templated.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Run `dbt deps` first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deps: bool,
    /// Run `dbt seed` before the commands.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seed: bool,
    /// dbt commands, each run in order, e.g. `dbt run`, `dbt test --select tag:daily`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Run `dbt docs generate` at the end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generate_docs: bool,
    /// Where the bundled single-file docs go, e.g. `gs://docs-bucket/dbt/index.html`.
    /// Needs `docsImage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_destination: Option<String>,
    /// The `weir-data` image that bundles the docs into one file and uploads them to
    /// `docsDestination` (dbt itself then runs as an init container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_image: Option<String>,
    /// Environment variables (values templated).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose keys become environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromRef>,
    /// Volumes, e.g. a Secret with warehouse credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeRef>,
    /// Resources of the dbt container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// The ServiceAccount the pod runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Labels of the Job and its pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// How a failed attempt is retried, each attempt a new Job (a standalone DbtRun only: a
    /// pipeline step sets the step's own `retries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetryPolicy>,
    /// How long one attempt may run before it is failed with reason `Timeout` and its Job
    /// deleted (a standalone DbtRun only: a step sets its own `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// Where the dbt project comes from: a path in the image, or a git repository synced into
/// the pod (the seed's `gitsync`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.path) && has(self.git))")
    .message("set at most one of path and git"))]
pub struct DbtProject {
    /// The project directory inside the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A git repository synced into the pod before dbt runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSource>,
}

/// A git repository to sync.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitSource {
    /// The repository URL.
    pub repo: String,
    /// Branch, tag or commit (default `main`).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The project's directory inside the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

/// What the controller observed about a DbtRun: its attempts, each one Job named
/// `{name}-{attempt}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DbtRunStatus {
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Pending`, `Running`, `Retrying`, `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The current attempt (1 for the first; 0 before any).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// Retries used so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    /// The current attempt's Job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// A CamelCase word saying why the run is in its phase (e.g. `BackoffLimitExceeded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the run is in its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where the docs were uploaded (the docs step's `{"uri": …}` result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_uri: Option<String>,
    /// When the current attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_start_time: Option<Time>,
    /// When the next attempt starts (`Retrying`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// When the first attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// `Valid`, and `Succeeded` once finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
