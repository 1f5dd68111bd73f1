//! Uploads: one `PutObject` for a small object, a multipart upload for a larger one.
//!
//! Every upload carries a whole-object CRC32C that S3 checks before the object appears: the
//! SDK computes it for a `PutObject`, and a multipart upload declares a `FULL_OBJECT` CRC32C
//! whose value, computed here as the bytes go by, `CompleteMultipartUpload` must match. So
//! `head` reports a CRC32C for every object weir wrote, comparable with GCS's.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream as AwsByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use crc_fast::{CrcAlgorithm, Digest};

use super::{S3Store, crc, unquote};
use crate::parts::PartBuffer;
use crate::{Checksums, Error, ObjectMeta, Result, Store, Upload};

/// A multipart upload, started only when a first full part is ready: smaller objects are
/// one `PutObject`.
pub(super) struct S3Upload {
    pub(super) store: S3Store,
    pub(super) key: String,
    pub(super) buffer: PartBuffer,
    pub(super) upload_id: Option<String>,
    pub(super) parts: Vec<CompletedPart>,
    /// CRC32C of every byte written so far.
    pub(super) crc32c: Digest,
}

/// A running CRC32C, for [`S3Upload::crc32c`].
pub(super) fn crc32c_digest() -> Digest {
    Digest::new(CrcAlgorithm::Crc32Iscsi)
}

impl S3Upload {
    async fn send_part(&mut self, part: Bytes) -> Result<()> {
        let (store, key) = (&self.store, self.key.as_str());
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = store
                    .client
                    .create_multipart_upload()
                    .bucket(store.bucket())
                    .key(key)
                    .content_type(crate::content_type(key))
                    .checksum_algorithm(ChecksumAlgorithm::Crc32C)
                    .checksum_type(ChecksumType::FullObject)
                    .send()
                    .await
                    .map_err(|e| store.error(key, e));
                let created = store.checked(key, created).await?;
                let id = created.upload_id().ok_or_else(|| Error::Backend {
                    uri: store.uri(key).to_string(),
                    message: "CreateMultipartUpload returned no upload id".to_owned(),
                })?;
                self.upload_id = Some(id.to_owned());
                id.to_owned()
            }
        };
        let number = i32::try_from(self.parts.len() + 1).map_err(|_| Error::Backend {
            uri: store.uri(key).to_string(),
            message: "too many parts".to_owned(),
        })?;
        let sent = store
            .client
            .upload_part()
            .bucket(store.bucket())
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .body(AwsByteStream::from(part))
            .send()
            .await
            .map_err(|e| store.error(key, e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_owned))
                .set_checksum_crc32(sent.checksum_crc32().map(str::to_owned))
                .set_checksum_crc32_c(sent.checksum_crc32_c().map(str::to_owned))
                .build(),
        );
        Ok(())
    }
}

#[async_trait]
impl Upload for S3Upload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.crc32c.update(&data);
        self.buffer.push(&data);
        while let Some(part) = self.buffer.next_part() {
            self.send_part(part).await?;
        }
        Ok(())
    }

    async fn complete(mut self: Box<Self>) -> Result<ObjectMeta> {
        let size = self.buffer.sent() + self.buffer.held() as u64;
        let rest = self.buffer.finish();
        let (store, key) = (self.store.clone(), self.key.clone());
        if self.buffer.nothing_sent() && self.upload_id.is_none() {
            let put = store
                .client
                .put_object()
                .bucket(store.bucket())
                .key(&key)
                .content_type(crate::content_type(&key))
                .checksum_algorithm(ChecksumAlgorithm::Crc32C)
                .body(AwsByteStream::from(rest))
                .send()
                .await
                .map_err(|e| store.error(&key, e));
            let put = store.checked(&key, put).await?;
            return Ok(ObjectMeta {
                key,
                size,
                etag: put.e_tag().map(unquote),
                generation: put.version_id().map(str::to_owned),
                last_modified: None,
                checksums: Checksums {
                    md5: None,
                    crc32c: crc(put.checksum_crc32_c(), put.checksum_type()),
                    crc32: crc(put.checksum_crc32(), put.checksum_type()),
                },
            });
        }
        self.send_part(rest).await?;
        let upload_id = self.upload_id.take().unwrap_or_default();
        let parts = std::mem::take(&mut self.parts);
        // A CRC32 fits in 32 bits; the digest gives it widened to 64.
        let whole = (self.crc32c.finalize() as u32).to_be_bytes();
        let done = store
            .client
            .complete_multipart_upload()
            .bucket(store.bucket())
            .key(&key)
            .upload_id(&upload_id)
            .checksum_crc32_c(BASE64.encode(whole))
            .checksum_type(ChecksumType::FullObject)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        let done = match done {
            Ok(done) => done,
            Err(e) => {
                let _ = abort(&store, &key, &upload_id).await;
                return Err(store.error(&key, e));
            }
        };
        Ok(ObjectMeta {
            key,
            size,
            etag: done.e_tag().map(unquote),
            generation: done.version_id().map(str::to_owned),
            last_modified: None,
            checksums: Checksums {
                md5: None,
                // The server checked the whole-object CRC32C it was sent before accepting the
                // upload; not every server echoes it (moto does not), so it is that value.
                crc32c: crc(done.checksum_crc32_c(), done.checksum_type())
                    .or(Some(u32::from_be_bytes(whole))),
                crc32: crc(done.checksum_crc32(), done.checksum_type()),
            },
        })
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        match self.upload_id.take() {
            Some(id) => abort(&self.store, &self.key, &id).await,
            None => Ok(()),
        }
    }
}

async fn abort(store: &S3Store, key: &str, upload_id: &str) -> Result<()> {
    store
        .client
        .abort_multipart_upload()
        .bucket(store.bucket())
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
        .map_err(|e| store.error(key, e))?;
    Ok(())
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        // An upload dropped half-way (an error, a cancelled task) must not leave parts billed.
        if let (Some(id), Ok(runtime)) =
            (self.upload_id.take(), tokio::runtime::Handle::try_current())
        {
            let (store, key) = (self.store.clone(), self.key.clone());
            runtime.spawn(async move {
                if let Err(e) = abort(&store, &key, &id).await {
                    tracing::warn!(error = %e, "could not abort an abandoned multipart upload");
                }
            });
        }
    }
}
