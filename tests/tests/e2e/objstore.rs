//! The loopback S3 (moto) and GCS (gcp-storage-emulator) servers store what they are given.
//! Plain HTTP on purpose: this checks the servers, not weir-blob.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.

use std::hash::{BuildHasher, RandomState};

use weir_e2e::objstore::{self, S3_FAKE_AUTHORIZATION};

/// Every byte value, a few times over, so any re-encoding shows.
fn payload() -> Vec<u8> {
    (0..=255u8).cycle().take(256 * 40 + 7).collect()
}

/// A bucket name of our own (3–63 lowercase characters).
fn bucket() -> String {
    format!(
        "weir-e2e-{:016x}",
        RandomState::new().hash_one(std::process::id())
    )
}

#[tokio::test]
async fn s3_put_then_get_returns_the_same_bytes() {
    let s3 = objstore::endpoints().s3;
    let http = objstore::http();
    let bucket = bucket();
    let key = "dir/part-0000.parquet";

    let created = http.put(format!("{s3}/{bucket}")).send().await.unwrap();
    assert!(created.status().is_success(), "create bucket: {created:?}");
    let put = http
        .put(format!("{s3}/{bucket}/{key}"))
        .header("content-type", "application/octet-stream")
        .body(payload())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "put: {put:?}");

    let got = http
        .get(format!("{s3}/{bucket}/{key}"))
        .header("authorization", S3_FAKE_AUTHORIZATION)
        .send()
        .await
        .unwrap();
    assert!(got.status().is_success(), "get: {got:?}");
    assert_eq!(got.bytes().await.unwrap().as_ref(), payload().as_slice());
}

#[tokio::test]
async fn gcs_upload_then_download_returns_the_same_bytes() {
    let gcs = objstore::endpoints().gcs;
    let http = objstore::http();
    let bucket = bucket();
    // Object names are percent-encoded in URLs; '/' becomes %2F.
    let (name, encoded) = ("dir/part-0000.parquet", "dir%2Fpart-0000.parquet");

    let created = http
        .post(format!("{gcs}/storage/v1/b?project=test"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": bucket }).to_string())
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "create bucket: {created:?}");
    let upload = http
        .post(format!(
            "{gcs}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={encoded}"
        ))
        .header("content-type", "application/octet-stream")
        .body(payload())
        .send()
        .await
        .unwrap();
    assert!(upload.status().is_success(), "upload: {upload:?}");
    let meta: serde_json::Value = serde_json::from_slice(&upload.bytes().await.unwrap()).unwrap();
    assert_eq!(meta["name"], name);
    assert_eq!(meta["size"], payload().len().to_string());

    let got = http
        .get(format!("{gcs}/storage/v1/b/{bucket}/o/{encoded}?alt=media"))
        .send()
        .await
        .unwrap();
    assert!(got.status().is_success(), "download: {got:?}");
    assert_eq!(got.bytes().await.unwrap().as_ref(), payload().as_slice());
}
