//! The object-notification webhook: `POST /hooks/{namespace}/{pipeline}` on its own address
//! (`--webhook-addr`), never on the metrics port.
//!
//! It accepts S3 event notifications (also inside an SNS envelope), S3-compatible servers'
//! notifications (MinIO's webhook target) and GCS Pub/Sub push messages, and turns the
//! object-created events among them into [`ObjectEvent`]s. The HTTP layer here rate-limits,
//! authenticates, parses and drops replays; what a run is and how it is created is behind
//! [`Starter`], and where a pipeline's secret comes from is behind [`Keys`]. The kube-backed
//! implementation of both is [`KubeHooks`].
//!
//! Exactly once does not rest on this module: runs get deterministic names (the object's
//! URI and version), so a replay the cache here has forgotten collapses when it is created.

mod auth;
mod kube_hooks;
mod limit;
mod parse;
mod server;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

pub use self::auth::{SIGNATURE_HEADER, sign};
pub use self::kube_hooks::{KubeHooks, SnsConfirmer};
pub use self::parse::{Notification, ParseError, parse};
pub use self::server::{router, serve, serve_on};
pub use weir_api::v1alpha1::WebhookAuth;

/// One object written to a bucket, from any of the notification formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    /// `s3://bucket/key` or `gs://bucket/key`, the key decoded.
    pub uri: String,
    /// The bucket's name.
    pub bucket: String,
    /// The object's key (decoded: S3 notifications carry it URL-encoded).
    pub key: String,
    /// Size in bytes, when the notification says.
    pub size: Option<u64>,
    /// What tells two writes of one key apart: the S3 ETag (the same content written
    /// again has the same ETag) or the GCS generation.
    pub etag_or_generation: String,
    /// What identifies the bytes, as the bucket triggers' listing says it
    /// (`weir_core::bucket::Listed::content`): the S3 ETag (an MD5 for a single-part
    /// upload), the GCS object's MD5 in hex, else its generation. The same object seen by a
    /// listing and by a notification gets the same run.
    pub content: String,
    /// When the object was written, when the notification says.
    pub time: Option<jiff::Timestamp>,
    /// Identifies this notification of this write, for the replay cache: the bucket, key
    /// and S3 sequencer (or GCS generation).
    pub event_id: String,
}

/// What [`Starter::start`] did with a batch of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOutcome {
    /// Runs created now.
    pub started: Vec<String>,
    /// Runs that already existed for an event (a replay, or the listing got there first).
    pub existing: Vec<String>,
    /// Events no bucket trigger of the pipeline covers.
    pub ignored: usize,
}

/// Why events could not be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// No such pipeline, or it has no webhook trigger: 404.
    #[error("{0}")]
    NotFound(String),
    /// The API server or a Secret could not be read, or a run not created: 503, so the
    /// sender retries.
    #[error("{0}")]
    Unavailable(String),
}

/// The secret a pipeline's webhook requests must prove they know, and how.
#[derive(Clone)]
pub struct HookKey {
    /// The shared secret's bytes (surrounding whitespace removed; never empty).
    pub secret: Vec<u8>,
    /// Signature or token.
    pub auth: WebhookAuth,
}

impl std::fmt::Debug for HookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookKey")
            .field("secret", &"<redacted>")
            .field("auth", &self.auth)
            .finish()
    }
}

/// Where the webhook finds a pipeline's secret.
#[async_trait::async_trait]
pub trait Keys: Send + Sync {
    /// The key of `namespace/pipeline`'s webhook trigger; [`StartError::NotFound`] when
    /// the pipeline does not exist or has no webhook trigger.
    async fn key(&self, namespace: &str, pipeline: &str) -> Result<HookKey, StartError>;
}

/// Starts runs for authenticated, parsed, deduplicated events.
#[async_trait::async_trait]
pub trait Starter: Send + Sync {
    /// Starts one run per event the pipeline's bucket triggers cover. Must be idempotent:
    /// the same event twice gives one run.
    async fn start(
        &self,
        namespace: &str,
        pipeline: &str,
        events: Vec<ObjectEvent>,
    ) -> Result<StartOutcome, StartError>;
}

/// Confirms an SNS subscription by fetching its `SubscribeURL` (an outbound request, so
/// only with `--webhook-confirm-subscriptions`).
#[async_trait::async_trait]
pub trait Confirmer: Send + Sync {
    /// Fetches `subscribe_url`; the error is one line for the log.
    async fn confirm(&self, subscribe_url: &str) -> Result<(), String>;
}

/// What serves the hooks: the key lookup, run creation and (opt-in) SNS confirmation.
#[derive(Clone)]
pub struct Hooks {
    /// Finds each pipeline's secret.
    pub keys: Arc<dyn Keys>,
    /// Creates the runs.
    pub starter: Arc<dyn Starter>,
    /// Confirms SNS subscriptions; `None` only logs the `SubscribeURL`.
    pub confirmer: Option<Arc<dyn Confirmer>>,
}

/// Settings of the webhook server (`weir controller --webhook-*`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Requests a second each pipeline's hook accepts on average (token bucket).
    pub rate: f64,
    /// Requests a pipeline's hook accepts in a burst above `rate`.
    pub burst: u32,
    /// Fetch SNS `SubscribeURL`s (an outbound HTTPS request to `sns.*.amazonaws.com`).
    pub confirm_subscriptions: bool,
}

impl WebhookConfig {
    /// The defaults at `addr`: 10 requests a second per pipeline, bursts of 100, no
    /// outbound confirmation.
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            addr,
            rate: 10.0,
            burst: 100,
            confirm_subscriptions: false,
        }
    }
}

/// Requests a second the webhook's own API client makes at most (reads of Pipelines and
/// Secrets, run creations), apart from the controllers' `--qps`.
pub const API_QPS: f64 = 20.0;

/// Requests the webhook's API client makes in a burst above [`API_QPS`].
pub const API_BURST: u32 = 40;

/// Largest body accepted (SNS messages are at most 256 KiB, Pub/Sub pushes of GCS
/// notifications a few KiB).
pub const MAX_BODY: usize = 1024 * 1024;
