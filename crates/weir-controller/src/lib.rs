//! The only crate that talks to the API server. It gathers what the planner needs from
//! watch caches, calls the pure planner in `weir-core`, and carries out the plan: server-side
//! apply of children, deletes, one status patch, Events. Around that: metrics, health,
//! leader election and a rate-limited client.
//!
//! Decisions do not belong here: if a branch needs more than "apply each, delete each", it
//! belongs in `weir-core`, where it can be tested without a cluster.

mod apply;
mod buckets;
mod child_watch;
pub mod client;
pub mod config;
mod context;
mod error;
mod events;
mod expectations;
mod fence;
pub mod health;
mod leader;
pub mod metrics;
mod observe;
mod pipelines;
mod runs;
mod schedules;
mod standalone;
mod standalone_kinds;
mod status;
pub mod trigger_metrics;
mod watch;
pub mod webhook;

pub use config::Config;
pub use error::Error;

use std::sync::Arc;

use futures::StreamExt;
use futures::future::{FutureExt, Shared as SharedFuture};
use kube::Client;
use kube::runtime::events::Reporter;

use crate::health::Health;
use crate::leader::Leadership;
use crate::metrics::Metrics;

/// A shutdown signal every task can wait on.
pub type Shutdown = SharedFuture<futures::future::BoxFuture<'static, ()>>;

/// Runs weir until `shutdown` resolves: the metrics/health server, the webhook (on every
/// replica, leader or not: run creation is idempotent by name), then (once this replica
/// leads, with leader election on) the PipelineRun and Pipeline controllers. Losing the
/// lease is an error (see `leader`).
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
    if let Some(hook) = config.webhook.clone() {
        spawn_webhook(hook, &config, metrics.clone(), shutdown.clone()).await?;
    }
    leader::run_while_leading(
        &client,
        &config,
        &metrics,
        &health,
        shutdown,
        |stop, leadership| {
            run_controllers(
                client.clone(),
                &config,
                metrics.clone(),
                health.clone(),
                stop,
                leadership,
            )
        },
    )
    .await
}

/// Starts the webhook server. Its requests to the API server go through a client of its
/// own, with its own rate limit ([`webhook::API_QPS`]): every request for a made-up
/// pipeline costs a read, and a flood of them must not eat the controllers' budget.
async fn spawn_webhook(
    hook: webhook::WebhookConfig,
    config: &Config,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let client = client::build(metrics.clone(), webhook::API_QPS, webhook::API_BURST)
        .await
        .map_err(Error::Client)?;
    let kube = Arc::new(webhook::KubeHooks::new(client, config.namespace.clone()));
    let confirmer: Option<Arc<dyn webhook::Confirmer>> = if hook.confirm_subscriptions {
        Some(Arc::new(
            webhook::SnsConfirmer::new().map_err(Error::Webhook)?,
        ))
    } else {
        None
    };
    let hooks = webhook::Hooks {
        keys: kube.clone(),
        starter: kube,
        confirmer,
    };
    tokio::spawn(async move {
        let addr = hook.addr;
        if let Err(e) = webhook::serve(hook, hooks, metrics, shutdown).await {
            tracing::error!(error = %e, %addr, "the webhook server stopped");
        }
    });
    Ok(())
}

/// How long the controllers get, after the stop signal, to finish running reconciles and
/// write the status changes they deferred. A controller still starting (its caches not
/// synced) never finishes by itself: kube's runner waits for its cache first.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(8);

/// Runs the controllers until `stop`; then lets them finish for at most [`STOP_GRACE`].
/// A replica that lost its lease writes nothing on its way out.
async fn run_controllers(
    client: Client,
    config: &Config,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    stop: Shutdown,
    leadership: Leadership,
) {
    let env = context::Env {
        reporter: Reporter {
            controller: "weir".into(),
            instance: config.instance.clone(),
        },
        client,
        config: config.clone(),
        metrics,
        health,
        shutdown: stop.clone(),
        leadership,
    };
    let runs = runs::controller(&env);
    let pipelines = pipelines::controller(&env);
    let spark_jobs = standalone::controller::<weir_api::v1alpha1::SparkJob>(&env);
    let dbt_runs = standalone::controller::<weir_api::v1alpha1::DbtRun>(&env);
    let standalone = futures::future::join(
        spark_jobs.collect::<Vec<()>>(),
        dbt_runs.collect::<Vec<()>>(),
    );
    let both = futures::future::join3(
        runs.collect::<Vec<()>>(),
        pipelines.collect::<Vec<()>>(),
        standalone,
    );
    let deadline = async {
        stop.await;
        tokio::time::sleep(STOP_GRACE).await;
    };
    tokio::select! {
        (a, b, _) = both => tracing::info!(runs = a.len(), pipelines = b.len(), "controllers stopped"),
        () = deadline => tracing::warn!(grace = ?STOP_GRACE, "controllers did not stop in time; leaving them"),
    }
}
