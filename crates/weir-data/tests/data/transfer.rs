//! `weir-data transfer` on file:// (no servers): prefixes and single objects, --include,
//! skipping what is already there, replacing what differs, and one-line failures.

use std::path::Path;
use std::process::{Command, Output};

fn transfer(args: &[&str], log: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir-data"))
        .arg("transfer")
        .args(args)
        .env("WEIR_TERMINATION_LOG", log)
        .output()
        .unwrap()
}

fn result(out: &Output, log: &Path) -> serde_json::Value {
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(std::fs::read_to_string(log).unwrap(), stdout.trim_end());
    serde_json::from_str(&stdout).unwrap()
}

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

#[test]
fn a_prefix_is_copied_then_skipped_and_a_changed_object_copied_again() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst, log) = (
        dir.path().join("src"),
        dir.path().join("dst"),
        dir.path().join("log"),
    );
    write(&src.join("a.csv"), b"alpha");
    let b = vec![7u8; 300_000];
    write(&src.join("sub/b.csv"), &b);
    write(&src.join("sub/c.txt"), b"not included");
    let (from, to) = (
        format!("file://{}", src.display()),
        format!("file://{}/", dst.display()),
    );
    let args = ["--from", &from, "--to", &to, "--include", "**/*.csv"];

    let first = result(&transfer(&args, &log), &log);
    assert_eq!(
        (&first["objects"], &first["copied"], &first["skipped"]),
        (&2.into(), &2.into(), &0.into()),
        "{first}"
    );
    // A local file keeps no checksum: it is read back and compared.
    assert_eq!(first["checksums_verified"], 2, "{first}");
    assert_eq!(std::fs::read(dst.join("sub/b.csv")).unwrap(), b);
    assert!(!dst.join("sub/c.txt").exists());

    let again = result(&transfer(&args, &log), &log);
    assert_eq!(
        (&again["copied"], &again["skipped"]),
        (&0.into(), &2.into())
    );

    // Same size, other bytes: the checksum tells them apart.
    write(&dst.join("a.csv"), b"ALPHA");
    let third = result(&transfer(&args, &log), &log);
    assert_eq!(
        (&third["copied"], &third["skipped"]),
        (&1.into(), &1.into())
    );
    assert_eq!(std::fs::read(dst.join("a.csv")).unwrap(), b"alpha");
}

#[test]
fn one_object_goes_into_a_directory_or_onto_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(&dir.path().join("in/report.csv"), b"x,y\n1,2\n");
    let from = format!("file://{}/in/report.csv", dir.path().display());

    let into = format!("file://{}/out/", dir.path().display());
    let out = result(&transfer(&["--from", &from, "--to", &into], &log), &log);
    assert_eq!(out["copied"], 1, "{out}");
    assert!(dir.path().join("out/report.csv").exists());

    let onto = format!("file://{}/out/renamed.csv", dir.path().display());
    result(&transfer(&["--from", &from, "--to", &onto], &log), &log);
    assert_eq!(
        std::fs::read(dir.path().join("out/renamed.csv")).unwrap(),
        b"x,y\n1,2\n"
    );
}

#[test]
fn failures_are_one_line_naming_the_uri() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let one_line = |out: &Output| {
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stdout.is_empty());
        let text = String::from_utf8(out.stderr.clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        text.trim_end().to_owned()
    };
    let to = format!("file://{}/out/", dir.path().display());

    let err = one_line(&transfer(&["--from", "ftp://b/x", "--to", &to], &log));
    assert!(err.contains("\"ftp://b/x\""), "{err}");
    let err = one_line(&transfer(&["--from", "s3:///x", "--to", &to], &log));
    assert!(err.contains("no bucket name"), "{err}");
    let from = format!("file://{}", dir.path().display());
    let err = one_line(&transfer(
        &["--from", &from, "--to", &to, "--part-size-mib", "1"],
        &log,
    ));
    assert!(err.contains("--part-size-mib"), "{err}");
}

#[test]
fn help_has_examples() {
    let out = Command::new(env!("CARGO_BIN_EXE_weir-data"))
        .args(["transfer", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("--include"), "{help}");
}
