//! Jobs for kwok's fake pods, and the pod knobs of `tests/cluster/stages.yaml`.
//!
//! No container ever runs: kwok writes the pod status a kubelet would. By default a Job's
//! pod starts at once and completes with exit code 0; the knobs below change that.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use serde_json::{Map, Value, json};

/// Label: the pod fails instead of completing (`"true"`).
pub const FAIL_LABEL: &str = "weir.dev/test-fail";
/// Annotation: exit code of a failing pod's first container (default 1).
pub const EXIT_CODE_ANNOTATION: &str = "weir.dev/test-exit-code";
/// Annotation: terminated reason of a failing pod's first container (default `Error`).
pub const REASON_ANNOTATION: &str = "weir.dev/test-reason";
/// Annotation: how long the pod stays Running before it completes or fails, as a Go
/// duration (`"5s"`, `"1500ms"`).
pub const RUN_FOR_ANNOTATION: &str = "weir.dev/test-run-for";
/// Annotation: copied into the first container's `state.terminated.message`.
pub const TERMINATION_MESSAGE_ANNOTATION: &str = "weir.dev/test-termination-message";
/// Label: the pod stays Pending with its containers waiting in `ImagePullBackOff` (`"true"`).
pub const IMAGE_PULL_BACKOFF_LABEL: &str = "weir.dev/test-image-pull-backoff";

/// Image of fake containers; never pulled (`.invalid` cannot resolve anyway).
pub const IMAGE: &str = "example.invalid/weir-e2e:0";

/// A `batch/v1` Job with one container named `main`, `backoffLimit: 0` (a failed pod fails
/// the Job at once) and `restartPolicy: Never`, plus kwok knobs.
#[derive(Debug, Clone, Default)]
pub struct FakeJob {
    name: String,
    labels: Map<String, Value>,
    annotations: Map<String, Value>,
}

impl FakeJob {
    /// A Job whose pod completes at once with exit code 0.
    pub fn new(name: &str) -> Self {
        FakeJob {
            name: name.to_owned(),
            ..FakeJob::default()
        }
    }

    /// The pod fails (exit code 1, reason `Error`, unless set below).
    pub fn failing(mut self) -> Self {
        self.labels.insert(FAIL_LABEL.into(), "true".into());
        self
    }

    /// Exit code of the failure (implies [`FakeJob::failing`]).
    pub fn exit_code(mut self, code: i32) -> Self {
        self.annotations
            .insert(EXIT_CODE_ANNOTATION.into(), code.to_string().into());
        self.failing()
    }

    /// Terminated reason of the failure, e.g. `OOMKilled` (implies [`FakeJob::failing`]).
    pub fn reason(mut self, reason: &str) -> Self {
        self.annotations
            .insert(REASON_ANNOTATION.into(), reason.into());
        self.failing()
    }

    /// The pod stays Running this long before it completes or fails.
    pub fn run_for(mut self, period: Duration) -> Self {
        self.annotations.insert(
            RUN_FOR_ANNOTATION.into(),
            format!("{}ms", period.as_millis()).into(),
        );
        self
    }

    /// The first container's termination message (what weir reads step results from).
    pub fn termination_message(mut self, message: &str) -> Self {
        self.annotations
            .insert(TERMINATION_MESSAGE_ANNOTATION.into(), message.into());
        self
    }

    /// The pod never starts: ImagePullBackOff.
    pub fn image_pull_backoff(mut self) -> Self {
        self.labels
            .insert(IMAGE_PULL_BACKOFF_LABEL.into(), "true".into());
        self
    }

    /// The Job object.
    pub fn build(&self) -> Job {
        let job = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": self.name},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": self.labels, "annotations": self.annotations},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": IMAGE}],
                    },
                },
            },
        });
        serde_json::from_value(job)
            .unwrap_or_else(|e| panic!("FakeJob builds an invalid Job (a bug here): {e}"))
    }
}

/// The Job's finished condition (`Complete` or `Failed`) when it has one set to `True`.
pub fn finished(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

/// The pods a Job created (by the `batch.kubernetes.io/job-name` label the Job controller sets).
pub async fn pods_of(pods: &Api<Pod>, job: &str) -> Vec<Pod> {
    let selector = format!("batch.kubernetes.io/job-name={job}");
    pods.list(&ListParams::default().labels(&selector))
        .await
        .unwrap_or_else(|e| panic!("cannot list the pods of job {job}: {e}"))
        .items
}

/// `state.terminated` of the pod's first container, once it has one.
pub fn terminated(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerStateTerminated> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .terminated
        .as_ref()
}
