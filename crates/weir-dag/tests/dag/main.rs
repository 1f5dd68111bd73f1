//! Tests of weir-dag through its public API only, as weir-core uses it.

// A panic is how a test fails; the workspace's unwrap/expect lints are for
// library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fanout;
mod props;
mod rules;
mod schedule;
mod validate;

use weir_dag::NodeState;

/// States from a compact string, one letter each: `P`ending, `A`ctive,
/// `S`ucceeded, `F`ailed, s`K`ipped, `U`pstream-failed.
pub fn states(letters: &str) -> Vec<NodeState> {
    letters
        .chars()
        .map(|c| match c {
            'P' => NodeState::Pending,
            'A' => NodeState::Active,
            'S' => NodeState::Succeeded,
            'F' => NodeState::Failed,
            'K' => NodeState::Skipped,
            'U' => NodeState::UpstreamFailed,
            other => panic!("no state is written {other:?}"),
        })
        .collect()
}
