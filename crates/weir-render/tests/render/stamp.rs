//! Fields weir owns win over whatever a template wrote.

use crate::common;

use serde_json::json;
use weir_render::{Builtin, Renderer, TemplateSource, stamp_job, stamp_manifest};

/// A user template that tries to set everything weir owns.
const GREEDY: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: my-own-name
  generateName: sneaky-
  namespace: kube-system
  resourceVersion: "42"
  labels:
    weir.dev/run: someone-else
    weir.dev/step: other
    team: analytics
  annotations:
    weir.dev/template: forged
    note: kept
  ownerReferences:
    - {apiVersion: v1, kind: ConfigMap, name: hijack, uid: "1"}
spec:
  template:
    metadata:
      labels:
        weir.dev/attempt: "99"
        app: dbt
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: {{ job.image | tojson }}
"#;

fn greedy_source() -> TemplateSource {
    TemplateSource::config_map("templates", "greedy.yaml", GREEDY)
}

#[test]
fn stamping_wins_over_template_labels_names_and_owners() {
    let renderer = Renderer::new();
    let identity = common::identity();
    let mut job = renderer
        .render_job(&greedy_source(), &common::dbt_task())
        .unwrap();
    stamp_job(&mut job, &identity);

    let meta = &job.metadata;
    assert_eq!(meta.name.as_deref(), Some("batch-20240301-x7k2p-dbt-1"));
    assert_eq!(meta.generate_name, None);
    assert_eq!(meta.namespace.as_deref(), Some("data"));
    assert_eq!(
        meta.resource_version, None,
        "would make server-side apply conditional"
    );
    let labels = meta.labels.as_ref().unwrap();
    assert_eq!(labels["weir.dev/run"], "batch-20240301-x7k2p");
    assert_eq!(labels["weir.dev/step"], "dbt");
    assert_eq!(labels["weir.dev/pipeline"], "batch");
    assert_eq!(labels["weir.dev/attempt"], "1");
    assert_eq!(
        labels["team"], "analytics",
        "the template's own labels stay"
    );
    let annotations = meta.annotations.as_ref().unwrap();
    assert_eq!(annotations["weir.dev/template"], "job");
    assert_eq!(annotations["note"], "kept");
    assert_eq!(
        meta.owner_references.as_ref().unwrap(),
        &vec![identity.owner.clone()]
    );

    let pod_labels = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert_eq!(pod_labels["weir.dev/attempt"], "1");
    assert_eq!(pod_labels["weir.dev/run"], "batch-20240301-x7k2p");
    assert_eq!(pod_labels["app"], "dbt");
}

#[test]
fn stamping_a_builtin_job_adds_pod_labels() {
    let mut job = Renderer::new()
        .render_job(&TemplateSource::Builtin(Builtin::Job), &common::dbt_task())
        .unwrap();
    stamp_job(&mut job, &common::identity());
    let pod_meta = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap();
    assert_eq!(pod_meta.labels.as_ref().unwrap()["weir.dev/step"], "dbt");
    assert_eq!(
        pod_meta.annotations.as_ref().unwrap()["kubectl.kubernetes.io/default-container"],
        "main"
    );
    assert!(
        pod_meta.owner_references.is_none(),
        "pods are owned by the Job, not the run"
    );
}

#[test]
fn stamping_json_manifests() {
    let renderer = Renderer::new();
    let identity = common::identity();
    let mut manifest = renderer
        .render_manifest(&greedy_source(), &common::dbt_task())
        .unwrap();
    stamp_manifest(&mut manifest, &identity).unwrap();
    let meta = &manifest["metadata"];
    assert_eq!(meta["name"], "batch-20240301-x7k2p-dbt-1");
    assert_eq!(meta["namespace"], "data");
    assert!(meta.get("generateName").is_none() && meta.get("resourceVersion").is_none());
    assert_eq!(meta["labels"]["weir.dev/run"], "batch-20240301-x7k2p");
    assert_eq!(meta["labels"]["team"], "analytics");
    assert_eq!(meta["annotations"]["weir.dev/template"], "job");
    assert_eq!(
        meta["ownerReferences"],
        json!([{
            "apiVersion": "weir.dev/v1alpha1", "kind": "PipelineRun",
            "name": "batch-20240301-x7k2p", "uid": "7d1e2c4a-5b6f-4c3d-9e8f-0a1b2c3d4e5f",
            "controller": true, "blockOwnerDeletion": true
        }])
    );
}

#[test]
fn stamping_repairs_broken_metadata() {
    let identity = common::identity();
    let mut manifest = json!({"apiVersion": "v1", "kind": "X", "metadata": {"labels": "oops"}});
    stamp_manifest(&mut manifest, &identity).unwrap();
    assert_eq!(manifest["metadata"]["labels"]["weir.dev/step"], "dbt");
    let mut manifest = json!({"apiVersion": "v1", "kind": "X", "metadata": 7});
    stamp_manifest(&mut manifest, &identity).unwrap();
    assert_eq!(manifest["metadata"]["name"], "batch-20240301-x7k2p-dbt-1");
    let mut manifest = json!({"apiVersion": "v1", "kind": "X"});
    stamp_manifest(&mut manifest, &identity).unwrap();
    assert_eq!(manifest["metadata"]["namespace"], "data");
    assert!(stamp_manifest(&mut json!([1]), &identity).is_err());
}
