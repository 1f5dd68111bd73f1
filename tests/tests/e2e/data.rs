//! `weir-data schema-groups` against the loopback S3 (moto) and GCS (gcp-storage-emulator)
//! servers: the same grouping as on file://, at most two reads per file (counted by a store
//! wrapper, and by weir-data's own summary), manifests written to the bucket, errors naming
//! the URI. Each case gets a bucket of its own.

use std::collections::BTreeSet;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use weir_blob::{BlobUri, Options, Store};
use weir_data::output::{self, MAX_BYTES, ManifestDir};
use weir_data::schema_groups::{self, Config, Grouping};
use weir_data::testdata::counting::Counting;
use weir_data::testdata::{self, ID_NULLABLE, NESTED, NESTED_ZIP64, PRICE_DOUBLE, PRICE_INT64};

use weir_e2e::objstore;
use weir_e2e::weir::weir_data_bin;

use super::blob::{create_gcs_bucket, create_s3_bucket, gcs_options, s3_options};

/// A bucket of the S3 server or the GCS emulator, with its options.
struct Bucket {
    base: String,
    options: Options,
}

async fn s3_bucket(case: &str) -> Bucket {
    Bucket {
        base: format!("s3://{}", create_s3_bucket(case).await),
        options: s3_options(),
    }
}

async fn gcs_bucket(case: &str) -> Bucket {
    Bucket {
        base: format!("gs://{}", create_gcs_bucket(case).await),
        options: gcs_options(),
    }
}

impl Bucket {
    async fn store(&self) -> Box<dyn Store> {
        weir_blob::open(&self.uri(""), &self.options).await.unwrap()
    }

    fn uri(&self, key: &str) -> BlobUri {
        BlobUri::parse(&format!("{}/{key}", self.base)).unwrap()
    }

    /// Uploads `(key, bytes)` pairs, a few at a time.
    async fn put_all(&self, objects: Vec<(String, Vec<u8>)>) {
        let store = self.store().await;
        futures::stream::iter(objects)
            .map(|(key, data)| {
                let store = &store;
                async move { store.put(&key, Bytes::from(data)).await }
            })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    }

    /// Groups `prefix` through a counting store; returns the grouping and the reads counted.
    async fn group(&self, prefix: &str) -> (weir_data::Result<Grouping>, u64, u64) {
        let store = Counting::new(self.store().await);
        let counts = store.counts.clone();
        let result = schema_groups::group(&store, &self.uri(prefix), &Config::default()).await;
        (result, counts.reads(), counts.heads() + counts.whole())
    }
}

fn parquet(message: &str, rows: usize, row_groups: usize) -> Vec<u8> {
    testdata::parquet(message, rows, row_groups).unwrap()
}

fn names(grouping: &Grouping) -> Vec<BTreeSet<String>> {
    grouping
        .groups
        .iter()
        .map(|g| {
            g.files
                .iter()
                .map(|f| f.rsplit('/').next().unwrap().to_owned())
                .collect()
        })
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The seed's INT64/DOUBLE case, nullability, nested fields and a footer larger than the
/// first read: grouped exactly, one read per file and two for the large footer.
async fn groups_exactly_with_at_most_two_reads_per_file(bucket: Bucket) {
    let wide = testdata::wide(1500);
    bucket
        .put_all(vec![
            ("in/a1.parquet".into(), parquet(PRICE_INT64, 10, 1)),
            ("in/a2.parquet".into(), parquet(PRICE_INT64, 500, 2)),
            ("in/b1.parquet".into(), parquet(PRICE_DOUBLE, 10, 1)),
            ("in/c1.parquet".into(), parquet(ID_NULLABLE, 10, 1)),
            ("in/d1.parquet".into(), parquet(NESTED, 3, 1)),
            ("in/d2.parquet".into(), parquet(NESTED, 30, 2)),
            ("in/e1.parquet".into(), parquet(NESTED_ZIP64, 3, 1)),
            ("in/w1.parquet".into(), parquet(&wide, 2, 1)),
            ("in/_SUCCESS".into(), Vec::new()),
            // Beside the prefix, not under it: never read.
            ("in-old/x.parquet".into(), b"not parquet".to_vec()),
        ])
        .await;

    let (grouping, reads, others) = bucket.group("in").await;
    let grouping = grouping.unwrap();
    assert_eq!(
        names(&grouping),
        vec![
            set(&["a1.parquet", "a2.parquet"]),
            set(&["b1.parquet"]),
            set(&["c1.parquet"]),
            set(&["d1.parquet", "d2.parquet"]),
            set(&["e1.parquet"]),
            set(&["w1.parquet"]),
        ]
    );
    assert_eq!(
        grouping.groups[0].files[0],
        format!("{}/in/a1.parquet", bucket.base)
    );
    // 8 files: one read each, and one more for the wide file's footer; no whole read, and one
    // head for the run (`in` could have named one object).
    assert_eq!((reads, others), (9, 1));
    assert_eq!(grouping.stats.requests, 9);
    assert_eq!(grouping.stats.files, 8);
    assert!(grouping.stats.bytes_read < grouping.stats.total_bytes);
    eprintln!("{}", schema_groups::summary(&grouping));

    let result = output::render(&grouping.groups, None).await.unwrap();
    assert!(result.len() <= MAX_BYTES);
    let items: Vec<serde_json::Value> = serde_json::from_str(&result).unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(items[0]["count"], 2);
}

/// Too many files for 4 KiB: one manifest per group in the bucket, named by the result.
async fn large_results_go_to_manifests(bucket: Bucket) {
    let files: Vec<(String, Vec<u8>)> = (0..60)
        .map(|i| {
            let message = if i % 3 == 0 {
                PRICE_DOUBLE
            } else {
                PRICE_INT64
            };
            (
                format!("in/part-{i:05}-of-a-rather-long-file-name.parquet"),
                parquet(message, 1, 1),
            )
        })
        .collect();
    bucket.put_all(files).await;
    let (grouping, reads, _) = bucket.group("in/").await;
    let grouping = grouping.unwrap();
    assert_eq!(reads, 60);
    assert!(output::render(&grouping.groups, None).await.is_err());

    let dir = bucket.uri("manifests/run-1");
    let store = bucket.store().await;
    let result = output::render(
        &grouping.groups,
        Some(ManifestDir {
            uri: &dir,
            store: store.as_ref(),
        }),
    )
    .await
    .unwrap();
    assert!(result.len() <= MAX_BYTES);
    let items: Vec<serde_json::Value> = serde_json::from_str(&result).unwrap();
    let counts: Vec<u64> = items.iter().map(|i| i["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, vec![20, 40]);
    for (n, item) in items.iter().enumerate() {
        let manifest = item["manifest"].as_str().unwrap();
        assert_eq!(
            manifest,
            format!("{}/manifests/run-1/group-{n}.json", bucket.base)
        );
        let key = BlobUri::parse(manifest).unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(&store.get(key.key()).await.unwrap()).unwrap();
        assert_eq!(body["files"], serde_json::json!(grouping.groups[n].files));
    }
}

/// A file that is not Parquet, and a missing bucket: errors naming the URI.
async fn errors_name_the_uri(bucket: Bucket) {
    bucket
        .put_all(vec![
            ("in/good.parquet".into(), parquet(PRICE_INT64, 1, 1)),
            ("in/x.parquet".into(), b"id,price\n1,\n2,\n3,\n".to_vec()),
        ])
        .await;
    let (result, _, _) = bucket.group("in").await;
    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "not a Parquet file: {}/in/x.parquet (no PAR1 footer)",
            bucket.base
        )
    );

    let missing = Bucket {
        base: format!("{}-missing", bucket.base),
        options: bucket.options.clone(),
    };
    let (result, _, _) = missing.group("in").await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("no such bucket"), "{err}");
}

/// The binary itself, configured by its flags and the environment as a step pod would be:
/// the result on stdout and in the termination log, the summary on stderr.
async fn the_binary_prints_the_groups(bucket: Bucket, flags: &[String]) {
    bucket
        .put_all(vec![
            ("in/a.parquet".into(), parquet(PRICE_INT64, 3, 1)),
            ("in/b.parquet".into(), parquet(PRICE_DOUBLE, 3, 1)),
            ("in/c.parquet".into(), parquet(PRICE_INT64, 3, 1)),
        ])
        .await;
    let dir =
        std::env::temp_dir().join(format!("weir-data-e2e-{}", bucket.base.replace("://", "-")));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("termination-log");
    let ep = objstore::endpoints();
    let out = std::process::Command::new(weir_data_bin())
        .arg("schema-groups")
        .arg(format!("{}/in", bucket.base))
        .args(flags)
        .env("WEIR_TERMINATION_LOG", &log)
        .env("AWS_ACCESS_KEY_ID", &ep.s3_access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &ep.s3_secret_access_key)
        .env_remove("STORAGE_EMULATOR_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), stdout.trim_end());
    let items: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        items[0]["files"],
        serde_json::json!([
            format!("{}/in/a.parquet", bucket.base),
            format!("{}/in/c.parquet", bucket.base)
        ])
    );
    assert_eq!(items[1]["count"], 1);
    assert!(
        stderr.starts_with("schema-groups: 3 files in 2 groups; 3 read requests (1.00 per file);"),
        "{stderr}"
    );

    // A bucket that does not exist: exit code 1 and one line naming it.
    let out = std::process::Command::new(weir_data_bin())
        .arg("schema-groups")
        .arg(format!("{}-missing/in", bucket.base))
        .args(flags)
        .env("WEIR_TERMINATION_LOG", &log)
        .env("AWS_ACCESS_KEY_ID", &ep.s3_access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &ep.s3_secret_access_key)
        .env_remove("STORAGE_EMULATOR_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no such bucket"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

mod s3 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_binary_prints_the_groups() {
        let ep = objstore::endpoints();
        let flags = [
            format!("--s3-endpoint={}", ep.s3),
            format!("--s3-region={}", ep.s3_region),
            "--s3-path-style".to_owned(),
        ];
        super::the_binary_prints_the_groups(s3_bucket("db").await, &flags).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_exactly_with_at_most_two_reads_per_file() {
        super::groups_exactly_with_at_most_two_reads_per_file(s3_bucket("dg").await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_results_go_to_manifests() {
        super::large_results_go_to_manifests(s3_bucket("dm").await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_name_the_uri() {
        super::errors_name_the_uri(s3_bucket("de").await).await;
    }
}

mod gcs {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_binary_prints_the_groups() {
        let flags = [
            format!("--gcs-endpoint={}", objstore::endpoints().gcs),
            "--gcs-anonymous".to_owned(),
        ];
        super::the_binary_prints_the_groups(gcs_bucket("db").await, &flags).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_exactly_with_at_most_two_reads_per_file() {
        super::groups_exactly_with_at_most_two_reads_per_file(gcs_bucket("dg").await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_results_go_to_manifests() {
        super::large_results_go_to_manifests(gcs_bucket("dm").await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_name_the_uri() {
        super::errors_name_the_uri(gcs_bucket("de").await).await;
    }
}
