//! `weir-data dbt-docs` against the loopback S3 (moto) and GCS (gcp-storage-emulator)
//! servers, configured by its flags as a step pod would be: the page (data inlined, fetches
//! nothing) and the Elementary report are the only objects under the destination, and a
//! missing bucket is one line. The same cases run on file:// in weir-data's own tests.

use futures::TryStreamExt;
use weir_blob::{BlobUri, Options};
use weir_data::testdata::dbt;

use weir_e2e::objstore;
use weir_e2e::weir::weir_data_bin;

use super::blob::{create_gcs_bucket, create_s3_bucket, gcs_options, s3_options};

/// Runs the binary on a fresh fake target directory; returns (exit code, stdout, stderr).
fn dbt_docs(destination: &str, flags: &[String]) -> (Option<i32>, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "weir-dbt-docs-e2e-{}",
        destination.replace("://", "-").replace('/', "-")
    ));
    let target = dir.join("target");
    dbt::write_target(&target, true).unwrap();
    let ep = objstore::endpoints();
    let out = std::process::Command::new(weir_data_bin())
        .args(["dbt-docs", "--target-dir"])
        .arg(&target)
        .args(["--destination", destination])
        .args(flags)
        .env("WEIR_TERMINATION_LOG", dir.join("termination-log"))
        .env("AWS_ACCESS_KEY_ID", &ep.s3_access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &ep.s3_secret_access_key)
        .env_remove("STORAGE_EMULATOR_HOST")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

async fn uploads_the_site(base: String, options: Options, flags: &[String]) {
    let destination = format!("{base}/docs/dbt");
    let (code, stdout, stderr) = dbt_docs(&destination, flags);
    assert_eq!(code, Some(0), "{stderr}");
    let result: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["uri"], format!("{destination}/index.html"));
    assert_eq!(
        result["elementary"],
        format!("{destination}/elementary_report.html")
    );

    let store = weir_blob::open(&BlobUri::parse(&base).unwrap(), &options)
        .await
        .unwrap();
    let keys: Vec<String> = store
        .list("", None)
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        keys,
        ["docs/dbt/elementary_report.html", "docs/dbt/index.html"]
    );
    let page = store.get("docs/dbt/index.html").await.unwrap();
    assert_eq!(result["bytes"], page.len());
    let page = String::from_utf8(page.to_vec()).unwrap();
    if let Err(e) = dbt::check_self_contained(&page) {
        panic!("{e}:\n{page}");
    }
    let report = store.get("docs/dbt/elementary_report.html").await.unwrap();
    assert_eq!(report, dbt::ELEMENTARY.as_bytes());

    // A bucket that does not exist: one line naming it, exit code 1.
    let (code, stdout, stderr) = dbt_docs(&format!("{base}-missing/docs"), flags);
    assert_eq!((code, stdout.as_str()), (Some(1), ""));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no such bucket"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_uploads_the_site() {
    let ep = objstore::endpoints();
    let flags = [
        format!("--s3-endpoint={}", ep.s3),
        format!("--s3-region={}", ep.s3_region),
        "--s3-path-style".to_owned(),
    ];
    let base = format!("s3://{}", create_s3_bucket("dd").await);
    uploads_the_site(base, s3_options(), &flags).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_uploads_the_site() {
    let flags = [
        format!("--gcs-endpoint={}", objstore::endpoints().gcs),
        "--gcs-anonymous".to_owned(),
    ];
    let base = format!("gs://{}", create_gcs_bucket("dd").await);
    uploads_the_site(base, gcs_options(), &flags).await;
}
