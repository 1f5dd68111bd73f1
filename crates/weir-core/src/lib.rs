//! weir's decisions, free of I/O: state parsers that read Kubernetes objects into step
//! states, and the planner that turns a run's observed world into a plan (children to
//! create and delete, the new status, events, when to look again).
//!
//! Nothing here may talk to the API server, read the clock or spawn tasks: the controller
//! gathers what it observed, passes the time in, and carries out the returned plan. That is
//! what makes every decision testable as plain data.

pub mod attempts;
pub mod bucket;
pub mod check;
pub mod conditions;
pub mod duration;
pub mod graph;
pub mod names;
pub mod observe;
pub mod pipeline;
mod plan;
pub mod render;
pub mod schedule;
pub mod standalone;
pub mod standalone_status;
pub mod state;
mod steps;
pub mod triggers;
pub mod validate;

pub use observe::{ChildKind, ChildRef, Event, Manifest, Observed, ObservedChild, Plan, Sibling};
pub use plan::{MAX_STATUS_BYTES, STATUS_TOO_LARGE, deadline, plan, too_large};
pub use steps::MAX_STEP_RESULTS_BYTES;
pub use validate::Problem;

/// spark-operator's API version, the one the built-in `spark` template renders.
pub const SPARK_API_VERSION: &str = "sparkoperator.k8s.io/v1beta2";
