//! `weir check`: every resource in the files checked offline (schema, DAG, parameters,
//! templates) by weir-core's check, the one behind a Pipeline's `Valid` condition.

pub use crate::offline::{CheckArgs, Finding, Report, Source, check_sources};

/// `weir check`: problems on stderr, one per line, and exit code 1 when there are any.
pub fn run(args: &CheckArgs) -> std::process::ExitCode {
    crate::offline::check(args)
}
