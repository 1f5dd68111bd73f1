//! "No permission" through the binary: a loopback S3 endpoint that answers every request
//! with 403 AccessDenied (the local S3 server and the GCS emulator check no permissions, and
//! the tests run as root, for whom file:// permissions do not apply). Each subcommand fails
//! with exit code 1 and one line saying permission denied for the URI.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

/// Starts the denying server on 127.0.0.1; returns its endpoint. The thread ends with the
/// test process.
fn deny_everything() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            // Read the body, so the client sees the answer rather than a reset.
            let _ = reader
                .by_ref()
                .take(length as u64)
                .read_to_end(&mut Vec::new());
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                        <Message>Access Denied</Message></Error>";
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    endpoint
}

fn run(args: &[&str], endpoint: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_weir-data"))
        .args(args)
        .args([
            &format!("--s3-endpoint={endpoint}"),
            "--s3-region=us-east-1",
            "--s3-path-style",
        ])
        .env("WEIR_TERMINATION_LOG", dir.path().join("log"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn assert_denied(out: &Output, uri: &str) {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let line = crate::cli::one_line(&out.stderr);
    assert!(
        line.starts_with(&format!("weir-data: {uri}: permission denied: ")),
        "{line}"
    );
}

#[test]
fn schema_groups_without_permission_is_one_line() {
    let endpoint = deny_everything();
    let out = run(&["schema-groups", "s3://locked/in/"], &endpoint);
    assert_denied(&out, "s3://locked/in/");
    // A URI that could name an object: the head is refused the same way.
    let out = run(&["schema-groups", "s3://locked/in/a.parquet"], &endpoint);
    assert_denied(&out, "s3://locked/in/a.parquet");
}

#[test]
fn dbt_docs_without_permission_is_one_line() {
    let endpoint = deny_everything();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    weir_data::testdata::dbt::write_target(&target, false).unwrap();
    let out = run(
        &[
            "dbt-docs",
            "--target-dir",
            target.to_str().unwrap(),
            "--destination",
            "s3://locked/docs",
        ],
        &endpoint,
    );
    assert_denied(&out, "s3://locked/docs/index.html");
}
