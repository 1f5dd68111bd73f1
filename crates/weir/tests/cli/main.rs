//! Tests of the weir binary: its commands run as a user runs them, and the examples' renders.
//! One test binary per crate: each file here is a module, so the suite links once.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agreement;
mod cli;
mod examples;
mod support;
mod verbs;
