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

/// An error and its sources on one line, `outer: inner: innermost`, skipping a source whose
/// text its parent already holds (wrappers often repeat it).
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
        source = cause.source();
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chain_is_one_line_without_repeats() {
        let inner = std::io::Error::other("refused\n(os error 111)");
        let outer = std::io::Error::other(super::Error::Io {
            uri: "s3://b/k".to_owned(),
            source: inner,
        });
        assert_eq!(super::chain(&outer), "s3://b/k: refused (os error 111)");
    }
}
