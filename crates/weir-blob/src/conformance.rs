//! The conformance suite: the same cases for every store, run by `tests/blob` (file://) and
//! by the end-to-end crate against the local S3 and GCS servers. Only built with the
//! `conformance` feature; test code, so a failed expectation panics.
//!
//! [`conformance_tests!`](crate::conformance_tests) expands to one `#[tokio::test]` per case,
//! given an async function that sets up a [`Subject`] for a case name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use bytes::Bytes;
use futures::TryStreamExt;
use md5::{Digest, Md5};

use crate::{Error, ObjectMeta, Store};

/// A store under test, and what it is expected to report.
pub struct Subject {
    /// The store, opened with [`PART_SIZE`].
    pub store: Box<dyn Store>,
    /// A key prefix of this case's own (ending in `/`), empty in the store.
    pub root: String,
    /// A store for a bucket that does not exist; `None` where there are no buckets (file://).
    pub missing_bucket: Option<Box<dyn Store>>,
    /// Which checksums the store keeps.
    pub expect: Expect,
}

/// What a store keeps besides the size.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// `head` gives the MD5 of a single-part object.
    pub md5: bool,
    /// `head` gives a CRC32C.
    pub crc32c: bool,
}

/// The part size the stores are opened with: the smallest S3 allows.
pub const PART_SIZE: usize = crate::MIN_PART_SIZE;

/// Every byte value, `len` bytes long, shifted by `seed` so two payloads differ.
pub fn payload(len: usize, seed: u8) -> Bytes {
    (0..len).map(|i| (i as u8).wrapping_add(seed)).collect()
}

fn md5(data: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&Md5::digest(data));
    out
}

/// CRC32C (Castagnoli), bit by bit: slow, obviously right, fine for test payloads.
pub fn crc32c(data: &[u8]) -> u32 {
    reflected_crc(0x82F6_3B78, data)
}

/// CRC32 (IEEE), as S3 reports `ChecksumCRC32`.
pub fn crc32(data: &[u8]) -> u32 {
    reflected_crc(0xEDB8_8320, data)
}

fn reflected_crc(poly: u32, data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ poly
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

async fn keys(store: &dyn Store, prefix: &str, start_after: Option<&str>) -> Vec<String> {
    let listed: Vec<ObjectMeta> = store.list(prefix, start_after).try_collect().await.unwrap();
    listed.into_iter().map(|m| m.key).collect()
}

async fn read_stream(store: &dyn Store, key: &str) -> Vec<u8> {
    let chunks: Vec<Bytes> = store
        .get_stream(key)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

/// Put then get returns the same bytes (every byte value), whole, streamed and empty.
pub async fn round_trip(s: Subject) {
    let (store, key) = (&*s.store, format!("{}every-byte.bin", s.root));
    let data = payload(256 * 40 + 7, 0);
    let meta = store.put(&key, data.clone()).await.unwrap();
    assert_eq!(
        (meta.key.as_str(), meta.size),
        (key.as_str(), data.len() as u64)
    );
    assert_eq!(store.get(&key).await.unwrap(), data);
    assert_eq!(read_stream(store, &key).await, data.as_ref());
    assert_eq!(store.head(&key).await.unwrap().size, data.len() as u64);

    let empty = format!("{}empty", s.root);
    store.put(&empty, Bytes::new()).await.unwrap();
    assert_eq!(store.head(&empty).await.unwrap().size, 0);
    assert!(store.get(&empty).await.unwrap().is_empty());
    assert!(store.get_tail(&empty, 8, None).await.unwrap().is_empty());
}

/// A 12 MiB object written in uneven chunks goes up in parts and comes back whole, with a
/// whole-object CRC32C where the store keeps one.
pub async fn large_object_in_parts(s: Subject) {
    let (store, key) = (&*s.store, format!("{}large.bin", s.root));
    let data = payload(12 << 20, 3);
    let mut upload = store.writer(&key).await.unwrap();
    for chunk in data.chunks((1 << 20) + 7) {
        upload.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    let meta = upload.complete().await.unwrap();
    assert_eq!(meta.size, data.len() as u64);
    let head = store.head(&key).await.unwrap();
    assert_eq!(head.size, data.len() as u64);
    // A multipart object still has a whole-object CRC32C (not a per-part composite), what
    // the upload's answer says too: what a transfer compares end to end.
    if s.expect.crc32c {
        assert_eq!(
            head.checksums.crc32c,
            Some(crc32c(&data)),
            "crc32c of {key}"
        );
        assert_eq!(meta.checksums.crc32c, head.checksums.crc32c);
    }
    let back = read_stream(store, &key).await;
    assert!(
        back == data.as_ref(),
        "the 12 MiB object came back different"
    );
    // A part boundary is at 5 MiB: a range across it reads straight through.
    let at = PART_SIZE as u64 - 10;
    let across = store.get_range(&key, at, 20).await.unwrap();
    assert_eq!(across, data.slice(at as usize..at as usize + 20));
}

/// Nothing shows under a key while its upload is unfinished (a part already sent), an
/// overwritten object stays whole until then, and an aborted upload leaves nothing.
pub async fn invisible_until_complete(s: Subject) {
    let store = &*s.store;
    let (new, old) = (format!("{}new.bin", s.root), format!("{}old.bin", s.root));
    store.put(&old, payload(100, 1)).await.unwrap();

    let big = payload(PART_SIZE + (1 << 20), 2);
    let mut to_new = store.writer(&new).await.unwrap();
    to_new.write(big.clone()).await.unwrap(); // more than a part: one is sent
    let mut to_old = store.writer(&old).await.unwrap();
    to_old.write(big.clone()).await.unwrap();

    assert_eq!(keys(store, &s.root, None).await, vec![old.clone()]);
    assert!(store.head(&new).await.unwrap_err().is_not_found());
    assert!(store.get(&new).await.unwrap_err().is_not_found());
    assert_eq!(store.head(&old).await.unwrap().size, 100);
    assert_eq!(store.get(&old).await.unwrap(), payload(100, 1));

    to_new.complete().await.unwrap();
    to_old.complete().await.unwrap();
    assert_eq!(
        keys(store, &s.root, None).await,
        vec![new.clone(), old.clone()]
    );
    assert_eq!(store.head(&old).await.unwrap().size, big.len() as u64);

    let aborted = format!("{}aborted.bin", s.root);
    let mut upload = store.writer(&aborted).await.unwrap();
    upload.write(big).await.unwrap();
    upload.abort().await.unwrap();
    assert!(store.head(&aborted).await.unwrap_err().is_not_found());
    assert_eq!(keys(store, &s.root, None).await, vec![new, old]);
}

/// Ranged reads: the middle, the tail through the size, a range past the end (cut short), a
/// start at or past the end (an error naming the object), empty ranges.
pub async fn ranged_reads(s: Subject) {
    let (store, key) = (&*s.store, format!("{}ranges.bin", s.root));
    let data = payload(1000, 5);
    store.put(&key, data.clone()).await.unwrap();

    assert_eq!(
        store.get_range(&key, 100, 50).await.unwrap(),
        data.slice(100..150)
    );
    assert_eq!(store.get_range(&key, 0, 1).await.unwrap(), data.slice(0..1));
    assert_eq!(
        store.get_tail(&key, 8, Some(1000)).await.unwrap(),
        data.slice(992..)
    );
    assert_eq!(
        store.get_tail(&key, 8, None).await.unwrap(),
        data.slice(992..)
    );
    assert_eq!(store.get_tail(&key, 5000, None).await.unwrap(), data);
    // Past the end: cut short, like HTTP.
    assert_eq!(
        store.get_range(&key, 990, 100).await.unwrap(),
        data.slice(990..)
    );
    assert!(store.get_range(&key, 10, 0).await.unwrap().is_empty());
    for offset in [1000, 1500] {
        let err = store.get_range(&key, offset, 10).await.unwrap_err();
        match &err {
            Error::RangeNotSatisfiable {
                size, offset: o, ..
            } => {
                assert_eq!((*size, *o), (1000, offset));
            }
            other => panic!("a range from {offset} of 1000 bytes: {other}"),
        }
        assert!(
            err.to_string().contains(&store.uri(&key).to_string()),
            "{err}"
        );
    }
    let missing = format!("{}missing.bin", s.root);
    assert!(
        store
            .get_range(&missing, 0, 10)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        store
            .get_tail(&missing, 10, None)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

/// Listing: byte order over nested keys ('-' < '/' < '0'), prefixes, start-after.
pub async fn list_order_prefix_start_after(s: Subject) {
    let store = &*s.store;
    let names = ["y", "x/3", "x0", "x/1", "x-1", "x/2/deep"];
    for (i, name) in names.iter().enumerate() {
        store
            .put(&format!("{}{name}", s.root), payload(i + 1, 0))
            .await
            .unwrap();
    }
    let k = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("{}{n}", s.root))
            .collect::<Vec<_>>()
    };
    let all = k(&["x-1", "x/1", "x/2/deep", "x/3", "x0", "y"]);
    assert_eq!(keys(store, &s.root, None).await, all);
    let listed: Vec<ObjectMeta> = store.list(&s.root, None).try_collect().await.unwrap();
    let sizes: Vec<u64> = listed.iter().map(|m| m.size).collect();
    assert_eq!(sizes, vec![5, 4, 6, 2, 3, 1]);

    assert_eq!(
        keys(store, &format!("{}x/", s.root), None).await,
        k(&["x/1", "x/2/deep", "x/3"])
    );
    assert_eq!(
        keys(
            store,
            &format!("{}x", s.root),
            Some(&format!("{}x/1", s.root))
        )
        .await,
        k(&["x/2/deep", "x/3", "x0"])
    );
    assert_eq!(
        keys(store, &s.root, Some(&format!("{}x/3", s.root))).await,
        k(&["x0", "y"])
    );
    // A start-after between keys, and one past them all.
    assert_eq!(
        keys(store, &s.root, Some(&format!("{}x/2", s.root))).await,
        k(&["x/2/deep", "x/3", "x0", "y"])
    );
    assert!(
        keys(store, &s.root, Some(&format!("{}z", s.root)))
            .await
            .is_empty()
    );
    assert!(
        keys(store, &format!("{}nothing/", s.root), None)
            .await
            .is_empty()
    );
}

/// Metadata: size, the checksums the store keeps (right ones), and a new etag or generation
/// when the object is replaced.
pub async fn metadata(s: Subject) {
    let (store, key) = (&*s.store, format!("{}meta.bin", s.root));
    let first = payload(3000, 7);
    let written = store.put(&key, first.clone()).await.unwrap();
    let before = store.head(&key).await.unwrap();
    assert_eq!(before.size, 3000);
    assert_eq!(before.key, key);
    let sums = before.checksums;
    if s.expect.md5 {
        assert_eq!(sums.md5, Some(md5(&first)), "md5 of {key}");
    }
    if s.expect.crc32c {
        assert_eq!(sums.crc32c, Some(crc32c(&first)), "crc32c of {key}");
    }
    // Whatever else a store reports must be right too.
    assert!(sums.md5.is_none_or(|m| m == md5(&first)));
    assert!(sums.crc32c.is_none_or(|c| c == crc32c(&first)));
    assert!(sums.crc32.is_none_or(|c| c == crc32(&first)));
    assert!(
        before.etag.is_some() || before.generation.is_some(),
        "{before:?}"
    );
    // What the write returned names the same version head sees.
    assert_eq!(
        (written.etag, written.generation),
        (before.etag.clone(), before.generation.clone())
    );

    store.put(&key, payload(2000, 8)).await.unwrap();
    let after = store.head(&key).await.unwrap();
    assert_eq!(after.size, 2000);
    assert_ne!(
        (&after.etag, &after.generation),
        (&before.etag, &before.generation)
    );
    if s.expect.crc32c {
        assert_eq!(after.checksums.crc32c, Some(crc32c(&payload(2000, 8))));
    }
}

/// A deleted object is gone: head, get, ranged read and listing say so; deleting it again
/// succeeds.
pub async fn delete_then_not_found(s: Subject) {
    let (store, key) = (&*s.store, format!("{}doomed", s.root));
    store.put(&key, payload(10, 0)).await.unwrap();
    store.delete(&key).await.unwrap();
    let err = store.head(&key).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        err.to_string().contains(&store.uri(&key).to_string()),
        "{err}"
    );
    assert!(store.get(&key).await.unwrap_err().is_not_found());
    assert!(
        store
            .get_range(&key, 0, 4)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        store
            .get_stream(&key)
            .await
            .err()
            .is_some_and(|e| e.is_not_found())
    );
    assert!(keys(store, &s.root, None).await.is_empty());
    store.delete(&key).await.unwrap();
}

/// A bucket that does not exist: every call fails with [`Error::NoSuchBucket`] naming the URI.
pub async fn missing_bucket(s: Subject) {
    let Some(store) = s.missing_bucket.as_deref() else {
        return; // no buckets here
    };
    let key = "some/key";
    let uri = store.uri(key).to_string();
    let bucket_err = |err: Error, what: &str| {
        assert!(matches!(err, Error::NoSuchBucket { .. }), "{what}: {err}");
        assert!(
            err.to_string().contains(store.uri("").bucket()),
            "{what}: {err}"
        );
        err
    };
    let err = bucket_err(store.head(key).await.unwrap_err(), "head");
    assert!(err.to_string().starts_with(&uri), "{err}");
    bucket_err(store.get(key).await.unwrap_err(), "get");
    bucket_err(store.get_range(key, 0, 10).await.unwrap_err(), "get_range");
    bucket_err(store.put(key, payload(10, 0)).await.unwrap_err(), "put");
    let listed: Result<Vec<ObjectMeta>, Error> = store.list("some/", None).try_collect().await;
    bucket_err(listed.unwrap_err(), "list");
}

/// One `#[tokio::test]` per case. `$setup` is an async fn taking the case name (for a root
/// prefix of its own) and returning a [`Subject`].
#[macro_export]
macro_rules! conformance_tests {
    ($setup:path) => {
        $crate::conformance_tests!(@cases $setup;
            round_trip, large_object_in_parts, invisible_until_complete, ranged_reads,
            list_order_prefix_start_after, metadata, delete_then_not_found, missing_bucket);
    };
    (@cases $setup:path; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::$case($setup(stringify!($case)).await).await;
            }
        )*
    };
}
