//! Tests of weir-core through its public API: the planner's scenarios and the state parsers.
//! One test binary per crate: each file here is a module, so the suite links once.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod plan_admission;
mod plan_cleanup;
mod plan_concurrency;
mod plan_flow;
mod plan_foreach;
mod plan_idempotency;
mod plan_proptest;
mod plan_rerun;
mod plan_time;
mod render_context;
mod standalone;
mod standalone_attempts;
mod state;
