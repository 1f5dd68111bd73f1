//! `weir_cli`: the `weir` binary as a library, one module per verb (`run`, `get`,
//! `describe`, `retry`, `cancel`, `backfill`, `render`, `check`, `crd`, `controller`), output formatting
//! in [`output`], one error type in [`error`]; `main.rs` only calls [`cli::main`]. The fuzz
//! target (`fuzz/`) and the tests call the very functions the binary runs.
//!
//! Without the `cluster` feature only the offline verbs (`render`, `check`, `crd`) build: no
//! Kubernetes client, runtime or TLS, which is what `fuzz/` links. The offline verbs never
//! build a client or touch the network, and must not panic on any input.

pub mod check;
pub mod crd;
pub mod error;
pub mod output;
pub mod render;

#[cfg(feature = "cluster")]
pub mod backfill;
#[cfg(feature = "cluster")]
pub mod cancel;
#[cfg(feature = "cluster")]
pub mod cli;
#[cfg(feature = "cluster")]
mod client;
#[cfg(feature = "cluster")]
pub mod controller;
#[cfg(feature = "cluster")]
pub mod describe;
#[cfg(feature = "cluster")]
pub mod get;
#[cfg(feature = "cluster")]
pub mod retry;
#[cfg(feature = "cluster")]
pub mod run;
#[cfg(feature = "cluster")]
mod runtime;

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
    pub use render_cmd::{RenderArgs, Rendered, render_files};

    /// `weir render`: exit code 1 when anything failed to render.
    pub fn render(args: &RenderArgs) -> std::process::ExitCode {
        render_cmd::run(args)
    }

    /// `weir check`: exit code 1 when any problem was found.
    pub fn check(args: &CheckArgs) -> std::process::ExitCode {
        check_cmd::run(args)
    }
}
