//! Reads a Parquet file's schema from its footer with ranged reads, never the whole file.
//!
//! A Parquet file ends with the metadata, its length (4 bytes, little endian) and `PAR1`. One
//! read of the last [`DEFAULT_TAIL`] bytes (through the size from the listing, so no `head`
//! and no suffix range) nearly always holds all of it; when the metadata is longer, a second
//! read fetches exactly the missing front part.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::schema::types::SchemaDescriptor;
use weir_blob::Store;

use crate::error::{Error, Result};

/// How many bytes the first read takes from the end of each file: enough for the metadata of
/// files with hundreds of columns and dozens of row groups.
pub const DEFAULT_TAIL: u64 = 64 << 10;

/// The length and magic at the very end of the file.
const FOOTER_LEN: u64 = 8;
/// `PAR1` at the start and end of the file: the smallest possible file holds both.
const MAGIC_LEN: u64 = 4;

/// A file's schema and what reading it cost.
#[derive(Debug, Clone)]
pub struct Footer {
    /// The schema from the metadata.
    pub schema: Arc<SchemaDescriptor>,
    /// Read requests sent (1, or 2 for metadata longer than the first read).
    pub requests: u32,
    /// Bytes received.
    pub bytes_read: u64,
}

/// Reads the schema of the `size`-byte Parquet file at `key`, first reading `tail` bytes.
pub async fn read(store: &dyn Store, key: &str, size: u64, tail: u64) -> Result<Footer> {
    let not_parquet = |reason: String| Error::NotParquet {
        uri: store.uri(key).to_string(),
        reason,
    };
    if size < 2 * MAGIC_LEN + FOOTER_LEN {
        return Err(not_parquet(format!(
            "{size} bytes, too small to hold a footer"
        )));
    }
    let first = store
        .get_tail(key, tail.max(FOOTER_LEN).min(size), Some(size))
        .await?;
    let (mut requests, mut bytes_read) = (1, first.len() as u64);
    let got = first.len() as u64;
    if got < FOOTER_LEN {
        return Err(not_parquet(format!("read only {got} bytes of the footer")));
    }
    let end = &first[first.len() - FOOTER_LEN as usize..];
    match &end[4..] {
        b"PAR1" => {}
        b"PARE" => {
            return Err(Error::UnsupportedParquet {
                uri: store.uri(key).to_string(),
                reason: "encrypted footer".to_owned(),
            });
        }
        _ => return Err(not_parquet("no PAR1 footer".to_owned())),
    }
    let metadata_len = u64::from(u32::from_le_bytes([end[0], end[1], end[2], end[3]]));
    if metadata_len + FOOTER_LEN + MAGIC_LEN > size {
        return Err(not_parquet(format!(
            "metadata length {metadata_len} does not fit the {size}-byte file: truncated?"
        )));
    }
    let in_first = got - FOOTER_LEN;
    let metadata: Bytes = if metadata_len <= in_first {
        first.slice((in_first - metadata_len) as usize..in_first as usize)
    } else {
        let missing = metadata_len - in_first;
        let front = store
            .get_range(key, size - FOOTER_LEN - metadata_len, missing)
            .await?;
        requests += 1;
        bytes_read += front.len() as u64;
        if front.len() as u64 != missing {
            return Err(not_parquet(
                "the object changed while it was read".to_owned(),
            ));
        }
        let mut whole = BytesMut::with_capacity(metadata_len as usize);
        whole.extend_from_slice(&front);
        whole.extend_from_slice(&first[..in_first as usize]);
        whole.freeze()
    };
    let schema = ParquetMetaDataReader::decode_schema(&metadata)
        .map_err(|e| not_parquet(format!("corrupt metadata: {e}")))?;
    Ok(Footer {
        schema,
        requests,
        bytes_read,
    })
}
