//! `weir-data dbt-docs`: dbt's docs site as one self-contained `index.html` (the seed's
//! `upload_dbt_results.py`), uploaded to a bucket, with the Elementary report beside it when
//! the target directory has one.
//!
//! The target directory is what `dbt docs generate` wrote (`index.html`, `manifest.json`,
//! `catalog.json`); [`inline`] puts the two data files into the page the way dbt's own
//! `--static` does, so the page fetches nothing. Everything is read and checked before the
//! first request, and every object goes up through a weir-blob writer, invisible until it
//! is complete: a reader never sees half a page.

pub mod inline;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use weir_blob::{BlobUri, Options, Store};

use crate::error::{Error, Result};
use crate::schema_groups::directory_prefix;

/// The page `dbt docs generate` writes, and the name of the uploaded one.
pub const INDEX: &str = "index.html";
/// dbt's project manifest.
pub const MANIFEST: &str = "manifest.json";
/// dbt's catalog (database metadata).
pub const CATALOG: &str = "catalog.json";
/// The file `edr report` writes into its target path (`edr report --target-path DIR`); the
/// upload keeps its name.
pub const ELEMENTARY: &str = "elementary_report.html";

/// The command line of `weir-data dbt-docs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dbt target directory: index.html, manifest.json and catalog.json from
    /// `dbt docs generate`, and elementary_report.html when Elementary wrote one there.
    #[arg(long)]
    pub target_dir: PathBuf,
    /// Where the site goes: a directory (s3://, gs:// or file:///) that gets index.html
    /// (and elementary_report.html), or the exact object when it ends in `.html`.
    #[arg(long)]
    pub destination: String,
}

/// Examples and output for `weir-data dbt-docs --help`.
pub const HELP: &str = "\
Prints a JSON object (also written to the termination log):
  {\"uri\":\"gs://docs/dbt/index.html\",\"bytes\":1843221,\"elementary\":\"gs://docs/dbt/elementary_report.html\"}
`elementary` is null when the target directory has no elementary_report.html (write one there
with `edr report --target-path DIR`). The page needs dbt 1.7 or later: its index.html carries
the placeholders this command replaces with manifest.json and catalog.json.

Examples:
  weir-data dbt-docs --target-dir /weir/dbt-target --destination gs://docs/dbt/
  weir-data dbt-docs --target-dir target --destination s3://docs/dbt/prod.html
  weir-data dbt-docs --target-dir target --destination file:///srv/docs/dbt";

/// The site, read and checked, ready to upload.
#[derive(Debug, Clone)]
pub struct Site {
    /// The page with its data inlined, in pieces to send in order.
    pub page: Vec<Bytes>,
    /// Bytes of manifest.json and catalog.json as read.
    pub data_bytes: (u64, u64),
    /// Elementary's report, when the target directory has one.
    pub elementary: Option<Bytes>,
}

impl Site {
    /// The page's size in bytes.
    pub fn page_bytes(&self) -> u64 {
        self.page.iter().map(|p| p.len() as u64).sum()
    }
}

/// What was uploaded where: the command's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uploaded {
    /// The page's URI.
    pub uri: String,
    /// The page's size.
    pub bytes: u64,
    /// The Elementary report's URI, when there was one.
    pub elementary: Option<String>,
}

/// Reads and checks the target directory: errors name the file.
pub fn read_site(target_dir: &Path) -> Result<Site> {
    match std::fs::metadata(target_dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(local(
                target_dir,
                "not a directory (the dbt target directory)",
            ));
        }
        Err(e) => {
            return Err(local(
                target_dir,
                &io_reason(&e, "the dbt target directory"),
            ));
        }
    }
    let page = read(&target_dir.join(INDEX))?;
    let page = String::from_utf8(page.to_vec())
        .map_err(|_| local(&target_dir.join(INDEX), "not UTF-8 text"))?;
    let manifest = data(&target_dir.join(MANIFEST))?;
    let catalog = data(&target_dir.join(CATALOG))?;
    let data_bytes = (manifest.1, catalog.1);
    let page = inline::inline(&page, &manifest.0, &catalog.0)
        .map_err(|e| local(&target_dir.join(INDEX), &e.to_string()))?;
    let report = target_dir.join(ELEMENTARY);
    let elementary = match std::fs::metadata(&report) {
        Ok(meta) if meta.is_file() => Some(read(&report)?),
        _ => None,
    };
    Ok(Site {
        page,
        data_bytes,
        elementary,
    })
}

/// Uploads the site to `destination` in `store` (the store of its bucket).
pub async fn upload(site: &Site, destination: &BlobUri, store: &dyn Store) -> Result<Uploaded> {
    let (page_key, dir) = keys(destination);
    let pieces = futures::stream::iter(site.page.clone().into_iter().map(Ok)).boxed();
    store.put_stream(&page_key, pieces).await?;
    let elementary = match &site.elementary {
        Some(report) => {
            let key = format!("{dir}{ELEMENTARY}");
            store.put(&key, report.clone()).await?;
            Some(store.uri(&key).to_string())
        }
        None => None,
    };
    Ok(Uploaded {
        uri: store.uri(&page_key).to_string(),
        bytes: site.page_bytes(),
        elementary,
    })
}

/// The page's key and the directory (a key prefix) it is in.
fn keys(destination: &BlobUri) -> (String, String) {
    let key = destination.key();
    if key.ends_with(".html") {
        let dir = key.rfind('/').map_or("", |i| &key[..=i]);
        (key.to_owned(), dir.to_owned())
    } else {
        let dir = directory_prefix(destination);
        (format!("{dir}{INDEX}"), dir)
    }
}

/// Runs the subcommand: reads the site, uploads it, returns the JSON result.
pub async fn run(args: &Args, options: &Options) -> Result<String> {
    let destination = BlobUri::parse(&args.destination)?;
    let site = read_site(&args.target_dir)?;
    let store = weir_blob::open(&destination, options).await?;
    let uploaded = upload(&site, &destination, store.as_ref()).await?;
    eprintln!("{}", summary(&site, &uploaded));
    serde_json::to_string(&uploaded)
        .map_err(|e| Error::Usage(format!("cannot encode the result: {e}")))
}

/// One line for stderr.
pub fn summary(site: &Site, uploaded: &Uploaded) -> String {
    let elementary = match (&uploaded.elementary, &site.elementary) {
        (Some(uri), Some(report)) => format!("; {ELEMENTARY} ({} bytes) to {uri}", report.len()),
        _ => format!("; no {ELEMENTARY}"),
    };
    format!(
        "dbt-docs: {INDEX} with {MANIFEST} ({} bytes) and {CATALOG} ({} bytes) inlined, \
         {} bytes to {}{elementary}",
        site.data_bytes.0, site.data_bytes.1, uploaded.bytes, uploaded.uri
    )
}

/// A data file, checked and escaped, and its size as read.
fn data(path: &Path) -> Result<(Bytes, u64)> {
    let bytes = read(path)?;
    let json = inline::script_json(&bytes).map_err(|e| local(path, &e.to_string()))?;
    Ok((json, bytes.len() as u64))
}

fn read(path: &Path) -> Result<Bytes> {
    std::fs::read(path)
        .map(Bytes::from)
        .map_err(|e| local(path, &io_reason(&e, "written by `dbt docs generate`")))
}

fn io_reason(e: &std::io::Error, what: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("not found ({what})"),
        _ => e.to_string(),
    }
}

fn local(path: &Path, reason: &str) -> Error {
    Error::LocalFile {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_destination_is_a_directory_unless_it_names_a_page() {
        let keys_of = |uri: &str| keys(&BlobUri::parse(uri).unwrap());
        let dir = |k: &str, d: &str| (k.to_owned(), d.to_owned());
        assert_eq!(
            keys_of("gs://b/docs/dbt"),
            dir("docs/dbt/index.html", "docs/dbt/")
        );
        assert_eq!(
            keys_of("gs://b/docs/dbt/"),
            dir("docs/dbt/index.html", "docs/dbt/")
        );
        assert_eq!(keys_of("s3://b"), dir("index.html", ""));
        assert_eq!(keys_of("s3://b/prod.html"), dir("prod.html", ""));
        assert_eq!(keys_of("s3://b/d/prod.html"), dir("d/prod.html", "d/"));
    }
}
