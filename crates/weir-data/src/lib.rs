//! weir-data: the data-plane steps that run inside step pods, from their own image, so the
//! controller never touches data: `schema-groups` (Parquet files grouped by schema, from
//! their footers alone), `transfer` (a streaming, checked, resumable copy between stores),
//! `dbt-docs` (dbt's docs site as one uploaded page) and `validate` (a Great Expectations
//! suite run with polars, with GE's result and an HTML report).
//!
//! Objects are reached only through weir-blob (`s3://`, `gs://`, `file://`). This crate must
//! not depend on kube; it is the only crate of the workspace that may use polars (for
//! `validate` alone), and it must never read a whole Parquet file to learn its schema.

pub mod dbt_docs;
pub mod error;
pub mod fingerprint;
pub mod footer;
pub mod glob {
    //! The `--glob` patterns: weir-glob's, shared with bucket triggers; matched with
    //! [`Glob::matches`] (anchored at the prefix).
    pub use weir_glob::Glob;
}
pub mod output;
pub mod schema_groups;
#[cfg(feature = "testdata")]
pub mod testdata;
pub mod transfer;
pub mod validate;

pub use error::{Error, Result};
