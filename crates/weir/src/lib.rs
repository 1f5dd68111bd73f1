//! `weir_cli`: the part of the `weir` binary that needs no cluster — `weir render` and
//! `weir check` — as a library, so that the fuzz target (`fuzz/`) and the tests drive the
//! very code the binary runs.
//!
//! Nothing here may build a Kubernetes client, start a runtime or touch the network: it
//! reads files, and renders and validates through the pure crates (weir-api, weir-core,
//! weir-render). It must not panic on any input.

pub mod offline {
    //! `weir render` and `weir check`: everything that needs no cluster.
    //!
    //! A file is read into YAML documents with the line of every key ([`Source`] →
    //! documents), each document into weir's API types with unknown fields and schema bounds
    //! checked against the generated CRDs, then validated and rendered through weir-core
    //! exactly as the controller would.

    mod check;
    mod check_cmd;
    mod documents;
    mod render;
    mod render_cmd;
    mod resources;
    mod schema;
    mod yaml;

    pub use check_cmd::{CheckArgs, Report, check_sources};
    pub use documents::{Finding, Source};
    pub use render_cmd::RenderArgs;

    /// `weir render`: exit code 1 when anything failed to render.
    pub fn render(args: &RenderArgs) -> std::process::ExitCode {
        render_cmd::run(args)
    }

    /// `weir check`: exit code 1 when any problem was found.
    pub fn check(args: &CheckArgs) -> std::process::ExitCode {
        check_cmd::run(args)
    }
}
