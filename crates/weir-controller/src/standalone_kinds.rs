//! What differs between the SparkJob and DbtRun controllers: the child kind, how its state
//! is read, and the status shape. Everything else is [`crate::standalone`].

use std::fmt::Debug;

use jiff::Timestamp;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use weir_api::v1alpha1::{
    DbtRun, DbtRunStatus, RetryPolicy, SparkJob, SparkJobStatus, TemplateRef,
};
use weir_core::attempts::{Attempts, StandalonePlan};
use weir_core::observe::{ChildKind, ObservedChild};
use weir_core::standalone::Standalone;
use weir_core::standalone_status as st;
use weir_core::state::{job_state, spark_application_details, spark_application_state};

use crate::error::Error;

/// A standalone kind: an object whose attempts each own one child.
pub(crate) trait Kind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The controller's name (logs, metrics).
    const CONTROLLER: &'static str;
    /// The kind, as weir-core knows it.
    const STANDALONE: Standalone;
    /// Its status.
    type Status: Serialize + PartialEq + Default + Clone + Send + Sync;

    /// Its status, or an empty one.
    fn status_or_default(&self) -> Self::Status;
    /// Its spec as JSON (templates see it as `job`).
    fn spec_json(&self) -> Value;
    /// The template it names.
    fn template(&self) -> Option<&TemplateRef>;
    /// Its retry policy.
    fn retries(&self) -> Option<&RetryPolicy>;
    /// Its per-attempt timeout.
    fn timeout(&self) -> Option<&str>;
    /// The attempts its status records.
    fn attempts(s: &Self::Status) -> Attempts;
    /// Whether its status shows the current child was observed.
    fn child_seen(s: &Self::Status) -> bool;
    /// Its new status from a plan and the current child as JSON.
    fn new_status(
        old: &Self::Status,
        plan: &StandalonePlan,
        child: Option<&Value>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> Self::Status;
}

impl Kind for SparkJob {
    const CONTROLLER: &'static str = "sparkjob";
    const STANDALONE: Standalone = Standalone::SparkJob;
    type Status = SparkJobStatus;

    fn status_or_default(&self) -> SparkJobStatus {
        self.status.clone().unwrap_or_default()
    }
    fn spec_json(&self) -> Value {
        serde_json::to_value(&self.spec).unwrap_or_default()
    }
    fn template(&self) -> Option<&TemplateRef> {
        self.spec.template.as_ref()
    }
    fn retries(&self) -> Option<&RetryPolicy> {
        self.spec.retries.as_ref()
    }
    fn timeout(&self) -> Option<&str> {
        self.spec.timeout.as_deref()
    }
    fn attempts(s: &SparkJobStatus) -> Attempts {
        st::spark_attempts(s)
    }
    fn child_seen(s: &SparkJobStatus) -> bool {
        st::spark_child_seen(s)
    }
    fn new_status(
        old: &SparkJobStatus,
        plan: &StandalonePlan,
        child: Option<&Value>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> SparkJobStatus {
        let details = child.map(spark_application_details);
        st::spark_job_status(old, plan, details.as_ref(), generation, now)
    }
}

impl Kind for DbtRun {
    const CONTROLLER: &'static str = "dbtrun";
    const STANDALONE: Standalone = Standalone::DbtRun;
    type Status = DbtRunStatus;

    fn status_or_default(&self) -> DbtRunStatus {
        self.status.clone().unwrap_or_default()
    }
    fn spec_json(&self) -> Value {
        serde_json::to_value(&self.spec).unwrap_or_default()
    }
    fn template(&self) -> Option<&TemplateRef> {
        self.spec.template.as_ref()
    }
    fn retries(&self) -> Option<&RetryPolicy> {
        self.spec.retries.as_ref()
    }
    fn timeout(&self) -> Option<&str> {
        self.spec.timeout.as_deref()
    }
    fn attempts(s: &DbtRunStatus) -> Attempts {
        st::dbt_attempts(s)
    }
    fn child_seen(_: &DbtRunStatus) -> bool {
        // A Job leaves no trace in the DbtRun's status before it finishes: a vanished one
        // is failed after the missing-child grace period.
        false
    }
    fn new_status(
        old: &DbtRunStatus,
        plan: &StandalonePlan,
        _child: Option<&Value>,
        generation: Option<i64>,
        now: Timestamp,
    ) -> DbtRunStatus {
        st::dbt_run_status(old, plan, generation, now)
    }
}

/// The API resource of a standalone kind's children (static: no discovery, so the watch
/// starts, and retries, whether or not spark-operator's CRD is installed yet).
pub(crate) fn child_resource(kind: Standalone) -> ApiResource {
    match kind {
        Standalone::SparkJob => {
            let (group, version) = weir_core::SPARK_API_VERSION
                .split_once('/')
                .unwrap_or_default();
            let gvk = GroupVersionKind::gvk(group, version, "SparkApplication");
            ApiResource::from_gvk_with_plural(&gvk, "sparkapplications")
        }
        Standalone::DbtRun => ApiResource::erase::<Job>(&()),
    }
}

/// The children's API in the controller's scope.
pub(crate) fn child_api(
    client: &Client,
    ns: &Option<String>,
    kind: Standalone,
) -> (ApiResource, Api<DynamicObject>) {
    let ar = child_resource(kind);
    let api = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    (ar, api)
}

/// Reads the child `name` (not from a cache: one object per reconcile) and parses its state;
/// `None` when it does not exist.
pub(crate) async fn read_child<K: Kind>(
    client: &Client,
    ns: &str,
    name: &str,
    now: Timestamp,
) -> Result<Option<(ObservedChild, Value)>, Error> {
    let ar = child_resource(K::STANDALONE);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let read = |source| Error::Read {
        what: format!("{} {name}", ar.kind),
        source,
    };
    let Some(obj) = api.get_opt(name).await.map_err(read)? else {
        return Ok(None);
    };
    let deleting = obj.metadata.deletion_timestamp.is_some();
    let raw = serde_json::to_value(&obj).unwrap_or_default();
    let (kind, state) = match K::STANDALONE {
        Standalone::SparkJob => (K::STANDALONE.child_kind(), spark_application_state(&raw)),
        Standalone::DbtRun => {
            let job: Job = serde_json::from_value(raw.clone()).unwrap_or_default();
            let uid = job.uid().unwrap_or_default();
            let pods = crate::observe::job_pods(client, ns, &uid).await?;
            (ChildKind::Job, job_state(&job, &pods, now))
        }
    };
    let child = ObservedChild {
        kind,
        name: name.to_string(),
        step: String::new(),
        state,
        deleting,
    };
    Ok(Some((child, raw)))
}
