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

/// Objects get a Content-Type from their key's extension on both servers, so an HTML
/// report or docs site served straight from a bucket opens in a browser.
#[tokio::test]
async fn uploads_carry_a_content_type_from_the_extension() {
    let ep = objstore::endpoints();
    let s3 = create_s3_bucket("ctype").await;
    let gcs = create_gcs_bucket("ctype").await;
    for (uri, options) in [
        (format!("s3://{s3}/"), s3_options()),
        (format!("gs://{gcs}/"), gcs_options()),
    ] {
        let store = open(&uri, &options).await;
        store
            .put("site/index.html", bytes::Bytes::from_static(b"<p>hi</p>"))
            .await
            .unwrap();
        store
            .put("site/data.bin", bytes::Bytes::from_static(b"\x00"))
            .await
            .unwrap();
    }
    let http = objstore::http();
    let s3_type = |key: &str| {
        let url = format!("{}/{s3}/{key}", ep.s3);
        let http = http.clone();
        // moto wants a request that names a key id; it does not check the signature.
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=0",
            ep.s3_access_key_id
        );
        async move {
            let r = http
                .head(url)
                .header("authorization", auth)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.headers()["content-type"].to_str().unwrap().to_string()
        }
    };
    let gcs_type = |key: &str| {
        let url = format!(
            "{}/storage/v1/b/{gcs}/o/{}",
            ep.gcs,
            key.replace('/', "%2F")
        );
        let http = http.clone();
        async move {
            let meta: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
            meta["contentType"].as_str().unwrap_or_default().to_string()
        }
    };
    assert_eq!(s3_type("site/index.html").await, "text/html; charset=utf-8");
    assert_eq!(s3_type("site/data.bin").await, "application/octet-stream");
    assert_eq!(
        gcs_type("site/index.html").await,
        "text/html; charset=utf-8"
    );
    assert_eq!(gcs_type("site/data.bin").await, "application/octet-stream");
}
