//! What a transfer copies: one object, or every object under a prefix, each paired with what
//! the destination already holds under its key.
//!
//! For a prefix both listings are read side by side (a merge of two streams in key order),
//! so memory does not grow with the number of objects.

use futures::stream::{self, BoxStream, Peekable, StreamExt, TryStreamExt};
use weir_blob::{BlobUri, ObjectMeta, Store};

use crate::error::Result;
use crate::glob::Glob;
use crate::schema_groups::directory_prefix;

/// What `--from` names.
#[derive(Debug, Clone)]
pub enum Source {
    /// One object (the URI is an object's key).
    Object(ObjectMeta),
    /// Every object under this key prefix (empty: the whole bucket).
    Prefix(String),
}

/// One object to copy, and what the destination holds under its key now.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The source object (a listing's or `head`'s metadata).
    pub source: ObjectMeta,
    /// The destination key.
    pub target: String,
    /// The destination object under `target`, if there is one.
    pub existing: Option<ObjectMeta>,
}

/// Decides whether `from` is one object or a prefix: a key that does not end in `/` and names
/// an object is that object; anything else is a directory (`s3://b/events` lists `events/…`).
pub async fn resolve(store: &dyn Store, from: &BlobUri) -> Result<Source> {
    let key = from.key();
    if !key.is_empty() && !key.ends_with('/') {
        match store.head(key).await {
            Ok(meta) => return Ok(Source::Object(meta)),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Source::Prefix(directory_prefix(from)))
}

/// The destination key of a single object: `--to` itself, or, when `--to` is a directory
/// (ends in `/` or is a bucket), the object's name inside it.
pub fn single_target(source_key: &str, to: &BlobUri) -> String {
    let to_key = to.key();
    if to_key.is_empty() || to_key.ends_with('/') {
        let name = source_key.rsplit('/').next().unwrap_or(source_key);
        format!("{to_key}{name}")
    } else {
        to_key.to_owned()
    }
}

/// The pairs of a prefix copy, in key order: each source object under `prefix` whose key
/// below it matches `include` (and is not a directory marker ending in `/`), with the object
/// the destination holds at `dest_prefix` + the same relative key.
pub fn pairs<'a>(
    source: &'a dyn Store,
    prefix: &'a str,
    dest: &'a dyn Store,
    dest_prefix: &'a str,
    include: Option<&'a Glob>,
) -> BoxStream<'a, Result<Pair>> {
    let state = Merge {
        source: source.list(prefix, None),
        dest: dest.list(dest_prefix, None).peekable(),
        prefix,
        dest_prefix,
        include,
    };
    stream::try_unfold(state, |mut state| async move {
        let pair = state.next_pair().await?;
        Ok(pair.map(|pair| (pair, state)))
    })
    .boxed()
}

struct Merge<'a> {
    source: BoxStream<'a, weir_blob::Result<ObjectMeta>>,
    dest: Peekable<BoxStream<'a, weir_blob::Result<ObjectMeta>>>,
    prefix: &'a str,
    dest_prefix: &'a str,
    include: Option<&'a Glob>,
}

impl Merge<'_> {
    async fn next_pair(&mut self) -> Result<Option<Pair>> {
        while let Some(source) = self.source.try_next().await? {
            let relative = source.key.get(self.prefix.len()..).unwrap_or_default();
            if relative.is_empty() || relative.ends_with('/') {
                continue; // the prefix itself, or a directory marker: nothing to copy
            }
            if self.include.is_some_and(|glob| !glob.matches(relative)) {
                continue;
            }
            let target = format!("{}{relative}", self.dest_prefix);
            let existing = self.dest_at(&target).await?;
            return Ok(Some(Pair {
                source,
                target,
                existing,
            }));
        }
        Ok(None)
    }

    /// Moves the destination listing up to `target` and takes the object there, if any.
    async fn dest_at(&mut self, target: &str) -> Result<Option<ObjectMeta>> {
        loop {
            let order = match std::pin::Pin::new(&mut self.dest).peek().await {
                None => return Ok(None),
                Some(Err(_)) => None,
                Some(Ok(meta)) => Some(meta.key.as_str().cmp(target)),
            };
            match order {
                Some(std::cmp::Ordering::Greater) => return Ok(None),
                Some(std::cmp::Ordering::Less) => {
                    self.dest.next().await;
                }
                // An error, or the object at `target`: take it.
                None | Some(std::cmp::Ordering::Equal) => {
                    return match self.dest.next().await {
                        Some(Ok(meta)) => Ok(Some(meta)),
                        Some(Err(e)) => Err(e.into()),
                        None => Ok(None),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_single_object_lands_on_the_key_or_in_the_directory() {
        let to = |u: &str| BlobUri::parse(u).unwrap();
        assert_eq!(single_target("a/b.csv", &to("gs://x/c/")), "c/b.csv");
        assert_eq!(single_target("a/b.csv", &to("gs://x")), "b.csv");
        assert_eq!(single_target("a/b.csv", &to("gs://x/c/d.csv")), "c/d.csv");
    }
}
