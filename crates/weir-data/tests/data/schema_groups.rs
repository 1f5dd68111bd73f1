//! Grouping on file://: exact groups, reads per file, errors that name the file, and the
//! inline and manifest forms of the result.

use std::collections::BTreeSet;
use std::path::Path;

use weir_blob::{BlobUri, Options};
use weir_data::Error;
use weir_data::glob::Glob;
use weir_data::output::{self, MAX_BYTES, ManifestDir};
use weir_data::schema_groups::{self, Config, Group, Grouping};

use crate::files::{self, ID_NULLABLE, NESTED, NESTED_ZIP64, PRICE_DOUBLE, PRICE_INT64};
use weir_data::testdata::counting::{Counting, Counts};

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

async fn group(
    dir: &Path,
    config: &Config,
) -> (weir_data::Result<Grouping>, std::sync::Arc<Counts>) {
    let uri = BlobUri::parse(&uri_of(dir)).unwrap();
    let store = Counting::new(weir_blob::open(&uri, &Options::default()).await.unwrap());
    let counts = store.counts.clone();
    (schema_groups::group(&store, &uri, config).await, counts)
}

/// The groups as sets of file names, in group order.
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

/// The seed's case and its neighbours: INT64 vs DOUBLE for an all-null column, a nullable
/// `id`, nested fields differing deep inside. Row counts and row groups do not matter.
#[tokio::test]
async fn files_are_grouped_exactly_by_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    files::write(&d.join("a1.parquet"), PRICE_INT64, 10, 1);
    files::write(&d.join("a2.parquet"), PRICE_INT64, 1000, 3);
    files::write(&d.join("b1.parquet"), PRICE_DOUBLE, 5, 1);
    files::write(&d.join("b2.parquet"), PRICE_DOUBLE, 0, 1);
    files::write(&d.join("c1.parquet"), ID_NULLABLE, 7, 1);
    files::write(&d.join("d1.parquet"), NESTED, 3, 1);
    files::write(&d.join("d2.parquet"), NESTED, 30, 2);
    files::write(&d.join("e1.parquet"), NESTED_ZIP64, 3, 1);

    let (grouping, counts) = group(d, &Config::default()).await;
    let grouping = grouping.unwrap();
    assert_eq!(
        names(&grouping),
        vec![
            set(&["a1.parquet", "a2.parquet"]),
            set(&["b1.parquet", "b2.parquet"]),
            set(&["c1.parquet"]),
            set(&["d1.parquet", "d2.parquet"]),
            set(&["e1.parquet"]),
        ]
    );
    let fingerprints: BTreeSet<&str> = grouping.groups.iter().map(|g| g.schema.as_str()).collect();
    assert_eq!(fingerprints.len(), 5);
    // One read per file (the footers are small), never a whole object; one head for the
    // run: the URI (no trailing `/`) could have named one object.
    assert_eq!(counts.reads(), 8);
    assert_eq!((counts.heads(), counts.whole()), (1, 0));
    assert_eq!(grouping.stats.files, 8);
    assert_eq!(grouping.stats.requests, 8);
    assert!(grouping.stats.bytes_read <= grouping.stats.total_bytes);
}

/// A footer longer than the first read costs exactly one more read, and decodes the same.
#[tokio::test]
async fn a_large_footer_takes_a_second_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wide = files::wide(1500);
    files::write(&d.join("wide.parquet"), &wide, 2, 1);
    files::write(&d.join("small.parquet"), PRICE_INT64, 2, 1);
    let footer_len = {
        let bytes = std::fs::read(d.join("wide.parquet")).unwrap();
        let n = bytes.len();
        u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as u64
    };
    assert!(footer_len > weir_data::footer::DEFAULT_TAIL, "{footer_len}");

    let (grouping, counts) = group(d, &Config::default()).await;
    let grouping = grouping.unwrap();
    assert_eq!(grouping.groups.len(), 2);
    assert_eq!(counts.reads(), 3, "2 for wide.parquet, 1 for small.parquet");
    assert_eq!(grouping.stats.requests, 3);

    // A tiny first read forces the second read for every file; the groups do not change.
    let tiny = Config {
        tail: 16,
        ..Config::default()
    };
    let (again, counts) = group(d, &tiny).await;
    let again = again.unwrap();
    assert_eq!(counts.reads(), 4);
    assert_eq!(names(&again), names(&grouping));
    assert_eq!(
        again.groups.iter().map(|g| &g.schema).collect::<Vec<_>>(),
        grouping
            .groups
            .iter()
            .map(|g| &g.schema)
            .collect::<Vec<_>>()
    );
}

/// `*` stays in its directory; `**/` reaches every depth; other keys are never read.
#[tokio::test]
async fn the_glob_selects_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    files::write(&d.join("top.parquet"), PRICE_INT64, 1, 1);
    files::write(&d.join("dt=1/nested.parquet"), PRICE_DOUBLE, 1, 1);
    std::fs::write(d.join("_SUCCESS"), b"").unwrap();

    let (top, counts) = group(d, &Config::default()).await;
    assert_eq!(names(&top.unwrap()), vec![set(&["top.parquet"])]);
    assert_eq!(counts.reads(), 1);

    let deep = Config {
        glob: Glob::new("**/*.parquet").unwrap(),
        ..Config::default()
    };
    let (all, _) = group(d, &deep).await;
    assert_eq!(all.unwrap().stats.files, 2);
}

/// A bucket trigger passes the new object's own URI: that one file is grouped, whatever the
/// glob, for one head and one read. A directory named like a file (Spark writes
/// `table.parquet/part-*.parquet`) is still a directory; a trailing `/` skips the head.
#[tokio::test]
async fn a_uri_naming_an_object_groups_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    files::write(&d.join("a.parquet"), PRICE_INT64, 1, 1);
    files::write(&d.join("b.parquet"), PRICE_DOUBLE, 1, 1);
    files::write(&d.join("c.parq"), PRICE_DOUBLE, 1, 1);
    files::write(&d.join("t.parquet/part-0.parquet"), PRICE_DOUBLE, 1, 1);

    let (one, counts) = group(&d.join("a.parquet"), &Config::default()).await;
    let one = one.unwrap();
    assert_eq!(names(&one), vec![set(&["a.parquet"])]);
    assert_eq!(one.groups[0].files, [uri_of(&d.join("a.parquet"))]);
    assert_eq!((counts.heads(), counts.reads()), (1, 1));

    let (other, _) = group(&d.join("c.parq"), &Config::default()).await;
    assert_eq!(names(&other.unwrap()), vec![set(&["c.parq"])]);

    let (table, _) = group(&d.join("t.parquet"), &Config::default()).await;
    assert_eq!(names(&table.unwrap()), vec![set(&["part-0.parquet"])]);

    let uri = BlobUri::parse(&format!("{}/", uri_of(d))).unwrap();
    let store = Counting::new(weir_blob::open(&uri, &Options::default()).await.unwrap());
    let counts = store.counts.clone();
    let all = schema_groups::group(&store, &uri, &Config::default())
        .await
        .unwrap();
    assert_eq!(all.stats.files, 2);
    assert_eq!(counts.heads(), 0);
}

#[tokio::test]
async fn a_file_that_is_not_parquet_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    files::write(&d.join("good.parquet"), PRICE_INT64, 1, 1);
    std::fs::write(d.join("x.parquet"), b"id,price\n1,\n2,\n3,\n4,\n").unwrap();
    let (result, _) = group(d, &Config::default()).await;
    let message = result.unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "not a Parquet file: {} (no PAR1 footer)",
            uri_of(&d.join("x.parquet"))
        )
    );
}

#[tokio::test]
async fn a_truncated_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("cut.parquet");
    files::write(&path, PRICE_INT64, 100, 1);
    let bytes = std::fs::read(&path).unwrap();
    // Cut inside the metadata, then keep a valid-looking tail: the length no longer fits.
    let mut cut = bytes[..20].to_vec();
    cut.extend_from_slice(&bytes[bytes.len() - 8..]);
    std::fs::write(&path, &cut).unwrap();
    let (result, _) = group(d, &Config::default()).await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::NotParquet { .. }), "{err}");
    assert!(err.to_string().contains(&uri_of(&path)), "{err}");

    // Cut short without the tail: no footer at all.
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let (result, _) = group(d, &Config::default()).await;
    assert!(
        result
            .unwrap_err()
            .to_string()
            .starts_with("not a Parquet file: "),
    );
}

/// Small results are inline; large ones become manifests under --manifest-dir, or fail with
/// one clear line when there is none.
#[tokio::test]
async fn the_result_is_inline_or_manifests_within_4_kib() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("in");
    for i in 0..60 {
        let message = if i % 2 == 0 {
            PRICE_INT64
        } else {
            PRICE_DOUBLE
        };
        files::write(
            &d.join(format!("part-{i:05}-of-a-long-file-name.parquet")),
            message,
            1,
            1,
        );
    }
    let (grouping, _) = group(&d, &Config::default()).await;
    let grouping = grouping.unwrap();

    let err = output::render(&grouping.groups, None).await.unwrap_err();
    assert!(err.to_string().contains("--manifest-dir"), "{err}");

    let manifests = dir.path().join("manifests");
    let manifest_uri = BlobUri::parse(&uri_of(&manifests)).unwrap();
    let store = weir_blob::open(&manifest_uri, &Options::default())
        .await
        .unwrap();
    let result = output::render(
        &grouping.groups,
        Some(ManifestDir {
            uri: &manifest_uri,
            store: store.as_ref(),
        }),
    )
    .await
    .unwrap();
    assert!(result.len() <= MAX_BYTES);
    let items: Vec<serde_json::Value> = serde_json::from_str(&result).unwrap();
    assert_eq!(items.len(), 2);
    for (n, item) in items.iter().enumerate() {
        assert_eq!(item["group"], n);
        assert_eq!(item["count"], 30);
        assert_eq!(item["schema"], grouping.groups[n].schema.as_str());
        let manifest = item["manifest"].as_str().unwrap();
        assert_eq!(manifest, uri_of(&manifests.join(format!("group-{n}.json"))));
        let body: serde_json::Value = serde_json::from_slice(
            &std::fs::read(manifest.strip_prefix("file://").unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(body["files"].as_array().unwrap().len(), 30);
        assert_eq!(body["files"][0], grouping.groups[n].files[0].as_str());
    }
}

#[tokio::test]
async fn a_few_files_are_listed_inline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    files::write(&d.join("a.parquet"), PRICE_INT64, 1, 1);
    files::write(&d.join("b.parquet"), PRICE_DOUBLE, 1, 1);
    let (grouping, _) = group(d, &Config::default()).await;
    let grouping = grouping.unwrap();
    let result = output::render(&grouping.groups, None).await.unwrap();
    let items: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(
        items,
        serde_json::json!([
            {"group": 0, "schema": grouping.groups[0].schema, "files": [uri_of(&d.join("a.parquet"))], "count": 1},
            {"group": 1, "schema": grouping.groups[1].schema, "files": [uri_of(&d.join("b.parquet"))], "count": 1},
        ])
    );
}

/// Too many groups for a fan-out, or for 4 KiB even as manifests: an error, and no manifest
/// is written.
#[tokio::test]
async fn a_result_that_cannot_fit_fails_before_writing() {
    let groups = |n: usize| -> Vec<Group> {
        (0..n)
            .map(|i| Group {
                schema: format!("{i:012x}"),
                canonical: String::new(),
                files: vec![format!("s3://b/in/{i}.parquet")],
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let manifest_uri = BlobUri::parse(&uri_of(dir.path())).unwrap();
    let store = weir_blob::open(&manifest_uri, &Options::default())
        .await
        .unwrap();
    let manifests = || {
        Some(ManifestDir {
            uri: &manifest_uri,
            store: store.as_ref(),
        })
    };
    let err = output::render(&groups(1001), manifests())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 1000"), "{err}");
    let err = output::render(&groups(300), manifests()).await.unwrap_err();
    assert!(err.to_string().contains("even as manifests"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
