//! Controller settings (flags of `weir controller`).

use std::time::Duration;

/// How the controllers run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Watch only this namespace; `None` watches every namespace.
    pub namespace: Option<String>,
    /// Reconciles running at once per controller.
    pub workers: u16,
    /// Identifies this replica in Events (the pod name in a cluster).
    pub instance: Option<String>,
    /// Wait after a failed reconcile before trying again.
    pub error_backoff: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self { namespace: None, workers: 16, instance: None, error_backoff: Duration::from_secs(5) }
    }
}
