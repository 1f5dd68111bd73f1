//! weir-blob: one small async interface over object stores, for `s3://` (aws-sdk-s3),
//! `gs://` (the GCS JSON API) and `file://`.
//!
//! [`open`] gives a [`Store`] for the bucket of a [`BlobUri`]; keys are relative to it. Every
//! store does the same things the same way, which a conformance suite checks against the
//! local S3 and GCS test servers and the file system:
//!
//! - [`Store::list`] lists keys under a prefix, strictly after a key, in byte order, nested
//!   keys included (no delimiter), page by page as a stream;
//! - [`Store::get_range`] reads `len` bytes at `offset`; a range that runs past the end is cut
//!   short, one that *starts* at or past the end is [`Error::RangeNotSatisfiable`];
//!   [`Store::get_tail`] reads the last bytes through the size (from a listing or a `head`)
//!   rather than a suffix range, which not every server supports;
//! - [`Store::get_stream`] streams a whole object;
//! - [`Store::writer`] uploads in parts (S3 multipart upload, GCS resumable upload, a temporary
//!   file renamed into place), holding at most about one part in memory; nothing is visible
//!   under the key until [`Upload::complete`] returns;
//! - [`Store::head`] gives [`ObjectMeta`]: size, the checksums the store keeps, etag and
//!   generation;
//! - [`Store::delete`] removes an object (a missing one is not an error).
//!
//! Errors are one [`Error`] type whose messages name the URI. This crate must not depend on
//! kube: it runs inside step pods (`weir-data`) and in the bucket triggers. TLS is rustls
//! with aws-lc-rs only (no ring, no OpenSSL).

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod file;
mod gcs;
mod parts;
mod s3;
mod uri;

use std::fmt;
use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, TryStreamExt};

pub use error::{Error, Result};
pub use uri::{BlobUri, Scheme};

/// A stream of an object's bytes, in chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// What a store says about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectMeta {
    /// The key, relative to the store (the bucket, or `/` for `file://`).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The store's entity tag (S3 ETag without quotes, GCS etag); `None` for `file://`.
    pub etag: Option<String>,
    /// A token that changes whenever the object is replaced: the GCS generation, the S3
    /// version id (versioned buckets only), inode and modification time for `file://`.
    pub generation: Option<String>,
    /// When the object was last written, when the store says.
    pub last_modified: Option<jiff::Timestamp>,
    /// Whole-object checksums, as far as the store keeps them.
    pub checksums: Checksums,
}

/// Whole-object checksums a store keeps (it computes none: `file://` has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checksums {
    /// MD5: GCS `md5Hash` (absent for composed objects); an S3 ETag that is a plain MD5
    /// (single-part upload, no KMS encryption).
    pub md5: Option<[u8; 16]>,
    /// CRC32C: GCS always; S3 when the object was uploaded with a full-object CRC32C.
    pub crc32c: Option<u32>,
    /// CRC32: S3 when the object was uploaded with a full-object CRC32 (the SDK's default
    /// for single-part uploads).
    pub crc32: Option<u32>,
}

/// One bucket of an object store (or the file system).
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// The URI of `key` in this store, as error messages name it.
    fn uri(&self, key: &str) -> BlobUri;

    /// Objects whose key starts with `prefix` and is greater than `start_after` (when given),
    /// in byte order of their keys, nested keys included. Pages are fetched as the stream is
    /// read. A missing bucket is [`Error::NoSuchBucket`]; an empty prefix lists everything.
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        start_after: Option<&'a str>,
    ) -> BoxStream<'a, Result<ObjectMeta>>;

    /// The metadata of one object.
    async fn head(&self, key: &str) -> Result<ObjectMeta>;

    /// `len` bytes from `offset`. Past the end the result is cut short; an `offset` at or
    /// past the end (with `len > 0`) is [`Error::RangeNotSatisfiable`]. `len == 0` reads
    /// nothing and sends no request.
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes>;

    /// The object's last `len` bytes (all of it when shorter). `size` is the object's size
    /// when the caller knows it (from a listing); otherwise a `head` finds it. Done through
    /// the size rather than a suffix range, which the GCS emulator does not support.
    async fn get_tail(&self, key: &str, len: u64, size: Option<u64>) -> Result<Bytes> {
        let size = match size {
            Some(size) => size,
            None => self.head(key).await?.size,
        };
        let len = len.min(size);
        self.get_range(key, size - len, len).await
    }

    /// The whole object, as a stream of chunks.
    async fn get_stream(&self, key: &str) -> Result<ByteStream>;

    /// The whole object in memory.
    async fn get(&self, key: &str) -> Result<Bytes> {
        let chunks: Vec<Bytes> = self.get_stream(key).await?.try_collect().await?;
        Ok(chunks.concat().into())
    }

    /// Starts an upload to `key`: nothing is visible there until [`Upload::complete`].
    async fn writer(&self, key: &str) -> Result<Box<dyn Upload>>;

    /// Writes `data` to `key` (one request when it fits in a part).
    async fn put(&self, key: &str, data: Bytes) -> Result<ObjectMeta> {
        let mut upload = self.writer(key).await?;
        match upload.write(data).await {
            Ok(()) => upload.complete().await,
            Err(e) => {
                // The write's error is the one to report; a failed abort adds nothing.
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    /// Writes a stream to `key` through [`Store::writer`]; on an error the upload is aborted
    /// and nothing appears at `key`.
    async fn put_stream(&self, key: &str, mut data: ByteStream) -> Result<ObjectMeta> {
        let mut upload = self.writer(key).await?;
        loop {
            let next = data.try_next().await;
            let step = match next {
                Ok(Some(chunk)) => upload.write(chunk).await,
                Ok(None) => return upload.complete().await,
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                let _ = upload.abort().await;
                return Err(e);
            }
        }
    }

    /// Deletes `key`. Deleting a missing object succeeds (S3 cannot tell the difference).
    async fn delete(&self, key: &str) -> Result<()>;
}

/// An upload in progress. Dropping it without [`Upload::complete`] or [`Upload::abort`]
/// cancels it on a best-effort basis (a background abort when a Tokio runtime is running);
/// buckets should still expire incomplete S3 multipart uploads with a lifecycle rule.
#[async_trait]
pub trait Upload: Send {
    /// Appends `data`. Full parts are sent as they fill; at most about one part is held.
    async fn write(&mut self, data: Bytes) -> Result<()>;

    /// Sends what is left and makes the object visible, all at once.
    async fn complete(self: Box<Self>) -> Result<ObjectMeta>;

    /// Cancels the upload: nothing appears, parts already sent are discarded.
    async fn abort(self: Box<Self>) -> Result<()>;
}

/// How to reach the stores. `Default` uses each cloud's default endpoint and credential chain.
#[derive(Debug, Clone)]
pub struct Options {
    /// S3 settings.
    pub s3: S3Options,
    /// GCS settings.
    pub gcs: GcsOptions,
    /// Bytes per part of an upload: at least 5 MiB (S3's minimum) and a multiple of 256 KiB
    /// (GCS's chunk unit). Memory use of an upload is about one part.
    pub part_size: usize,
}

/// The default part size: 8 MiB.
pub const DEFAULT_PART_SIZE: usize = 8 << 20;
/// The smallest part size S3 accepts (all parts but the last).
pub const MIN_PART_SIZE: usize = 5 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            s3: S3Options::default(),
            gcs: GcsOptions::default(),
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

/// S3 settings; what is `None` comes from the AWS default chain (environment, profile files,
/// web identity, container and instance metadata), `AWS_ENDPOINT_URL` included.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// An S3-compatible server, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// The region, e.g. `us-east-1`.
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need.
    pub path_style: bool,
    /// Fixed keys instead of the default chain.
    pub credentials: Option<StaticCredentials>,
}

/// An access key pair.
#[derive(Clone)]
pub struct StaticCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// GCS settings.
#[derive(Debug, Clone, Default)]
pub struct GcsOptions {
    /// The JSON API's base URL (default `https://storage.googleapis.com`). When unset and
    /// `STORAGE_EMULATOR_HOST` is set, that emulator is used without credentials.
    pub endpoint: Option<String>,
    /// Where the access tokens come from.
    pub credentials: GcsCredentials,
}

/// Where GCS access tokens come from.
#[derive(Debug, Clone, Default)]
pub enum GcsCredentials {
    /// Application default credentials: `GOOGLE_APPLICATION_CREDENTIALS`, the gcloud
    /// well-known file, then the metadata server.
    #[default]
    Default,
    /// A service-account (or authorized-user) JSON key file.
    KeyFile(PathBuf),
    /// The text of such a key (read from a Kubernetes Secret); never printed.
    KeyJson(SecretText),
    /// No credentials: public buckets and emulators.
    Anonymous,
}

/// A secret value: `Debug` prints `<redacted>`, so no log line or error can carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Self {
        SecretText(text.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A store for the bucket of `uri` (for `file://`, the file system from `/`).
pub async fn open(uri: &BlobUri, options: &Options) -> Result<Box<dyn Store>> {
    match uri.scheme() {
        Scheme::File => Ok(Box::new(file::FileStore::new())),
        Scheme::S3 => {
            check_part_size(options.part_size)?;
            Ok(Box::new(s3::S3Store::new(uri, options).await?))
        }
        Scheme::Gcs => {
            check_part_size(options.part_size)?;
            Ok(Box::new(gcs::GcsStore::new(uri, options).await?))
        }
    }
}

fn check_part_size(part_size: usize) -> Result<()> {
    const GCS_CHUNK: usize = 256 << 10;
    const S3_MAX_PART: usize = 5 << 30;
    if part_size < MIN_PART_SIZE || !part_size.is_multiple_of(GCS_CHUNK) || part_size > S3_MAX_PART
    {
        return Err(Error::InvalidOptions(format!(
            "part size {part_size} must be a multiple of 256 KiB between 5 MiB and 5 GiB"
        )));
    }
    Ok(())
}

/// The objects of a paged listing as one stream: `page(token)` fetches a page (`None`: the
/// first) and the token of the next one, until there is none.
pub(crate) fn paged<'a, F, Fut>(page: F) -> BoxStream<'a, Result<ObjectMeta>>
where
    F: Fn(Option<String>) -> Fut + Send + Sync + 'a,
    Fut: std::future::Future<Output = Result<(Vec<ObjectMeta>, Option<String>)>> + Send + 'a,
{
    use futures::stream::{self, StreamExt};
    // State: the next page's token, or None once the last page is read.
    stream::try_unfold(Some(None), move |token: Option<Option<String>>| {
        let next_page = token.map(&page);
        async move {
            let Some(next_page) = next_page else {
                return Ok(None);
            };
            let (items, next) = next_page.await?;
            Ok(Some((items, next.map(Some))))
        }
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// The Content-Type an object gets from its key's extension, so that a report or a docs
/// site served straight from a bucket opens in a browser (`index.html` as `text/html`).
/// Unknown extensions are `application/octet-stream`.
pub fn content_type(key: &str) -> &'static str {
    let ext = key
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "txt" | "log" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "yaml" | "yml" => "application/yaml",
        "parquet" => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod content_type_tests {
    use super::content_type;

    #[test]
    fn reports_and_sites_open_in_a_browser() {
        assert_eq!(
            content_type("docs/dbt/index.html"),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type("a/b/REPORT.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("m/group-0.json"), "application/json");
        assert_eq!(
            content_type("raw/part-0.parquet"),
            "application/vnd.apache.parquet"
        );
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("dir.d/file"), "application/octet-stream");
    }
}
