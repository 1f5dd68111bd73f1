//! Every file in `examples/` passes `weir check`, and `weir render` of each is pinned by a
//! golden file under `tests/golden/` (regenerate with `UPDATE_GOLDEN=1 cargo test -p weir`).

use crate::support;

use std::path::Path;

use support::{root, weir};

/// A result `weir-data schema-groups` prints (its real format): two groups with their files
/// inline.
const GROUPS: &str = r#"schema-groups=[{"group":0,"schema":"3f2a9c01b2d4","files":["gs://weir-lake/raw/2024/05/01/part-0.parquet","gs://weir-lake/raw/2024/05/01/part-1.parquet"],"count":2},{"group":1,"schema":"9e0b7d4c5a61","files":["gs://weir-lake/raw/2024/05/01/part-2.parquet"],"count":1}]"#;

/// The other form: each group's files in a manifest object under `--manifest-dir`.
const GROUP_MANIFESTS: &str = r#"schema-groups=[{"group":0,"schema":"3f2a9c01b2d4","manifest":"gs://weir-lake/_weir/full-refresh-render/group-0.json","count":48210},{"group":1,"schema":"9e0b7d4c5a61","manifest":"gs://weir-lake/_weir/full-refresh-render/group-1.json","count":1377}]"#;

/// Golden file → the arguments of `weir render`.
const RENDERS: &[(&str, &[&str])] = &[
    ("hello.yaml", &["-f", "examples/hello.yaml"]),
    (
        "batch-pipeline.yaml",
        &[
            "-f",
            "examples/batch-pipeline.yaml",
            "-f",
            "examples/expectations.yaml",
            "-p",
            "uri=s3://landing/raw/2024/05/01/part-0.parquet",
            "--result",
            GROUPS,
        ],
    ),
    (
        "full-refresh-pipeline.yaml",
        &[
            "-f",
            "examples/full-refresh-pipeline.yaml",
            "-f",
            "examples/templates/ml-train-job.yaml",
            "-p",
            "since=2023-01-01",
            "--result",
            GROUP_MANIFESTS,
        ],
    ),
    (
        "dbt-task.yaml",
        &["-f", "examples/dbt-task.yaml", "-p", "RUN_DATE=2024-05-01"],
    ),
    (
        "ml-train-serve.yaml",
        &[
            "-f",
            "examples/ml-train-serve.yaml",
            "-p",
            "dataset=gs://weir-lake/marts/churn/2024-05-01/",
            "--result",
            r#"train={"model_uri": "models:/churn/7"}"#,
        ],
    ),
    ("spark-job.yaml", &["-f", "examples/spark-job.yaml"]),
    ("dbt-run.yaml", &["-f", "examples/dbt-run.yaml"]),
];

fn example_files() -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![root().join("examples")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let rel = path.strip_prefix(root()).unwrap_or(&path);
                files.push(rel.display().to_string());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_example_passes_check_on_its_own() {
    let files = example_files();
    assert!(files.len() >= 7, "examples: {files:?}");
    for file in &files {
        let out = weir(&["check", "-f", file]);
        assert_eq!(out.code, 0, "{file}:\n{}", out.stderr);
        assert!(out.stdout.ends_with(" OK\n"), "{file}: {}", out.stdout);
        // The only thing check may say about a valid file is what it could not check.
        for line in out.stderr.lines() {
            assert!(line.starts_with("note: "), "{file}: {line}");
        }
    }
}

#[test]
fn the_examples_directory_checks_clean_as_a_whole() {
    let out = weir(&["check", "-f", "examples/"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(out.stdout, "9 resources OK\n");
}

#[test]
fn every_example_is_rendered_by_a_golden_test() {
    for file in example_files() {
        let covered = RENDERS
            .iter()
            .any(|(_, args)| args.contains(&file.as_str()));
        assert!(covered, "{file} has no render case in RENDERS");
    }
}

#[test]
fn renders_match_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let dir = Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/golden");
    let mut stale = Vec::new();
    for (golden, args) in RENDERS {
        let mut full = vec!["render"];
        full.extend_from_slice(args);
        let out = weir(&full);
        assert_eq!(out.code, 0, "render {args:?}:\n{}", out.stderr);
        assert_eq!(out.stderr, "", "render {args:?}");
        let path = dir.join(golden);
        if update {
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&path, &out.stdout).unwrap_or_else(|e| panic!("{e}"));
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != out.stdout {
            stale.push(golden.to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "renders differ from tests/golden/{stale:?}; review with `UPDATE_GOLDEN=1 cargo test -p weir --test cli examples` and `git diff`"
    );
}

#[test]
fn rendered_documents_parse_back_as_yaml() {
    for (golden, args) in RENDERS {
        let mut full = vec!["render"];
        full.extend_from_slice(args);
        let out = weir(&full);
        let docs: Vec<serde_json::Value> = serde_saphyr::from_str_multiple(&out.stdout)
            .unwrap_or_else(|e| panic!("{golden}: {e}"));
        assert!(!docs.is_empty(), "{golden}");
        for doc in docs {
            let owner = &doc["metadata"]["ownerReferences"][0];
            assert_eq!(
                owner["uid"], "00000000-0000-0000-0000-000000000000",
                "{golden}"
            );
            assert_eq!(owner["controller"], true, "{golden}");
        }
    }
}

#[test]
fn a_fan_out_over_a_runtime_result_is_left_out_with_a_note() {
    let out = weir(&[
        "render",
        "-f",
        "examples/batch-pipeline.yaml",
        "-p",
        "uri=s3://landing/raw/x.parquet",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "note: examples/batch-pipeline.yaml, Pipeline/batch, step spark-batch: fans out over the \
         result of step schema-groups, which exists only at run time; pass --result \
         schema-groups=JSON to render it\n"
    );
    assert!(!out.stdout.contains("step spark-batch"));
    let steps: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("# Source: examples/batch-pipeline.yaml, Pipeline/batch, step ")
        })
        .collect();
    assert_eq!(
        steps,
        ["transfer", "schema-groups", "validate", "dbt", "train"]
    );
}

#[test]
fn the_dbt_task_keeps_the_seed_operator_s_values() {
    let out = weir(&[
        "render",
        "-f",
        "examples/dbt-task.yaml",
        "-p",
        "RUN_DATE=2024-05-01",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let job: serde_json::Value =
        serde_saphyr::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let pod = &job["spec"]["template"]["spec"];
    let main = &pod["containers"][0];
    assert_eq!(
        main["command"],
        serde_json::json!(["/bin/bash", "/git/repo/dags/scripts/dbt_run.sh"])
    );
    assert_eq!(
        main["args"],
        serde_json::json!([
            "--deps",
            "--seed",
            "--commands",
            "dbt run",
            "--generate-docs"
        ])
    );
    assert_eq!(main["image"], "eu.gcr.io/example-project/dbt");
    assert_eq!(
        main["envFrom"],
        serde_json::json!([{"configMapRef": {"name": "dbt-env"}}])
    );
    assert!(main["env"].as_array().is_some_and(|e| {
        e.contains(&serde_json::json!({"name": "RUN_DATE", "value": "2024-05-01"}))
    }));
    assert_eq!(
        pod["volumes"][0],
        serde_json::json!({"name": "gcsfs-creds", "secret": {"secretName": "gcsfs-creds"}})
    );
    assert_eq!(pod["initContainers"][0]["name"], "git-sync");
}
