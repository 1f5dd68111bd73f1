//! Children of kinds weir keeps no cache of (a `resource:` step's kind, here a CRD written
//! for the test): their kind is recorded in the step status when planned, and a change of
//! their status wakes the run at once through a watch of that kind (issue 9, items 5–6).

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use weir_api::v1alpha1::{ChildKindRef, PipelineRun, RunPhase};
use weir_e2e::weir::{Controller, create_pipeline, start_run, steps};
use weir_e2e::{TestNamespace, wait};

const MINUTE: Duration = Duration::from_secs(60);

async fn install_widget_crd(client: &kube::Client) {
    let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.test.weir.dev"},
        "spec": {
            "group": "test.weir.dev",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object", "x-kubernetes-preserve-unknown-fields": true
                }}
            }]
        }
    }))
    .unwrap_or_else(|e| panic!("widget CRD: {e}"));
    weir_e2e::weir::apply_crd(client, &crd).await;
}

#[tokio::test]
async fn a_resource_steps_child_wakes_its_run_when_its_status_changes() {
    let ns = TestNamespace::create("kinds").await;
    install_widget_crd(&ns.client()).await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: widgets}
spec:
  steps:
  - name: make
    resource:
      template:
        inline: |
          apiVersion: test.weir.dev/v1
          kind: Widget
          metadata: {name: replaced}
          spec: {size: 1}
      successWhen: [{path: status.phase, values: [Done]}]
      failureWhen: [{path: status.phase, values: [Broken]}]
"#,
    )
    .await;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("test.weir.dev", "v1", "Widget"));
    let widgets: Api<DynamicObject> = Api::namespaced_with(ns.client(), ns.name(), &ar);
    let runs = ns.api::<PipelineRun>();
    for (run, phase, want) in [
        ("w1", "Done", RunPhase::Succeeded),
        ("w2", "Broken", RunPhase::Failed),
    ] {
        start_run(&ns, "widgets", run, &[]).await;
        let child = format!("{run}-make-1");
        wait::until_exists(&widgets, &child, MINUTE, "the step's Widget").await;
        // The run records the child's kind once the step is running.
        let recorded = wait::until(
            &runs,
            run,
            MINUTE,
            "the step's child kind",
            |r: &PipelineRun| steps(r).get("make").is_some_and(|s| s.child_kind.is_some()),
        )
        .await;
        assert_eq!(
            steps(&recorded)["make"].child_kind,
            Some(ChildKindRef {
                api_version: "test.weir.dev/v1".into(),
                kind: "Widget".into()
            })
        );
        let patched = Instant::now();
        widgets
            .patch_status(
                &child,
                &PatchParams::apply("weir-e2e").force(),
                &Patch::Apply(serde_json::json!({
                    "apiVersion": "test.weir.dev/v1", "kind": "Widget",
                    "status": {"phase": phase}
                })),
            )
            .await
            .unwrap_or_else(|e| panic!("patch widget status: {e}"));
        // Nothing time-based would look at the run again: only the watch can wake it.
        let done = wait::until(
            &runs,
            run,
            Duration::from_secs(20),
            "the run to end after its Widget did",
            |r: &PipelineRun| r.status.as_ref().is_some_and(|s| s.phase.is_finished()),
        )
        .await;
        assert_eq!(
            done.status.as_ref().map(|s| s.phase),
            Some(want),
            "{run}: {:?}",
            done.status
        );
        println!(
            "{run}: ended {:?} after the Widget's status change",
            patched.elapsed()
        );
    }
}
