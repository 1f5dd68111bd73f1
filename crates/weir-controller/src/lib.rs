//! The only crate that talks to the API server. It gathers what the planner needs from
//! watch caches, calls the pure planner in `weir-core`, and carries out the plan: server-side
//! apply of children, deletes, one status patch, Events. Around that: metrics, health,
//! leader election and a rate-limited client.
//!
//! Decisions do not belong here: if a branch needs more than "apply each, delete each", it
//! belongs in `weir-core`, where it can be tested without a cluster.

mod apply;
mod child_watch;
pub mod client;
pub mod config;
mod error;
mod fence;
pub mod health;
mod memory;
pub mod metrics;
mod observe;
pub mod pipelines;
pub mod runs;

pub use config::Config;
pub use error::Error;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::future::{FutureExt, Shared as SharedFuture};
use k8s_openapi::api::coordination::v1::Lease;
use kube::runtime::events::{Recorder, Reporter};
use kube::{Api, Client};
use kube_lease_manager::LeaseManagerBuilder;

use crate::health::Health;
use crate::metrics::Metrics;

/// A shutdown signal every task can wait on.
pub type Shutdown = SharedFuture<futures::future::BoxFuture<'static, ()>>;

/// Runs weir until `shutdown` resolves: the metrics/health server, then (once this replica
/// leads, with leader election on) the PipelineRun and Pipeline controllers. Losing the
/// lease is an error: the process exits and Kubernetes restarts it as a standby, the way
/// kube-controller-manager behaves, so two replicas never reconcile at once.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let shutdown: Shutdown = shutdown.boxed().shared();
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let client = client::build(metrics.clone(), config.qps, config.burst)
        .await
        .map_err(Error::Client)?;
    if let Some(addr) = config.metrics_addr {
        let (m, h, s) = (metrics.clone(), health.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = health::serve(addr, m, h, s).await {
                tracing::error!(error = %e, %addr, "the metrics server stopped");
            }
        });
    }
    let Some(lease) = &config.leader_election else {
        health.set_leadership(true);
        metrics.leader.set(1);
        let leads = Arc::new(AtomicBool::new(true));
        let fence = Arc::new(fence::Fence::open());
        run_controllers(client, &config, metrics, health, shutdown, leads, fence).await;
        return Ok(());
    };
    let identity = config
        .instance
        .clone()
        .unwrap_or_else(|| format!("weir-{}", std::process::id()));
    let manager = LeaseManagerBuilder::new(client.clone(), &lease.name)
        .with_namespace(&lease.namespace)
        .with_identity(&identity)
        .with_duration(lease.duration_seconds)
        .with_grace(lease.grace_seconds)
        .with_field_manager(weir_api::FIELD_MANAGER)
        .build()
        .await
        .map_err(|e| Error::Leader(e.to_string()))?;
    let (mut leading, task) = manager.watch().await;
    let became_leader = async {
        // kube-lease-manager reports changes only, so a standby hears nothing until it
        // leads. Give the first attempt at the lease a moment; after it, not leading is a
        // known standby (ready: it serves nothing), and says so once.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), leading.changed()).await;
        loop {
            let now = *leading.borrow_and_update();
            health.set_leadership(now);
            if now {
                return true;
            }
            tracing::info!(%identity, lease = %lease.name, "standing by: another replica leads");
            if leading.changed().await.is_err() {
                return false;
            }
        }
    };
    let led = tokio::select! {
        l = became_leader => l,
        _ = shutdown.clone() => false,
    };
    if !led {
        drop(leading);
        let _ = task.await;
        return Ok(());
    }
    tracing::info!(%identity, lease = %lease.name, "leading");
    // Writes wait for the first renewal the Lease's watch shows, then stop at its expiry
    // unless the next one is seen (a paused or cut-off leader stops writing by itself).
    let fence = Arc::new(fence::Fence::closed());
    {
        let fence = fence.clone();
        let api = Api::<Lease>::namespaced(client.clone(), &lease.namespace);
        let (name, id, stop) = (lease.name.clone(), identity.clone(), shutdown.clone());
        let margin = std::time::Duration::from_secs(lease.grace_seconds.min(1));
        tokio::spawn(async move { fence.follow(api, &name, &id, margin, stop).await });
    }
    metrics.leader.set(1);
    let mut watch = leading.clone();
    let leads = Arc::new(AtomicBool::new(true));
    let lost = {
        let leads = leads.clone();
        async move {
            while watch.changed().await.is_ok() {
                if !*watch.borrow() {
                    break;
                }
            }
            leads.store(false, Ordering::SeqCst);
        }
    }
    .shared();
    let stop = futures::future::select(shutdown.clone(), lost.clone())
        .map(|_| ())
        .boxed()
        .shared();
    run_controllers(
        client,
        &config,
        metrics.clone(),
        health.clone(),
        stop,
        leads,
        fence,
    )
    .await;
    metrics.leader.set(0);
    let lost_it = lost.now_or_never().is_some();
    // Dropping the receiver makes the lease manager release the lease, so a standby takes
    // over at once instead of after the lease expires.
    drop(leading);
    let _ = task.await;
    if lost_it {
        return Err(Error::Leader(
            "lost the lease; exiting so a standby can take over".into(),
        ));
    }
    Ok(())
}

/// How long the controllers get, after the stop signal, to finish running reconciles and
/// write the status changes they deferred. A controller still starting (its caches not
/// synced) never finishes by itself: kube's runner waits for its cache first.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(8);

/// Runs the controllers until `stop`; then lets them finish for at most [`STOP_GRACE`].
/// `leads` is false once the lease is lost: a replica that no longer leads writes nothing
/// on its way out.
async fn run_controllers(
    client: Client,
    config: &Config,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    stop: Shutdown,
    leads: Arc<AtomicBool>,
    fence: Arc<fence::Fence>,
) {
    let reporter = Reporter {
        controller: "weir".into(),
        instance: config.instance.clone(),
    };
    let runs = runs::controller(
        client.clone(),
        config,
        reporter.clone(),
        metrics.clone(),
        health.clone(),
        stop.clone(),
        Leadership {
            leads,
            fence: fence.clone(),
        },
    );
    let pipelines = pipelines::controller(
        client,
        config,
        reporter,
        metrics,
        health,
        stop.clone(),
        fence,
    );
    let both = futures::future::join(runs.collect::<Vec<()>>(), pipelines.collect::<Vec<()>>());
    let deadline = async {
        stop.await;
        tokio::time::sleep(STOP_GRACE).await;
    };
    tokio::select! {
        (a, b) = both => tracing::info!(runs = a.len(), pipelines = b.len(), "controllers stopped"),
        () = deadline => tracing::warn!(grace = ?STOP_GRACE, "controllers did not stop in time; leaving them"),
    }
}

/// What the run controller knows of this replica's leadership.
pub(crate) struct Leadership {
    /// False once the lease is lost (nothing is flushed on the way out then).
    pub leads: Arc<AtomicBool>,
    /// Every write checks it first.
    pub fence: Arc<fence::Fence>,
}

/// Shared by every reconcile of one controller.
pub(crate) struct Shared<T> {
    pub client: Client,
    pub config: Config,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Every write checks it first (leader election).
    pub fence: Arc<fence::Fence>,
    pub inner: T,
}

pub(crate) type Ctx<T> = Arc<Shared<T>>;

/// Counts a reconcile, its duration and its outcome.
pub(crate) async fn instrumented<F, T>(
    metrics: &Metrics,
    controller: &'static str,
    fut: F,
) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, Error>>,
{
    use crate::metrics::{ControllerLabel, ErrorLabels};
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
