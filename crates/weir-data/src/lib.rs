//! weir-data: the data-plane steps that run inside step pods, from their own image, so the
//! controller never touches data: `schema-groups` (Parquet files grouped by schema, from
//! their footers alone) and `dbt-docs` (dbt's docs site as one uploaded page).
//!
//! Objects are reached only through weir-blob (`s3://`, `gs://`, `file://`). This crate must
//! not depend on kube or polars, and must never read a whole Parquet file to learn its schema.

pub mod dbt_docs;
pub mod error;
pub mod fingerprint;
pub mod footer;
pub mod glob;
pub mod output;
pub mod schema_groups;
#[cfg(feature = "testdata")]
pub mod testdata;

pub use error::{Error, Result};
