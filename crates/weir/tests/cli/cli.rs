//! `weir check` and `weir render` on broken and odd input: the exact lines a user reads, and
//! exit code 1, never a panic.

use crate::support;

use support::{Out, fixtures, weir_in};

fn check(file: &str) -> Out {
    weir_in(&fixtures(), &["check", "-f", file], b"")
}

/// Asserts a failed check printed exactly `lines` on stderr and nothing on stdout.
#[track_caller]
fn fails_with(out: &Out, lines: &[&str]) {
    let got: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(got, lines, "stderr:\n{}", out.stderr);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
}

#[test]
fn a_cycle_is_named() {
    fails_with(
        &check("cycle.yaml"),
        &[
            "cycle.yaml:8: spec.steps[0].dependsOn: dependency cycle: extract -> transform -> load -> extract (each step depends on the one before it)",
        ],
    );
}

#[test]
fn an_unknown_dependency_points_at_its_entry_with_a_suggestion() {
    fails_with(
        &check("unknown-dependency.yaml"),
        &[
            "unknown-dependency.yaml:11: spec.steps[1].dependsOn[0]: step `validate` depends on `trnsfer`, which is not a step of this pipeline (did you mean `transfer`?)",
        ],
    );
}

#[test]
fn an_unknown_field_is_reported_on_its_line() {
    fails_with(
        &check("unknown-field.yaml"),
        &[
            "unknown-field.yaml:9: spec.stepps: unknown field `stepps` (the API server would drop it; did you mean `steps`?)",
        ],
    );
}

#[test]
fn a_job_step_without_an_image() {
    fails_with(
        &check("missing-image.yaml"),
        &[
            "missing-image.yaml:8: spec.steps[0].job.image: the built-in job template needs an image (job.image or jobArgs.image)",
        ],
    );
}

#[test]
fn a_bad_duration_is_reported_once() {
    fails_with(
        &check("bad-duration.yaml"),
        &[
            "bad-duration.yaml:8: spec.steps[0].timeout: invalid duration \"10 minutes\": expected digits and units, e.g. 90s, 10m, 1h30m, 500ms",
        ],
    );
}

#[test]
fn an_undefined_template_variable_names_template_line_column_and_name() {
    // Line 25 of the file is line 11 of the inline template.
    fails_with(
        &check("undefined-variable.yaml"),
        &[
            "undefined-variable.yaml:25: spec.steps[0].job.template.inline: template \"inline\" line 11 col 21: undefined value job.imagee",
        ],
    );
}

#[test]
fn a_yaml_syntax_error_has_line_and_column() {
    fails_with(
        &check("syntax-error.yaml"),
        &["syntax-error.yaml:8:12: invalid YAML: unclosed bracket '{'"],
    );
}

#[test]
fn empty_files_and_separators_only_are_not_resources() {
    for file in ["empty.yaml", "only-separators.yaml"] {
        fails_with(
            &check(file),
            &[&format!(
                "{file}:1: no resources in this file (it is empty or holds only empty documents)"
            )],
        );
    }
}

#[test]
fn binary_garbage_is_not_yaml() {
    fails_with(
        &check("garbage.bin"),
        &["garbage.bin:1:12: not a YAML file: invalid UTF-8 at byte 11"],
    );
}

#[test]
fn huge_numbers_are_problems_not_panics() {
    fails_with(
        &check("huge-numbers.yaml"),
        &[
            "huge-numbers.yaml:7: spec.concurrency.maxActiveRuns: 1e+300 is more than the maximum 4294967295",
            "huge-numbers.yaml:11: spec.steps[0].retries.limit: 1e+26 is more than the maximum 100",
        ],
    );
    let out = weir_in(&fixtures(), &["check", "-f", "-"], b"a: 1e400\n");
    fails_with(
        &out,
        &["-:1:4: invalid YAML: non-finite float `1e400` rejected by the configured policy"],
    );
}

#[test]
fn problems_of_several_files_come_in_file_order_and_good_files_stay_quiet() {
    let out = weir_in(
        &fixtures(),
        &[
            "check",
            "-f",
            "run-inline.yaml",
            "-f",
            "missing-image.yaml",
            "-f",
            "cycle.yaml",
        ],
        b"",
    );
    let files: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(files, ["missing-image.yaml", "cycle.yaml"]);
    assert_eq!(out.code, 1);
}

#[test]
fn unknown_kinds_and_bad_documents_in_one_stream() {
    let input = b"\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
---
- just a list
---
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: Not_A_Name}
spec:
  steps: [{name: a, job: {image: busybox, command: 5}}]
";
    let out = weir_in(&fixtures(), &["check", "-f", "-"], input);
    fails_with(
        &out,
        &[
            "-:2: kind: unknown kind Deployment (apps/v1): weir reads Pipeline, PipelineRun, SparkJob and DbtRun (weir.dev/v1alpha1), and ConfigMaps holding templates",
            "-:5: a resource must be a YAML mapping with apiVersion, kind, metadata and spec",
            "-:9: metadata.name: \"Not_A_Name\" is not a valid name: use only lowercase letters, digits, '-' and '.'",
            "-:11: spec.steps[0].job.command: invalid type: integer `5`, expected a sequence",
        ],
    );
}

#[test]
fn a_run_is_checked_against_its_pipeline() {
    let input = b"\
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: p}
spec:
  params: [{name: day, required: true}]
  steps: [{name: a, job: {image: busybox}}]
---
apiVersion: weir.dev/v1alpha1
kind: PipelineRun
metadata: {generateName: p-}
spec:
  pipelineRef: p
  params: {dya: x}
";
    let out = weir_in(&fixtures(), &["check", "-f", "-"], input);
    fails_with(
        &out,
        &[
            "-:13: spec.params.dya: unknown parameter (declared: day)",
            "-:13: spec.params.day: required parameter has no value and no default",
        ],
    );
}

#[test]
fn a_valid_file_prints_a_summary() {
    let out = check("run-inline.yaml");
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "1 resource OK\n", "")
    );
}

#[test]
fn a_missing_file_is_reported() {
    fails_with(
        &check("no-such-file.yaml"),
        &["no-such-file.yaml: cannot read: No such file or directory (os error 2)"],
    );
}

#[test]
fn render_names_children_after_the_run_and_applies_params() {
    let out = weir_in(
        &fixtures(),
        &["render", "-f", "run-inline.yaml", "-p", "day=2024-06-01"],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let job: serde_json::Value =
        serde_saphyr::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(job["metadata"]["name"], "once-report-1");
    assert_eq!(job["metadata"]["namespace"], "sandbox");
    assert_eq!(job["metadata"]["labels"]["weir.dev/pipeline"], "inline");
    assert_eq!(job["metadata"]["ownerReferences"][0]["name"], "once");
    let args = &job["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args, &serde_json::json!(["report", "--day", "2024-06-01"]));

    let out = weir_in(
        &fixtures(),
        &["render", "-f", "run-inline.yaml", "--run-name", "r1"],
        b"",
    );
    assert!(out.stdout.contains("name: r1-report-1"), "{}", out.stdout);
}

#[test]
fn render_refuses_missing_params_unknown_steps_and_broken_pipelines() {
    let root = support::root();
    let out = weir_in(
        &root,
        &["render", "-f", "examples/batch-pipeline.yaml"],
        b"",
    );
    fails_with(
        &out,
        &[
            "examples/batch-pipeline.yaml:29: spec.params[0]: required parameter has no value and no default (set it with -p uri=VALUE)",
        ],
    );
    let out = weir_in(
        &root,
        &["render", "-f", "examples/hello.yaml", "--step", "gret"],
        b"",
    );
    fails_with(
        &out,
        &["error: --step gret: no such step (did you mean `greet`?); steps: greet, count, goodbye"],
    );
    let out = weir_in(&fixtures(), &["render", "-f", "cycle.yaml"], b"");
    fails_with(
        &out,
        &[
            "cycle.yaml:8: spec.steps[0].dependsOn: dependency cycle: extract -> transform -> load -> extract (each step depends on the one before it)",
        ],
    );
    let out = weir_in(
        &root,
        &["render", "-f", "examples/hello.yaml", "-p", "greeting"],
        b"",
    );
    fails_with(&out, &["error: -p greeting: expected KEY=VALUE"]);
    let out = weir_in(
        &root,
        &["render", "-f", "examples/full-refresh-pipeline.yaml"],
        b"",
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.ends_with(
        "step train: ConfigMap ml-templates has no key train-job.yaml.j2 (render reads ConfigMaps from the files given: add the one holding it with -f)\n"
    ), "{}", out.stderr);
}

#[test]
fn render_with_a_result_fans_out_and_rejects_bad_results() {
    let root = support::root();
    let base = [
        "render",
        "-f",
        "examples/batch-pipeline.yaml",
        "-p",
        "uri=s3://landing/raw/a.parquet",
        "--step",
        "spark-batch",
    ];
    let mut args = base.to_vec();
    args.extend(["--result", r#"schema-groups={"groups": [["a"]]}"#]);
    let out = weir_in(&root, &args, b"");
    fails_with(
        &out,
        &[
            "error: examples/batch-pipeline.yaml, Pipeline/batch, step spark-batch: forEach: result of step schema-groups: the result is an object, not an array",
        ],
    );
    let mut args = base.to_vec();
    // Items in both of schema-groups' forms: files inline, or a manifest object.
    let items = r#"schema-groups=[
        {"group": 0, "schema": "a", "files": ["s3://b/a.parquet"], "count": 1},
        {"group": 1, "schema": "b", "manifest": "s3://b/m/group-1.json", "count": 9},
        {"group": 2, "schema": "c", "files": ["s3://b/c.parquet", "s3://b/d.parquet"], "count": 2}]"#;
    args.extend(["--result", items]);
    let out = weir_in(&root, &args, b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.matches("kind: SparkApplication").count(), 3);
    assert!(out.stdout.contains("name: batch-render-spark-batch-2-1"));
    for args in [
        "  - --files\n  - s3://b/a.parquet\n  - --schema\n  - a\n",
        "  - --manifest\n  - s3://b/m/group-1.json\n  - --schema\n  - b\n",
        "  - --files\n  - s3://b/c.parquet,s3://b/d.parquet\n  - --schema\n  - c\n",
    ] {
        assert!(out.stdout.contains(args), "{args}\n{}", out.stdout);
    }
}

#[test]
fn render_a_run_of_a_pipeline_from_another_file() {
    let root = support::root();
    let run = "crates/weir/tests/fixtures/run-ref.yaml";
    let out = weir_in(&root, &["render", "-f", run, "--step", "greet"], b"");
    fails_with(
        &out,
        &[&format!(
            "error: {run}, PipelineRun/hello-*: refers to Pipeline hello, which is not among the files (add it with -f)"
        )],
    );
    let out = weir_in(
        &root,
        &[
            "render",
            "-f",
            run,
            "-f",
            "examples/hello.yaml",
            "--step",
            "greet",
        ],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_str_multiple(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    // The run's child, then the Pipeline rendered on its own.
    let names: Vec<&str> = docs
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["hello-render-greet-1", "hello-render-greet-1"]);
    let args =
        |d: &serde_json::Value| d["spec"]["template"]["spec"]["containers"][0]["args"][0].clone();
    assert_eq!(args(&docs[0]), "echo 'hi from hello-render'");
    assert_eq!(args(&docs[1]), "echo 'hello from hello-render'");
}
