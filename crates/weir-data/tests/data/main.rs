//! weir-data's integration tests, on file:// (the same cases run against S3 and GCS in the
//! end-to-end crate). One test binary: each file here is a module.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod dbt_docs;
mod denied;
mod files;
mod schema_groups;
mod servers;
mod transfer;
mod transfer_servers;
mod validate;
mod validate_report;
mod validate_truth;
