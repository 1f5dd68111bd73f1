//! Uploads: one media upload for a small object, a resumable session for a larger one.
//!
//! The final request carries the whole object's CRC32C (`X-Goog-Hash`), computed here as the
//! bytes go by; GCS refuses to finish an upload whose bytes do not match it. (The emulator
//! ignores the header; it and GCS report the CRC32C they computed either way.)

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use crc_fast::{CrcAlgorithm, Digest};
use reqwest::Response;

use super::GcsStore;
use super::http::Attempt;
use super::resource::Resource;
use crate::parts::PartBuffer;
use crate::{Error, ObjectMeta, Result, Store, Upload};

/// A resumable upload, started only when a first full chunk is ready: smaller objects are
/// one media upload.
pub(super) struct GcsUpload {
    pub(super) store: GcsStore,
    pub(super) key: String,
    pub(super) buffer: PartBuffer,
    /// The resumable session's URL once started.
    pub(super) session: Option<String>,
    /// CRC32C of every byte written so far.
    pub(super) crc32c: Digest,
}

/// A running CRC32C, for [`GcsUpload::crc32c`].
pub(super) fn crc32c_digest() -> Digest {
    Digest::new(CrcAlgorithm::Crc32Iscsi)
}

/// The `X-Goog-Hash` value for a CRC32C (a CRC32 fits in 32 bits; the digest widens it).
fn goog_hash(crc32c: &Digest) -> String {
    let crc = crc32c.finalize() as u32;
    format!("crc32c={}", BASE64.encode(crc.to_be_bytes()))
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
            .json(&serde_json::json!({ "name": key, "contentType": crate::content_type(key) }));
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
        // The last chunk finishes the upload: GCS checks the whole object's hash then.
        let hash = total.map(|_| goog_hash(&self.crc32c));
        let url = self.session().await?;
        let end = offset + chunk.len() as u64;
        let range = match (total, chunk.is_empty()) {
            (Some(total), true) => format!("bytes */{total}"),
            (Some(total), false) => format!("bytes {offset}-{}/{total}", end - 1),
            (None, _) => format!("bytes {offset}-{}/*", end.saturating_sub(1)),
        };
        let mut request = self
            .store
            .http
            .put(url)
            .header(reqwest::header::CONTENT_RANGE, range);
        if let Some(hash) = hash {
            request = request.header("x-goog-hash", hash);
        }
        let request = request.body(chunk);
        self.store
            .send_once(&self.key, request, &[308])
            .await
            .map_err(Attempt::into_error)
    }
}

#[async_trait]
impl Upload for GcsUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.crc32c.update(&data);
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
                .header(reqwest::header::CONTENT_TYPE, media_content_type(&key))
                .header("x-goog-hash", goog_hash(&self.crc32c))
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

/// The Content-Type header of a one-request (media) upload: the object's type, except JSON,
/// which goes up untyped. gcp-storage-emulator decodes any `application/json` request body
/// as API metadata and drops the connection on a media upload carrying it; real GCS would
/// take either.
fn media_content_type(key: &str) -> &'static str {
    match crate::content_type(key) {
        "application/json" => "application/octet-stream",
        other => other,
    }
}
