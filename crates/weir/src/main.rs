//! `weir`: the controller and the command-line interface.
//!
//! Subcommands that need no cluster (`crd`, `render`, `check`) never build a client; the
//! others read the kubeconfig (or the in-cluster config) like kubectl does.

mod cluster;
mod offline;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// weir runs data pipelines (DAGs of Jobs, Spark and dbt steps) on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controllers (kubeconfig or in-cluster config).
    Controller(ControllerArgs),
    /// Print every CRD as YAML, or write them into a directory.
    Crd {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Print, with no cluster, the manifests the controller would create for each step.
    Render(offline::RenderArgs),
    /// Check resources offline: schema, DAG, params, templates. One line per problem.
    Check(offline::CheckArgs),
    /// Start a run of a Pipeline (like `airflow dags trigger --conf`).
    Run(cluster::RunArgs),
    /// List runs.
    Get(cluster::GetArgs),
    /// Show a run's steps.
    Describe(cluster::DescribeArgs),
    /// Re-run failed steps (or one step) of a run and everything downstream, keeping successes.
    Retry(cluster::RetryArgs),
    /// Cancel a run: its children are deleted.
    Cancel(cluster::CancelArgs),
}

/// Flags of `weir controller`.
#[derive(Debug, Args)]
struct ControllerArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WEIR_NAMESPACE")]
    namespace: Option<String>,
    /// Reconciles running at once per controller.
    #[arg(long, default_value_t = 16, env = "WEIR_WORKERS")]
    workers: u16,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "WEIR_LOG_FORMAT")]
    log_format: LogFormat,
    /// Log filter, e.g. `info`, `weir_controller=debug` (RUST_LOG syntax).
    #[arg(long, default_value = "info", env = "WEIR_LOG")]
    log: String,
    /// Serve /metrics, /healthz and /readyz here (e.g. 0.0.0.0:8080 in a pod).
    #[arg(long, env = "WEIR_METRICS_ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Requests a second to the API server (token bucket); 0 disables the limit.
    #[arg(long, default_value_t = 50.0, env = "WEIR_QPS")]
    qps: f64,
    /// Requests allowed in a burst above --qps.
    #[arg(long, default_value_t = 100, env = "WEIR_BURST")]
    burst: u32,
    /// Compete for a Lease so only one replica reconciles at a time.
    #[arg(long, env = "WEIR_LEADER_ELECTION")]
    leader_election: bool,
    /// The Lease's name.
    #[arg(long, default_value = "weir-controller", env = "WEIR_LEASE_NAME")]
    lease_name: String,
    /// The Lease's namespace (default: POD_NAMESPACE, else `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Also record every run's Started and Succeeded events (Warnings are always recorded).
    #[arg(long, env = "WEIR_NORMAL_EVENTS")]
    normal_events: bool,
    /// How long a status change nobody waits for (steps started, a step succeeded while its
    /// run goes on) may wait to share one write with the next one, e.g. 5s, 500ms, 0s. A
    /// run's end, failures and retries are written at once. While the client waits for its
    /// --qps budget, six times as long.
    #[arg(long, default_value = "5s", value_parser = parse_period, env = "WEIR_STATUS_BATCH_PERIOD")]
    status_batch_period: std::time::Duration,
    /// Seconds a leader holds the lease without renewing it.
    #[arg(long, default_value_t = 15, env = "WEIR_LEASE_DURATION")]
    lease_duration: u64,
}

/// `0s`, `500ms`, `5s`: weir's duration syntax, plus a bare `0`.
fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    weir_core::duration::parse_duration(text).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd { write } => crd(write),
        Command::Render(args) => offline::render(&args),
        Command::Check(args) => offline::check(&args),
        Command::Controller(args) => block_on(controller(args)),
        Command::Run(args) => block_on(cluster::run(args)),
        Command::Get(args) => block_on(cluster::get(args)),
        Command::Describe(args) => block_on(cluster::describe(args)),
        Command::Retry(args) => block_on(cluster::retry(args)),
        Command::Cancel(args) => block_on(cluster::cancel(args)),
    }
}

fn block_on(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    // One crypto provider for every TLS connection; a second would panic at the first call.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn crd(write: Option<PathBuf>) -> ExitCode {
    let mut out = String::new();
    for crd in weir_api::crds() {
        let yaml = match weir_api::crd_yaml(&crd) {
            Ok(y) => y,
            Err(e) => {
                eprintln!("error: {}: {e}", crd.spec.names.plural);
                return ExitCode::FAILURE;
            }
        };
        match &write {
            Some(dir) => {
                let path = dir.join(format!("{}.yaml", crd.spec.names.plural));
                if let Err(e) = std::fs::write(&path, yaml) {
                    eprintln!("error: {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            None => {
                out.push_str("---\n");
                out.push_str(&yaml);
            }
        }
    }
    print!("{out}");
    ExitCode::SUCCESS
}

async fn controller(args: ControllerArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal: a log file or a log collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match args.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let leader_election = args
        .leader_election
        .then(|| weir_controller::config::LeaseConfig {
            name: args.lease_name.clone(),
            namespace: args
                .lease_namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            duration_seconds: args.lease_duration,
            grace_seconds: 2,
        });
    let config = weir_controller::Config {
        namespace: args.namespace,
        workers: args.workers,
        instance: std::env::var("POD_NAME").ok(),
        qps: args.qps,
        burst: args.burst,
        metrics_addr: args.metrics_addr,
        leader_election,
        normal_events: args.normal_events,
        status_batch: args.status_batch_period,
        ..Default::default()
    };
    let shutdown = async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        tracing::info!("shutting down: finishing running reconciles");
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "weir controller starting"
    );
    match weir_controller::run(config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "controller failed");
            ExitCode::FAILURE
        }
    }
}
