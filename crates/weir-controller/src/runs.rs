//! The PipelineRun controller: dereference → plan → apply → status. The decisions are
//! `weir_core::plan`; this file wires the caches and carries a plan out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use weir_api::labels;
use weir_api::v1alpha1::{Pipeline, PipelineRun, PipelineRunStatus, RunPhase};
use weir_core::{Observed, Plan};
use weir_render::Renderer;

use crate::apply::{self, Kinds};
use crate::child_watch::ChildWatches;
use crate::context::{self, Ctx, Env, instrumented};
use crate::error::{Error, is_too_large};
use crate::expectations::{Applied, Refused};
use crate::health::Synced;
use crate::metrics::Pending;
use crate::observe::{self, Caches};
use crate::status::{self, Batch};
use crate::watch::{self, cache, scoped};

/// What run reconciles share besides the client.
pub(crate) struct RunState {
    caches: Caches,
    renderer: Renderer,
    kinds: Kinds,
    /// Runs to look at again because a sibling finished (queued runs wait for that).
    wake: mpsc::UnboundedSender<ObjectRef<PipelineRun>>,
    /// Runs with a trigger waiting for a reconcile (`weir_queue_depth`).
    pending: Pending<PipelineRun>,
    /// When each run's status was last written.
    batch: Arc<Batch>,
    /// Children applied but perhaps not in the cache yet.
    applied: Arc<Applied>,
    /// Children whose create the API server refused, with why.
    refused: Arc<Refused>,
    /// Whether each cache has applied its initial list (reconciles wait for all of them).
    synced: Vec<Synced>,
    /// False once this replica lost its lease: then nothing is flushed on the way out.
    leads: Arc<AtomicBool>,
    /// Set on the way out: every status change is written at once.
    flushing: AtomicBool,
    /// Watches of child kinds other than Job, started as runs need them.
    child_watches: ChildWatches,
}

/// The PipelineRun controller as a stream that ends after `env.shutdown`, then writes the
/// status changes it deferred (see [`flush`]).
pub(crate) fn controller(env: &Env) -> impl Stream<Item = ()> + use<> {
    let (client, ns) = (&env.client, &env.config.namespace);
    let pending = Pending::<PipelineRun>::new(&env.metrics, "pipelinerun");
    let (batch, applied) = (Arc::new(Batch::default()), Arc::new(Applied::default()));
    let refused = Arc::new(Refused::default());
    let children = watcher::Config::default().labels(labels::RUN);
    let jobs = cache(
        scoped::<Job>(client, ns),
        children.clone(),
        watch::strip_job,
    );
    let pods = cache(scoped::<Pod>(client, ns), children, watch::strip_pod);
    let pipelines = cache(
        scoped::<Pipeline>(client, ns),
        Default::default(),
        watch::strip,
    );
    let runs = cache(
        scoped::<PipelineRun>(client, ns),
        Default::default(),
        watch::strip,
    );
    let synced = vec![
        runs.synced.clone(),
        pipelines.synced.clone(),
        jobs.synced.clone(),
        pods.synced.clone(),
    ];
    env.ready_when_synced("pipelinerun", synced.clone());
    env.metrics.watch_runs(runs.store.clone());

    let p = pending.clone();
    let job_stream = jobs.events.touched_objects().inspect(move |j| {
        if let Ok(j) = j
            && let (Some(run), Some(ns)) = (j.labels().get(labels::RUN), j.namespace())
        {
            p.add(ObjectRef::new(run).within(&ns));
        }
    });
    let (b, a, p, f) = (
        batch.clone(),
        applied.clone(),
        pending.clone(),
        refused.clone(),
    );
    let run_stream = runs
        .events
        // A deleted run is never reconciled again: forget what memory holds about it.
        .inspect(move |e| {
            if let Ok(watcher::Event::Delete(r)) = e {
                let uid = r.uid().unwrap_or_default();
                b.forget(&uid);
                a.forget(&uid);
                f.forget(&uid);
                p.done(&ObjectRef::from_obj(r));
            }
        })
        .touched_objects()
        .inspect({
            let p = pending.clone();
            move |r| {
                if let Ok(r) = r {
                    p.add(ObjectRef::from_obj(r));
                }
            }
        });
    let (wake, woken) = mpsc::unbounded();
    let ctx = env.shared(RunState {
        caches: Caches {
            runs: runs.store.clone(),
            pipelines: pipelines.store,
            jobs: jobs.store,
            pods: pods.store,
        },
        renderer: Renderer::new(),
        kinds: Kinds::new(env.config.allow_cluster_scoped),
        wake: wake.clone(),
        pending: pending.clone(),
        batch,
        applied,
        refused,
        synced,
        leads: env.leadership.leads.clone(),
        flushing: AtomicBool::new(false),
        child_watches: ChildWatches::new(ns.clone(), wake, env.shutdown.clone()),
    });
    let (for_pipeline, flush_ctx) = (runs.store.clone(), ctx.clone());
    let (p1, p2) = (pending.clone(), pending);
    Controller::for_stream(run_stream, runs.store)
        .with_config(kube::runtime::controller::Config::default().concurrency(env.config.workers))
        .owns_stream(job_stream)
        .watches_stream(pods.events.touched_objects(), move |pod: Pod| {
            let run = pod.labels().get(labels::RUN)?.clone();
            let r = ObjectRef::new(&run).within(&pod.namespace()?);
            p1.add(r.clone());
            Some(r)
        })
        // A new or changed Pipeline matters to its runs that have not started yet.
        .watches_stream(pipelines.events.touched_objects(), move |pl: Pipeline| {
            let refs = unstarted_runs_of(&for_pipeline.state(), &pl);
            refs.iter().for_each(|r| p2.add(r.clone()));
            refs
        })
        .reconcile_on(woken)
        .graceful_shutdown_on(env.shutdown.clone())
        .run(reconcile, error_policy, ctx)
        .map(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "run reconcile ended with an error");
            }
        })
        .chain(futures::stream::once(flush(flush_ctx)))
}

/// The runs of `pl` that have not taken their snapshot of it yet.
fn unstarted_runs_of(runs: &[Arc<PipelineRun>], pl: &Pipeline) -> Vec<ObjectRef<PipelineRun>> {
    let (name, ns) = (pl.name_any(), pl.namespace());
    runs.iter()
        .filter(|r| r.namespace() == ns && r.spec.pipeline_ref.as_ref() == Some(&name))
        .filter(|r| {
            r.status
                .as_ref()
                .is_none_or(|s| s.pipeline_spec.is_none() && !s.phase.is_finished())
        })
        .map(|r| ObjectRef::from_obj(&**r))
        .collect()
}

/// How long the way out may spend writing deferred status changes.
const FLUSH_LIMIT: Duration = Duration::from_secs(5);

/// On the way out (the controller stopped taking reconciles): writes every status change
/// that was deferred to share a later write, so a restarted controller finds them written
/// and a stopped one leaves nothing behind. Not after a lost lease: another replica leads.
async fn flush(ctx: Ctx<RunState>) {
    let st = &ctx.inner;
    if !st.leads.load(Ordering::SeqCst) {
        return;
    }
    st.flushing.store(true, Ordering::SeqCst);
    let deferred = st.batch.deferred();
    if deferred.is_empty() {
        return;
    }
    let runs: Vec<Arc<PipelineRun>> = st
        .caches
        .runs
        .state()
        .into_iter()
        .filter(|r| r.uid().is_some_and(|u| deferred.contains(&u)))
        .collect();
    let n = runs.len();
    let work = futures::stream::iter(runs).for_each_concurrent(8, |run| {
        let ctx = ctx.clone();
        async move {
            if let Err(e) = reconcile_run(run, ctx).await {
                tracing::warn!(error = %e, "could not write a deferred status on the way out");
            }
        }
    });
    match tokio::time::timeout(FLUSH_LIMIT, work).await {
        Ok(()) => tracing::info!(runs = n, "wrote deferred status changes"),
        Err(_) => tracing::warn!(runs = n, "ran out of time writing deferred status changes"),
    }
}

async fn reconcile(run: Arc<PipelineRun>, ctx: Ctx<RunState>) -> Result<Action, Error> {
    ctx.inner.pending.done(&ObjectRef::from_obj(&*run));
    instrumented(&ctx.metrics, "pipelinerun", reconcile_run(run, ctx.clone())).await
}

fn error_policy(run: Arc<PipelineRun>, err: &Error, ctx: Ctx<RunState>) -> Action {
    ctx.inner.pending.done(&ObjectRef::from_obj(&*run));
    context::on_error(
        "pipelinerun",
        &run.name_any(),
        err,
        ctx.config.error_backoff,
    )
}

/// One reconcile of one run, in four phases.
async fn reconcile_run(run: Arc<PipelineRun>, ctx: Ctx<RunState>) -> Result<Action, Error> {
    let st = &ctx.inner;
    let ns = run.namespace().ok_or(Error::MissingField("namespace"))?;
    if run.metadata.deletion_timestamp.is_some() {
        // Children carry a controller ownerReference: the garbage collector removes them.
        return Ok(Action::await_change());
    }
    if let Some(later) = context::wait_for_caches(&st.synced).await {
        return Ok(later);
    }
    // A reconcile triggered (by a Job or Pod event) before the watch delivered our own last
    // status write would plan from a status we already replaced, and its guarded write
    // would fail with a conflict. Wait for the cache instead: the watch event triggers us.
    if st
        .batch
        .is_stale(&uid(&run), run.resource_version().as_deref())
    {
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    let now = jiff::Timestamp::now();

    // 1. dereference
    let pipeline = observe::pipeline(&st.caches, &run, &ns);
    let observed = dereference(&ctx, &run, pipeline.as_deref(), &ns, now).await?;
    // 2. plan
    let plan = weir_core::plan(&observed, &st.renderer);
    // 3. apply
    st.child_watches
        .follow(&ctx.client, &st.kinds, &run, &plan)
        .await;
    let refused = apply_children(&ctx, &run, &ns, &plan).await?;
    // 4. status
    let deferred = write_status(&ctx, &run, &plan, now).await?;
    if refused {
        // The next plan fails the refused children's attempts.
        return Ok(Action::requeue(Duration::from_millis(100)));
    }

    tracing::debug!(run = %run.name_any(), phase = plan.status.phase.as_str(), applied = plan.apply.len(), deleted = plan.delete.len(), "reconciled");
    let requeue = match (plan.requeue_after, deferred) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

fn uid(run: &PipelineRun) -> String {
    run.uid().unwrap_or_default()
}

/// Everything the planner reads about `run`: its Pipeline, siblings, children and the
/// ConfigMap templates its steps name.
async fn dereference<'a>(
    ctx: &Ctx<RunState>,
    run: &'a PipelineRun,
    pipeline: Option<&'a Pipeline>,
    ns: &str,
    now: jiff::Timestamp,
) -> Result<Observed<'a>, Error> {
    let st = &ctx.inner;
    let snapshot = run.status.as_ref().and_then(|s| s.pipeline_spec.as_deref());
    let spec = snapshot
        .or(run.spec.pipeline.as_deref())
        .or(pipeline.map(|p| &p.spec));
    Ok(Observed {
        run,
        pipeline,
        siblings: observe::siblings(&st.caches, run, ns),
        children: observe::children(&st.caches, &ctx.client, &st.kinds, run, ns, now).await?,
        config_templates: observe::config_templates(&ctx.client, spec, ns).await?,
        refused: st.refused.of(&uid(run)),
        now,
    })
}

/// Applies and deletes children, except what this controller applied moments ago and the
/// cache has not shown yet: a plan made from a status whose write was deferred starts
/// those steps again, and would otherwise apply their children a second time. A child the
/// API server refuses is remembered with why (the next plan fails its attempt); returns
/// whether there was one.
async fn apply_children(
    ctx: &Ctx<RunState>,
    run: &PipelineRun,
    ns: &str,
    plan: &Plan,
) -> Result<bool, Error> {
    let (st, uid) = (&ctx.inner, uid(run));
    let mut refused = false;
    for m in &plan.apply {
        if st.applied.recently(&uid, m.name()) {
            continue;
        }
        ctx.fence.check()?;
        match apply::apply(&ctx.client, &st.kinds, ns, m).await {
            Err(e) if apply::is_refusal(&e) => {
                tracing::warn!(run = %run.name_any(), child = %m.name(), error = %e, "the API server refused a child");
                st.refused.record(&uid, m.name(), e.to_string());
                refused = true;
                continue;
            }
            other => other?,
        }
        tracing::debug!(run = %run.name_any(), child = %m.name(), "applied child");
        st.applied.record(&uid, m.name());
    }
    for d in &plan.delete {
        ctx.fence.check()?;
        apply::delete(&ctx.client, &st.kinds, ns, d).await?;
        tracing::debug!(run = %run.name_any(), child = %d.name, "deleted child");
    }
    Ok(refused)
}

/// Writes the plan's status when it changed: at once when someone waits for the change
/// (the plan says it is urgent), otherwise up to the status batch period later, sharing
/// the write with the next change. Returns how long a deferred change waits.
async fn write_status(
    ctx: &Ctx<RunState>,
    run: &PipelineRun,
    plan: &Plan,
    now: jiff::Timestamp,
) -> Result<Option<Duration>, Error> {
    let (st, uid) = (&ctx.inner, uid(run));
    let old = run.status.clone().unwrap_or_default();
    if plan.status == old {
        return Ok(None);
    }
    let urgent = plan.urgent || st.flushing.load(Ordering::SeqCst);
    let period = ctx.config.batch_period(&ctx.metrics);
    if let Some(wait) = st.batch.defer(&uid, urgent, period) {
        return Ok(Some(wait));
    }
    ctx.fence.check()?;
    match status::write(&ctx.client, run, &plan.status).await {
        Err(e) if is_too_large(&e) => {
            // Retrying the same write would fail forever: end the run instead.
            let small = weir_core::too_large(plan.status.clone(), now, &e.to_string());
            tracing::warn!(run = %run.name_any(), error = %e, "status too large; failing the run");
            status::write(&ctx.client, run, &small).await
        }
        other => other,
    }
    .map_err(|source| Error::PatchStatus {
        name: run.name_any(),
        source,
    })?;
    tracing::debug!(run = %run.name_any(), "wrote run status");
    let finished = plan.status.phase.is_finished();
    st.batch.written(&uid, finished, run.resource_version());
    if finished {
        st.applied.forget(&uid);
        st.refused.forget(&uid);
    }
    written(ctx, run, &old, plan).await;
    Ok(None)
}

/// What follows a written status: its Events and counters (a deferred plan is made again,
/// with the same events, by the reconcile that writes it), and the queued runs a finished
/// run lets start.
async fn written(ctx: &Ctx<RunState>, run: &PipelineRun, old: &PipelineRunStatus, plan: &Plan) {
    crate::events::publish_planned(&ctx.recorder, run, &plan.events, ctx.config.normal_events)
        .await;
    if plan.status.phase.is_finished() && !old.phase.is_finished() {
        wake_queued(&ctx.inner, run);
    }
    ctx.metrics.record_run(run, old, &plan.status);
}

/// Queued runs of the same Pipeline may start now that this one is finished.
fn wake_queued(st: &RunState, run: &PipelineRun) {
    let Some(pipeline) = &run.spec.pipeline_ref else {
        return;
    };
    for r in st.caches.runs.state() {
        let queued = r.status.as_ref().is_some_and(|s| {
            s.phase == RunPhase::Queued || (s.pipeline_spec.is_none() && !s.phase.is_finished())
        });
        if queued
            && r.namespace() == run.namespace()
            && r.spec.pipeline_ref.as_ref() == Some(pipeline)
        {
            let _ = st.wake.unbounded_send(ObjectRef::from_obj(&*r));
        }
    }
}
