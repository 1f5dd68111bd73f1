//! `weir.dev/v1alpha1`: every kind weir serves.

mod common;
mod dbt;
mod pipeline;
mod run;
mod spark;
mod triggers;

pub use common::*;
pub use dbt::*;
pub use pipeline::*;
pub use run::*;
pub use spark::*;
pub use triggers::*;
