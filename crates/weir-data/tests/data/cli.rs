//! The binary itself: the result on stdout and in the termination log, the summary on
//! stderr, and one line with a non-zero exit code on failure.

use std::path::Path;
use std::process::{Command, Output};

use crate::files::{self, PRICE_DOUBLE, PRICE_INT64};

pub(crate) fn weir_data(args: &[&str], termination_log: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir-data"))
        .args(args)
        .env("WEIR_TERMINATION_LOG", termination_log)
        .output()
        .unwrap()
}

pub(crate) fn one_line(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    text.trim_end().to_owned()
}

#[test]
fn schema_groups_prints_the_result_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("in");
    files::write(&d.join("a.parquet"), PRICE_INT64, 3, 1);
    files::write(&d.join("b.parquet"), PRICE_DOUBLE, 3, 1);
    files::write(&d.join("c.parquet"), PRICE_INT64, 3, 1);
    let log = dir.path().join("termination-log");
    let uri = format!("file://{}", d.display());

    let out = weir_data(&["schema-groups", &uri], &log);
    assert!(out.status.success(), "{out:?}");
    let stdout = one_line(&out.stdout);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), stdout);
    let items: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(items[0]["count"], 2);
    assert_eq!(items[1]["count"], 1);
    assert_eq!(items[1]["files"][0], format!("{uri}/b.parquet"));
    let summary = one_line(&out.stderr);
    assert!(
        summary.starts_with("schema-groups: 3 files in 2 groups; 3 read requests (1.00 per file);"),
        "{summary}"
    );
}

#[test]
fn failures_are_one_line_naming_the_uri() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("termination-log");
    std::fs::write(dir.path().join("x.parquet"), b"not parquet at all").unwrap();
    let uri = format!("file://{}", dir.path().display());

    let out = weir_data(&["schema-groups", &uri], &log);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        one_line(&out.stderr),
        format!("weir-data: not a Parquet file: {uri}/x.parquet (no PAR1 footer)")
    );
    assert!(out.stdout.is_empty());

    let out = weir_data(&["schema-groups", "ftp://bucket/x"], &log);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("\"ftp://bucket/x\""));

    let out = weir_data(&["schema-groups", &uri, "--glob", "[ab].parquet"], &log);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("not supported"));
}

/// A file cut short (its tail kept, so it still ends in PAR1) and a missing object named
/// exactly: exit code 1, one line naming the URI, nothing on stdout.
#[test]
fn a_truncated_file_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("termination-log");
    let path = dir.path().join("in/cut.parquet");
    files::write(&path, PRICE_INT64, 100, 1);
    let bytes = std::fs::read(&path).unwrap();
    let mut cut = bytes[..20].to_vec();
    cut.extend_from_slice(&bytes[bytes.len() - 8..]);
    std::fs::write(&path, &cut).unwrap();
    let uri = format!("file://{}", path.display());

    for target in [
        uri.clone(),
        format!("file://{}", dir.path().join("in").display()),
    ] {
        let out = weir_data(&["schema-groups", &target], &log);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stdout.is_empty());
        let line = one_line(&out.stderr);
        assert!(
            line.starts_with(&format!("weir-data: not a Parquet file: {uri} (")),
            "{line}"
        );
    }
}

#[test]
fn help_has_examples() {
    for (command, flag) in [
        ("schema-groups", "--manifest-dir"),
        ("dbt-docs", "--destination"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_weir-data"))
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(
            help.contains(&format!("Examples:\n  weir-data {command}")),
            "{help}"
        );
        assert!(help.contains(flag), "{help}");
    }
}
