//! What every controller's reconcile shares: the client, configuration, Event recorder,
//! metrics and write fence ([`Shared`]); the instrumentation around a reconcile; the wait
//! for caches to sync; and the error policy.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;

use crate::Shutdown;
use crate::config::Config;
use crate::error::Error;
use crate::fence::Fence;
use crate::health::{Health, Synced};
use crate::leader::Leadership;
use crate::metrics::{ControllerLabel, ErrorLabels, Metrics};

/// What every controller is started with.
pub(crate) struct Env {
    pub client: Client,
    pub config: Config,
    pub reporter: kube::runtime::events::Reporter,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    /// The controller stops taking reconciles when it resolves.
    pub shutdown: Shutdown,
    pub leadership: Leadership,
}

impl Env {
    /// The context of one controller's reconciles, around its own `inner` state.
    pub(crate) fn shared<T>(&self, inner: T) -> Ctx<T> {
        Arc::new(Shared {
            client: self.client.clone(),
            config: self.config.clone(),
            recorder: Recorder::new(self.client.clone(), self.reporter.clone()),
            metrics: self.metrics.clone(),
            fence: self.leadership.fence.clone(),
            inner,
        })
    }

    /// Readiness waits for `caches` (the controller named `controller`) to sync.
    pub(crate) fn ready_when_synced(&self, controller: &'static str, caches: Vec<Synced>) {
        self.health.expect_controller();
        let health = self.health.clone();
        tokio::spawn(async move {
            crate::health::until_synced(&caches).await;
            tracing::info!(controller, "caches synced");
            health.controller_synced();
        });
    }
}

/// Shared by every reconcile of one controller; `inner` is the controller's own state.
pub(crate) struct Shared<T> {
    pub client: Client,
    pub config: Config,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Every write checks it first (leader election).
    pub fence: Arc<Fence>,
    pub inner: T,
}

/// The context kube's runner hands each reconcile.
pub(crate) type Ctx<T> = Arc<Shared<T>>;

/// How long a reconcile waits for the caches to finish their initial lists before it tries
/// again later (only right after a start).
const CACHE_SYNC_WAIT: Duration = Duration::from_secs(2);

/// `Some(action)` when the caches have not all synced within [`CACHE_SYNC_WAIT`]: planning
/// from a half-filled cache would write a wrong status (a Job seen before its pod, runs
/// counted before all are listed), then the right one.
pub(crate) async fn wait_for_caches(synced: &[Synced]) -> Option<Action> {
    (!crate::health::synced_within(synced, CACHE_SYNC_WAIT).await)
        .then(|| Action::requeue(CACHE_SYNC_WAIT))
}

/// Counts a reconcile, its duration and its outcome.
pub(crate) async fn instrumented<F, T>(
    metrics: &Metrics,
    controller: &'static str,
    fut: F,
) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, Error>>,
{
    let label = ControllerLabel { controller };
    metrics.reconciles.get_or_create(&label).inc();
    let in_flight = metrics.in_flight.get_or_create(&label).clone();
    in_flight.inc();
    let start = std::time::Instant::now();
    let res = fut.await;
    in_flight.dec();
    metrics
        .reconcile_duration
        .get_or_create(&label)
        .observe(start.elapsed().as_secs_f64());
    if let Err(e) = &res
        && !e.is_conflict()
    {
        metrics
            .reconcile_errors
            .get_or_create(&ErrorLabels {
                controller,
                category: e.category(),
            })
            .inc();
    }
    res
}

/// The error policy of every controller: a conflict means the plan was made from a stale
/// cache and is retried at once; anything else is logged and retried after the backoff.
pub(crate) fn on_error(controller: &str, name: &str, err: &Error, backoff: Duration) -> Action {
    if err.is_conflict() {
        return Action::requeue(Duration::from_millis(200));
    }
    tracing::warn!(controller, name, category = err.category(), error = %err, "reconcile failed");
    Action::requeue(backoff)
}
