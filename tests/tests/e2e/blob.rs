//! weir-blob's conformance suite against the loopback S3 (moto) and GCS
//! (gcp-storage-emulator) servers; the same cases run on file:// in weir-blob's own tests.
//! Each case gets a bucket of its own, created with plain HTTP (weir-blob creates none).

use std::hash::{BuildHasher, RandomState};

use weir_blob::conformance::{Expect, PART_SIZE, Subject};
use weir_blob::{BlobUri, GcsCredentials, GcsOptions, Options, S3Options, StaticCredentials};
use weir_e2e::objstore;

/// A fresh bucket name for `case` (S3 and GCS: 3–63 of [a-z0-9-]).
pub(crate) fn bucket_name(case: &str) -> String {
    let salt = RandomState::new().hash_one((std::process::id(), case));
    format!(
        "wb-{}-{:012x}",
        case.replace('_', "-"),
        salt & 0xffff_ffff_ffff
    )
}

/// Options for the loopback S3 server.
pub(crate) fn s3_options() -> Options {
    let ep = objstore::endpoints();
    Options {
        s3: S3Options {
            endpoint: Some(ep.s3),
            region: Some(ep.s3_region),
            path_style: true,
            credentials: Some(StaticCredentials {
                access_key_id: ep.s3_access_key_id,
                secret_access_key: ep.s3_secret_access_key,
            }),
        },
        part_size: PART_SIZE,
        ..Options::default()
    }
}

/// Options for the loopback GCS emulator.
pub(crate) fn gcs_options() -> Options {
    Options {
        gcs: GcsOptions {
            endpoint: Some(objstore::endpoints().gcs),
            credentials: GcsCredentials::Anonymous,
        },
        part_size: PART_SIZE,
        ..Options::default()
    }
}

async fn open(uri: &str, options: &Options) -> Box<dyn weir_blob::Store> {
    weir_blob::open(&BlobUri::parse(uri).unwrap(), options)
        .await
        .unwrap()
}

/// Creates a fresh S3 bucket for `case` on the loopback server; returns its name.
pub(crate) async fn create_s3_bucket(case: &str) -> String {
    let bucket = bucket_name(case);
    let created = objstore::http()
        .put(format!("{}/{bucket}", objstore::endpoints().s3))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "create bucket: {created:?}");
    bucket
}

/// Creates a fresh GCS bucket for `case` on the loopback emulator; returns its name.
pub(crate) async fn create_gcs_bucket(case: &str) -> String {
    let bucket = bucket_name(case);
    let created = objstore::http()
        .post(format!(
            "{}/storage/v1/b?project=test",
            objstore::endpoints().gcs
        ))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": bucket }).to_string())
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "create bucket: {created:?}");
    bucket
}

async fn s3_subject(case: &str) -> Subject {
    let bucket = create_s3_bucket(case).await;
    let options = s3_options();
    Subject {
        store: open(&format!("s3://{bucket}/"), &options).await,
        root: format!("{case}/"),
        missing_bucket: Some(open(&format!("s3://{}-missing/", bucket), &options).await),
        // moto: the ETag of a single-part object is its MD5; weir-blob uploads every object
        // with a whole-object CRC32C (FULL_OBJECT for multipart), which head reports.
        expect: Expect {
            md5: true,
            crc32c: true,
        },
    }
}

async fn gcs_subject(case: &str) -> Subject {
    let bucket = create_gcs_bucket(case).await;
    let options = gcs_options();
    Subject {
        store: open(&format!("gs://{bucket}/"), &options).await,
        root: format!("{case}/"),
        missing_bucket: Some(open(&format!("gs://{}-missing/", bucket), &options).await),
        expect: Expect {
            md5: true,
            crc32c: true,
        },
    }
}

mod s3 {
    use super::s3_subject;
    weir_blob::conformance_tests!(s3_subject);
}

mod gcs {
    use super::gcs_subject;
    weir_blob::conformance_tests!(gcs_subject);
}

/// S3 lists 1,000 keys a page: a listing past that follows the continuation token, in
/// order, with start-after applied once. (gcp-storage-emulator does not paginate.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_listing_spans_pages() {
    use futures::{StreamExt, TryStreamExt};
    let s = s3_subject("pages").await;
    let keys: Vec<String> = (0..1005).map(|i| format!("{}k{i:05}", s.root)).collect();
    futures::stream::iter(&keys)
        .map(|key| s.store.put(key, bytes::Bytes::from_static(b"x")))
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let listed: Vec<String> = s
        .store
        .list(&s.root, None)
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, keys);
    let after: Vec<String> = s
        .store
        .list(&s.root, Some(&keys[3]))
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(after, keys[4..]);
}
