//! The Pipeline controller: validity, run counts, history limits and TTL. The decisions are
//! `weir_core::pipeline::plan_pipeline`; this only reads caches and carries them out.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use weir_api::v1alpha1::{Pipeline, PipelineRun};
use weir_core::pipeline::{RunSummary, plan_pipeline};

use crate::config::Config;
use crate::error::{Error, is_not_found};
use crate::health::{Health, Synced};
use crate::metrics::Metrics;
use crate::{Ctx, Shared, instrumented};

/// What pipeline reconciles share.
pub(crate) struct PipelineState {
    runs: Store<PipelineRun>,
    batch: Batch,
    /// Whether each cache has applied its initial list (reconciles wait for all of them).
    synced: Vec<Synced>,
}

/// When each Pipeline's status was last written.
#[derive(Default)]
struct Batch(std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>);

impl Batch {
    /// How long a write must still wait, `period` after the last one.
    fn wait(&self, uid: &str, period: Duration) -> Option<Duration> {
        let since = self.0.lock().ok()?.get(uid)?.elapsed();
        (since < period).then(|| period - since)
    }

    fn written(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(uid.to_string(), std::time::Instant::now());
        }
    }
}

/// The Pipeline controller as a stream that ends after `shutdown`.
pub(crate) fn controller(
    client: Client,
    config: &Config,
    reporter: Reporter,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
    fence: Arc<crate::fence::Fence>,
) -> impl Stream<Item = ()> {
    let (pipelines_api, runs_api): (Api<Pipeline>, Api<PipelineRun>) = match &config.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let (s_runs, s_pipelines) = (Synced::default(), Synced::default());
    let (runs, writer) = reflector::store::<PipelineRun>();
    let run_stream = reflector::reflector(
        writer,
        watcher(runs_api, watcher::Config::default()).modify(strip_run),
    )
    .default_backoff()
    .inspect({
        let s = s_runs.clone();
        move |e| s.observe(e)
    })
    .touched_objects();
    let (pipelines, pl_writer) = reflector::store::<Pipeline>();
    let pipeline_stream = reflector::reflector(
        pl_writer,
        watcher(pipelines_api, watcher::Config::default())
            .modify(|p| p.managed_fields_mut().clear()),
    )
    .default_backoff()
    .inspect({
        let s = s_pipelines.clone();
        move |e| s.observe(e)
    })
    .touched_objects();
    let synced = vec![s_runs, s_pipelines];
    {
        let caches = synced.clone();
        health.expect_controller();
        tokio::spawn(async move {
            crate::health::until_synced(&caches).await;
            tracing::info!("pipeline caches synced");
            health.controller_synced();
        });
    }
    let ctx = Arc::new(Shared {
        client: client.clone(),
        config: config.clone(),
        recorder: Recorder::new(client, reporter),
        metrics,
        fence,
        inner: PipelineState {
            runs,
            batch: Batch::default(),
            synced,
        },
    });
    Controller::for_stream(pipeline_stream, pipelines)
        .with_config(kube::runtime::controller::Config::default().concurrency(config.workers))
        .watches_stream(run_stream, |run: PipelineRun| {
            let name = run.spec.pipeline_ref.clone()?;
            Some(ObjectRef::new(&name).within(&run.namespace()?))
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .map(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "pipeline reconcile ended with an error");
            }
        })
}

/// A run as this controller reads it: its phase and times. The spec snapshot and the step
/// statuses (the bulk of a run) stay in the run controller's cache only.
fn strip_run(run: &mut PipelineRun) {
    run.managed_fields_mut().clear();
    if let Some(s) = run.status.as_mut() {
        s.pipeline_spec = None;
        s.steps.clear();
        s.params.clear();
        s.conditions.clear();
    }
}

async fn reconcile(pipeline: Arc<Pipeline>, ctx: Ctx<PipelineState>) -> Result<Action, Error> {
    instrumented(
        &ctx.metrics,
        "pipeline",
        reconcile_pipeline(pipeline.clone(), ctx.clone()),
    )
    .await
}

async fn reconcile_pipeline(
    pipeline: Arc<Pipeline>,
    ctx: Ctx<PipelineState>,
) -> Result<Action, Error> {
    let ns = pipeline
        .namespace()
        .ok_or(Error::MissingField("namespace"))?;
    let name = pipeline.name_any();
    // Counting runs from a half-filled cache would write a wrong status, then the right one.
    let wait = Duration::from_secs(2);
    if !crate::health::synced_within(&ctx.inner.synced, wait).await {
        return Ok(Action::requeue(wait));
    }
    let runs: Vec<RunSummary> = ctx
        .inner
        .runs
        .state()
        .iter()
        .filter(|r| {
            r.namespace().as_deref() == Some(&ns) && r.spec.pipeline_ref.as_deref() == Some(&name)
        })
        .filter(|r| r.metadata.deletion_timestamp.is_none())
        .map(|r| {
            let status = r.status.clone().unwrap_or_default();
            RunSummary {
                name: r.name_any(),
                created: r
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0)
                    .unwrap_or_default(),
                phase: status.phase,
                completed: status.completion_time.map(|t| t.0),
            }
        })
        .collect();
    let plan = plan_pipeline(&pipeline, &runs, jiff::Timestamp::now());
    let runs_api: Api<PipelineRun> = Api::namespaced(ctx.client.clone(), &ns);
    for run in &plan.delete_runs {
        ctx.fence.check()?;
        match runs_api.delete(run, &DeleteParams::background()).await {
            Err(e) if !is_not_found(&e) => {
                return Err(Error::DeleteRun {
                    name: run.clone(),
                    source: e,
                });
            }
            _ => tracing::info!(pipeline = %name, run = %run, "deleted a finished run (history)"),
        }
    }
    let old = pipeline.status.clone().unwrap_or_default();
    let urgent = old.conditions != plan.status.conditions
        || old.observed_generation != plan.status.observed_generation;
    let uid = pipeline.uid().unwrap_or_default();
    let wait = if plan.status != old && !urgent {
        ctx.inner
            .batch
            .wait(&uid, ctx.config.batch_period(&ctx.metrics))
    } else {
        None
    };
    if let Some(wait) = wait {
        // Run counters change with every run: write them at most once a status batch period.
        return Ok(Action::requeue(
            plan.requeue_after.map_or(wait, |r| r.min(wait)),
        ));
    }
    if plan.status != old {
        ctx.fence.check()?;
        ctx.inner.batch.written(&uid);
        let body = json!({
            "apiVersion": "weir.dev/v1alpha1",
            "kind": "Pipeline",
            "metadata": { "name": name, "resourceVersion": pipeline.resource_version() },
            "status": plan.status,
        });
        Api::<Pipeline>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &name,
                &PatchParams::apply(weir_api::FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|source| Error::PatchStatus {
                name: name.clone(),
                source,
            })?;
        tracing::debug!(pipeline = %name, "wrote pipeline status");
    }
    for e in &plan.events {
        let ev = KubeEvent {
            type_: if e.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: e.reason.to_string(),
            note: Some(e.message.chars().take(1000).collect()),
            action: "Validate".into(),
            secondary: None,
        };
        if let Err(err) = ctx.recorder.publish(&ev, &pipeline.object_ref(&())).await {
            tracing::warn!(error = %err, "could not record an Event");
        }
    }
    Ok(plan
        .requeue_after
        .map(Action::requeue)
        .unwrap_or_else(Action::await_change))
}

fn error_policy(pipeline: Arc<Pipeline>, err: &Error, ctx: Ctx<PipelineState>) -> Action {
    if err.is_conflict() {
        return Action::requeue(Duration::from_millis(200));
    }
    tracing::warn!(pipeline = %pipeline.name_any(), category = err.category(), error = %err, "reconcile failed");
    Action::requeue(ctx.config.error_backoff)
}
