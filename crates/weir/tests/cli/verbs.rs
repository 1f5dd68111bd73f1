//! The offline verbs called as functions, as the binary calls them: `crd`, `check`, `render`.

use std::path::PathBuf;

use weir_cli::check::{Source, check_sources};
use weir_cli::crd::crds_yaml;
use weir_cli::render::{RenderArgs, render_files};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn crd_prints_every_crd_once() {
    let text = crds_yaml().unwrap();
    assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 4);
    assert!(text.starts_with("---\n"));
}

#[test]
fn check_finds_an_undeclared_parameter_and_passes_a_clean_pipeline() {
    let pipeline = |args: &str| {
        Source {
        name: "p.yaml".into(),
        bytes: format!(
            "apiVersion: weir.dev/v1alpha1\nkind: Pipeline\nmetadata: {{name: p}}\nspec:\n  steps:\n  - name: a\n    job: {{image: busybox, args: [{args}]}}\n"
        )
        .into_bytes(),
    }
    };
    let bad = check_sources(&[pipeline("'{{ params.day }}'")]);
    assert_eq!(bad.findings.len(), 1, "{:?}", bad.findings);
    assert!(
        bad.findings[0]
            .message
            .contains("undefined value params.day")
    );
    let good = check_sources(&[pipeline("hello")]);
    assert!(good.findings.is_empty(), "{:?}", good.findings);
    assert_eq!(good.resources, 1);
}

#[test]
fn render_gives_yaml_for_an_example_and_an_error_for_a_missing_file() {
    let args = |file: PathBuf| RenderArgs {
        files: vec![file],
        params: Vec::new(),
        step: None,
        run_name: None,
        results: Vec::new(),
    };
    let out = render_files(&args(examples().join("dbt-run.yaml"))).unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(out.yaml.contains("kind: Job"), "{}", out.yaml);
    assert!(render_files(&args(examples().join("no-such-file.yaml"))).is_err());
}
