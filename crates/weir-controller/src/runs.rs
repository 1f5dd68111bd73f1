//! The PipelineRun controller: dereference → plan → apply → status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
use crate::child_watch::ChildWatches;
use crate::config::Config;
use crate::error::{Error, is_too_large};
use crate::health::{Health, Synced};
use crate::memory::{Applied, Batch};
use crate::metrics::{KindLabel, Metrics, Pending, StartedByLabel};
use crate::observe::{self, Caches};
use crate::{Ctx, Shared, instrumented};

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
    /// Whether each cache has applied its initial list (reconciles wait for all of them).
    synced: Vec<Synced>,
    /// False once this replica lost its lease: then nothing is flushed on the way out.
    leads: Arc<AtomicBool>,
    /// Set on the way out: every status change is written at once.
    flushing: AtomicBool,
    /// Watches of child kinds other than Job, started as runs need them.
    child_watches: ChildWatches,
}

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The PipelineRun controller as a stream that ends after `shutdown`.
pub(crate) fn controller(
    client: Client,
    config: &Config,
    reporter: Reporter,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: crate::Shutdown,
    leadership: crate::Leadership,
) -> impl Stream<Item = ()> {
    let crate::Leadership { leads, fence } = leadership;
    let ns = &config.namespace;
    let pending = Pending::<PipelineRun>::new(&metrics, "pipelinerun");
    let (s_jobs, s_pods, s_pipelines, s_runs) = (
        Synced::default(),
        Synced::default(),
        Synced::default(),
        Synced::default(),
    );
    let children = watcher::Config::default().labels(labels::RUN);
    let (jobs, jobs_writer) = reflector::store::<Job>();
    let p = pending.clone();
    let job_stream = reflector::reflector(
        jobs_writer,
        watcher(api::<Job>(&client, ns), children.clone()).modify(strip_job),
    )
    .default_backoff()
    .inspect({
        let s = s_jobs.clone();
        move |e| s.observe(e)
    })
    .touched_objects()
    .inspect(move |j| {
        if let Ok(j) = j
            && let (Some(run), Some(ns)) = (j.labels().get(labels::RUN), j.namespace())
        {
            p.add(ObjectRef::new(run).within(&ns));
        }
    });
    let (pods, pods_writer) = reflector::store::<Pod>();
    let pod_stream = reflector::reflector(
        pods_writer,
        watcher(api::<Pod>(&client, ns), children).modify(strip_pod),
    )
    .default_backoff()
    .inspect({
        let s = s_pods.clone();
        move |e| s.observe(e)
    })
    .touched_objects();
    let (pipelines, pl_writer) = reflector::store::<Pipeline>();
    let pl_stream = reflector::reflector(
        pl_writer,
        watcher(api::<Pipeline>(&client, ns), watcher::Config::default()).modify(strip),
    )
    .default_backoff()
    .inspect({
        let s = s_pipelines.clone();
        move |e| s.observe(e)
    })
    .touched_objects();
    let (runs_store, runs_writer) = reflector::store::<PipelineRun>();
    let p = pending.clone();
    let (batch, applied) = (Arc::new(Batch::default()), Arc::new(Applied::default()));
    let run_stream = reflector::reflector(
        runs_writer,
        watcher(api::<PipelineRun>(&client, ns), watcher::Config::default()).modify(strip),
    )
    .default_backoff()
    .inspect({
        let s = s_runs.clone();
        move |e| s.observe(e)
    })
    .inspect({
        // A deleted run is never reconciled again: forget what memory holds about it.
        let (batch, applied, pending) = (batch.clone(), applied.clone(), pending.clone());
        move |e| {
            if let Ok(watcher::Event::Delete(r)) = e {
                let uid = r.uid().unwrap_or_default();
                batch.forget(&uid);
                applied.forget(&uid);
                pending.done(&ObjectRef::from_obj(r));
            }
        }
    })
    .touched_objects()
    .inspect(move |r| {
        if let Ok(r) = r {
            p.add(ObjectRef::from_obj(r));
        }
    });
    let (wake, woken) = mpsc::unbounded();
    let wake_children = wake.clone();
    let synced = vec![s_runs, s_pipelines, s_jobs, s_pods];
    {
        let caches = synced.clone();
        health.expect_controller();
        let health = health.clone();
        tokio::spawn(async move {
            crate::health::until_synced(&caches).await;
            tracing::info!("pipelinerun caches synced");
            health.controller_synced();
        });
    }
    metrics.watch_runs(runs_store.clone());
    let state = RunState {
        caches: Caches {
            runs: runs_store.clone(),
            pipelines,
            jobs,
            pods,
        },
        renderer: Renderer::new(),
        kinds: Kinds::default(),
        wake,
        pending: pending.clone(),
        batch,
        applied,
        synced,
        leads,
        flushing: AtomicBool::new(false),
        child_watches: ChildWatches::new(config.namespace.clone(), wake_children, shutdown.clone()),
    };
    let ctx = Arc::new(Shared {
        client: client.clone(),
        config: config.clone(),
        recorder: Recorder::new(client, reporter),
        metrics,
        fence,
        inner: state,
    });
    let flush_ctx = ctx.clone();
    let for_pipeline = runs_store.clone();
    let (p1, p2) = (pending.clone(), pending);
    Controller::for_stream(run_stream, runs_store)
        .with_config(kube::runtime::controller::Config::default().concurrency(config.workers))
        .owns_stream(job_stream)
        .watches_stream(pod_stream, move |pod: Pod| {
            let run = pod.labels().get(labels::RUN)?.clone();
            let r = ObjectRef::new(&run).within(&pod.namespace()?);
            p1.add(r.clone());
            Some(r)
        })
        // A new or changed Pipeline matters to its runs that have not started yet.
        .watches_stream(pl_stream, move |pl: Pipeline| {
            let (name, ns) = (pl.name_any(), pl.namespace());
            let refs: Vec<_> = for_pipeline
                .state()
                .into_iter()
                .filter(|r| r.namespace() == ns && r.spec.pipeline_ref.as_ref() == Some(&name))
                .filter(|r| {
                    r.status
                        .as_ref()
                        .is_none_or(|s| s.pipeline_spec.is_none() && !s.phase.is_finished())
                })
                .map(|r| ObjectRef::from_obj(&*r))
                .collect();
            for r in &refs {
                p2.add(r.clone());
            }
            refs
        })
        .reconcile_on(woken)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .map(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "run reconcile ended with an error");
            }
        })
        .chain(futures::stream::once(flush(flush_ctx)))
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

/// A Job as the state parser reads it: status, completions, parallelism, and metadata.
/// The pod template (the bulk of a Job) is dropped: caches hold thousands of these.
fn strip_job(job: &mut Job) {
    strip(job);
    if let Some(spec) = job.spec.as_mut() {
        *spec = k8s_openapi::api::batch::v1::JobSpec {
            completions: spec.completions,
            parallelism: spec.parallelism,
            ..Default::default()
        };
    }
}

/// A Pod as the state parser reads it: status, container names and restart policy.
fn strip_pod(pod: &mut Pod) {
    strip(pod);
    if let Some(spec) = pod.spec.as_mut() {
        let names = |cs: &[k8s_openapi::api::core::v1::Container]| -> Vec<k8s_openapi::api::core::v1::Container> {
            cs.iter().map(|c| k8s_openapi::api::core::v1::Container { name: c.name.clone(), ..Default::default() }).collect()
        };
        *spec = k8s_openapi::api::core::v1::PodSpec {
            containers: names(&spec.containers),
            init_containers: spec.init_containers.as_deref().map(names),
            restart_policy: spec.restart_policy.clone(),
            ..Default::default()
        };
    }
}

/// Drops what the planner never reads, to keep the caches small.
fn strip<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    if let Some(a) = obj.meta_mut().annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

async fn reconcile(run: Arc<PipelineRun>, ctx: Ctx<RunState>) -> Result<Action, Error> {
    ctx.inner.pending.done(&ObjectRef::from_obj(&*run));
    instrumented(
        &ctx.metrics,
        "pipelinerun",
        reconcile_run(run.clone(), ctx.clone()),
    )
    .await
}

/// How long a reconcile waits for the caches to finish their initial lists before it tries
/// again later (only right after a start).
const CACHE_SYNC_WAIT: Duration = Duration::from_secs(2);

async fn reconcile_run(run: Arc<PipelineRun>, ctx: Ctx<RunState>) -> Result<Action, Error> {
    let ns = run.namespace().ok_or(Error::MissingField("namespace"))?;
    let name = run.name_any();
    if run.metadata.deletion_timestamp.is_some() {
        // Children carry a controller ownerReference: the garbage collector removes them.
        return Ok(Action::await_change());
    }
    let st = &ctx.inner;
    let client = &ctx.client;
    if !crate::health::synced_within(&st.synced, CACHE_SYNC_WAIT).await {
        return Ok(Action::requeue(CACHE_SYNC_WAIT));
    }
    let now = jiff::Timestamp::now();
    // A reconcile triggered (by a Job or Pod event) before the watch delivered our own last
    // status write would plan from a status we already replaced, and its guarded patch would
    // fail with a conflict. Wait for the cache instead: the watch event triggers us again.
    let uid = run.uid().unwrap_or_default();
    if st.batch.is_stale(&uid, run.resource_version().as_deref()) {
        return Ok(Action::requeue(Duration::from_millis(500)));
    }

    // 1. dereference
    let pipeline = observe::pipeline(&st.caches, &run, &ns);
    let snapshot = run.status.as_ref().and_then(|s| s.pipeline_spec.as_deref());
    let spec_for_templates = snapshot
        .or(run.spec.pipeline.as_deref())
        .or(pipeline.as_ref().map(|p| &p.spec));
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
    watch_child_kinds(&ctx, &run, &plan).await;

    // 3. apply, except what this controller applied moments ago and the cache has not
    // shown yet: a plan made from a status whose write was deferred starts those steps
    // again, and would otherwise apply their children a second time.
    for m in &plan.apply {
        if st.applied.recently(&uid, m.name()) {
            continue;
        }
        ctx.fence.check()?;
        apply::apply(client, &st.kinds, &ns, m).await?;
        tracing::debug!(run = %name, child = %m.name(), "applied child");
        st.applied.record(&uid, m.name());
    }
    for d in &plan.delete {
        ctx.fence.check()?;
        apply::delete(client, &st.kinds, &ns, d).await?;
        tracing::debug!(run = %name, child = %d.name, "deleted child");
    }

    // 4. status: one patch, only when something changed, guarded by the resourceVersion the
    // plan was made from, so a plan made from a stale cache is never written. A change that
    // is not urgent (steps started or succeeded while the run goes on) waits up to the
    // status batch period to share its patch with the next change.
    let old = run.status.clone().unwrap_or_default();
    let mut requeue = plan.requeue_after;
    if plan.status != old {
        let urgent = plan.urgent || st.flushing.load(Ordering::SeqCst);
        match st
            .batch
            .defer(&uid, urgent, ctx.config.batch_period(&ctx.metrics))
        {
            Some(wait) => requeue = Some(requeue.map_or(wait, |r| r.min(wait))),
            None => {
                ctx.fence.check()?;
                let rv = run.resource_version();
                match write_status(client, &ns, &name, rv.clone(), &plan.status).await {
                    Err(e) if is_too_large(&e) => {
                        // Retrying the same write would fail forever: end the run instead.
                        let small = weir_core::too_large(plan.status.clone(), now, &e.to_string());
                        tracing::warn!(run = %name, error = %e, "status too large; failing the run");
                        write_status(client, &ns, &name, rv, &small).await
                    }
                    other => other,
                }
                .map_err(|source| Error::PatchStatus {
                    name: name.clone(),
                    source,
                })?;
                tracing::debug!(run = %name, "wrote run status");
                st.batch.written(
                    &uid,
                    plan.status.phase.is_finished(),
                    run.resource_version(),
                );
                if plan.status.phase.is_finished() {
                    st.applied.forget(&uid);
                }
                // Events and counters describe written transitions only: a deferred plan is
                // made again, with the same events, by the reconcile that writes it.
                for e in plan
                    .events
                    .iter()
                    .filter(|e| e.warning || ctx.config.normal_events || !e.reason.routine())
                {
                    publish(&ctx.recorder, &run, e).await;
                }
                if plan.status.phase.is_finished() && !old.phase.is_finished() {
                    wake_queued(st, &run, &ns);
                }
                record(&ctx.metrics, &run, &old, &plan.status);
            }
        }
    }
    tracing::debug!(run = %name, phase = plan.status.phase.as_str(), applied = plan.apply.len(), deleted = plan.delete.len(), "reconciled");
    Ok(match requeue {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

/// Children of kinds other than Job wake their run through a watch of their kind: started
/// for each kind the plan applies or the run's status records (after a restart).
async fn watch_child_kinds(ctx: &Ctx<RunState>, run: &PipelineRun, plan: &weir_core::Plan) {
    let st = &ctx.inner;
    let recorded = run
        .status
        .iter()
        .flat_map(|s| s.steps.iter())
        .filter(|s| !s.phase.is_finished())
        .filter_map(|s| s.child_kind.as_ref())
        .map(|k| (k.api_version.clone(), k.kind.clone()));
    let planned = plan.apply.iter().filter_map(|m| match m.kind() {
        weir_core::ChildKind::Other { api_version, kind } => Some((api_version, kind)),
        weir_core::ChildKind::Job => None,
    });
    let kinds: std::collections::BTreeSet<(String, String)> = recorded
        .chain(planned)
        .filter(|(_, kind)| kind != "Job")
        .collect();
    for (api_version, kind) in kinds {
        match st.kinds.resource(&ctx.client, &api_version, &kind).await {
            Ok(ar) => st.child_watches.ensure(&ctx.client, &ar),
            // Applying such a child fails with the same error, where it is reported.
            Err(e) => tracing::debug!(error = %e, "no watch for an unknown child kind"),
        }
    }
}

/// Writes a run's status with server-side apply, guarded by the resourceVersion the plan
/// was made from, so a plan made from a stale cache is never written.
async fn write_status(
    client: &Client,
    ns: &str,
    name: &str,
    resource_version: Option<String>,
    status: &weir_api::v1alpha1::PipelineRunStatus,
) -> Result<PipelineRun, kube::Error> {
    let body = json!({
        "apiVersion": "weir.dev/v1alpha1",
        "kind": "PipelineRun",
        "metadata": { "name": name, "resourceVersion": resource_version },
        "status": status,
    });
    Api::<PipelineRun>::namespaced(client.clone(), ns)
        .patch_status(
            name,
            &PatchParams::apply(weir_api::FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
}

/// Counts what this reconcile changed: runs started, steps finished (with their duration).
fn record(
    metrics: &Metrics,
    run: &PipelineRun,
    old: &weir_api::v1alpha1::PipelineRunStatus,
    new: &weir_api::v1alpha1::PipelineRunStatus,
) {
    if old.pipeline_spec.is_none() && new.pipeline_spec.is_some() {
        let by = run
            .annotations()
            .get(labels::STARTED_BY)
            .map(String::as_str);
        let started_by = match by {
            Some("manual") => "manual",
            Some("schedule") => "schedule",
            Some("bucket") => "bucket",
            Some("backfill") => "backfill",
            _ => "api",
        };
        metrics
            .runs_started
            .get_or_create(&StartedByLabel { started_by })
            .inc();
    }
    let Some(spec) = &new.pipeline_spec else {
        return;
    };
    for (step, st) in spec.steps.iter().zip(&new.steps) {
        let was = old
            .steps
            .iter()
            .find(|s| s.name == st.name)
            .map(|s| s.phase.is_finished())
            .unwrap_or(false);
        let outcome = match st.phase {
            weir_api::v1alpha1::StepPhase::Succeeded => "Succeeded",
            weir_api::v1alpha1::StepPhase::Failed => "Failed",
            _ => continue,
        };
        if was {
            continue;
        }
        let (Some(start), Some(end)) = (&st.start_time, &st.finish_time) else {
            continue;
        };
        let kind = step.kind();
        let secs = end.0.duration_since(start.0).as_secs_f64().max(0.0);
        metrics
            .step_duration
            .get_or_create(&KindLabel { kind, outcome })
            .observe(secs);
    }
}

/// Queued runs of the same Pipeline may start now that this one is finished.
fn wake_queued(st: &RunState, run: &PipelineRun, ns: &str) {
    let Some(pipeline) = &run.spec.pipeline_ref else {
        return;
    };
    for r in st.caches.runs.state() {
        let queued = r.status.as_ref().is_some_and(|s| {
            s.phase == RunPhase::Queued || (s.pipeline_spec.is_none() && !s.phase.is_finished())
        });
        if queued
            && r.namespace().as_deref() == Some(ns)
            && r.spec.pipeline_ref.as_ref() == Some(pipeline)
        {
            let _ = st.wake.unbounded_send(ObjectRef::from_obj(&*r));
        }
    }
}

async fn publish(recorder: &Recorder, run: &PipelineRun, e: &weir_core::Event) {
    let ev = KubeEvent {
        type_: if e.warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
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
    ctx.inner.pending.done(&ObjectRef::from_obj(&*run));
    if err.is_conflict() {
        return Action::requeue(Duration::from_millis(200));
    }
    tracing::warn!(run = %run.name_any(), category = err.category(), error = %err, "reconcile failed");
    Action::requeue(ctx.config.error_backoff)
}
