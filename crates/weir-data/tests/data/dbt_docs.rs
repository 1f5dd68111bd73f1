//! `weir-data dbt-docs` on file://: one page with the data inlined (so it fetches nothing),
//! the Elementary report beside it, the result on stdout and in the termination log, and
//! one line naming the file for each bad target directory, with nothing uploaded.
//! The same uploads to S3 and GCS are in the end-to-end crate (tests/tests/e2e/dbt_docs.rs).

use std::path::Path;

use weir_data::testdata::dbt;

use crate::cli::{one_line, weir_data};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// The files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap();
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn assert_self_contained(page: &str) {
    if let Err(e) = dbt::check_self_contained(page) {
        panic!("{e}:\n{page}");
    }
}

#[test]
fn the_page_is_one_file_with_the_data_inlined() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    dbt::write_target(&target, true).unwrap();
    let site = dir.path().join("docs/dbt");
    let log = dir.path().join("termination-log");
    let destination = format!("file://{}", site.display());
    let out = weir_data(
        &[
            "dbt-docs",
            "--target-dir",
            target.to_str().unwrap(),
            "--destination",
            &destination,
        ],
        &log,
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = one_line(&out.stdout);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), stdout);
    let page = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert_eq!(
        json(&stdout),
        serde_json::json!({
            "uri": format!("{destination}/index.html"),
            "bytes": page.len(),
            "elementary": format!("{destination}/elementary_report.html"),
        })
    );
    assert_self_contained(&page);
    assert_eq!(
        std::fs::read_to_string(site.join("elementary_report.html")).unwrap(),
        dbt::ELEMENTARY
    );
    // Only the site: no manifest, no run_results.json, no temporary file.
    assert_eq!(files_under(&site), ["elementary_report.html", "index.html"]);
    let summary = one_line(&out.stderr);
    assert!(
        summary.starts_with("dbt-docs: index.html with manifest.json ("),
        "{summary}"
    );
}

#[test]
fn without_elementary_only_the_page_goes_up_to_the_named_object() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    dbt::write_target(&target, false).unwrap();
    let page = dir.path().join("site/prod.html");
    let destination = format!("file://{}", page.display());
    let out = weir_data(
        &[
            "dbt-docs",
            "--target-dir",
            target.to_str().unwrap(),
            "--destination",
            &destination,
        ],
        &dir.path().join("log"),
    );
    assert!(out.status.success(), "{out:?}");
    let result = json(&one_line(&out.stdout));
    assert_eq!(result["uri"], destination);
    assert_eq!(result["elementary"], serde_json::Value::Null);
    assert_self_contained(&std::fs::read_to_string(&page).unwrap());
    assert_eq!(files_under(&dir.path().join("site")), ["prod.html"]);
}

/// Each bad target directory: exit code 1, one line naming the file, nothing uploaded.
#[test]
fn a_bad_target_dir_is_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let t = target.display().to_string();
    let site = dir.path().join("site");
    let destination = format!("file://{}", site.display());
    let run = || {
        weir_data(
            &[
                "dbt-docs",
                "--target-dir",
                &t,
                "--destination",
                &destination,
            ],
            &dir.path().join("log"),
        )
    };
    let fails_with = |want: &str| {
        let out = run();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(one_line(&out.stderr), format!("weir-data: {want}"));
        assert!(!site.exists(), "something was uploaded");
    };

    fails_with(&format!("{t}: not found (the dbt target directory)"));

    dbt::write_target(&target, true).unwrap();
    std::fs::remove_file(target.join("index.html")).unwrap();
    fails_with(&format!(
        "{t}/index.html: not found (written by `dbt docs generate`)"
    ));

    dbt::write_target(&target, true).unwrap();
    std::fs::write(target.join("manifest.json"), "{\"nodes\": {").unwrap();
    fails_with(&format!(
        "{t}/manifest.json: not valid JSON: EOF while parsing an object at line 1 column 11"
    ));
    std::fs::write(target.join("manifest.json"), "[]").unwrap();
    fails_with(&format!("{t}/manifest.json: not a JSON object"));

    dbt::write_target(&target, true).unwrap();
    std::fs::remove_file(target.join("catalog.json")).unwrap();
    fails_with(&format!(
        "{t}/catalog.json: not found (written by `dbt docs generate`)"
    ));

    // dbt before 1.7: a page with no placeholders, which would fetch the files.
    dbt::write_target(&target, true).unwrap();
    std::fs::write(
        target.join("index.html"),
        dbt::INDEX.replace("MANIFEST.JSON INLINE DATA", "manifest.json"),
    )
    .unwrap();
    fails_with(&format!(
        "{t}/index.html: no \"MANIFEST.JSON INLINE DATA\" placeholder: not the docs site of \
         dbt 1.7 or later (`dbt docs generate` writes it)"
    ));
}

#[test]
fn a_bad_destination_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    dbt::write_target(&target, false).unwrap();
    let out = weir_data(
        &[
            "dbt-docs",
            "--target-dir",
            target.to_str().unwrap(),
            "--destination",
            "ftp://docs/dbt",
        ],
        &dir.path().join("log"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(one_line(&out.stderr).contains("\"ftp://docs/dbt\""));
}
