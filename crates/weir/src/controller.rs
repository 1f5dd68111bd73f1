//! `weir controller`: run the controllers, with logs set up and shutdown on SIGTERM.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

/// Flags of `weir controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WEIR_NAMESPACE")]
    pub namespace: Option<String>,
    /// Reconciles running at once per controller.
    #[arg(long, default_value_t = 16, env = "WEIR_WORKERS")]
    pub workers: u16,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "WEIR_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info`, `weir_controller=debug` (RUST_LOG syntax).
    #[arg(long, default_value = "info", env = "WEIR_LOG")]
    pub log: String,
    /// Serve /metrics, /healthz and /readyz here (e.g. 0.0.0.0:8080 in a pod).
    #[arg(long, env = "WEIR_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Serve the object-notification webhook, POST /hooks/{namespace}/{pipeline}, here
    /// (e.g. 0.0.0.0:8090 in a pod); off when unset. Only pipelines with
    /// spec.triggers.webhook have a hook.
    #[arg(long, env = "WEIR_WEBHOOK_ADDR")]
    pub webhook_addr: Option<std::net::SocketAddr>,
    /// Webhook requests a second each pipeline accepts on average; more get 429.
    #[arg(long, default_value_t = 10.0, env = "WEIR_WEBHOOK_RATE")]
    pub webhook_rate: f64,
    /// Webhook requests a pipeline accepts in a burst above --webhook-rate.
    #[arg(long, default_value_t = 100, env = "WEIR_WEBHOOK_BURST")]
    pub webhook_burst: u32,
    /// Confirm SNS subscriptions by fetching their SubscribeURL (an outbound HTTPS request
    /// to sns.<region>.amazonaws.com). Off: the URL is logged for a human to open.
    #[arg(long, env = "WEIR_WEBHOOK_CONFIRM_SUBSCRIPTIONS")]
    pub webhook_confirm_subscriptions: bool,
    /// Requests a second to the API server (token bucket); 0 disables the limit.
    #[arg(long, default_value_t = 50.0, env = "WEIR_QPS")]
    pub qps: f64,
    /// Requests allowed in a burst above --qps.
    #[arg(long, default_value_t = 100, env = "WEIR_BURST")]
    pub burst: u32,
    /// Compete for a Lease so only one replica reconciles at a time.
    #[arg(long, env = "WEIR_LEADER_ELECTION")]
    pub leader_election: bool,
    /// The Lease's name.
    #[arg(long, default_value = "weir-controller", env = "WEIR_LEASE_NAME")]
    pub lease_name: String,
    /// The Lease's namespace (default: POD_NAMESPACE, else `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Also record every run's Started and Succeeded events (Warnings are always recorded).
    #[arg(long, env = "WEIR_NORMAL_EVENTS")]
    pub normal_events: bool,
    /// Let `resource:` steps create cluster-scoped kinds (not garbage-collected with their
    /// run: only the step's delete policy removes them). Without it such a step fails with
    /// reason CreateRefused.
    #[arg(long, env = "WEIR_ALLOW_CLUSTER_SCOPED_KINDS")]
    pub allow_cluster_scoped_kinds: bool,
    /// How long a status change nobody waits for (steps started, a step succeeded while its
    /// run goes on) may wait to share one write with the next one, e.g. 5s, 500ms, 0s. A
    /// run's end, failures and retries are written at once. While the client waits for its
    /// --qps budget, six times as long.
    #[arg(long, default_value = "5s", value_parser = parse_period, env = "WEIR_STATUS_BATCH_PERIOD")]
    pub status_batch_period: std::time::Duration,
    /// Seconds a leader holds the lease without renewing it.
    #[arg(long, default_value_t = 15, env = "WEIR_LEASE_DURATION")]
    pub lease_duration: u64,
}

/// `0s`, `500ms`, `5s`: weir's duration syntax, plus a bare `0`.
fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    weir_core::duration::parse_duration(text).map_err(|e| e.to_string())
}

/// How logs are written.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Plain text (coloured on a terminal).
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// `weir controller`.
pub async fn controller(args: ControllerArgs) -> ExitCode {
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
        webhook: args
            .webhook_addr
            .map(|addr| weir_controller::webhook::WebhookConfig {
                rate: args.webhook_rate,
                burst: args.webhook_burst,
                confirm_subscriptions: args.webhook_confirm_subscriptions,
                ..weir_controller::webhook::WebhookConfig::at(addr)
            }),
        leader_election,
        normal_events: args.normal_events,
        allow_cluster_scoped: args.allow_cluster_scoped_kinds,
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
