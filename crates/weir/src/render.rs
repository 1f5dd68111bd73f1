//! `weir render`: the manifests the controller would create, rendered offline by
//! weir-core's functions, the ones the controller calls.

pub use crate::offline::{RenderArgs, Rendered, render_files};

/// `weir render`: YAML on stdout, problems on stderr, exit code 1 when anything failed.
pub fn run(args: &RenderArgs) -> std::process::ExitCode {
    crate::offline::render(args)
}
