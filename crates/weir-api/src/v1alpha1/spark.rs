//! `SparkJob`: the essentials of spark-operator's `SparkApplication` (v1beta2), rendered from
//! a template so platform teams can add their connectors and monitoring in one place.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{EnvFromRef, TemplateRef, VolumeRef, conditions_schema};
use super::pipeline::RetryPolicy;

/// A Spark application. As a kind of its own it is rendered into a spark-operator
/// `SparkApplication`; as a pipeline step (`spark:`) the same spec is used.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "weir.dev",
    version = "v1alpha1",
    kind = "SparkJob",
    namespaced,
    shortname = "sj",
    status = "SparkJobStatus",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"App state","type":"string","jsonPath":".status.applicationState"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SparkJobSpec {
    /// The template to render; default: the built-in `spark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// The application's language.
    #[serde(default, rename = "type")]
    pub app_type: SparkAppType,
    /// Where the driver runs.
    #[serde(default)]
    pub mode: SparkMode,
    /// The Spark image (driver and executors).
    pub image: String,
    /// `Always`, `IfNotPresent` or `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// The Spark version of the image, e.g. `3.5.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_version: Option<String>,
    /// The application file, e.g. `local:///opt/app/batch.py` or `gs://bucket/app.jar`.
    pub main_application_file: String,
    /// The main class (JVM applications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_class: Option<String>,
    /// Arguments to the application (templated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// `spark.*` settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spark_conf: BTreeMap<String, String>,
    /// Hadoop settings, e.g. the GCS connector's `fs.gs.impl`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hadoop_conf: BTreeMap<String, String>,
    /// Extra jars, files and packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deps: Option<SparkDeps>,
    /// The driver pod.
    #[serde(default)]
    pub driver: SparkRole,
    /// The executor pods.
    #[serde(default)]
    pub executor: SparkRole,
    /// Volumes the driver and executors may mount (by name, in `volumeMounts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeRef>,
    /// What spark-operator does when the application fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<SparkRestartPolicy>,
    /// Prometheus metrics through the JMX exporter java agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<SparkMonitoring>,
    /// Delete the SparkApplication this long after it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live_seconds: Option<i64>,
    /// How a failed attempt is retried, each attempt a new SparkApplication (a standalone
    /// SparkJob only: a pipeline step sets the step's own `retries`). spark-operator's
    /// `restartPolicy` retries within one attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetryPolicy>,
    /// How long one attempt may run before it is failed with reason `Timeout` and its
    /// SparkApplication deleted (a standalone SparkJob only: a step sets its own `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// The application's language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SparkAppType {
    /// Scala on the JVM.
    #[default]
    Scala,
    /// Java on the JVM.
    Java,
    /// PySpark.
    Python,
    /// SparkR.
    R,
}

/// Where the driver runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SparkMode {
    /// The driver runs in its own pod (the only mode spark-operator supports well).
    #[default]
    Cluster,
    /// The driver runs in the submitting process.
    Client,
}

/// Extra dependencies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkDeps {
    /// Jars on the driver and executor classpaths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jars: Vec<String>,
    /// Files placed in each executor's working directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Python files added to the PYTHONPATH.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub py_files: Vec<String>,
    /// Maven coordinates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

/// The driver's or executors' pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkRole {
    /// CPU cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// A hard CPU limit, e.g. `1200m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_limit: Option<String>,
    /// Memory, e.g. `2g`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Number of pods (executors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
    /// The ServiceAccount the pods run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose keys become environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromRef>,
    /// Names of `volumes` to mount, with where.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<SparkVolumeMount>,
    /// Pod labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Pod annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Extra JVM options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub java_options: Option<String>,
}

/// A mount of one of the SparkJob's volumes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkVolumeMount {
    /// The volume's name in `volumes`.
    pub name: String,
    /// Where to mount it.
    pub mount_path: String,
}

/// spark-operator's restart policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkRestartPolicy {
    /// `Never`, `OnFailure` or `Always`.
    #[serde(rename = "type")]
    pub policy: String,
    /// Retries after a failed run (`OnFailure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure_retries: Option<u32>,
    /// Seconds between those retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure_retry_interval: Option<u32>,
    /// Retries after a failed submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_submission_failure_retries: Option<u32>,
}

/// Metrics through the JMX Prometheus exporter java agent (as the seed's Spark image ships).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkMonitoring {
    /// Expose the driver's metrics (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_driver_metrics: Option<bool>,
    /// Expose the executors' metrics (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_executor_metrics: Option<bool>,
    /// Path of the exporter jar in the image.
    pub jmx_exporter_jar: String,
    /// The port the agent serves on (default 8090).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// What the controller observed about a SparkJob: its attempts (each one SparkApplication
/// named `{name}-{attempt}`) and the current attempt's application as spark-operator reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkJobStatus {
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
    /// spark-operator's `status.applicationState.state`, as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_state: Option<String>,
    /// The current attempt's SparkApplication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    /// Spark's application id (`spark-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_application_id: Option<String>,
    /// The driver pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_pod_name: Option<String>,
    /// Executors by state (`RUNNING`, `COMPLETED`, `FAILED`, …), counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub executors: BTreeMap<String, u32>,
    /// spark-operator's submission attempts of the current application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_attempts: Option<i64>,
    /// spark-operator's execution attempts of the current application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_attempts: Option<i64>,
    /// When spark-operator last submitted the current application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_time: Option<Time>,
    /// When the current application terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_time: Option<Time>,
    /// A CamelCase word saying why the job is in its phase (e.g. `Failed`, `Timeout`,
    /// `ChildDeleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the job is in its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the current attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_start_time: Option<Time>,
    /// When the next attempt starts (`Retrying`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// When the first attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the job finished.
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
