//! The Pipeline controller: validity, run counts, history limits and TTL, and the bucket
//! triggers. The decisions are `weir_core::pipeline::plan_pipeline_with` (its `Valid` is
//! `weir check`'s answer) and `weir_core::bucket`; this reads caches (and, when the spec is
//! checked, the ConfigMaps it names; when a trigger's poll is due, its bucket) and carries
//! the plan out.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::api::{Api, DeleteParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use weir_api::v1alpha1::{Pipeline, PipelineRun};
use weir_core::bucket;
use weir_core::check::{CheckInputs, shared_renderer};
use weir_core::pipeline::{PipelinePlan, RunSummary, needs_check, plan_pipeline_with};

use crate::buckets::{self, Buckets, PollCtx};
use crate::context::{self, Ctx, Env, instrumented};
use crate::error::{Error, is_not_found};
use crate::health::Synced;
use crate::observe;
use crate::schedules;
use crate::status::{self, Batch};
use crate::watch::{self, cache, scoped};

/// What pipeline reconciles share.
pub(crate) struct PipelineState {
    runs: Store<PipelineRun>,
    /// When each Pipeline's status was last written.
    batch: Batch,
    /// The bucket triggers' poll times and stores.
    buckets: Buckets,
    /// Whether each cache has applied its initial list (reconciles wait for all of them).
    synced: Vec<Synced>,
}

/// The Pipeline controller as a stream that ends after `env.shutdown`.
pub(crate) fn controller(env: &Env) -> impl Stream<Item = ()> + use<> {
    let client = &env.client;
    let runs = cache(
        scoped(client, &env.config.namespace),
        Default::default(),
        watch::strip_run_summary,
    );
    let pipelines = cache(
        scoped(client, &env.config.namespace),
        Default::default(),
        watch::strip,
    );
    let synced = vec![runs.synced, pipelines.synced];
    env.ready_when_synced("pipeline", synced.clone());
    let ctx = env.shared(PipelineState {
        runs: runs.store,
        batch: Batch::default(),
        buckets: Buckets::default(),
        synced,
    });
    Controller::for_stream(pipelines.events.touched_objects(), pipelines.store)
        .with_config(kube::runtime::controller::Config::default().concurrency(env.config.workers))
        .watches_stream(runs.events.touched_objects(), |run: PipelineRun| {
            let name = run.spec.pipeline_ref.clone()?;
            Some(ObjectRef::new(&name).within(&run.namespace()?))
        })
        .graceful_shutdown_on(env.shutdown.clone())
        .run(reconcile, error_policy, ctx)
        .map(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "pipeline reconcile ended with an error");
            }
        })
}

async fn reconcile(pipeline: Arc<Pipeline>, ctx: Ctx<PipelineState>) -> Result<Action, Error> {
    instrumented(
        &ctx.metrics,
        "pipeline",
        reconcile_pipeline(pipeline, ctx.clone()),
    )
    .await
}

fn error_policy(pipeline: Arc<Pipeline>, err: &Error, ctx: Ctx<PipelineState>) -> Action {
    context::on_error(
        "pipeline",
        &pipeline.name_any(),
        err,
        ctx.config.error_backoff,
    )
}

/// One reconcile of one Pipeline: runs from the cache → plan → poll the bucket triggers
/// that are due and create their runs → status → delete runs. Runs are deleted only once
/// the status accounting for them is written, so no object's run can vanish unrecorded.
async fn reconcile_pipeline(
    pipeline: Arc<Pipeline>,
    ctx: Ctx<PipelineState>,
) -> Result<Action, Error> {
    let st = &ctx.inner;
    let ns = pipeline
        .namespace()
        .ok_or(Error::MissingField("namespace"))?;
    if let Some(later) = context::wait_for_caches(&st.synced).await {
        return Ok(later);
    }
    let uid = pipeline.uid().unwrap_or_default();
    if st
        .batch
        .is_stale(&uid, pipeline.resource_version().as_deref())
    {
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    // 1. dereference: the runs, and the ConfigMap templates when the spec is checked
    let runs = summaries(&st.runs, &pipeline, &ns);
    let texts = match needs_check(&pipeline) {
        true => Some(observe::config_templates(&ctx.client, Some(&pipeline.spec), &ns).await?),
        false => None,
    };
    let inputs = texts.as_ref().map(|texts| CheckInputs {
        renderer: shared_renderer(),
        config_templates: texts,
    });
    // 2. plan
    let mut plan = plan_pipeline_with(&pipeline, &runs, jiff::Timestamp::now(), inputs.as_ref());
    // 3. apply: the triggers' runs, then the status that accounts for them, then deletions
    let poll = PollCtx {
        client: &ctx.client,
        fence: &ctx.fence,
        metrics: &ctx.metrics.triggers,
        buckets: &st.buckets,
    };
    let polled = buckets::poll(&poll, &pipeline, &ns, &mut plan).await?;
    let next_schedule = schedules::fire(&poll, &pipeline, &ns, &mut plan).await?;
    let deferred = write_status(&ctx, &pipeline, &plan).await?;
    st.buckets.mark(&polled);
    delete_runs(&ctx, &pipeline, &ns, &plan).await?;
    let requeue = [plan.requeue_after, deferred, polled.next, next_schedule]
        .into_iter()
        .flatten()
        .min();
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

/// The Pipeline's runs as its planner reads them.
fn summaries(runs: &Store<PipelineRun>, pipeline: &Pipeline, ns: &str) -> Vec<RunSummary> {
    let name = pipeline.name_any();
    runs.state()
        .iter()
        .filter(|r| {
            r.namespace().as_deref() == Some(ns) && r.spec.pipeline_ref.as_deref() == Some(&name)
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
        .collect()
}

/// Deletes the finished runs past the history limits or their TTL, except runs started by
/// an object their trigger's polling state does not account for yet (`bucket::deletable`:
/// the next poll would start that object again); a later reconcile deletes them.
async fn delete_runs(
    ctx: &Ctx<PipelineState>,
    pipeline: &Pipeline,
    ns: &str,
    plan: &PipelinePlan,
) -> Result<(), Error> {
    let api: Api<PipelineRun> = Api::namespaced(Client::clone(&ctx.client), ns);
    let now = jiff::Timestamp::now();
    for run in &plan.delete_runs {
        let cached = ctx.inner.runs.get(&ObjectRef::new(run).within(ns));
        if let Some(r) = cached {
            let notes = r.metadata.annotations.clone().unwrap_or_default();
            let created = r.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
            if !bucket::deletable(&notes, &plan.status.buckets, created, now) {
                tracing::debug!(run = %run, "kept until its object's trigger state records it");
                continue;
            }
        }
        ctx.fence.check()?;
        match api.delete(run, &DeleteParams::background()).await {
            Err(e) if !is_not_found(&e) => {
                return Err(Error::DeleteRun {
                    name: run.clone(),
                    source: e,
                });
            }
            _ => {
                tracing::info!(pipeline = %pipeline.name_any(), run = %run, "deleted a finished run (history)");
            }
        }
    }
    Ok(())
}

/// Writes the status when it changed: at once when the plan says it is urgent (validity),
/// otherwise (run counters) at most once a status batch period. Returns how long a
/// deferred change waits.
async fn write_status(
    ctx: &Ctx<PipelineState>,
    pipeline: &Pipeline,
    plan: &PipelinePlan,
) -> Result<Option<Duration>, Error> {
    let old = pipeline.status.clone().unwrap_or_default();
    if plan.status == old {
        return Ok(None);
    }
    let uid = pipeline.uid().unwrap_or_default();
    let period = ctx.config.batch_period(&ctx.metrics);
    if let Some(wait) = ctx.inner.batch.defer(&uid, plan.urgent, period) {
        return Ok(Some(wait));
    }
    ctx.fence.check()?;
    status::write(&ctx.client, pipeline, &plan.status)
        .await
        .map_err(|source| Error::PatchStatus {
            name: pipeline.name_any(),
            source,
        })?;
    tracing::debug!(pipeline = %pipeline.name_any(), "wrote pipeline status");
    ctx.inner
        .batch
        .written(&uid, false, pipeline.resource_version());
    crate::events::publish(&ctx.recorder, pipeline, "Validate", &plan.events).await;
    Ok(None)
}
