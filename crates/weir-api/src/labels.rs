//! Label and annotation keys weir stamps on every object it creates.
//!
//! The label values are what the controller selects children by, so they are set in Rust
//! after templates render and a template can never remove them.

/// The Pipeline a child belongs to.
pub const PIPELINE: &str = "weir.dev/pipeline";
/// The PipelineRun a child belongs to.
pub const RUN: &str = "weir.dev/run";
/// The step (within the run) a child carries out.
pub const STEP: &str = "weir.dev/step";
/// The attempt number (1-based) of the step a child carries out.
pub const ATTEMPT: &str = "weir.dev/attempt";
/// The forEach index of a fanned-out child; absent on steps without `forEach`.
pub const INDEX: &str = "weir.dev/index";
/// Marks objects managed by weir (value `weir`), for broad selectors and RBAC audits.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// Annotation on a PipelineRun saying how it was started: `manual`, `schedule`, `bucket`,
/// `webhook`, `backfill` or `api`. Bounded, so it is also a metric label.
pub const STARTED_BY: &str = "weir.dev/started-by";
/// Annotation on a PipelineRun started by a schedule: the scheduled time (RFC 3339).
pub const SCHEDULED_AT: &str = "weir.dev/scheduled-at";
/// Annotation on a PipelineRun started by a bucket trigger or a webhook: the trigger's name.
pub const TRIGGER: &str = "weir.dev/trigger";
/// Annotations on a PipelineRun started by a new object: its URI, key below the bucket,
/// size in bytes, etag, generation and last-modified time (RFC 3339).
pub const OBJECT_URI: &str = "weir.dev/object-uri";
/// See [`OBJECT_URI`].
pub const OBJECT_KEY: &str = "weir.dev/object-key";
/// See [`OBJECT_URI`].
pub const OBJECT_SIZE: &str = "weir.dev/object-size";
/// See [`OBJECT_URI`].
pub const OBJECT_ETAG: &str = "weir.dev/object-etag";
/// See [`OBJECT_URI`].
pub const OBJECT_GENERATION: &str = "weir.dev/object-generation";
/// See [`OBJECT_URI`].
pub const OBJECT_TIME: &str = "weir.dev/object-time";
/// Annotation: what identifies the object's bytes (its MD5, else etag, else generation),
/// with its key the object's identity for a bucket trigger's state.
pub const OBJECT_CONTENT: &str = "weir.dev/object-content";
/// Annotation on a PipelineRun started by a schedule or a backfill: the start of its data
/// interval, the scheduled time before [`SCHEDULED_AT`] (RFC 3339).
pub const INTERVAL_START: &str = "weir.dev/interval-start";
