//! Controller settings (flags of `weir controller`).

use std::net::SocketAddr;
use std::time::Duration;

/// How the controllers run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Watch only this namespace; `None` watches every namespace.
    pub namespace: Option<String>,
    /// Reconciles running at once per controller.
    pub workers: u16,
    /// Identifies this replica in Events and in the Lease (the pod name in a cluster).
    pub instance: Option<String>,
    /// Wait after a failed reconcile before trying again.
    pub error_backoff: Duration,
    /// Requests a second to the API server (token bucket); 0 disables the limit.
    pub qps: f64,
    /// Requests allowed in a burst above `qps`.
    pub burst: u32,
    /// Where to serve `/metrics`, `/healthz` and `/readyz`; `None` serves nothing.
    pub metrics_addr: Option<SocketAddr>,
    /// Where and how to serve the object-notification webhook; `None` serves none.
    pub webhook: Option<crate::webhook::WebhookConfig>,
    /// Leader election; `None` runs the controllers at once (one replica).
    pub leader_election: Option<LeaseConfig>,
    /// Also record the high-volume Normal events of every run (`Started`, `Succeeded`);
    /// Warnings and rare Normal events (Cancelled, Queued, Rerun) are always recorded.
    pub normal_events: bool,
    /// Let `resource:` steps create cluster-scoped kinds (they get no ownerReference: only
    /// their step's delete policy removes them). Off: such a step fails with a clear reason.
    pub allow_cluster_scoped: bool,
    /// How long a status change nobody waits for (steps started, a step succeeded while the
    /// run goes on, run counters) may wait to share one write with the next change. A run's
    /// end, a failure, a retry, a queue or an error is written at once. Zero writes every
    /// change at once. While the client is short of its `qps` budget, such changes wait
    /// [`THROTTLED_BATCH_FACTOR`] times as long: the budget goes to children and to the
    /// writes someone waits for.
    pub status_batch: Duration,
}

/// The Lease replicas compete for.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// The Lease's name.
    pub name: String,
    /// The Lease's namespace (the controller's own).
    pub namespace: String,
    /// How long a leader holds the lease without renewing it.
    pub duration_seconds: u64,
    /// Extra time allowed for clock skew before a standby takes over.
    pub grace_seconds: u64,
}

/// How much longer progress-only status writes wait while the client is throttled.
pub const THROTTLED_BATCH_FACTOR: u32 = 6;

impl Config {
    /// The status batch period now: longer while a request waited for the rate limiter
    /// within the last period.
    pub(crate) fn batch_period(&self, metrics: &crate::metrics::Metrics) -> Duration {
        if metrics.last_throttled.within(self.status_batch) {
            self.status_batch * THROTTLED_BATCH_FACTOR
        } else {
            self.status_batch
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            namespace: None,
            workers: 16,
            instance: None,
            error_backoff: Duration::from_secs(5),
            qps: 50.0,
            burst: 100,
            metrics_addr: None,
            webhook: None,
            leader_election: None,
            normal_events: false,
            allow_cluster_scoped: false,
            status_batch: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn progress_writes_wait_longer_only_while_the_client_is_throttled() {
        let config = Config::default();
        let metrics = Metrics::new();
        assert_eq!(config.batch_period(&metrics), Duration::from_secs(5));
        metrics.last_throttled.mark();
        assert_eq!(config.batch_period(&metrics), Duration::from_secs(30));
        let off = Config {
            status_batch: Duration::ZERO,
            ..Config::default()
        };
        assert_eq!(off.batch_period(&metrics), Duration::ZERO);
    }

    #[test]
    fn a_throttle_is_recent_only_within_its_window() {
        let metrics = Metrics::new();
        assert!(!metrics.last_throttled.within(Duration::from_secs(3600)));
        metrics.last_throttled.mark();
        assert!(metrics.last_throttled.within(Duration::from_secs(1)));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!metrics.last_throttled.within(Duration::from_millis(10)));
    }
}
