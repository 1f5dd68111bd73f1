//! `PipelineRun`: one execution of a pipeline, and everything the controller recorded about it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PipelineSpec;
use super::common::{conditions_schema, free_form_object, optional_any_value};
use crate::reason::StepReason;

/// One run of a pipeline. Its status holds the pipeline spec it started with, so editing the
/// Pipeline never changes a running run.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "weir.dev",
    version = "v1alpha1",
    kind = "PipelineRun",
    namespaced,
    shortname = "plr",
    shortname = "run",
    status = "PipelineRunStatus",
    printcolumn = r#"{"name":"Pipeline","type":"string","jsonPath":".spec.pipelineRef"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Progress","type":"string","jsonPath":".status.progress"}"#,
    printcolumn = r#"{"name":"Started","type":"date","jsonPath":".status.startTime"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.pipelineRef) != has(self.pipeline)")
    .message("set exactly one of pipelineRef and pipeline"))]
#[x_kube(validation = Rule::new("has(self.pipelineRef) == has(oldSelf.pipelineRef)")
    .message("pipelineRef is immutable"))]
pub struct PipelineRunSpec {
    /// The Pipeline (same namespace) to run. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("pipelineRef is immutable"))]
    pub pipeline_ref: Option<String>,
    /// A pipeline spec to run instead of a reference (one-off runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Box<PipelineSpec>>,
    /// Parameter values; the pipeline's defaults fill the rest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("params are immutable"))]
    pub params: BTreeMap<String, String>,
    /// Cancel the run: every child is deleted and the run ends `Cancelled`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancel: bool,
    /// Start no new step until unset; running steps go on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Re-run failed steps and everything downstream of them, keeping successes
    /// (`weir retry`). Each new `id` is carried out once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun: Option<Rerun>,
}

/// A request to re-run part of a finished run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rerun {
    /// A new value for each request (the CLI uses a timestamp).
    pub id: String,
    /// The steps to re-run with everything downstream; empty means every failed step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
}

/// The phase of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RunPhase {
    /// Not yet looked at by the controller.
    #[default]
    Pending,
    /// Waiting for a slot under the pipeline's `maxActiveRuns`.
    Queued,
    /// Steps are running or ready to run.
    Running,
    /// Every leaf step succeeded or was skipped.
    Succeeded,
    /// A step failed for good, or the run was invalid.
    Failed,
    /// Cancelled by `spec.cancel`, or replaced under the `Replace` policy.
    Cancelled,
}

impl RunPhase {
    /// Whether the run will change no more (unless re-run).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// The phase's name as written in status; bounded, so usable as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Queued => "Queued",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// What the controller recorded about a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRunStatus {
    /// The run's generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Where the run is.
    #[serde(default)]
    pub phase: RunPhase,
    /// `Valid`, `Complete` and friends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Finished steps out of all steps, e.g. `3/7` (for `kubectl get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// When the run left `Pending`/`Queued`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Why the run is in its phase, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The pipeline spec this run executes, copied when it started. Written only by the
    /// controller, so its schema is left open rather than validated a second time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub pipeline_spec: Option<Box<PipelineSpec>>,
    /// The pipeline's `metadata.generation` when it was copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_generation: Option<i64>,
    /// Every parameter's value (run values, then pipeline defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// One entry per step, in pipeline order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub steps: Vec<StepStatus>,
    /// The last `spec.rerun.id` carried out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rerun_id: Option<String>,
}

/// The phase of a step (or of one forEach item).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StepPhase {
    /// Waiting for upstream steps (or for a slot under `maxParallelSteps`).
    #[default]
    Pending,
    /// A child exists and has not finished.
    Running,
    /// The last attempt failed; the next starts at `nextAttemptTime`.
    Retrying,
    /// Finished successfully.
    Succeeded,
    /// Failed for good.
    Failed,
    /// Not run: its trigger rule said so.
    Skipped,
    /// Not run because an upstream step failed.
    UpstreamFailed,
    /// Stopped because the run was cancelled.
    Cancelled,
}

impl StepPhase {
    /// Whether the step will change no more (unless re-run).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Skipped | Self::UpstreamFailed | Self::Cancelled
        )
    }

    /// The phase's name as written in status; bounded, so usable as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Retrying => "Retrying",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Skipped => "Skipped",
            Self::UpstreamFailed => "UpstreamFailed",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// What the controller recorded about one step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// The step's name.
    pub name: String,
    /// Where the step is.
    #[serde(default)]
    pub phase: StepPhase,
    /// The current attempt, 1-based; 0 before the first.
    #[serde(default)]
    pub attempt: u32,
    /// Retries used since the step last (re)started; attempts keep counting across
    /// re-runs so child names never repeat, retries start again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    /// Names of the current attempt's children (one per forEach item).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// The apiVersion and kind of the step's children, recorded when the first is planned
    /// (they live in the run's namespace). The controller reads children from this record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_kind: Option<ChildKindRef>,
    /// When the first attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the step finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<Time>,
    /// When the current attempt started (timeouts count from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_start_time: Option<Time>,
    /// When the next attempt starts (phase `Retrying`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// A CamelCase reason for the phase, e.g. `OOMKilled`, `Timeout`, `BackoffLimitExceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub reason: Option<StepReason>,
    /// Details, e.g. the failed container's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The step's result: its main container's termination message parsed as JSON
    /// (a list of the items' results for forEach steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_any_value")]
    pub result: Option<Value>,
    /// Per-item status of a forEach step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemStatus>,
}

/// The type of a step's children.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChildKindRef {
    /// e.g. `batch/v1`, `sparkoperator.k8s.io/v1beta2`.
    pub api_version: String,
    /// e.g. `Job`, `SparkApplication`.
    pub kind: String,
}

/// What the controller recorded about one forEach item.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
    /// The item's index.
    pub index: u32,
    /// Where the item is.
    #[serde(default)]
    pub phase: StepPhase,
    /// The item's current attempt, 1-based.
    #[serde(default)]
    pub attempt: u32,
    /// Retries used since the item last (re)started.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    /// The current attempt's child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    /// When the current attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_start_time: Option<Time>,
    /// When the next attempt starts (phase `Retrying`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// Why the item is in its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub reason: Option<StepReason>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The item's result (termination message as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_any_value")]
    pub result: Option<Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
