//! `weir-data schema-groups`: lists the Parquet files under a prefix (or takes the one object
//! the URI names), reads only each one's footer, and groups the files by schema fingerprint
//! (the seed's answer to all-null float columns written as INT64 in some files and DOUBLE in
//! others: one Spark job per group).

use std::collections::HashMap;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use weir_blob::{BlobUri, ObjectMeta, Store};

use crate::error::Result;
use crate::fingerprint;
use crate::footer;
use crate::glob::Glob;

/// How many footers are read at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// What to group and how.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which keys below the prefix count as Parquet files.
    pub glob: Glob,
    /// Footers read at once.
    pub concurrency: usize,
    /// Bytes of the first read from the end of each file.
    pub tail: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            // A literal with no unsupported syntax (the glob tests use it too): cannot fail.
            glob: Glob::new("*.parquet").unwrap_or_else(|_| unreachable!()),
            concurrency: DEFAULT_CONCURRENCY,
            tail: footer::DEFAULT_TAIL,
        }
    }
}

/// Files that share one schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The short fingerprint of the schema.
    pub schema: String,
    /// The schema's canonical text (one line per field), for people reading the summary.
    pub canonical: String,
    /// The files' URIs, sorted.
    pub files: Vec<String>,
}

/// What the reads cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Parquet files read.
    pub files: u64,
    /// Read requests sent (listing pages not included).
    pub requests: u64,
    /// Bytes received by those reads.
    pub bytes_read: u64,
    /// The files' total size.
    pub total_bytes: u64,
}

/// The groups, ordered by their first file, and what finding them cost.
#[derive(Debug, Clone, Default)]
pub struct Grouping {
    /// The groups; numbered by their position.
    pub groups: Vec<Group>,
    /// Read counts.
    pub stats: Stats,
}

/// The key prefix to list for `uri`: a URI names a directory, so `s3://b/landing` lists
/// `landing/…` and not `landing-old/…`. The bucket's root is the empty prefix.
pub fn directory_prefix(uri: &BlobUri) -> String {
    let key = uri.key();
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}

/// Groups the Parquet files below `uri` (in `store`, the store of `uri`'s bucket) by schema.
///
/// A URI that names an object (not ending in `/`, and a `head` finds it) is that one file,
/// whatever the glob: a bucket trigger passes the new object's own URI. Otherwise the URI is
/// a directory and the glob picks the files below it.
pub async fn group(store: &dyn Store, uri: &BlobUri, config: &Config) -> Result<Grouping> {
    let prefix = directory_prefix(uri);
    let objects: BoxStream<'_, Result<ObjectMeta>> = match single_object(store, uri).await? {
        Some(meta) => futures::stream::iter([Ok(meta)]).boxed(),
        None => store
            .list(&prefix, None)
            .map_err(crate::Error::from)
            .try_filter(|meta| {
                let relative = &meta.key[prefix.len().min(meta.key.len())..];
                futures::future::ready(config.glob.matches(relative))
            })
            .boxed(),
    };
    let footers: Vec<(String, u64, footer::Footer)> = objects
        .map_ok(|meta| async move {
            let read = footer::read(store, &meta.key, meta.size, config.tail).await?;
            Ok::<_, crate::Error>((meta.key, meta.size, read))
        })
        .try_buffer_unordered(config.concurrency.max(1))
        .try_collect()
        .await?;

    let mut stats = Stats::default();
    let mut by_schema: HashMap<String, Vec<String>> = HashMap::new();
    for (key, size, read) in footers {
        stats.files += 1;
        stats.requests += u64::from(read.requests);
        stats.bytes_read += read.bytes_read;
        stats.total_bytes += size;
        let text = fingerprint::canonical(read.schema.root_schema());
        by_schema
            .entry(text)
            .or_default()
            .push(store.uri(&key).to_string());
    }
    let mut groups: Vec<Group> = by_schema
        .into_iter()
        .map(|(canonical, mut files)| {
            files.sort();
            Group {
                schema: fingerprint::short(&canonical),
                canonical,
                files,
            }
        })
        .collect();
    // Deterministic numbering: a retry of the step numbers the groups the same way.
    groups.sort_by(|a, b| a.files.cmp(&b.files));
    Ok(Grouping { groups, stats })
}

/// The object `uri` names, if it names one: keys that are empty or end in `/` are
/// directories without asking; a missing object is a directory too.
async fn single_object(store: &dyn Store, uri: &BlobUri) -> Result<Option<ObjectMeta>> {
    let key = uri.key();
    if key.is_empty() || key.ends_with('/') {
        return Ok(None);
    }
    match store.head(key).await {
        Ok(meta) => Ok(Some(meta)),
        Err(weir_blob::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// One line for stderr: files, groups, reads and bytes read against the files' total size.
pub fn summary(grouping: &Grouping) -> String {
    let s = grouping.stats;
    let per_file = if s.files == 0 {
        0.0
    } else {
        s.requests as f64 / s.files as f64
    };
    let percent = if s.total_bytes == 0 {
        0.0
    } else {
        100.0 * s.bytes_read as f64 / s.total_bytes as f64
    };
    format!(
        "schema-groups: {} files in {} groups; {} read requests ({per_file:.2} per file); \
         {} bytes read of {} total ({percent:.2}%)",
        s.files,
        grouping.groups.len(),
        s.requests,
        s.bytes_read,
        s.total_bytes,
    )
}
