//! Condition types and reasons weir writes, following the Kubernetes API conventions
//! (`metav1.Condition`): positive polarity, CamelCase reasons.

/// The resource passed every check weir makes beyond the OpenAPI schema (DAG, templates,
/// params). `False` carries the first problem's field path in its message.
pub const VALID: &str = "Valid";
/// The run has reached a terminal phase.
pub const COMPLETE: &str = "Complete";
/// The run is executing steps.
pub const RUNNING: &str = "Running";

/// Reason used with `Valid=True`.
pub const REASON_VALID: &str = "Valid";
/// Reason used with `Valid=False` for a spec that fails weir's checks.
pub const REASON_INVALID_SPEC: &str = "InvalidSpec";
/// Reason used with `Valid=False` when the referenced Pipeline does not exist.
pub const REASON_PIPELINE_NOT_FOUND: &str = "PipelineNotFound";
