//! The SparkJob and DbtRun controllers: one reconcile for both kinds (they differ only in
//! their child and status, see [`crate::standalone_kinds`]). The decisions are
//! `weir_core::attempts::plan_standalone`, the step logic of a pipeline step; this reads the
//! current attempt's child by name and carries the plan out, writing the status that
//! records an attempt *before* creating its child, so an attempt is submitted at most once.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::ResourceExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, watcher};
use weir_api::labels;
use weir_core::attempts::{StandaloneObserved, StandalonePlan, plan_standalone};
use weir_core::standalone::StandaloneInput;
use weir_render::Renderer;

use crate::apply::{self, Kinds};
use crate::context::{self, Ctx, Env, instrumented};
use crate::error::Error;
use crate::expectations::Refused;
use crate::health::Synced;
use crate::observe;
use crate::standalone_kinds::{Kind, child_api, read_child};
use crate::status::{self, Batch};
use crate::watch::{self, cache, scoped};

/// What the reconciles of one standalone kind share.
pub(crate) struct StandaloneState {
    renderer: Renderer,
    kinds: Kinds,
    /// When each object's status was last written.
    batch: Batch,
    /// Children whose create the API server refused, with why.
    refused: Refused,
    synced: Vec<Synced>,
}

/// The controller of kind `K` as a stream that ends after `env.shutdown`. It wakes on its
/// objects and on their children (`children`: the child kind's watch, by ownerReference).
pub(crate) fn controller<K: Kind>(env: &Env) -> impl Stream<Item = ()> + use<K> {
    let (client, ns) = (&env.client, &env.config.namespace);
    let objects = cache(scoped::<K>(client, ns), Default::default(), watch::strip);
    let synced = vec![objects.synced.clone()];
    env.ready_when_synced(K::CONTROLLER, synced.clone());
    let ctx = env.shared(StandaloneState {
        renderer: Renderer::new(),
        kinds: Kinds::new(env.config.allow_cluster_scoped),
        batch: Batch::default(),
        refused: Refused::default(),
        synced,
    });
    let config = watcher::Config::default().labels(&format!("{}=weir", labels::MANAGED_BY));
    let (ar, children) = child_api(client, ns, K::STANDALONE);
    let child_stream = watcher(children, config)
        .default_backoff()
        .touched_objects()
        // A child kind not served (spark-operator not installed) keeps failing here, with
        // a backoff; the SparkJobs say so in their status when they try to create one.
        .filter_map(|r| async move {
            r.map_err(|e| tracing::debug!(error = %e, "watching standalone children"))
                .ok()
        })
        .map(Ok::<_, watcher::Error>);
    Controller::for_stream(objects.events.touched_objects(), objects.store)
        .with_config(kube::runtime::controller::Config::default().concurrency(env.config.workers))
        .owns_stream_with(child_stream, ar)
        .graceful_shutdown_on(env.shutdown.clone())
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .map(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "standalone reconcile ended with an error");
            }
        })
}

async fn reconcile<K: Kind>(obj: Arc<K>, ctx: Ctx<StandaloneState>) -> Result<Action, Error> {
    instrumented(&ctx.metrics, K::CONTROLLER, reconcile_one(obj, ctx.clone())).await
}

fn error_policy<K: Kind>(obj: Arc<K>, err: &Error, ctx: Ctx<StandaloneState>) -> Action {
    context::on_error(
        K::CONTROLLER,
        &obj.name_any(),
        err,
        ctx.config.error_backoff,
    )
}

/// One reconcile: read the current attempt's child → plan → status (first, when a child is
/// to be created) → create → delete → Events.
async fn reconcile_one<K: Kind>(obj: Arc<K>, ctx: Ctx<StandaloneState>) -> Result<Action, Error> {
    let st = &ctx.inner;
    let ns = obj.namespace().ok_or(Error::MissingField("namespace"))?;
    if obj.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    if let Some(later) = context::wait_for_caches(&st.synced).await {
        return Ok(later);
    }
    let uid = obj.uid().unwrap_or_default();
    if st.batch.is_stale(&uid, obj.resource_version().as_deref()) {
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    let now = jiff::Timestamp::now();
    let (name, status) = (obj.name_any(), obj.status_or_default());
    let attempts = K::attempts(&status);

    // 1. dereference
    let templates: Vec<_> = obj.template().into_iter().collect();
    let texts = observe::config_templates_of(&ctx.client, &templates, &ns).await?;
    let child = match &attempts.child {
        Some(c) => read_child::<K>(&ctx.client, &ns, c, now).await?,
        None => None,
    };
    let refused = st.refused.of(&uid);
    let observed = StandaloneObserved {
        input: StandaloneInput {
            kind: K::STANDALONE,
            name: &name,
            attempt: 1,
            namespace: &ns,
            uid: &uid,
            start_time: attempts.start.or(Some(now)),
            spec: obj.spec_json(),
            template: obj.template(),
        },
        generation: obj.meta().generation,
        retries: obj.retries(),
        timeout: obj.timeout(),
        child_seen: K::child_seen(&status),
        refused: attempts
            .child
            .as_ref()
            .and_then(|c| refused.get(c))
            .map(String::as_str),
        attempts,
        child: child.as_ref().map(|(c, _)| c.clone()),
        config_templates: &texts,
        renderer: &st.renderer,
        now,
    };
    // 2. plan
    let plan = plan_standalone(&observed);
    let raw = child.as_ref().map(|(_, raw)| raw);
    let new = K::new_status(&status, &plan, raw, obj.meta().generation, now);
    // 3. the status that records a new attempt, then its child
    write_status::<K>(&ctx, &obj, &status, &new, &plan).await?;
    if let Some(m) = &plan.apply {
        ctx.fence.check()?;
        match apply::apply(&ctx.client, &st.kinds, &ns, m).await {
            Err(e) if apply::is_refusal(&e) => {
                // The next plan fails the attempt with why.
                tracing::warn!(name = %name, child = %m.name(), error = %e, "the API server refused a child");
                st.refused.record(&uid, m.name(), e.to_string());
                return Ok(Action::requeue(Duration::from_millis(100)));
            }
            other => other?,
        }
        tracing::info!(kind = K::STANDALONE.name(), name = %name, child = %m.name(), "created an attempt's child");
    }
    for d in &plan.delete {
        ctx.fence.check()?;
        apply::delete(&ctx.client, &st.kinds, &ns, d).await?;
    }
    Ok(plan
        .requeue_after
        .map_or_else(Action::await_change, Action::requeue))
}

/// Writes the new status when it changed (always at once: one object, few writes), then
/// its Events.
async fn write_status<K: Kind>(
    ctx: &Ctx<StandaloneState>,
    obj: &K,
    old: &K::Status,
    new: &K::Status,
    plan: &StandalonePlan,
) -> Result<(), Error> {
    if new == old {
        return Ok(());
    }
    ctx.fence.check()?;
    status::write(&ctx.client, obj, new)
        .await
        .map_err(|source| Error::PatchStatus {
            name: obj.name_any(),
            source,
        })?;
    let uid = obj.uid().unwrap_or_default();
    let finished = plan.attempts.phase.is_finished();
    ctx.inner
        .batch
        .written(&uid, finished, obj.resource_version());
    if finished {
        ctx.inner.refused.forget(&uid);
    }
    crate::events::publish_planned(&ctx.recorder, obj, &plan.events, ctx.config.normal_events)
        .await;
    Ok(())
}
