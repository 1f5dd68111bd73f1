//! `/metrics`, `/healthz` and `/readyz` on one small HTTP server.
//!
//! Ready means: leadership is known, and — on the leader — every cache has synced. A standby
//! replica is ready as soon as it knows it is standing by, so a rolling update never waits on
//! a replica that will not lead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

/// What `/readyz` answers from.
#[derive(Debug, Default)]
pub struct Health {
    leadership_known: AtomicBool,
    leader: AtomicBool,
    synced: AtomicUsize,
    controllers: AtomicUsize,
}

impl Health {
    /// This replica knows whether it leads.
    pub fn set_leadership(&self, leader: bool) {
        self.leader.store(leader, Ordering::SeqCst);
        self.leadership_known.store(true, Ordering::SeqCst);
    }

    /// One more controller will report its caches synced.
    pub(crate) fn expect_controller(&self) {
        self.controllers.fetch_add(1, Ordering::SeqCst);
    }

    /// A controller's caches are synced.
    pub(crate) fn controller_synced(&self) {
        self.synced.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether `/readyz` says ready.
    pub fn ready(&self) -> bool {
        let known = self.leadership_known.load(Ordering::SeqCst);
        let leader = self.leader.load(Ordering::SeqCst);
        let synced =
            self.synced.load(Ordering::SeqCst) >= self.controllers.load(Ordering::SeqCst).max(1);
        known && (!leader || synced)
    }
}

/// Whether one watch cache has applied its initial list. Set from the watch stream itself
/// (its `InitDone` event): kube's `Store::wait_until_ready` wakes only its most recent
/// waiter, and the controller's own runner is already that waiter.
#[derive(Debug, Clone, Default)]
pub(crate) struct Synced(Arc<SyncedInner>);

#[derive(Debug, Default)]
struct SyncedInner {
    done: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Synced {
    /// Marks the cache synced when its stream reports the initial list done.
    pub(crate) fn observe<K, E>(&self, event: &Result<kube::runtime::watcher::Event<K>, E>) {
        if matches!(event, Ok(kube::runtime::watcher::Event::InitDone)) {
            self.0.done.store(true, Ordering::SeqCst);
            self.0.notify.notify_waiters();
        }
    }

    fn is_synced(&self) -> bool {
        self.0.done.load(Ordering::SeqCst)
    }

    async fn until_synced(&self) {
        loop {
            // Registered before the check, so a sync in between still wakes us.
            let notified = self.0.notify.notified();
            if self.is_synced() {
                return;
            }
            notified.await;
        }
    }
}

/// Returns once every cache has synced.
pub(crate) async fn until_synced(caches: &[Synced]) {
    for c in caches {
        c.until_synced().await;
    }
}

/// Waits up to `limit` for every cache to sync; false when they have not.
///
/// A reconcile must not plan from a cache that is still being filled: a Job seen complete
/// before its pod is listed has no result yet, and a run seen before its siblings could
/// jump the queue. Bounded, so a shutdown never waits on a cache that will not sync.
pub(crate) async fn synced_within(caches: &[Synced], limit: std::time::Duration) -> bool {
    if caches.iter().all(Synced::is_synced) {
        return true;
    }
    tokio::time::timeout(limit, until_synced(caches))
        .await
        .is_ok()
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

/// Serves until `shutdown` resolves. Binds `addr` (use 127.0.0.1 outside a cluster).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready_handler))
        .with_state(AppState { metrics, health });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /metrics, /healthz, /readyz");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics_handler(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn ready_handler(State(s): State<AppState>) -> impl IntoResponse {
    if s.health.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}
