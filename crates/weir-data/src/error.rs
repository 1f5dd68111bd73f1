//! What can go wrong in a subcommand; every message is one line that names the URI.

/// A failed subcommand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object store refused or failed (its message names the URI).
    #[error(transparent)]
    Blob(#[from] weir_blob::Error),
    /// The object is not a Parquet file, or is cut short.
    #[error("not a Parquet file: {uri} ({reason})")]
    NotParquet {
        /// The object's URI.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A Parquet file this tool cannot read the schema of (an encrypted footer).
    #[error("unsupported Parquet file: {uri} ({reason})")]
    UnsupportedParquet {
        /// The object's URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// The bytes of a copy do not match a checksum (the source's, or what the destination
    /// stored); nothing partial or wrong was left at the destination.
    #[error("checksum mismatch: {uri}: {detail}")]
    ChecksumMismatch {
        /// The object's URI.
        uri: String,
        /// Which checksums differ.
        detail: String,
    },
    /// A local file that is missing or unusable (`dbt-docs`'s target directory).
    #[error("{path}: {reason}")]
    LocalFile {
        /// The file or directory as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A validation suite that cannot run (its message names the expectation and field).
    #[error("invalid suite: {0}")]
    InvalidSuite(crate::validate::SuiteError),
    /// Data that cannot be read or scanned (not Parquet/CSV, schemas that differ).
    #[error("cannot read the data at {uri}: {reason}")]
    Data {
        /// The `--data` URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// A command-line value that cannot work.
    #[error("{0}")]
    Usage(String),
    /// The result would not fit a termination message, even with manifests.
    #[error("{0}")]
    ResultTooLarge(String),
    /// The result could not be written to the termination log.
    #[error("cannot write the result to {path}: {source}")]
    TerminationLog {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A bounded name for the kind of failure.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Blob(e) => e.category(),
            Error::NotParquet { .. } => "NotParquet",
            Error::UnsupportedParquet { .. } => "UnsupportedParquet",
            Error::ChecksumMismatch { .. } => "ChecksumMismatch",
            Error::LocalFile { .. } => "LocalFile",
            Error::InvalidSuite(_) => "InvalidSuite",
            Error::Data { .. } => "Data",
            Error::Usage(_) => "Usage",
            Error::ResultTooLarge(_) => "ResultTooLarge",
            Error::TerminationLog { .. } => "TerminationLog",
        }
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
