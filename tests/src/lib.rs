//! End-to-end test support for weir, run against the real local control plane of
//! `tests/cluster/` (`make cluster-up objstore-up`, then `make e2e`; `make test` does it all).
//!
//! - [`cluster`]: a kube client for the cluster's admin kubeconfig, and [`TestNamespace`],
//!   a fresh namespace per test that is deleted when dropped — also when the test panics.
//! - [`wait`]: waits on watches, or polls, always with a deadline; never a bare sleep.
//! - [`fake`]: Jobs carrying the knobs of `tests/cluster/stages.yaml` that make kwok's fake
//!   pods complete, fail, run for a while or report a termination message.
//! - [`weir`]: weir's CRDs, a controller process per test, runs to start and await.
//! - [`objstore`]: the loopback S3 and GCS servers of `tests/cluster/objstore.sh`.
//!
//! Helpers panic with a message saying what failed and how to fix the setup: a panic is how
//! an end-to-end test fails, and the message is all a reader of CI output gets.

pub mod cluster;
pub mod fake;
pub mod objstore;
pub mod wait;
pub mod weir;

pub use cluster::{TestNamespace, client};
