//! `gs://` through the GCS JSON API over reqwest, with tokens from gcloud-auth.
//!
//! Not gcloud-storage: it depends on `ring` unconditionally (for URL signing), and weir
//! allows one TLS crypto provider, aws-lc-rs. The handful of JSON API calls below are what
//! weir needs; gcloud-auth (the same project's auth crate, built with aws-lc-rs) supplies
//! tokens from a key file or the default chain.

mod http;
mod resource;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use gcloud_auth::credentials::CredentialsFile;
use gcloud_auth::project::Config;
use gcloud_auth::token::DefaultTokenSourceProvider;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Response, StatusCode};
use token_source::{TokenSource, TokenSourceProvider};

use self::resource::{ListPage, Resource};
use self::upload::GcsUpload;
use crate::parts::PartBuffer;
use crate::{
    BlobUri, ByteStream, Error, GcsCredentials, ObjectMeta, Options, Result, Store, Upload,
};

const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";
const SCOPES: [&str; 1] = ["https://www.googleapis.com/auth/devstorage.read_write"];
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
            GcsCredentials::KeyJson(text) => {
                // The parser's errors name a line and column, never the text.
                let file = CredentialsFile::new_from_str(text.expose())
                    .await
                    .map_err(|e| backend(format!("GCS key from a Secret: {e}")))?;
                Some(
                    DefaultTokenSourceProvider::new_with_credentials(config, Box::new(file))
                        .await
                        .map_err(|e| backend(format!("GCS key from a Secret: {e}")))?
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
        crate::paged(move |token| self.list_page(prefix, start_after, token))
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
            crc32c: upload::crc32c_digest(),
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
