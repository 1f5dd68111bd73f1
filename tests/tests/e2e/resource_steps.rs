//! `resource:` steps on the real cluster: a Deployment from a ConfigMap template, tracked
//! through its conditions (made Available by the real Deployment controller and kwok), one
//! failed by a failure rule (ProgressDeadlineExceeded), and children the API server will
//! never take — a cluster-scoped kind, a kind it does not serve, an invalid manifest —
//! failing their step at once with reason CreateRefused instead of a reconcile retried
//! forever.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::ResourceExt;
use kube::api::PostParams;
use weir_api::v1alpha1::{PipelineRun, RunPhase};
use weir_e2e::weir::{Controller, create_pipeline, finished, start_run, steps};
use weir_e2e::{TestNamespace, wait};

const MINUTE: Duration = Duration::from_secs(60);

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: replaced}
spec:
  replicas: 1
  progressDeadlineSeconds: {{ job.deadline | default(600) }}
  selector: {matchLabels: {app: "{{ run.name }}"}}
  template:
    metadata:
      labels:
        app: "{{ run.name }}"
        weir.dev/test-image-pull-backoff: "{{ job.broken | default(false) | lower }}"
    spec:
      containers: [{name: serve, image: "{{ job.image }}"}]
"#;

#[tokio::test]
async fn a_config_map_deployment_step_succeeds_when_available_or_fails_by_its_rule() {
    let ns = TestNamespace::create("resource-deploy").await;
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "templates"},
        "data": {"deployment.yaml": DEPLOYMENT}
    }))
    .unwrap();
    ns.api::<ConfigMap>()
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: serve}
spec:
  params: [{name: broken, default: "false"}]
  steps:
  - name: deploy
    timeout: 2m
    resource:
      template: {configMapKeyRef: {name: templates, key: deployment.yaml}}
      jobArgs: {image: "model-server:1", broken: "{{ params.broken }}", deadline: 2}
      successWhen: [{path: "status.conditions[type=Available].status", values: ["True"]}]
      failureWhen: [{path: "status.conditions[type=Progressing].reason", values: [ProgressDeadlineExceeded]}]
"#,
    )
    .await;
    start_run(&ns, "serve", "ok", &[]).await;
    start_run(&ns, "serve", "stuck", &[("broken", "true")]).await;
    let ok = finished(&ns, "ok", MINUTE).await;
    let status = ok.status.clone().unwrap();
    assert_eq!(status.phase, RunPhase::Succeeded, "{status:?}");
    let deploy = &steps(&ok)["deploy"];
    assert_eq!(
        deploy.message.as_deref(),
        Some("successWhen status.conditions[type=Available].status=True")
    );
    let child = ns.api::<Deployment>().get("ok-deploy-1").await.unwrap();
    assert_eq!(child.owner_references()[0].kind, "PipelineRun");

    let stuck = finished(&ns, "stuck", MINUTE).await;
    let status = stuck.status.clone().unwrap();
    assert_eq!(status.phase, RunPhase::Failed);
    let deploy = &steps(&stuck)["deploy"];
    assert_eq!(
        deploy.message.as_deref(),
        Some("failureWhen status.conditions[type=Progressing].reason=ProgressDeadlineExceeded")
    );
}

#[tokio::test]
async fn children_the_api_server_refuses_fail_their_step_with_why() {
    let ns = TestNamespace::create("resource-refused").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: refused}
spec:
  params: [{name: what}]
  steps:
  - name: make
    resource:
      template:
        inline: |
          {% if params.what == "namespace" %}
          apiVersion: v1
          kind: Namespace
          metadata: {name: replaced}
          {% elif params.what == "unserved" %}
          apiVersion: example.invalid/v1
          kind: Gadget
          metadata: {name: replaced}
          {% else %}
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: replaced}
          spec: {template: {spec: {containers: []}}}
          {% endif %}
      successWhen: [{path: status.phase, values: [Active]}]
"#,
    )
    .await;
    let cases = [
        ("namespace", "is cluster-scoped"),
        ("unserved", "is not served by the API server"),
        ("invalid", "is invalid"),
    ];
    for (what, _) in cases {
        start_run(&ns, "refused", what, &[("what", what)]).await;
    }
    for (what, says) in cases {
        let run = finished(&ns, what, MINUTE).await;
        assert_eq!(run.status.as_ref().unwrap().phase, RunPhase::Failed);
        let make = &steps(&run)["make"];
        assert_eq!(
            make.reason.as_ref().map(|r| r.as_str()),
            Some("CreateRefused")
        );
        let message = make.message.clone().unwrap_or_default();
        assert!(message.contains(says), "{what}: {message}");
    }
    let namespaces = kube::Api::<Namespace>::all(ns.client());
    assert!(
        namespaces
            .get_opt("namespace-make-1")
            .await
            .unwrap()
            .is_none()
    );
    // The runs stay failed: nothing is retried behind their back.
    wait::holds_for(
        &ns.api::<PipelineRun>(),
        "invalid",
        Duration::from_secs(2),
        "the run to stay failed",
        |r: &PipelineRun| {
            r.status
                .as_ref()
                .is_some_and(|s| s.phase == RunPhase::Failed)
        },
    )
    .await;
}

/// examples/ml-train-serve.yaml as it is, but for a kwok knob on the training pod (its
/// termination message, the model's URI): train → serve (the Deployment Available) →
/// expose, and the served Deployment runs the trained model.
#[tokio::test]
async fn the_ml_train_serve_example_runs_to_the_end() {
    let ns = TestNamespace::create("ml-train-serve").await;
    let _ctl = Controller::start(&ns).await;
    let sa: k8s_openapi::api::core::v1::ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "ml-train"}})).unwrap();
    ns.api::<k8s_openapi::api::core::v1::ServiceAccount>()
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ml-train-serve.yaml");
    let mut pipeline: weir_api::v1alpha1::Pipeline =
        serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    pipeline.metadata.namespace = None;
    let train = pipeline.spec.steps[0].job.as_mut().unwrap();
    train.job_args.insert(
        "annotations".into(),
        serde_json::json!({"weir.dev/test-termination-message": r#"{"model_uri": "models:/churn/7"}"#}),
    );
    ns.api::<weir_api::v1alpha1::Pipeline>()
        .create(&PostParams::default(), &pipeline)
        .await
        .unwrap();
    start_run(
        &ns,
        "ml-train-serve",
        "m1",
        &[("dataset", "gs://lake/churn/")],
    )
    .await;
    let run = finished(&ns, "m1", MINUTE).await;
    assert_eq!(
        run.status.as_ref().unwrap().phase,
        RunPhase::Succeeded,
        "{:?}",
        run.status
    );
    let served = ns.api::<Deployment>().get("m1-serve-1").await.unwrap();
    let container = &served.spec.unwrap().template.spec.unwrap().containers[0];
    assert_eq!(container.args.as_ref().unwrap()[1], "models:/churn/7");
}
