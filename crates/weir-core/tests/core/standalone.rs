//! Rendering outside a reconcile (weir-core's `standalone` and `check`): forEach items, a
//! step's first attempts, standalone SparkJobs and DbtRuns, and the check of a spec.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use weir_api::reason::WeirReason;
use weir_api::v1alpha1::{ForEach, JobStep, PipelineSpec, Step, TemplateRef};
use weir_core::Manifest;
use weir_core::check::{CheckInputs, PREVIEW_UID, check_pipeline, shared_renderer};
use weir_core::standalone::{
    ItemsError, Standalone, StandaloneInput, for_each_items, render_standalone,
};

fn job_step(name: &str, args: &[&str]) -> Step {
    Step {
        name: name.into(),
        job: Some(JobStep {
            image: Some("busybox".into()),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn items_come_from_the_literal_list_or_the_named_result() {
    let mut step = job_step("b", &[]);
    assert_eq!(for_each_items(&step, &BTreeMap::new()), Ok(None));
    step.for_each = Some(ForEach {
        from_step: Some("a".into()),
        ..Default::default()
    });
    assert_eq!(
        for_each_items(&step, &BTreeMap::new()),
        Err(ItemsError::NeedsResult { from: "a".into() })
    );
    let results = BTreeMap::from([("a".to_string(), json!("[1, 2]"))]);
    assert_eq!(
        for_each_items(&step, &results),
        Ok(Some(vec![json!(1), json!(2)]))
    );
    let not_a_list = BTreeMap::from([("a".to_string(), json!("{}"))]);
    assert!(matches!(
        for_each_items(&step, &not_a_list),
        Err(ItemsError::Invalid(m)) if m.starts_with("result of step a:")
    ));
}

/// A DbtRun's spec as the CLI and a controller pass it: the typed spec, as JSON.
fn dbt_spec() -> Value {
    let spec: weir_api::v1alpha1::DbtRunSpec = serde_json::from_value(json!({
        "image": "dbt:1",
        "project": {"git": {"repo": "https://example.com/dbt.git"}},
    }))
    .unwrap();
    serde_json::to_value(spec).unwrap()
}

#[test]
fn a_standalone_dbt_run_is_a_job_owned_by_it() {
    let input = StandaloneInput {
        kind: Standalone::DbtRun,
        name: "nightly",
        attempt: 2,
        namespace: "ns",
        uid: "uid-1",
        start_time: None,
        spec: dbt_spec(),
        template: None,
    };
    let m = render_standalone(shared_renderer(), &BTreeMap::new(), &input).unwrap();
    let Manifest::Job(job) = m else {
        panic!("a DbtRun renders a Job")
    };
    let owner = &job.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("DbtRun", "uid-1")
    );
    assert_eq!(
        job.metadata.name.as_deref(),
        Some("nightly-2"),
        "one name per attempt"
    );
    let labels = job.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("weir.dev/attempt").map(String::as_str),
        Some("2")
    );
}

#[test]
fn a_standalone_template_from_a_missing_config_map_key_is_not_found() {
    let t = TemplateRef {
        config_map_key_ref: Some(weir_api::v1alpha1::ConfigMapKeyRef {
            name: "tpl".into(),
            key: "spark.yaml".into(),
        }),
        ..Default::default()
    };
    let input = StandaloneInput {
        kind: Standalone::SparkJob,
        name: "s",
        attempt: 1,
        namespace: "ns",
        uid: PREVIEW_UID,
        start_time: None,
        spec: Value::Object(Default::default()),
        template: Some(&t),
    };
    let err = render_standalone(shared_renderer(), &BTreeMap::new(), &input).unwrap_err();
    assert_eq!(err.reason(), WeirReason::TemplateNotFound);
    assert_eq!(err.to_string(), "ConfigMap tpl has no key spark.yaml");
}

#[test]
fn the_check_renders_templates_and_names_an_undeclared_parameter() {
    let spec = PipelineSpec {
        steps: vec![job_step("a", &["{{ params.day }}"])],
        ..Default::default()
    };
    let none = BTreeMap::new();
    let inputs = CheckInputs {
        renderer: shared_renderer(),
        config_templates: &none,
    };
    let checked = check_pipeline("p", "ns", &spec, &inputs);
    assert!(!checked.is_valid());
    let found = &checked.problems[0];
    assert_eq!(
        found.problem.path, "spec.steps[0].job.args[0]",
        "the templated field itself"
    );
    let failure = &found.template.as_ref().unwrap().failure;
    assert_eq!(
        failure
            .template_error()
            .and_then(|t| t.undefined.as_deref()),
        Some("params.day")
    );
}
