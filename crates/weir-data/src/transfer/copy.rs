//! One object: skipped when the destination already holds the same bytes, else streamed from
//! the source into an upload that only appears once every check has passed.
//!
//! The checks, in order: the bytes read are as many as the source's size and match the
//! source's own checksum (when it reports one) — else the upload is aborted and nothing
//! appears; then the checksum the destination reports for what it stored equals the one
//! computed here — else the object is deleted again (S3 and GCS already refuse to complete
//! an upload whose bytes do not match the CRC32C weir-blob sends with it).

use futures::TryStreamExt;
use weir_blob::{Checksums, ObjectMeta, Scheme, Store};

use super::checksum::{self, Comparison, Hasher};
use super::plan::Pair;
use super::report::Progress;
use crate::error::{Error, Result};

/// Both ends of a transfer.
#[derive(Debug, Clone, Copy)]
pub struct Stores<'a> {
    /// Where objects are read.
    pub source: &'a dyn Store,
    /// Where they are written.
    pub dest: &'a dyn Store,
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Copied; `dest_verified`: the destination's checksum was compared (always, but for a
    /// store that reports none); `source_verified`: so was the source's.
    Copied {
        /// Bytes copied.
        bytes: u64,
        /// The destination's checksum matched the bytes sent.
        dest_verified: bool,
        /// The source's checksum matched the bytes read.
        source_verified: bool,
    },
    /// Already at the destination: same size and the same checksum (`by`).
    Skipped {
        /// The object's size.
        bytes: u64,
        /// The checksum that matched.
        by: &'static str,
    },
}

/// Skips or copies one object.
pub async fn transfer_one(stores: Stores<'_>, pair: &Pair, progress: &Progress) -> Result<Outcome> {
    let source = &pair.source;
    if let Some(existing) = pair.existing.as_ref().filter(|e| e.size == source.size) {
        let theirs = checksums(stores.source, source, true).await?;
        let ours = checksums(stores.dest, existing, true).await?;
        if let Comparison::Same(by) = checksum::compare(&theirs, &ours) {
            progress.skipped(&pair.target, source.size, by);
            return Ok(Outcome::Skipped {
                bytes: source.size,
                by,
            });
        }
    }
    let expected = checksums(stores.source, source, false).await?;
    copy(stores, pair, &expected, progress).await
}

/// The checksums a store reports for `meta` (a listing's, else a `head`'s). A local file has
/// none: with `read_local` it is read to compute its CRC32C (a local read is cheap next to a
/// copy).
async fn checksums(store: &dyn Store, meta: &ObjectMeta, read_local: bool) -> Result<Checksums> {
    if checksum::any(&meta.checksums) {
        return Ok(meta.checksums);
    }
    if store.uri(&meta.key).scheme() == Scheme::File {
        if !read_local {
            return Ok(Checksums::default());
        }
        let mut hasher = Hasher::for_source(&Checksums::default());
        let mut body = store.get_stream(&meta.key).await?;
        while let Some(chunk) = body.try_next().await? {
            hasher.update(&chunk);
        }
        return Ok(hasher.finish());
    }
    // S3 listings carry no checksums.
    Ok(store.head(&meta.key).await?.checksums)
}

async fn copy(
    stores: Stores<'_>,
    pair: &Pair,
    expected: &Checksums,
    progress: &Progress,
) -> Result<Outcome> {
    let (source, target) = (&pair.source, pair.target.as_str());
    let mut body = stores.source.get_stream(&source.key).await?;
    let mut upload = stores.dest.writer(target).await?;
    let mut hasher = Hasher::for_source(expected);
    let streamed: Result<()> = async {
        while let Some(chunk) = body.try_next().await? {
            let before = hasher.bytes();
            hasher.update(&chunk);
            progress.streamed(target, before, hasher.bytes(), source.size);
            upload.write(chunk).await?;
        }
        Ok(())
    }
    .await;
    let read = hasher.bytes();
    let computed = hasher.finish();
    let source_check = checksum::compare(expected, &computed);
    let refusal = match (&streamed, source_check) {
        (Err(_), _) => None,
        _ if read != source.size => Some(format!(
            "read {read} bytes, the source says {} (did it change during the copy?)",
            source.size
        )),
        (_, Comparison::Different(name)) => Some(format!(
            "the bytes read have {name} {}, the source says {}",
            checksum::describe(&computed),
            checksum::describe(expected)
        )),
        _ => None,
    };
    if streamed.is_err() || refusal.is_some() {
        // The write's or the check's error is the one to report; a failed abort adds nothing.
        let _ = upload.abort().await;
        streamed?;
        return Err(mismatch(stores.source, &source.key, refusal));
    }
    let written = upload.complete().await?;
    let dest_verified = verify_written(stores.dest, &written, &computed).await?;
    let source_verified = matches!(source_check, Comparison::Same(_));
    progress.copied(target, read, dest_verified);
    Ok(Outcome::Copied {
        bytes: read,
        dest_verified,
        source_verified,
    })
}

/// Compares what the destination stored with the bytes sent; on a mismatch the object is
/// deleted and the copy fails. False when the destination reports no checksum.
async fn verify_written(dest: &dyn Store, written: &ObjectMeta, sent: &Checksums) -> Result<bool> {
    let stored = checksums(dest, written, true).await?;
    match checksum::compare(sent, &stored) {
        Comparison::Same(_) => Ok(true),
        Comparison::Unknown => Ok(false),
        Comparison::Different(name) => {
            let detail = format!(
                "the destination stored {name} {}, the bytes sent have {}; deleted it",
                checksum::describe(&stored),
                checksum::describe(sent)
            );
            dest.delete(&written.key).await?;
            Err(mismatch(dest, &written.key, Some(detail)))
        }
    }
}

fn mismatch(store: &dyn Store, key: &str, detail: Option<String>) -> Error {
    Error::ChecksumMismatch {
        uri: store.uri(key).to_string(),
        detail: detail.unwrap_or_default(),
    }
}
