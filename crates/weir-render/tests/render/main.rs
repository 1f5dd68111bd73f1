//! Tests of weir-render through its public API: built-in templates, goldens, errors, limits.
//! One test binary per crate: each file here is a module, so the suite links once.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dbt;
mod errors;
mod golden;
mod injection;
mod job;
mod renderer;
mod spark;
mod stamp;
mod value;
