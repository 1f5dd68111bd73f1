//! `s3://` through aws-sdk-s3: any S3-compatible server (endpoint override, path-style),
//! credentials and region from the AWS default chain unless given.

mod upload;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{ChecksumMode, ChecksumType, ServerSideEncryption};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use self::upload::S3Upload;
use crate::parts::PartBuffer;
use crate::{BlobUri, ByteStream, Checksums, Error, ObjectMeta, Options, Result, Store, Upload};

/// Keys per list request (S3's maximum).
const PAGE: i32 = 1000;

#[derive(Debug, Clone)]
pub(crate) struct S3Store {
    client: Client,
    bucket_uri: BlobUri,
    part_size: usize,
}

impl S3Store {
    pub(crate) async fn new(uri: &BlobUri, options: &Options) -> Result<Self> {
        let s3 = &options.s3;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        loader = match &s3.region {
            Some(region) => loader.region(Region::new(region.clone())),
            // The default chain's region, else us-east-1 (S3-compatible servers ignore it,
            // and the SDK refuses to send a request without one).
            None => loader.region(
                aws_config::meta::region::RegionProviderChain::default_provider()
                    .or_else(Region::from_static("us-east-1")),
            ),
        };
        if let Some(keys) = &s3.credentials {
            loader = loader.credentials_provider(Credentials::new(
                keys.access_key_id.clone(),
                keys.secret_access_key.clone(),
                None,
                None,
                "weir-blob",
            ));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(s3.path_style);
        if let Some(endpoint) = &s3.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Ok(S3Store {
            client: Client::from_conf(config.build()),
            bucket_uri: uri.with_key(""),
            part_size: options.part_size,
        })
    }

    fn bucket(&self) -> &str {
        self.bucket_uri.bucket()
    }

    /// Maps an SDK error to ours. A 404 without a code (the answer to HEAD, which has no
    /// body) is taken as a missing object; [`S3Store::missing`] tells it from a missing bucket.
    fn error<E>(&self, key: &str, err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let uri = self.uri(key).to_string();
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err
            .as_service_error()
            .and_then(|e| e.code())
            .map(str::to_owned);
        match (status, code.as_deref()) {
            (_, Some("NoSuchBucket")) => Error::NoSuchBucket {
                uri,
                bucket: self.bucket().to_owned(),
            },
            (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => Error::NotFound { uri },
            (Some(401 | 403), _) | (_, Some("AccessDenied")) => Error::PermissionDenied {
                uri,
                message: one_line(&err),
            },
            _ => Error::Backend {
                uri,
                message: one_line(&err),
            },
        }
    }

    /// A 404 on an object: [`Error::NoSuchBucket`] when the bucket is missing too.
    async fn missing(&self, key: &str) -> Error {
        match self.client.head_bucket().bucket(self.bucket()).send().await {
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                Error::NoSuchBucket {
                    uri: self.uri(key).to_string(),
                    bucket: self.bucket().to_owned(),
                }
            }
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
        let page = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_owned))
            .set_continuation_token(token)
            .max_keys(PAGE)
            .send()
            .await
            .map_err(|e| self.error(prefix, e))?;
        let items = page
            .contents()
            .iter()
            .filter_map(|o| {
                let key = o.key()?.to_owned();
                Some(ObjectMeta {
                    key,
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    etag: o.e_tag().map(unquote),
                    generation: None,
                    last_modified: o.last_modified().and_then(timestamp),
                    // Without the encryption of each object an ETag cannot be trusted as MD5.
                    checksums: Checksums::default(),
                })
            })
            .collect();
        let next = if page.is_truncated() == Some(true) {
            page.next_continuation_token().map(str::to_owned)
        } else {
            None
        };
        Ok((items, next))
    }
}

fn one_line(err: &dyn std::error::Error) -> String {
    crate::error::chain(err)
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

fn timestamp(t: &aws_sdk_s3::primitives::DateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).ok()?).ok()
}

/// An ETag that is the object's MD5: 32 hex digits (a multipart ETag has a `-N` suffix).
fn md5_of_etag(etag: &str) -> Option<[u8; 16]> {
    let hex = etag.trim_matches('"');
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A base64 CRC as S3 reports it; `None` for a composite (per-part) checksum.
fn crc(value: Option<&str>, kind: Option<&ChecksumType>) -> Option<u32> {
    if matches!(kind, Some(ChecksumType::Composite)) {
        return None;
    }
    let bytes: [u8; 4] = BASE64.decode(value?).ok()?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

#[async_trait]
impl Store for S3Store {
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
        let result = self
            .client
            .head_object()
            .bucket(self.bucket())
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| self.error(key, e));
        let out = self.checked(key, result).await?;
        let kms = matches!(
            out.server_side_encryption(),
            Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
        );
        Ok(ObjectMeta {
            key: key.to_owned(),
            size: out
                .content_length()
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(0),
            etag: out.e_tag().map(unquote),
            generation: out.version_id().filter(|v| *v != "null").map(str::to_owned),
            last_modified: out.last_modified().and_then(timestamp),
            checksums: Checksums {
                md5: out.e_tag().filter(|_| !kms).and_then(md5_of_etag),
                crc32c: crc(out.checksum_crc32_c(), out.checksum_type()),
                crc32: crc(out.checksum_crc32(), out.checksum_type()),
            },
        })
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let last = offset.saturating_add(len - 1);
        let result = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .range(format!("bytes={offset}-{last}"))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                let size = self.head(key).await?.size;
                return Err(Error::RangeNotSatisfiable {
                    uri: self.uri(key).to_string(),
                    offset,
                    size,
                });
            }
            Err(e) => {
                let err = self.error(key, e);
                return self.checked(key, Err(err)).await;
            }
        };
        let body = out.body.collect().await.map_err(|e| Error::Backend {
            uri: self.uri(key).to_string(),
            message: one_line(&e),
        })?;
        Ok(body.into_bytes())
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream> {
        let result = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .map_err(|e| self.error(key, e));
        let out = self.checked(key, result).await?;
        let uri = self.uri(key).to_string();
        Ok(
            stream::try_unfold((out.body, uri), |(mut body, uri)| async move {
                match body.next().await {
                    None => Ok(None),
                    Some(Ok(chunk)) => Ok(Some((chunk, (body, uri)))),
                    Some(Err(e)) => Err(Error::Backend {
                        message: one_line(&e),
                        uri,
                    }),
                }
            })
            .boxed(),
        )
    }

    async fn writer(&self, key: &str) -> Result<Box<dyn Upload>> {
        Ok(Box::new(S3Upload {
            store: self.clone(),
            key: key.to_owned(),
            buffer: PartBuffer::new(self.part_size),
            upload_id: None,
            parts: Vec::new(),
            crc32c: upload::crc32c_digest(),
        }))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .map_err(|e| self.error(key, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_is_an_md5_only_when_it_looks_like_one() {
        assert_eq!(
            md5_of_etag("\"d41d8cd98f00b204e9800998ecf8427e\"").map(|m| m[0]),
            Some(0xd4)
        );
        assert_eq!(md5_of_etag("\"d41d8cd98f00b204e9800998ecf8427e-2\""), None);
        assert_eq!(md5_of_etag("zz1d8cd98f00b204e9800998ecf8427e"), None);
    }

    #[test]
    fn composite_checksums_are_not_whole_object_checksums() {
        assert_eq!(crc(Some("AAAAAQ=="), None), Some(1));
        assert_eq!(crc(Some("AAAAAQ=="), Some(&ChecksumType::Composite)), None);
    }
}
