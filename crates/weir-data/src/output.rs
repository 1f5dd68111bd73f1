//! The result of `schema-groups` as a `forEach: {fromStep: …}` step reads it: a JSON array of
//! at most [`MAX_ITEMS`] items in at most [`MAX_BYTES`] (the pod's termination message).
//!
//! When every file list fits, each item holds its files inline:
//! `{"group": 0, "schema": "3f2a…", "files": ["s3://…/a.parquet"], "count": 1}`. Otherwise
//! each group's files go to a manifest object `group-N.json` under the manifest directory and
//! the item names it: `{"group": 0, "schema": "3f2a…", "manifest": "s3://…/group-0.json",
//! "count": 1}`. All items take the same form, so the consuming template sees one shape per
//! run. A manifest holds `{"group", "schema", "files", "count"}`, like an inline item.

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use weir_blob::{BlobUri, Store};

use crate::error::{Error, Result};
use crate::schema_groups::{Group, directory_prefix};

/// The most items a fan-out takes.
pub const MAX_ITEMS: usize = 1000;
/// The most bytes of a termination message Kubernetes keeps.
pub const MAX_BYTES: usize = 4096;

#[derive(Serialize)]
struct Inline<'a> {
    group: usize,
    schema: &'a str,
    files: &'a [String],
    count: usize,
}

#[derive(Serialize)]
struct Manifest<'a> {
    group: usize,
    schema: &'a str,
    manifest: String,
    count: usize,
}

/// Where manifests go when the file lists do not fit: the directory's URI and its store.
pub struct ManifestDir<'a> {
    /// The directory.
    pub uri: &'a BlobUri,
    /// The store of its bucket.
    pub store: &'a dyn Store,
}

/// The inline result when it fits, else the manifest result (writing the manifests first).
pub async fn render(groups: &[Group], manifest_dir: Option<ManifestDir<'_>>) -> Result<String> {
    if groups.len() > MAX_ITEMS {
        return Err(Error::ResultTooLarge(format!(
            "{} schema groups: a fan-out takes at most {MAX_ITEMS}",
            groups.len()
        )));
    }
    let inline = to_json(&inline_items(groups))?;
    if inline.len() <= MAX_BYTES {
        return Ok(inline);
    }
    let Some(dir) = manifest_dir else {
        return Err(Error::ResultTooLarge(format!(
            "the file lists take {} bytes, over the {MAX_BYTES}-byte result: pass \
             --manifest-dir URI to write them to manifest objects",
            inline.len()
        )));
    };
    let prefix = directory_prefix(dir.uri);
    let keys: Vec<String> = (0..groups.len())
        .map(|n| format!("{prefix}group-{n}.json"))
        .collect();
    let items: Vec<Manifest<'_>> = groups
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(n, (g, key))| Manifest {
            group: n,
            schema: &g.schema,
            manifest: dir.store.uri(key).to_string(),
            count: g.files.len(),
        })
        .collect();
    let result = to_json(&items)?;
    // Checked before anything is written: a result that cannot fit leaves no manifests.
    if result.len() > MAX_BYTES {
        return Err(Error::ResultTooLarge(format!(
            "{} schema groups take {} bytes even as manifests, over the {MAX_BYTES}-byte result",
            groups.len(),
            result.len()
        )));
    }
    let inline = inline_items(groups);
    futures::stream::iter(inline.iter().zip(&keys))
        .map(|(item, key)| async move {
            let body = to_json(item)?;
            dir.store.put(key, body.into_bytes().into()).await?;
            Ok::<_, Error>(())
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(result)
}

fn inline_items(groups: &[Group]) -> Vec<Inline<'_>> {
    groups
        .iter()
        .enumerate()
        .map(|(n, g)| Inline {
            group: n,
            schema: &g.schema,
            files: &g.files,
            count: g.files.len(),
        })
        .collect()
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    // Serializing plain structs of strings and numbers cannot fail; map it anyway.
    serde_json::to_string(value).map_err(|e| Error::Usage(format!("cannot encode the result: {e}")))
}

/// Writes the result where Kubernetes reads a container's termination message. `explicit`
/// paths must be writable; the default `/dev/termination-log` is skipped outside a pod.
pub fn write_termination_log(path: &str, explicit: bool, result: &str) -> Result<()> {
    match std::fs::write(path, result) {
        Ok(()) => Ok(()),
        Err(_) if !explicit => Ok(()),
        Err(source) => Err(Error::TerminationLog {
            path: path.to_owned(),
            source,
        }),
    }
}
