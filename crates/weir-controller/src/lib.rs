//! The only crate that talks to the API server. It gathers what the planner needs from
//! watch caches, calls the pure planner in `weir-core`, and carries out the plan: server-side
//! apply of children, deletes, one status patch, Events.
//!
//! Decisions do not belong here: if a branch needs more than "apply each, delete each", it
//! belongs in `weir-core`, where it can be tested without a cluster.

mod apply;
pub mod config;
mod error;
mod observe;
pub mod pipelines;
pub mod runs;

pub use config::Config;
pub use error::Error;

use std::sync::Arc;

use futures::StreamExt;
use kube::Client;
use kube::runtime::events::Reporter;

/// Runs the PipelineRun and Pipeline controllers until `shutdown` resolves; running
/// reconciles finish first.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), Error> {
    let reporter = Reporter { controller: "weir".into(), instance: config.instance.clone() };
    let shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let runs = runs::controller(client.clone(), &config, reporter.clone(), shutdown.clone());
    let pipelines = pipelines::controller(client, &config, reporter, shutdown);
    let (a, b) = futures::join!(runs.collect::<Vec<()>>(), pipelines.collect::<Vec<()>>());
    tracing::info!(runs = a.len(), pipelines = b.len(), "controllers stopped");
    Ok(())
}

/// Shared by every reconcile of one controller.
pub(crate) struct Shared<T> {
    pub client: Client,
    pub config: Config,
    pub recorder: kube::runtime::events::Recorder,
    pub inner: T,
}

pub(crate) type Ctx<T> = Arc<Shared<T>>;
