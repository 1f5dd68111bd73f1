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
