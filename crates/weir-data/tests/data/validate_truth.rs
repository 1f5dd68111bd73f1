//! `weir-data validate` against truth computed independently: `validate_truth.py` writes
//! data with known nulls, duplicates, out-of-range values, set and pattern violations and
//! multi-byte strings, and counts every expectation's unexpected rows in plain Python. Every
//! count must match exactly, through every way in: a `file://` prefix of Parquet files, a
//! CSV file, a glob on S3 (moto) and a prefix on GCS (the emulator).
//!
//! `#[ignore]`d: they need Python with pyarrow (`WEIR_TEST_PYTHON`, which `make e2e` sets
//! from the venv of `crates/weir-data/tests/data/validate-requirements.txt`) and, for the
//! S3 and GCS cases, the loopback servers.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::servers;

const BIN: &str = env!("CARGO_BIN_EXE_weir-data");
const ROWS: usize = 5000;

/// Generates the data, suite and truth into `dir`.
pub fn generate(dir: &Path, rows: usize) {
    let python = std::env::var("WEIR_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "WEIR_TEST_PYTHON is not set: a Python with pyarrow (`make e2e` builds one from \
             crates/weir-data/tests/data/validate-requirements.txt)"
        )
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/validate_truth.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--rows", &rows.to_string(), "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Runs the binary; returns (exit code, result).
fn validate(dir: &Path, data: &str, extra: &[&str]) -> (i32, Value) {
    let suite = dir.join("suite.json");
    let mut cmd = servers::std_command(BIN);
    let out = cmd
        .arg("validate")
        .arg("--suite")
        .arg(&suite)
        .args(["--data", data])
        .args(extra)
        .env("WEIR_TERMINATION_LOG", dir.join("termination-log"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let result =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), result)
}

/// Compares every expectation's result with the truth.
fn assert_truth(dir: &Path, result: &Value, how: &str) {
    let truth: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    let results = result["results"].as_array().unwrap();
    assert_eq!(results.len(), truth.len(), "{how}");
    assert_eq!(result["data"]["rows"], ROWS, "{how}");
    for (i, (got, want)) in results.iter().zip(&truth).enumerate() {
        let kind = want["type"].as_str().unwrap();
        assert_eq!(got["expectation_config"]["type"], kind, "{how} #{i}");
        let r = &got["result"];
        if !want["unexpected"].is_null() {
            assert_eq!(
                r["unexpected_count"], want["unexpected"],
                "{how} #{i} {kind}"
            );
            let considered = want["considered"].as_u64().unwrap();
            let percent = want["unexpected"].as_f64().unwrap() * 100.0 / considered as f64;
            let got_percent = r["unexpected_percent"].as_f64().unwrap();
            assert!(
                (got_percent - percent).abs() < 1e-9,
                "{how} #{i} {kind}: {got_percent} vs {percent}"
            );
        }
        if let Some(sample) = want["sample"].as_array() {
            assert_eq!(
                &r["partial_unexpected_list"],
                &Value::Array(sample.clone()),
                "{how} #{i} {kind}"
            );
        }
        if let Some(x) = want["observed"].as_f64() {
            let got_x = r["observed_value"].as_f64().unwrap();
            assert!(
                (got_x - x).abs() <= 1e-9 * x.abs().max(1.0),
                "{how} #{i} {kind}: {got_x} vs {x}"
            );
        }
    }
    let verdicts =
        |v: &[Value], key: &str| -> Vec<Value> { v.iter().map(|x| x[key].clone()).collect() };
    assert_eq!(
        verdicts(results, "success"),
        verdicts(&truth, "success"),
        "{how}"
    );
}

fn dir_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
#[ignore = "needs WEIR_TEST_PYTHON (make e2e)"]
fn every_count_matches_the_truth_on_local_parquet_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), ROWS);
    let (code, result) = validate(dir.path(), &dir_uri(&dir.path().join("parquet")), &[]);
    assert_eq!(code, 3, "below the default threshold of 1");
    assert_eq!(result["data"]["files"], 3, "_SUCCESS is skipped");
    assert_truth(dir.path(), &result, "file:// parquet prefix");

    let csv = dir_uri(&dir.path().join("csv/data.csv"));
    let (_, result) = validate(dir.path(), &csv, &["--threshold", "0.3"]);
    assert_eq!(result["data"]["format"], "csv");
    assert_truth(dir.path(), &result, "file:// csv");
    assert_eq!(result["threshold_met"], true);

    let glob = format!("{}/part-*.parquet", dir_uri(&dir.path().join("parquet")));
    let (_, result) = validate(dir.path(), &glob, &[]);
    assert_truth(dir.path(), &result, "file:// glob");
}

async fn upload(store: &dyn weir_blob::Store, dir: &Path, prefix: &str) {
    for entry in std::fs::read_dir(dir.join("parquet")).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        store
            .put(&format!("{prefix}{name}"), bytes.into())
            .await
            .unwrap();
    }
}

#[tokio::test]
#[ignore = "needs the object-store servers and WEIR_TEST_PYTHON (make e2e)"]
async fn every_count_matches_the_truth_from_s3_and_gcs() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), ROWS);
    let s3 = servers::s3_bucket("validate").await;
    let gcs = servers::gcs_bucket("validate").await;
    let s3_store = servers::open(&format!("s3://{s3}")).await;
    let gcs_store = servers::open(&format!("gs://{gcs}")).await;
    upload(s3_store.as_ref(), dir.path(), "staging/dt=2024-05-01/").await;
    upload(gcs_store.as_ref(), dir.path(), "staging/").await;

    let report = format!("gs://{gcs}/docs/validation/");
    let glob = format!("s3://{s3}/staging/**/*.parquet");
    let (code, result) = validate(dir.path(), &glob, &["--report", &report]);
    assert_eq!(code, 3);
    assert_truth(dir.path(), &result, "s3:// glob");
    assert_eq!(result["report"], format!("{report}index.html"));
    let page = gcs_store.get("docs/validation/index.html").await.unwrap();
    assert!(
        std::str::from_utf8(&page)
            .unwrap()
            .contains("<table id=\"expectations\">")
    );

    let (_, result) = validate(dir.path(), &format!("gs://{gcs}/staging/"), &[]);
    assert_truth(dir.path(), &result, "gs:// prefix");
}
