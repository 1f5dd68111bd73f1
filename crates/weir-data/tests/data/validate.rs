//! `weir-data validate` as a step runs it: exit codes (0 at or above the threshold, 3 below
//! with `reason: ValidationFailed`, 4 for a suite that cannot run, 1 otherwise), one line on
//! stderr naming the expectation and field, the bounded termination message and the report.
//! The exact counts against independently computed truth are in `validate_truth`.

use std::path::Path;

use serde_json::Value;

use crate::cli::{one_line, weir_data};

/// Ten rows with known faults: `amount` has one null and one negative value, `currency` one
/// value outside the set, `id` one duplicate pair.
const CSV: &str = "id,amount,currency\n1,10.5,EUR\n2,,USD\n3,-1,EUR\n4,7,GBP\n5,3,XXX\n\
                   6,1,EUR\n6,2,EUR\n8,9,USD\n9,4,EUR\n10,5,EUR\n";

fn data(dir: &Path) -> String {
    std::fs::write(dir.join("data.csv"), CSV).unwrap();
    format!("file://{}/data.csv", dir.display())
}

fn suite(dir: &Path, text: &str) -> String {
    let path = dir.join("suite.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const TWO: &str = "name: two
expectations:
  - type: expect_column_values_to_not_be_null
    kwargs: {column: amount}
  - type: expect_column_values_to_be_between
    kwargs: {column: amount, min_value: 0, max_value: 100, mostly: 0.8}
";

#[test]
fn below_the_threshold_exits_3_with_the_reason_weir_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (data, suite) = (data(dir.path()), suite(dir.path(), TWO));
    let log = dir.path().join("termination-log");

    let out = weir_data(&["validate", "--suite", &suite, "--data", &data], &log);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let result: Value = serde_json::from_str(&one_line(&out.stdout)).unwrap();
    assert_eq!(result["reason"], "ValidationFailed");
    assert_eq!(result["success"], false);
    assert_eq!(result["success_fraction"], 0.5);
    assert_eq!(result["statistics"]["unsuccessful_expectations"], 1);
    let not_null = &result["results"][0];
    assert_eq!(not_null["success"], false);
    assert_eq!(
        not_null["expectation_config"]["type"],
        "expect_column_values_to_not_be_null"
    );
    assert_eq!(not_null["result"]["unexpected_count"], 1);
    assert_eq!(not_null["result"]["unexpected_percent"], 10.0);
    let between = &result["results"][1]["result"];
    assert_eq!(between["unexpected_count"], 1);
    assert_eq!(between["missing_count"], 1);
    assert_eq!(
        between["partial_unexpected_list"],
        serde_json::json!([-1.0])
    );
    let message: Value = serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
    assert_eq!(message["reason"], "ValidationFailed");
    assert_eq!(message["results"][0]["success"], false, "failures first");
    assert!(one_line(&out.stderr).contains("1 of 2 expectations succeeded"));

    let out = weir_data(
        &[
            "validate",
            "--suite",
            &suite,
            "--data",
            &data,
            "--threshold",
            "0.5",
        ],
        &log,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let result: Value = serde_json::from_str(&one_line(&out.stdout)).unwrap();
    assert_eq!(result["threshold_met"], true);
    assert!(result.get("reason").is_none());
}

/// Each bad suite: its text, and what the one line must name.
const BAD: &[(&str, &str, &[&str])] = &[
    (
        "unknown column",
        "expectations:\n  - {type: expect_column_values_to_be_unique, kwargs: {column: amt}}\n",
        &[
            "expectation 1 (expect_column_values_to_be_unique): kwargs.column",
            "\"amt\"",
        ],
    ),
    (
        "wrong parameter type",
        "expectations:\n  - {type: expect_column_values_to_not_be_null, kwargs: {column: id}}\n  \
         - {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: [1]}}\n",
        &[
            "expectation 2 (expect_column_values_to_be_between): kwargs.min_value",
            "expected a number",
        ],
    ),
    (
        "check of the wrong column type",
        "expectations:\n  - {type: expect_column_values_to_match_regex, kwargs: {column: amount, regex: x}}\n",
        &[
            "expectation 1 (expect_column_values_to_match_regex): kwargs.column",
            "not a string",
        ],
    ),
    (
        "bad YAML",
        "expectations:\n  - {type: expect_column_to_exist, kwargs: {column: id}\n",
        &["suite.yaml: not valid YAML"],
    ),
    (
        "unset variable",
        "expectations:\n  - {type: expect_column_to_exist, kwargs: {column: ${WEIR_TEST_UNSET_COLUMN}}}\n",
        &["line 2", "WEIR_TEST_UNSET_COLUMN is not set"],
    ),
    (
        "unknown expectation",
        "expectations:\n  - {type: expect_column_values_to_be_purple, kwargs: {column: id}}\n",
        &[
            "expectation 1 (expect_column_values_to_be_purple): type",
            "unknown expectation type",
        ],
    ),
    (
        "misspelt parameter",
        "expectations:\n  - {type: expect_column_values_to_be_between, kwargs: {column: amount, min_vale: 0, max_value: 1}}\n",
        &["kwargs.min_vale", "unknown parameter"],
    ),
    (
        "regex that does not compile",
        "expectations:\n  - {type: expect_column_values_to_match_regex, kwargs: {column: currency, regex: '(?<=a)b'}}\n",
        &["kwargs.regex", "does not compile"],
    ),
];

#[test]
fn a_bad_suite_exits_4_with_one_line_naming_the_expectation_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = data(dir.path());
    let log = dir.path().join("termination-log");
    for (case, text, needles) in BAD {
        let suite = suite(dir.path(), text);
        let out = weir_data(&["validate", "--suite", &suite, "--data", &data], &log);
        assert_eq!(out.status.code(), Some(4), "{case}: {out:?}");
        assert!(out.stdout.is_empty(), "{case}");
        let line = one_line(&out.stderr);
        assert!(
            line.starts_with("weir-data: invalid suite: "),
            "{case}: {line}"
        );
        for needle in *needles {
            assert!(line.contains(needle), "{case}: {line:?} lacks {needle:?}");
        }
        let message: Value = serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
        assert_eq!(message["reason"], "InvalidSuite", "{case}");
    }
}

#[test]
fn unreadable_data_exits_1_naming_the_uri() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite(dir.path(), TWO);
    let log = dir.path().join("termination-log");
    let missing = format!("file://{}/nothing-here/", dir.path().display());
    let out = weir_data(&["validate", "--suite", &suite, "--data", &missing], &log);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let line = one_line(&out.stderr);
    assert!(line.contains(&missing), "{line}");
}

#[test]
fn the_termination_message_stays_within_4_kib() {
    let dir = tempfile::tempdir().unwrap();
    let data = data(dir.path());
    let many: String = (0..300)
        .map(|i| {
            format!(
                "  - {{type: expect_column_values_to_be_in_set, kwargs: {{column: currency, \
                 value_set: [EUR, USD], meta: {{n: {i}}}}}}}\n"
            )
        })
        .collect();
    let suite = suite(dir.path(), &format!("expectations:\n{many}"));
    let log = dir.path().join("termination-log");
    let out = weir_data(&["validate", "--suite", &suite, "--data", &data], &log);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let message = std::fs::read_to_string(&log).unwrap();
    assert!(message.len() <= 4096, "{} bytes", message.len());
    let message: Value = serde_json::from_str(&message).unwrap();
    assert_eq!(message["truncated"], true);
    assert_eq!(message["statistics"]["evaluated_expectations"], 300);
    let full: Value = serde_json::from_str(&one_line(&out.stdout)).unwrap();
    assert_eq!(full["results"].as_array().unwrap().len(), 300);
}

#[test]
fn the_report_is_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let (data, suite) = (data(dir.path()), suite(dir.path(), TWO));
    let log = dir.path().join("termination-log");
    let report = format!("file://{}/docs/", dir.path().display());
    let out = weir_data(
        &[
            "validate", "--suite", &suite, "--data", &data, "--report", &report,
        ],
        &log,
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let result: Value = serde_json::from_str(&one_line(&out.stdout)).unwrap();
    assert_eq!(result["report"], format!("{report}index.html"));
    let page = std::fs::read_to_string(dir.path().join("docs/index.html")).unwrap();
    assert_eq!(page.matches("<tr class=\"fail\">").count(), 1);
    assert_eq!(page.matches("<tr class=\"pass\">").count(), 1);
    // Nothing is fetched: no script, no stylesheet link, no image.
    for needle in ["<script", "<link", "<img", "http://", "https://"] {
        assert!(!page.contains(needle), "{needle}");
    }
}

/// The suite the batch pipeline mounts (examples/expectations.yaml) is a suite that runs:
/// every expectation known, every parameter right, the references resolved.
#[test]
fn the_example_suite_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/expectations.yaml");
    let config_map: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = config_map["data"]["batch.yaml"].as_str().unwrap();
    let suite = weir_data::validate::suite::parse(text, "batch.yaml", &|_| None).unwrap();
    assert_eq!(suite.expectations.len(), 10);
    for (i, raw) in suite.expectations.iter().enumerate() {
        weir_data::validate::expect::parse(i, raw).unwrap();
    }
    let between = &suite.expectations[4].kwargs;
    assert_eq!(
        between["max_value"], 1_000_000,
        "a reference to a variable's default"
    );
}
