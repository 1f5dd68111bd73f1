//! Object URIs: `s3://bucket/key`, `gs://bucket/key`, `file:///absolute/path`.

use std::fmt;

use crate::Error;

/// Which kind of store a URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `s3://`: Amazon S3 or any S3-compatible server.
    S3,
    /// `gs://`: Google Cloud Storage (JSON API).
    Gcs,
    /// `file://`: the local file system.
    File,
}

impl Scheme {
    /// The URI prefix, e.g. `s3://`.
    pub fn prefix(self) -> &'static str {
        match self {
            Scheme::S3 => "s3://",
            Scheme::Gcs => "gs://",
            Scheme::File => "file://",
        }
    }
}

/// A parsed object URI: a store (scheme and bucket) and a key inside it.
///
/// Keys are taken literally (no percent-decoding), as `aws s3` and `gcloud storage` do. A
/// `file://` URI has no bucket: its key is the absolute path without the leading `/`, so
/// `file:///data/x.parquet` is key `data/x.parquet` of the store rooted at `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobUri {
    scheme: Scheme,
    bucket: String,
    key: String,
}

impl BlobUri {
    /// Parses `s3://bucket[/key]`, `gs://bucket[/key]` or `file:///path`.
    pub fn parse(uri: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidUri {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = [Scheme::S3, Scheme::Gcs, Scheme::File]
            .into_iter()
            .find_map(|s| uri.strip_prefix(s.prefix()).map(|rest| (s, rest)))
            .ok_or_else(|| invalid("expected s3://, gs:// or file://"))?;
        if scheme == Scheme::File {
            // file:///path or file://localhost/path; a relative path has no meaning here.
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            let key = path
                .strip_prefix('/')
                .ok_or_else(|| invalid("a file URI takes an absolute path: file:///dir/name"))?;
            return Ok(BlobUri {
                scheme,
                bucket: String::new(),
                key: key.to_owned(),
            });
        }
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("no bucket name"));
        }
        if !bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(invalid(
                "a bucket name holds only letters, digits, '-', '_' and '.'",
            ));
        }
        Ok(BlobUri {
            scheme,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The URI of `key` in the same store as `self`.
    pub fn with_key(&self, key: &str) -> BlobUri {
        BlobUri {
            scheme: self.scheme,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
        }
    }

    /// The kind of store.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The bucket (empty for `file://`).
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key inside the store; may be empty (the whole bucket) or a prefix ending in `/`.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for BlobUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::File => write!(f, "file:///{}", self.key),
            _ => write!(f, "{}{}/{}", self.scheme.prefix(), self.bucket, self.key),
        }
    }
}

impl std::str::FromStr for BlobUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        BlobUri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for (text, scheme, bucket, key) in [
            (
                "s3://landing/raw/x.parquet",
                Scheme::S3,
                "landing",
                "raw/x.parquet",
            ),
            ("s3://landing", Scheme::S3, "landing", ""),
            ("gs://docs/", Scheme::Gcs, "docs", ""),
            ("file:///tmp/a b/c", Scheme::File, "", "tmp/a b/c"),
        ] {
            let uri = BlobUri::parse(text).unwrap();
            assert_eq!(
                (uri.scheme(), uri.bucket(), uri.key()),
                (scheme, bucket, key)
            );
        }
        assert_eq!(BlobUri::parse("s3://b").unwrap().to_string(), "s3://b/");
        assert_eq!(
            BlobUri::parse("file://localhost/x/y").unwrap().to_string(),
            "file:///x/y"
        );
    }

    #[test]
    fn rejects_what_names_no_object_store() {
        for text in [
            "http://x/y",
            "s3:///key",
            "gs://bad bucket/k",
            "file://rel/path",
            "/tmp/x",
        ] {
            let err = BlobUri::parse(text).unwrap_err();
            assert!(matches!(err, Error::InvalidUri { .. }), "{text}: {err}");
            assert!(err.to_string().contains(text), "{err}");
        }
    }
}
