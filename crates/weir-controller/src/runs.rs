//! The PipelineRun controller: dereference → plan → apply → status.

use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use weir_api::labels;
use weir_api::v1alpha1::{Pipeline, PipelineRun, RunPhase};
use weir_core::Observed;
use weir_render::Renderer;

use crate::apply::{self, Kinds};
use crate::config::Config;
use crate::error::Error;
use crate::observe::{self, Caches};
use crate::{Ctx, Shared};

/// What run reconciles share besides the client.
pub(crate) struct RunState {
    caches: Caches,
    renderer: Renderer,
    kinds: Kinds,
    /// Runs to look at again because a sibling finished (queued runs wait for that).
    wake: mpsc::UnboundedSender<ObjectRef<PipelineRun>>,
}

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The PipelineRun controller as a stream that ends after `shutdown`.
pub fn controller(
    client: Client,
    config: &Config,
    reporter: Reporter,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> impl Stream<Item = ()> {
    let ns = &config.namespace;
    let children = watcher::Config::default().labels(labels::RUN);
    let (jobs, jobs_writer) = reflector::store::<Job>();
    let job_stream = reflector::reflector(jobs_writer, watcher(api::<Job>(&client, ns), children.clone()))
        .modify(strip)
        .default_backoff()
        .touched_objects();
    let (pods, pods_writer) = reflector::store::<Pod>();
    let pod_stream = reflector::reflector(pods_writer, watcher(api::<Pod>(&client, ns), children))
        .modify(strip)
        .default_backoff()
        .touched_objects();
    let (pipelines, pl_writer) = reflector::store::<Pipeline>();
    let pl_stream = reflector::reflector(pl_writer, watcher(api::<Pipeline>(&client, ns), watcher::Config::default()))
        .modify(strip)
        .default_backoff()
        .touched_objects();
    let runs_api = api::<PipelineRun>(&client, ns);
    let ctl = Controller::new(runs_api, watcher::Config::default());
    let runs_store = ctl.store();
    let (wake, woken) = mpsc::unbounded();
    let state = RunState {
        caches: Caches { runs: runs_store.clone(), pipelines, jobs, pods },
        renderer: Renderer::new(),
        kinds: Kinds::default(),
        wake,
    };
    let ctx = Arc::new(Shared {
        client: client.clone(),
        config: config.clone(),
        recorder: Recorder::new(client, reporter),
        inner: state,
    });
    let for_pipeline = runs_store.clone();
    ctl.with_config(kube::runtime::controller::Config::default().concurrency(config.workers))
        .owns_stream(job_stream)
        .watches_stream(pod_stream, |pod: Pod| {
            let run = pod.labels().get(labels::RUN)?.clone();
            Some(ObjectRef::new(&run).within(&pod.namespace()?))
        })
        // A new or changed Pipeline matters to its runs that have not started yet.
        .watches_stream(pl_stream, move |pl: Pipeline| {
            let (name, ns) = (pl.name_any(), pl.namespace());
            for_pipeline
                .state()
                .into_iter()
                .filter(|r| r.namespace() == ns && r.spec.pipeline_ref.as_ref() == Some(&name))
                .filter(|r| r.status.as_ref().is_none_or(|s| s.pipeline_spec.is_none()))
                .map(|r| ObjectRef::from_obj(&*r))
                .collect::<Vec<_>>()
        })
        .reconcile_on(woken)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .map(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "run reconcile ended with an error");
            }
        })
}

/// Drops what the planner never reads, to keep the caches small.
fn strip<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    if let Some(a) = obj.meta_mut().annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

async fn reconcile(run: Arc<PipelineRun>, ctx: Ctx<RunState>) -> Result<Action, Error> {
    let ns = run.namespace().ok_or(Error::MissingField("namespace"))?;
    let name = run.name_any();
    if run.metadata.deletion_timestamp.is_some() {
        // Children carry a controller ownerReference: the garbage collector removes them.
        return Ok(Action::await_change());
    }
    let st = &ctx.inner;
    let client = &ctx.client;
    let now = jiff::Timestamp::now();

    // 1. dereference
    let pipeline = observe::pipeline(&st.caches, &run, &ns);
    let snapshot = run.status.as_ref().and_then(|s| s.pipeline_spec.as_deref());
    let spec_for_templates = snapshot.or(run.spec.pipeline.as_deref()).or(pipeline.as_ref().map(|p| &p.spec));
    let config_templates = observe::config_templates(client, spec_for_templates, &ns).await?;
    let children = observe::children(&st.caches, client, &st.kinds, &run, &ns, now).await?;
    let observed = Observed {
        run: &run,
        pipeline: pipeline.as_deref(),
        siblings: observe::siblings(&st.caches, &run, &ns),
        children,
        config_templates,
        now,
    };

    // 2. plan
    let plan = weir_core::plan(&observed, &st.renderer);

    // 3. apply
    for m in &plan.apply {
        apply::apply(client, &st.kinds, &ns, m).await?;
    }
    for d in &plan.delete {
        apply::delete(client, &st.kinds, &ns, d).await?;
    }

    // 4. status: one patch, only when something changed, guarded by the resourceVersion the
    // plan was made from, so a plan made from a stale cache is never written.
    let old = run.status.clone().unwrap_or_default();
    if plan.status != old {
        let body = json!({
            "apiVersion": "weir.dev/v1alpha1",
            "kind": "PipelineRun",
            "metadata": { "name": name, "resourceVersion": run.resource_version() },
            "status": plan.status,
        });
        Api::<PipelineRun>::namespaced(client.clone(), &ns)
            .patch_status(&name, &PatchParams::apply(weir_api::FIELD_MANAGER).force(), &Patch::Apply(&body))
            .await
            .map_err(|source| Error::PatchStatus { name: name.clone(), source })?;
    }
    for e in &plan.events {
        publish(&ctx.recorder, &run, e).await;
    }
    if plan.status.phase.is_finished() && !old.phase.is_finished() {
        wake_queued(st, &run, &ns);
    }
    tracing::debug!(run = %name, phase = plan.status.phase.as_str(), applied = plan.apply.len(), deleted = plan.delete.len(), "reconciled");
    Ok(match plan.requeue_after {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

/// Queued runs of the same Pipeline may start now that this one is finished.
fn wake_queued(st: &RunState, run: &PipelineRun, ns: &str) {
    let Some(pipeline) = &run.spec.pipeline_ref else { return };
    for r in st.caches.runs.state() {
        let queued = r.status.as_ref().is_some_and(|s| s.phase == RunPhase::Queued || s.pipeline_spec.is_none());
        if queued && r.namespace().as_deref() == Some(ns) && r.spec.pipeline_ref.as_ref() == Some(pipeline) {
            let _ = st.wake.unbounded_send(ObjectRef::from_obj(&*r));
        }
    }
}

async fn publish(recorder: &Recorder, run: &PipelineRun, e: &weir_core::Event) {
    let ev = KubeEvent {
        type_: if e.warning { EventType::Warning } else { EventType::Normal },
        reason: e.reason.to_string(),
        note: Some(e.message.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(err) = recorder.publish(&ev, &run.object_ref(&())).await {
        tracing::warn!(error = %err, "could not record an Event");
    }
}

fn error_policy(run: Arc<PipelineRun>, err: &Error, ctx: Ctx<RunState>) -> Action {
    if err.is_conflict() {
        return Action::requeue(Duration::from_millis(200));
    }
    tracing::warn!(run = %run.name_any(), category = err.category(), error = %err, "reconcile failed");
    Action::requeue(ctx.config.error_backoff)
}
