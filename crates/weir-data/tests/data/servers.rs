//! The loopback object-store servers of `tests/cluster/objstore.sh` (moto for S3,
//! gcp-storage-emulator for GCS): endpoints, fresh buckets, stores, and the binary's flags.
//! Tests that use them are `#[ignore]`d (`cargo test` needs no servers); `make e2e` runs them
//! with `--ignored` while the servers are up.

use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::time::Duration;

use weir_blob::{BlobUri, GcsCredentials, GcsOptions, Options, S3Options, StaticCredentials};

/// Where the servers listen.
pub struct Endpoints {
    pub s3: String,
    pub s3_region: String,
    pub gcs: String,
}

/// From `WEIR_S3_ENDPOINT` / `WEIR_GCS_ENDPOINT`, else the `.cluster/objstore.env` that
/// `objstore.sh up` writes at the root of the checkout.
pub fn endpoints() -> Endpoints {
    try_endpoints().unwrap_or_else(|e| panic!("{e}"))
}

/// [`endpoints`], or why there are none.
pub fn try_endpoints() -> Result<Endpoints, String> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cluster/objstore.env");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let lookup = |key: &str| {
        std::env::var(key).ok().or_else(|| {
            text.lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let need = |key: &str| {
        lookup(key).ok_or_else(|| {
            format!(
                "{key} is not set and not in {}: start the servers with `make objstore-up`",
                file.display()
            )
        })
    };
    Ok(Endpoints {
        s3: need("WEIR_S3_ENDPOINT")?,
        s3_region: lookup("WEIR_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
        gcs: need("WEIR_GCS_ENDPOINT")?,
    })
}

/// Options for both servers (moto takes any keys).
pub fn options(part_size: usize) -> Options {
    let ep = endpoints();
    Options {
        s3: S3Options {
            endpoint: Some(ep.s3),
            region: Some(ep.s3_region),
            path_style: true,
            credentials: Some(StaticCredentials {
                access_key_id: "test".to_owned(),
                secret_access_key: "test".to_owned(),
            }),
        },
        gcs: GcsOptions {
            endpoint: Some(ep.gcs),
            credentials: GcsCredentials::Anonymous,
        },
        part_size,
    }
}

/// The binary's flags (and environment) for both servers.
pub fn command(bin: &str) -> tokio::process::Command {
    let ep = endpoints();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(["--s3-endpoint", &ep.s3, "--s3-region", &ep.s3_region])
        .args([
            "--s3-path-style",
            "--gcs-endpoint",
            &ep.gcs,
            "--gcs-anonymous",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("STORAGE_EMULATOR_HOST");
    cmd
}

/// [`command`] for `std::process`.
pub fn std_command(bin: &str) -> std::process::Command {
    let ep = try_endpoints().ok();
    let mut cmd = std::process::Command::new(bin);
    if let Some(ep) = ep {
        cmd.args(["--s3-endpoint", &ep.s3, "--s3-region", &ep.s3_region])
            .args([
                "--s3-path-style",
                "--gcs-endpoint",
                &ep.gcs,
                "--gcs-anonymous",
            ]);
    }
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("STORAGE_EMULATOR_HOST");
    cmd
}

/// A fresh bucket name for `case`.
pub fn bucket_name(case: &str) -> String {
    let salt = RandomState::new().hash_one((std::process::id(), case));
    format!("wd-{case}-{:010x}", salt & 0xff_ffff_ffff)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Creates a fresh S3 bucket; returns its name.
pub async fn s3_bucket(case: &str) -> String {
    let bucket = bucket_name(case);
    let created = http()
        .put(format!("{}/{bucket}", endpoints().s3))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "create bucket: {created:?}");
    bucket
}

/// Creates a fresh GCS bucket; returns its name.
pub async fn gcs_bucket(case: &str) -> String {
    let bucket = bucket_name(case);
    let created = http()
        .post(format!("{}/storage/v1/b?project=test", endpoints().gcs))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "name": bucket }).to_string())
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "create bucket: {created:?}");
    bucket
}

/// A store for `uri`.
pub async fn open(uri: &str) -> Box<dyn weir_blob::Store> {
    weir_blob::open(
        &BlobUri::parse(uri).unwrap(),
        &options(weir_blob::MIN_PART_SIZE),
    )
    .await
    .unwrap()
}

/// CRC32C, as the stores report it.
pub fn crc32c(data: &[u8]) -> u32 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32
}
