//! End-to-end tests against the real local control plane (make cluster-up objstore-up).
//! One test binary per crate: each file here is a module, so the suite links once.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backfill;
mod blob;
mod chaos;
mod chart;
mod cluster;
mod data;
mod data_pipeline;
mod dbt_docs;
mod dbt_run;
mod disruptive;
mod hardening;
mod jobs;
mod kinds;
mod objstore;
mod operations;
mod resource_steps;
mod runs;
mod schedule;
mod spark;
mod trigger_secrets;
mod triggers;
mod validity;
mod webhook;
