//! What the controller hands the planner (everything it observed) and what it gets back.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use weir_api::reason::EventReason;
use weir_api::v1alpha1::{Pipeline, PipelineRun, PipelineRunStatus, RunPhase};

use crate::state::ChildState;

/// Everything the planner needs about one run, gathered by the controller from its caches.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// The run as stored (spec and current status).
    pub run: &'a PipelineRun,
    /// The Pipeline it refers to, if it exists (unused for inline runs and once started).
    pub pipeline: Option<&'a Pipeline>,
    /// The other runs of the same Pipeline, for the concurrency policy.
    pub siblings: Vec<Sibling>,
    /// Every child the run owns, with its parsed state.
    pub children: Vec<ObservedChild>,
    /// Texts of the ConfigMap keys the spec's templates refer to, by (ConfigMap, key).
    /// A missing entry means the ConfigMap or key does not exist.
    pub config_templates: BTreeMap<(String, String), String>,
    /// Children the API server refused to create, by name, with why (kept by the
    /// controller in memory: after a restart the create is tried, and refused, again).
    pub refused: BTreeMap<String, String>,
    /// The time of this reconcile; the planner never reads a clock.
    pub now: Timestamp,
}

/// Another run of the same Pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sibling {
    /// Its name (ties on `created` are broken by name).
    pub name: String,
    /// Its `metadata.creationTimestamp`.
    pub created: Timestamp,
    /// Its phase (`Pending` when it has no status yet).
    pub phase: RunPhase,
}

/// The kind of object a child is, so the controller knows which API to call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChildKind {
    /// `batch/v1` Job.
    Job,
    /// Any other kind (SparkApplication, user resources), addressed by apiVersion and kind.
    Other {
        /// e.g. `sparkoperator.k8s.io/v1beta2`.
        api_version: String,
        /// e.g. `SparkApplication`.
        kind: String,
    },
}

/// A child object as observed, with the labels that say what it carries out.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedChild {
    /// What it is.
    pub kind: ChildKind,
    /// Its name.
    pub name: String,
    /// The step it carries out (`weir.dev/step`).
    pub step: String,
    /// Its state, parsed by [`crate::state`].
    pub state: ChildState,
    /// It has a `deletionTimestamp`.
    pub deleting: bool,
}

/// A manifest to server-side apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    /// A typed Job.
    Job(Box<Job>),
    /// Any other kind, as JSON with `apiVersion`, `kind` and `metadata`.
    Object(serde_json::Value),
}

impl Manifest {
    /// The object's kind as a [`ChildKind`].
    pub fn kind(&self) -> ChildKind {
        match self {
            Manifest::Job(_) => ChildKind::Job,
            Manifest::Object(v) => ChildKind::Other {
                api_version: v["apiVersion"].as_str().unwrap_or_default().to_string(),
                kind: v["kind"].as_str().unwrap_or_default().to_string(),
            },
        }
    }

    /// The object's name (stamped by weir, so always set on a planned manifest).
    pub fn name(&self) -> &str {
        match self {
            Manifest::Job(j) => j.metadata.name.as_deref().unwrap_or_default(),
            Manifest::Object(v) => v["metadata"]["name"].as_str().unwrap_or_default(),
        }
    }
}

/// A child to delete.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChildRef {
    /// What it is.
    pub kind: ChildKind,
    /// Its name.
    pub name: String,
}

/// An Event for users (`kubectl describe`): only transitions a user cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Warning (something went wrong) or Normal.
    pub warning: bool,
    /// A bounded set (also a metric label).
    pub reason: EventReason,
    /// Human text; never contains secret values (templates' env values are not echoed).
    pub message: String,
}

/// What the controller must do for one reconcile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Children to server-side apply (create, or no-op when they exist).
    pub apply: Vec<Manifest>,
    /// Children to delete (in the background: their pods follow through ownerReferences).
    pub delete: Vec<ChildRef>,
    /// The run's new status (patched once, after the applies).
    pub status: PipelineRunStatus,
    /// Events to record.
    pub events: Vec<Event>,
    /// Look again after this long even if nothing changes (retry backoff, timeouts).
    pub requeue_after: Option<Duration>,
    /// The status change includes a transition users must see at once (a step failed or is
    /// retrying; the run finished, queued or was refused). A change that only starts steps,
    /// or records a success while the run goes on, may be written a moment later together
    /// with the next one: a deferred write loses nothing, because the planner adopts
    /// existing children by name and reads their outcome in the same pass, and children
    /// are deleted by policy only once the written status records their outcome.
    pub urgent: bool,
}
