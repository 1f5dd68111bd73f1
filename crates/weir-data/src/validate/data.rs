//! What `--data` names: one object, every Parquet or CSV object under a prefix, or the
//! objects a glob in the URI matches (`s3://b/staging/**/*.parquet`), read through
//! weir-blob.
//!
//! polars scans local files lazily, reading only the columns the suite names. `file://`
//! files are scanned where they are; objects in `s3://` and `gs://` are first streamed to a
//! spool directory (a pod's `emptyDir`), one chunk at a time, so memory stays bounded by
//! the columns polars reads, never by an object's size. The spool goes when the run ends.

use std::io::Write as _;
use std::path::PathBuf;

use futures::{StreamExt, TryStreamExt};
use weir_blob::{BlobUri, Options, Scheme, Store};

use crate::error::{Error, Result};
use crate::glob::Glob;
use crate::schema_groups::directory_prefix;

/// Objects downloaded at once from a remote store.
const DOWNLOADS: usize = 4;

/// The file formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// The format a key's extension says, if any.
    pub fn of_key(key: &str) -> Option<Format> {
        let lower = key.to_ascii_lowercase();
        if [".parquet", ".parq", ".pq"]
            .iter()
            .any(|e| lower.ends_with(e))
        {
            Some(Format::Parquet)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }

    /// `parquet` or `csv`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// The local files to scan, and the spool that holds downloaded ones.
#[derive(Debug)]
pub struct Files {
    /// Local paths, in key order.
    pub paths: Vec<PathBuf>,
    /// Their format.
    pub format: Format,
    /// Bytes downloaded into the spool (0 for `file://`).
    pub downloaded: u64,
    /// Removed on drop.
    _spool: Option<tempfile::TempDir>,
}

/// Splits a URI with a glob into the prefix before the glob's segment and the glob.
pub fn split_glob(uri: &str) -> (String, Option<String>) {
    let scheme_end = uri.find("://").map_or(0, |i| i + 3);
    match uri[scheme_end..].find(['*', '?']) {
        Some(at) => {
            let at = scheme_end + at;
            let cut = uri[..at].rfind('/').map_or(at, |i| i + 1);
            (uri[..cut].to_owned(), Some(uri[cut..].to_owned()))
        }
        None => (uri.to_owned(), None),
    }
}

/// Finds the files `data` names and makes them local. `format` overrides the extensions.
pub async fn resolve(
    data: &str,
    format: Option<Format>,
    options: &Options,
    spool_in: Option<&std::path::Path>,
) -> Result<Files> {
    let text = if data.starts_with('/') {
        format!("file://{data}")
    } else {
        data.to_owned()
    };
    let (base, glob) = split_glob(&text);
    let uri = BlobUri::parse(&base)?;
    let glob = glob
        .as_deref()
        .map(Glob::new)
        .transpose()
        .map_err(Error::Usage)?;
    let store = weir_blob::open(&uri, options).await?;
    let keys = list(store.as_ref(), &uri, glob.as_ref(), format).await?;
    if keys.is_empty() {
        let what = glob.map_or("Parquet or CSV objects".to_owned(), |_| {
            "objects matching".to_owned()
        });
        return Err(Error::Usage(format!("{data}: no {what} found")));
    }
    let format = match format {
        Some(f) => f,
        None => one_format(data, &keys)?,
    };
    if uri.scheme() == Scheme::File {
        let paths = keys
            .iter()
            .map(|(k, _)| PathBuf::from(format!("/{k}")))
            .collect();
        return Ok(Files {
            paths,
            format,
            downloaded: 0,
            _spool: None,
        });
    }
    let spool = match spool_in {
        Some(dir) => tempfile::Builder::new()
            .prefix("weir-validate-")
            .tempdir_in(dir),
        None => tempfile::Builder::new().prefix("weir-validate-").tempdir(),
    }
    .map_err(|e| Error::LocalFile {
        path: spool_in.map_or_else(
            || std::env::temp_dir().display().to_string(),
            |d| d.display().to_string(),
        ),
        reason: format!("cannot create the spool directory: {e}"),
    })?;
    let ext = format.name();
    let jobs = keys.iter().enumerate().map(|(n, (key, _))| {
        let path = spool.path().join(format!("{n:06}.{ext}"));
        let store = store.as_ref();
        async move { download(store, key, path).await }
    });
    let sizes: Vec<(PathBuf, u64)> = futures::stream::iter(jobs)
        .buffered(DOWNLOADS)
        .try_collect()
        .await?;
    let downloaded = sizes.iter().map(|(_, s)| s).sum();
    Ok(Files {
        paths: sizes.into_iter().map(|(p, _)| p).collect(),
        format,
        downloaded,
        _spool: Some(spool),
    })
}

/// The keys (with sizes) to read: the object itself, or the matching objects below the
/// prefix in key order.
async fn list(
    store: &dyn Store,
    uri: &BlobUri,
    glob: Option<&Glob>,
    format: Option<Format>,
) -> Result<Vec<(String, u64)>> {
    let key = uri.key();
    if glob.is_none() && !key.is_empty() && !key.ends_with('/') {
        match store.head(key).await {
            Ok(meta) => return Ok(vec![(meta.key, meta.size)]),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let prefix = directory_prefix(uri);
    let listed: Vec<weir_blob::ObjectMeta> = store.list(&prefix, None).try_collect().await?;
    Ok(listed
        .into_iter()
        .filter(|m| {
            let rel = &m.key[prefix.len()..];
            let name = rel.rsplit('/').next().unwrap_or(rel);
            let wanted = match glob {
                Some(g) => g.matches(rel),
                // Under a bare prefix: data files only, not markers like _SUCCESS or .crc.
                None => format.is_some() || Format::of_key(rel).is_some(),
            };
            wanted && !rel.ends_with('/') && !name.starts_with(['_', '.'])
        })
        .map(|m| (m.key, m.size))
        .collect())
}

/// The one format of all the keys, or an error naming two that differ.
fn one_format(data: &str, keys: &[(String, u64)]) -> Result<Format> {
    let mut found: Option<(Format, &str)> = None;
    for (key, _) in keys {
        let Some(f) = Format::of_key(key) else {
            return Err(Error::Usage(format!(
                "{data}: {key} is neither .parquet nor .csv (pass --format)"
            )));
        };
        match found {
            Some((g, other)) if g != f => {
                return Err(Error::Usage(format!(
                    "{data}: mixes {} ({other}) and {} ({key}); validate one format at a time",
                    g.name(),
                    f.name()
                )));
            }
            _ => found = found.or(Some((f, key))),
        }
    }
    found
        .map(|(f, _)| f)
        .ok_or_else(|| Error::Usage(format!("{data}: no files")))
}

/// Streams one object to `path`; returns the path and the bytes written.
async fn download(store: &dyn Store, key: &str, path: PathBuf) -> Result<(PathBuf, u64)> {
    let local = |e: std::io::Error| Error::LocalFile {
        path: path.display().to_string(),
        reason: format!("cannot write the spooled copy of {}: {e}", store.uri(key)),
    };
    // Plain blocking writes of one chunk at a time: a local disk keeps up with any store, and
    // the runtime has a thread per core besides.
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(local)?);
    let mut stream = store.get_stream(key).await?;
    let mut bytes = 0u64;
    while let Some(chunk) = stream.try_next().await? {
        bytes += chunk.len() as u64;
        file.write_all(&chunk).map_err(local)?;
    }
    file.flush().map_err(local)?;
    Ok((path, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_splits_at_its_segment() {
        let split = |u: &str| split_glob(u);
        assert_eq!(
            split("s3://b/staging/"),
            ("s3://b/staging/".to_owned(), None)
        );
        assert_eq!(
            split("s3://b/staging/**/*.parquet"),
            (
                "s3://b/staging/".to_owned(),
                Some("**/*.parquet".to_owned())
            )
        );
        assert_eq!(
            split("file:///d/part-*.csv"),
            ("file:///d/".to_owned(), Some("part-*.csv".to_owned()))
        );
        assert_eq!(Format::of_key("a/B.PARQUET"), Some(Format::Parquet));
        assert_eq!(Format::of_key("a/x.csv"), Some(Format::Csv));
        assert_eq!(Format::of_key("a/_SUCCESS"), None);
    }
}
