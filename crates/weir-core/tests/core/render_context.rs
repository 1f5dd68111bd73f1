//! How a step's fields reach its template's `job` value.

use std::collections::BTreeMap;

use serde_json::json;
use weir_api::v1alpha1::{EnvFromRef, EnvFromType, JobStep, PipelineSpec, Step};
use weir_core::Manifest;
use weir_core::render::{ChildSpec, RenderFailure, Renderable, RunRef};
use weir_render::Renderer;

fn render(spec: &PipelineSpec) -> Result<Manifest, RenderFailure> {
    let renderer = Renderer::new();
    let templates = BTreeMap::new();
    let params = BTreeMap::new();
    let r = Renderable {
        renderer: &renderer,
        spec,
        run: RunRef {
            name: "r",
            uid: "u",
            namespace: "n",
            pipeline: "p",
            start_time: None,
            trigger: None,
        },
        params: &params,
        results: BTreeMap::new(),
        config_templates: &templates,
    };
    r.child(&ChildSpec {
        step: &spec.steps[0],
        index: None,
        item: None,
        attempt: 1,
    })
}

/// Regression: `jobArgs.envFrom` (the seed's KubernetesJobOperator style) was replaced by
/// `defaults.envFrom` instead of added to.
#[test]
fn env_from_in_job_args_is_kept_next_to_the_defaults_and_the_steps_own() {
    let mut spec = PipelineSpec::default();
    spec.defaults.env_from = vec![EnvFromRef {
        kind: EnvFromType::ConfigMapRef,
        name: "pipeline-env".into(),
        optional: false,
    }];
    let mut job = JobStep {
        image: Some("i".into()),
        ..Default::default()
    };
    job.job_args.insert(
        "envFrom".into(),
        json!([{"type": "configMapRef", "name": "dbt-env"}]),
    );
    job.env_from = vec![EnvFromRef {
        kind: EnvFromType::SecretRef,
        name: "creds".into(),
        optional: false,
    }];
    spec.steps.push(Step {
        name: "dbt".into(),
        job: Some(job),
        ..Default::default()
    });
    let Ok(Manifest::Job(job)) = render(&spec) else {
        panic!("a Job")
    };
    let container = &job.spec.unwrap().template.spec.unwrap().containers[0];
    let names: Vec<String> = container
        .env_from
        .iter()
        .flatten()
        .map(|e| {
            e.config_map_ref
                .as_ref()
                .map(|c| c.name.clone())
                .or(e.secret_ref.as_ref().map(|s| s.name.clone()))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(names, ["pipeline-env", "dbt-env", "creds"]);
}

/// Regression: a dbt step with `docsDestination` failed to render (`job.docsImage` was
/// undefined: the API had no field for it). Now dbt runs as an init container and the
/// docs image uploads.
#[test]
fn a_dbt_step_with_a_docs_destination_renders_the_upload() {
    let dbt = weir_api::v1alpha1::DbtRunSpec {
        image: "dbt:1".into(),
        commands: vec!["dbt run".into()],
        generate_docs: true,
        docs_destination: Some("gs://docs/dbt/index.html".into()),
        docs_image: Some("weir-data:1".into()),
        ..Default::default()
    };
    let mut spec = PipelineSpec::default();
    spec.steps.push(Step {
        name: "dbt".into(),
        dbt: Some(dbt),
        ..Default::default()
    });
    assert!(weir_core::validate::validate_pipeline(&spec, "spec").is_empty());
    let manifest = render(&spec);
    let Ok(Manifest::Job(job)) = manifest else {
        panic!("a Job: {manifest:?}")
    };
    let pod = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.containers[0].image.as_deref(), Some("weir-data:1"));
    let args = pod.containers[0].args.clone().unwrap_or_default();
    assert!(
        args.contains(&"gs://docs/dbt/index.html".to_string()),
        "{args:?}"
    );
    assert_eq!(
        pod.init_containers
            .unwrap_or_default()
            .iter()
            .filter(|c| c.image.as_deref() == Some("dbt:1"))
            .count(),
        1
    );

    spec.steps[0].dbt.as_mut().unwrap().docs_image = None;
    let problems = weir_core::validate::validate_pipeline(&spec, "spec");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "spec.steps[0].dbt.docsImage");
}
