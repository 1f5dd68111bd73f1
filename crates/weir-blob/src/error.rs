//! One error type for every store, with the URI it concerns in its message, so a CLI can
//! print it as one clear line.

/// What went wrong, and with which object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not an object URI this crate knows.
    #[error("invalid object URI {uri:?}: {reason}")]
    InvalidUri {
        /// The text as given.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The options cannot work (e.g. a part size S3 or GCS refuses).
    #[error("invalid object-store options: {0}")]
    InvalidOptions(String),
    /// No object at this URI (the bucket exists).
    #[error("{uri}: no such object")]
    NotFound {
        /// The object's URI.
        uri: String,
    },
    /// The bucket of this URI does not exist.
    #[error("{uri}: no such bucket {bucket:?}")]
    NoSuchBucket {
        /// The URI that was used.
        uri: String,
        /// The missing bucket.
        bucket: String,
    },
    /// The credentials in use may not do this.
    #[error("{uri}: permission denied: {message}")]
    PermissionDenied {
        /// The URI that was used.
        uri: String,
        /// What the store said.
        message: String,
    },
    /// A ranged read starting at or past the end of the object.
    #[error("{uri}: range starts at byte {offset}, past the end of the {size}-byte object")]
    RangeNotSatisfiable {
        /// The object's URI.
        uri: String,
        /// The requested first byte.
        offset: u64,
        /// The object's size.
        size: u64,
    },
    /// A local file-system error.
    #[error("{uri}: {source}")]
    Io {
        /// The URI of the file or directory.
        uri: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Any other failure of the store or of the network, with the store's own words.
    #[error("{uri}: {message}")]
    Backend {
        /// The URI that was used.
        uri: String,
        /// The whole error chain on one line.
        message: String,
    },
}

impl Error {
    /// A bounded name for metrics labels and Event reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Error::InvalidUri { .. } => "InvalidUri",
            Error::InvalidOptions(_) => "InvalidOptions",
            Error::NotFound { .. } => "NotFound",
            Error::NoSuchBucket { .. } => "NoSuchBucket",
            Error::PermissionDenied { .. } => "PermissionDenied",
            Error::RangeNotSatisfiable { .. } => "RangeNotSatisfiable",
            Error::Io { .. } => "Io",
            Error::Backend { .. } => "Backend",
        }
    }

    /// True for [`Error::NotFound`] (a missing object, not a missing bucket).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
