//! `gs://` through the GCS JSON API over reqwest, with tokens from gcloud-auth.
//!
//! Not gcloud-storage: it depends on `ring` unconditionally (for URL signing), and weir
//! allows one TLS crypto provider, aws-lc-rs. The handful of JSON API calls below are what
//! weir needs; gcloud-auth (the same project's auth crate, built with aws-lc-rs) supplies
//! tokens from a key file or the default chain.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use gcloud_auth::credentials::CredentialsFile;
use gcloud_auth::project::Config;
use gcloud_auth::token::DefaultTokenSourceProvider;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use token_source::{TokenSource, TokenSourceProvider};

use crate::parts::PartBuffer;
use crate::{
    BlobUri, ByteStream, Checksums, Error, GcsCredentials, ObjectMeta, Options, Result, Store,
    Upload,
};

const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";
const SCOPES: [&str; 1] = ["https://www.googleapis.com/auth/devstorage.read_write"];
/// Tries per request that can be repeated; the waits between them grow 4× from this.
const ATTEMPTS: u32 = 4;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Objects per list request (the JSON API's maximum).
const PAGE: &str = "1000";
/// What a path segment may hold unescaped (RFC 3986 unreserved characters).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Clone)]
pub(crate) struct GcsStore {
    http: reqwest::Client,
    endpoint: String,
    bucket_uri: BlobUri,
    /// `None`: anonymous (an emulator, a public bucket).
    tokens: Option<Arc<dyn TokenSource>>,
    part_size: usize,
}

impl std::fmt::Debug for GcsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsStore")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket_uri.bucket())
            .field("anonymous", &self.tokens.is_none())
            .finish()
    }
}

impl GcsStore {
    pub(crate) async fn new(uri: &BlobUri, options: &Options) -> Result<Self> {
        let bucket_uri = uri.with_key("");
        let backend = |message: String| Error::Backend {
            uri: bucket_uri.to_string(),
            message,
        };
        let emulator = std::env::var("STORAGE_EMULATOR_HOST")
            .ok()
            .filter(|h| !h.is_empty());
        let (endpoint, credentials) = match (&options.gcs.endpoint, emulator) {
            (Some(endpoint), _) => (endpoint.clone(), options.gcs.credentials.clone()),
            (None, Some(host)) if host.contains("://") => (host, GcsCredentials::Anonymous),
            (None, Some(host)) => (format!("http://{host}"), GcsCredentials::Anonymous),
            (None, None) => (DEFAULT_ENDPOINT.to_owned(), options.gcs.credentials.clone()),
        };
        let config = Config::default().with_scopes(&SCOPES);
        let tokens = match credentials {
            GcsCredentials::Anonymous => None,
            GcsCredentials::Default => Some(
                DefaultTokenSourceProvider::new(config)
                    .await
                    .map_err(|e| backend(format!("GCS default credentials: {e}")))?
                    .token_source(),
            ),
            GcsCredentials::KeyFile(path) => {
                let file = CredentialsFile::new_from_file(path.to_string_lossy().into_owned())
                    .await
                    .map_err(|e| backend(format!("GCS key file {}: {e}", path.display())))?;
                Some(
                    DefaultTokenSourceProvider::new_with_credentials(config, Box::new(file))
                        .await
                        .map_err(|e| backend(format!("GCS key file {}: {e}", path.display())))?
                        .token_source(),
                )
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            // A resumable upload's 308 is an answer, not a redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| backend(format!("HTTP client: {e}")))?;
        Ok(GcsStore {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            bucket_uri,
            tokens,
            part_size: options.part_size,
        })
    }

    fn bucket(&self) -> &str {
        self.bucket_uri.bucket()
    }

    fn object_url(&self, key: &str) -> String {
        format!(
            "{}/storage/v1/b/{}/o/{}",
            self.endpoint,
            utf8_percent_encode(self.bucket(), SEGMENT),
            utf8_percent_encode(key, SEGMENT)
        )
    }

    fn upload_url(&self) -> String {
        format!(
            "{}/upload/storage/v1/b/{}/o",
            self.endpoint,
            utf8_percent_encode(self.bucket(), SEGMENT)
        )
    }

    /// Sends with a token, retrying transient failures (a lost connection, 408, 429, 5xx)
    /// with backoff: for requests that can be repeated safely, which is every call here but
    /// a resumable upload's chunks (see [`GcsStore::send_once`]). A non-success answer (other
    /// than `ok_also`) becomes an error.
    async fn send(&self, key: &str, request: RequestBuilder, ok_also: &[u16]) -> Result<Response> {
        let mut delay = FIRST_RETRY_DELAY;
        for _ in 1..ATTEMPTS {
            // A streaming body cannot be cloned, and so cannot be sent twice.
            let Some(again) = request.try_clone() else {
                break;
            };
            match self.send_once(key, again, ok_also).await {
                Err(Attempt::Transient(e)) => {
                    tracing::debug!(error = %e, "retrying a GCS request");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                other => return other.map_err(Attempt::into_error),
            }
        }
        self.send_once(key, request, ok_also)
            .await
            .map_err(Attempt::into_error)
    }

    /// One try. A resumable upload's chunk goes through this alone: after a lost connection
    /// the server may hold part of it, and sending it again blindly could be refused.
    async fn send_once(
        &self,
        key: &str,
        request: RequestBuilder,
        ok_also: &[u16],
    ) -> std::result::Result<Response, Attempt> {
        let request = match &self.tokens {
            Some(tokens) => {
                let token = tokens.token().await.map_err(|e| {
                    Attempt::Final(Error::Backend {
                        uri: self.uri(key).to_string(),
                        message: format!("GCS access token: {e}"),
                    })
                })?;
                request.header(reqwest::header::AUTHORIZATION, token)
            }
            None => request,
        };
        let response = request
            .send()
            .await
            .map_err(|e| Attempt::Transient(self.transport(key, &e)))?;
        let status = response.status();
        if status.is_success() || ok_also.contains(&status.as_u16()) {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let err = self.status_error(key, status, &body);
        if matches!(status.as_u16(), 408 | 429) || status.is_server_error() {
            Err(Attempt::Transient(err))
        } else {
            Err(Attempt::Final(err))
        }
    }

    fn transport(&self, key: &str, err: &reqwest::Error) -> Error {
        Error::Backend {
            uri: self.uri(key).to_string(),
            message: crate::error::chain(err),
        }
    }

    fn status_error(&self, key: &str, status: StatusCode, body: &str) -> Error {
        let uri = self.uri(key).to_string();
        let message = error_message(status, body);
        match status.as_u16() {
            404 => Error::NotFound { uri },
            401 | 403 => Error::PermissionDenied { uri, message },
            _ => Error::Backend { uri, message },
        }
    }

    /// A 404 on an object: [`Error::NoSuchBucket`] when the bucket is missing too (GCS and the
    /// emulator answer both with a bare 404).
    async fn missing(&self, key: &str) -> Error {
        let url = format!(
            "{}/storage/v1/b/{}",
            self.endpoint,
            utf8_percent_encode(self.bucket(), SEGMENT)
        );
        match self.send(key, self.http.get(url), &[]).await {
            Err(Error::NotFound { uri }) => Error::NoSuchBucket {
                uri,
                bucket: self.bucket().to_owned(),
            },
            _ => Error::NotFound {
                uri: self.uri(key).to_string(),
            },
        }
    }

    async fn checked<T>(&self, key: &str, result: Result<T>) -> Result<T> {
        match result {
            Err(Error::NotFound { .. }) => Err(self.missing(key).await),
            other => other,
        }
    }

    async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        token: Option<String>,
    ) -> Result<(Vec<ObjectMeta>, Option<String>)> {
        let mut query = vec![
            ("prefix", prefix.to_owned()),
            ("maxResults", PAGE.to_owned()),
        ];
        if let Some(after) = start_after {
            // Inclusive on GCS; the key itself is filtered out below.
            query.push(("startOffset", after.to_owned()));
        }
        if let Some(token) = token {
            query.push(("pageToken", token));
        }
        let url = format!(
            "{}/storage/v1/b/{}/o",
            self.endpoint,
            utf8_percent_encode(self.bucket(), SEGMENT)
        );
        let response = self
            .send(prefix, self.http.get(url).query(&query), &[])
            .await;
        let response = match response {
            // Listing a bucket: a 404 can only be the bucket.
            Err(Error::NotFound { uri }) => {
                return Err(Error::NoSuchBucket {
                    uri,
                    bucket: self.bucket().to_owned(),
                });
            }
            other => other?,
        };
        let page: ListPage = self.json(prefix, response).await?;
        // The emulator ignores startOffset (and prefix is the caller's promise anyway).
        let items = page
            .items
            .into_iter()
            .filter(|o| o.name.starts_with(prefix))
            .filter(|o| start_after.is_none_or(|after| o.name.as_str() > after))
            .map(Resource::into_meta)
            .collect();
        Ok((items, page.next_page_token.filter(|t| !t.is_empty())))
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        response: Response,
    ) -> Result<T> {
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport(key, &e))?;
        serde_json::from_slice(&body).map_err(|e| Error::Backend {
            uri: self.uri(key).to_string(),
            message: format!("unexpected answer from GCS: {e}"),
        })
    }
}

/// How one try of a request failed.
enum Attempt {
    /// Worth another try (a lost connection, 408, 429, 5xx).
    Transient(Error),
    /// Not worth another (4xx, no token).
    Final(Error),
}

impl Attempt {
    fn into_error(self) -> Error {
        match self {
            Attempt::Transient(e) | Attempt::Final(e) => e,
        }
    }
}

/// The `error.message` of a JSON API error, else the start of the body.
fn error_message(status: StatusCode, body: &str) -> String {
    #[derive(Deserialize)]
    struct Wrapper {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: String,
    }
    let detail = serde_json::from_str::<Wrapper>(body)
        .map(|w| w.error.message)
        .unwrap_or_else(|_| body.chars().take(200).collect());
    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage {
    #[serde(default)]
    items: Vec<Resource>,
    next_page_token: Option<String>,
}

/// An object resource of the JSON API (the fields weir reads).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    name: String,
    /// A decimal string in the API; a number or null from some emulators.
    size: Option<serde_json::Value>,
    generation: Option<String>,
    etag: Option<String>,
    md5_hash: Option<String>,
    crc32c: Option<String>,
    updated: Option<String>,
}

impl Resource {
    fn into_meta(self) -> ObjectMeta {
        let size = match &self.size {
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        ObjectMeta {
            key: self.name,
            size: size.unwrap_or(0),
            etag: self.etag,
            generation: self.generation,
            last_modified: self.updated.and_then(|t| t.parse().ok()),
            checksums: Checksums {
                md5: self
                    .md5_hash
                    .and_then(|h| BASE64.decode(h).ok())
                    .and_then(|b| b.try_into().ok()),
                crc32c: self
                    .crc32c
                    .and_then(|h| BASE64.decode(h).ok())
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_be_bytes),
                crc32: None,
            },
        }
    }
}

/// The total size from `Content-Range: bytes a-b/total`.
fn content_range_total(response: &Response) -> Option<u64> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    value.rsplit_once('/')?.1.parse().ok()
}

#[async_trait]
impl Store for GcsStore {
    fn uri(&self, key: &str) -> BlobUri {
        self.bucket_uri.with_key(key)
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        start_after: Option<&'a str>,
    ) -> BoxStream<'a, Result<ObjectMeta>> {
        stream::try_unfold(
            Some(None),
            move |token: Option<Option<String>>| async move {
                let Some(token) = token else { return Ok(None) };
                let (items, next) = self.list_page(prefix, start_after, token).await?;
                Ok(Some((items, next.map(Some))))
            },
        )
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let response = self
            .send(key, self.http.get(self.object_url(key)), &[])
            .await;
        let response = self.checked(key, response).await?;
        let resource: Resource = self.json(key, response).await?;
        Ok(resource.into_meta())
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let last = offset.saturating_add(len - 1);
        let request = self
            .http
            .get(self.object_url(key))
            .query(&[("alt", "media")])
            .header(reqwest::header::RANGE, format!("bytes={offset}-{last}"));
        let response = self.send(key, request, &[416]).await;
        let response = self.checked(key, response).await?;
        if response.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            let size = match content_range_total(&response) {
                Some(size) => size,
                None => self.head(key).await?.size,
            };
            return Err(Error::RangeNotSatisfiable {
                uri: self.uri(key).to_string(),
                offset,
                size,
            });
        }
        let partial = response.status() == StatusCode::PARTIAL_CONTENT;
        let total = content_range_total(&response);
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport(key, &e))?;
        if !partial {
            // The whole object came back (the range was ignored): cut it here.
            let size = body.len() as u64;
            if offset >= size {
                return Err(Error::RangeNotSatisfiable {
                    uri: self.uri(key).to_string(),
                    offset,
                    size,
                });
            }
            let end = usize::try_from(offset.saturating_add(len).min(size)).unwrap_or(body.len());
            let start = usize::try_from(offset).unwrap_or(end);
            return Ok(body.slice(start..end));
        }
        // The emulator answers a range past the end with an empty 206, not a 416.
        if let Some(size) = total.filter(|size| body.is_empty() && offset >= *size) {
            return Err(Error::RangeNotSatisfiable {
                uri: self.uri(key).to_string(),
                offset,
                size,
            });
        }
        Ok(body)
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream> {
        let request = self
            .http
            .get(self.object_url(key))
            .query(&[("alt", "media")]);
        let response = self.send(key, request, &[]).await;
        let response = self.checked(key, response).await?;
        let uri = self.uri(key).to_string();
        Ok(response
            .bytes_stream()
            .map_err(move |e| Error::Backend {
                uri: uri.clone(),
                message: e.to_string(),
            })
            .boxed())
    }

    async fn writer(&self, key: &str) -> Result<Box<dyn Upload>> {
        Ok(Box::new(GcsUpload {
            store: self.clone(),
            key: key.to_owned(),
            buffer: PartBuffer::new(self.part_size),
            session: None,
        }))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self
            .send(key, self.http.delete(self.object_url(key)), &[])
            .await
        {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A resumable upload, started only when a first full chunk is ready: smaller objects are
/// one media upload.
struct GcsUpload {
    store: GcsStore,
    key: String,
    buffer: PartBuffer,
    /// The resumable session's URL once started.
    session: Option<String>,
}

impl GcsUpload {
    async fn session(&mut self) -> Result<String> {
        if let Some(url) = &self.session {
            return Ok(url.clone());
        }
        let (store, key) = (&self.store, self.key.as_str());
        let request = store
            .http
            .post(store.upload_url())
            .query(&[("uploadType", "resumable"), ("name", key)])
            .json(&serde_json::json!({ "name": key }));
        let response = store.send(key, request, &[]).await;
        let response = store.checked(key, response).await?;
        let url = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Backend {
                uri: store.uri(key).to_string(),
                message: "GCS started a resumable upload without a session URL".to_owned(),
            })?
            .to_owned();
        self.session = Some(url.clone());
        Ok(url)
    }

    /// Sends bytes at `offset`; `total` on the last chunk, which completes the upload.
    async fn send_chunk(
        &mut self,
        chunk: Bytes,
        offset: u64,
        total: Option<u64>,
    ) -> Result<Response> {
        let url = self.session().await?;
        let end = offset + chunk.len() as u64;
        let range = match (total, chunk.is_empty()) {
            (Some(total), true) => format!("bytes */{total}"),
            (Some(total), false) => format!("bytes {offset}-{}/{total}", end - 1),
            (None, _) => format!("bytes {offset}-{}/*", end.saturating_sub(1)),
        };
        let request = self
            .store
            .http
            .put(url)
            .header(reqwest::header::CONTENT_RANGE, range)
            .body(chunk);
        self.store
            .send_once(&self.key, request, &[308])
            .await
            .map_err(Attempt::into_error)
    }
}

#[async_trait]
impl Upload for GcsUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.buffer.push(&data);
        while let Some(part) = self.buffer.next_part() {
            let offset = self.buffer.sent() - part.len() as u64;
            let response = self.send_chunk(part, offset, None).await?;
            if response.status().as_u16() != 308 {
                return Err(Error::Backend {
                    uri: self.store.uri(&self.key).to_string(),
                    message: format!(
                        "GCS finished a resumable upload early (HTTP {})",
                        response.status()
                    ),
                });
            }
        }
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<ObjectMeta> {
        let offset = self.buffer.sent();
        let rest = self.buffer.finish();
        let total = offset + rest.len() as u64;
        let (store, key) = (self.store.clone(), self.key.clone());
        // An empty object goes through a resumable session (`bytes */0`): gcp-storage-emulator
        // fails a media upload with no body. Real GCS takes either.
        let response = if self.session.is_none() && !rest.is_empty() {
            let request = store
                .http
                .post(store.upload_url())
                .query(&[("uploadType", "media"), ("name", key.as_str())])
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(rest);
            let response = store.send(&key, request, &[]).await;
            store.checked(&key, response).await?
        } else {
            let response = self.send_chunk(rest, offset, Some(total)).await?;
            self.session = None;
            response
        };
        if response.status().as_u16() == 308 {
            return Err(Error::Backend {
                uri: store.uri(&key).to_string(),
                message: "GCS did not finish the resumable upload".to_owned(),
            });
        }
        let resource: Resource = store.json(&key, response).await?;
        Ok(resource.into_meta())
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        match self.session.take() {
            Some(url) => cancel(&self.store, &self.key, url).await,
            None => Ok(()),
        }
    }
}

/// Cancels a resumable session (GCS answers 499). Emulators may not know the call; an
/// unfinished session is invisible either way and expires after a week.
async fn cancel(store: &GcsStore, key: &str, url: String) -> Result<()> {
    match store.send(key, store.http.delete(url), &[499]).await {
        Ok(_) | Err(Error::NotFound { .. }) | Err(Error::Backend { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Drop for GcsUpload {
    fn drop(&mut self) {
        if let (Some(url), Ok(runtime)) =
            (self.session.take(), tokio::runtime::Handle::try_current())
        {
            let (store, key) = (self.store.clone(), self.key.clone());
            runtime.spawn(async move {
                let _ = cancel(&store, &key, url).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_resource_like_the_json_api_gives_it() {
        let resource: Resource = serde_json::from_str(
            r#"{"name":"a/b","size":"11","generation":"17","etag":"CAE=",
                "md5Hash":"XrY7u+Ae7tCTyyK7j1rNww==","crc32c":"yZRlqg==",
                "updated":"2026-01-02T03:04:05.678Z"}"#,
        )
        .unwrap();
        let meta = resource.into_meta();
        assert_eq!((meta.key.as_str(), meta.size), ("a/b", 11));
        assert_eq!(meta.generation.as_deref(), Some("17"));
        assert_eq!(meta.checksums.md5.map(|m| m[0]), Some(0x5e));
        assert_eq!(meta.checksums.crc32c, Some(0xc994_65aa));
        assert!(meta.last_modified.is_some());
    }

    #[test]
    fn error_messages_are_one_line() {
        let body = r#"{"error":{"code":403,"message":"no\n access"}}"#;
        assert_eq!(
            error_message(StatusCode::FORBIDDEN, body),
            "HTTP 403 Forbidden: no access"
        );
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, ""),
            "HTTP 502 Bad Gateway"
        );
    }
}
