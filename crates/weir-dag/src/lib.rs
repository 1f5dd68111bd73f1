//! weir's pure pipeline DAG: the steps of a pipeline and their dependencies
//! (validated, with every problem reported at once), when a step may start
//! under its Airflow trigger rule, how many steps may run at once, the items
//! of a `forEach` step, and whether a run is over and how it ended.
//!
//! This crate decides; it never acts. It must not depend on kube, tokio or
//! any async runtime, must not do I/O and must not read the clock: the
//! planner in `weir-core` maps the CRD types onto [`Node`] and [`NodeState`],
//! and gets plain data back, so every decision is a testable function.
//!
//! The flow for one reconcile of a run:
//!
//! 1. [`Graph::new`] once per pipeline snapshot ([`InvalidGraph`] lists every
//!    problem, for a `Valid=False` condition).
//! 2. [`Graph::readiness`] with the observed [`NodeState`]s: steps to start,
//!    to skip, to mark upstream-failed.
//! 3. [`Graph::outcome`] for the run's phase.
//!
//! A `forEach` step's items and children are in [`fanout`].

mod cycles;
pub mod fanout;
mod graph;
mod rules;
mod schedule;
mod state;
mod validate;

pub use graph::{Graph, Node};
pub use rules::TriggerRule;
pub use schedule::{Readiness, RunOutcome, StateCountMismatch};
pub use state::{Decision, NodeState};
pub use validate::{InvalidGraph, Problem};
