//! Plays the API part of Argo's executor (the `wait` container of every Argo pod), which
//! kwok does not run: when a pod runs, create its WorkflowTaskResult (named after the node,
//! owned by the Workflow, label `workflows.argoproj.io/report-outputs-completed: "false"`);
//! shortly before the pod completes, patch the outputs in and flip the label to "true" —
//! the create and two merge patches the executor makes per pod in production
//! (`InitializeOutput`, `ReportOutputs`, `FinalizeOutput`). Written from Argo's documented
//! behaviour and the shape of its objects, not from its code.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

const WORKFLOW_LABEL: &str = "workflows.argoproj.io/workflow";
const COMPLETED_LABEL: &str = "workflows.argoproj.io/report-outputs-completed";
const NODE_ID: &str = "workflows.argoproj.io/node-id";

/// How long before the pod's end the outputs are reported (the executor reports after the
/// main container exits and before the pod completes; kwok ends the pod on a timer).
const MARGIN: Duration = Duration::from_millis(300);

/// Whether `pod` is an Argo pod the executor would report for, now Running.
pub fn wants(pod: &Pod) -> bool {
    pod.labels().contains_key(WORKFLOW_LABEL)
        && pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Running")
        && pod.owner_references().iter().any(|o| o.kind == "Workflow")
}

/// Reports for one pod: create now, patch twice `run_for - MARGIN` after `running_at`.
pub async fn report(results: Api<DynamicObject>, pod: Pod, running_at: Instant, run_for: Duration) {
    let Some(owner) = pod
        .owner_references()
        .iter()
        .find(|o| o.kind == "Workflow")
        .cloned()
    else {
        return;
    };
    let node = pod
        .annotations()
        .get(NODE_ID)
        .cloned()
        .or_else(|| node_id_env(&pod))
        .unwrap_or_else(|| pod.name_any());
    let result: DynamicObject = match serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTaskResult",
        "metadata": {
            "name": node,
            "labels": {WORKFLOW_LABEL: owner.name, COMPLETED_LABEL: "false"},
            "ownerReferences": [{
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Workflow",
                "name": owner.name,
                "uid": owner.uid,
            }],
        },
    })) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("executor: task result for {}: {e}", pod.name_any());
            return;
        }
    };
    if let Err(e) = results.create(&PostParams::default(), &result).await {
        eprintln!("executor: create task result {node}: {e}");
    }
    let at = running_at + run_for.saturating_sub(MARGIN);
    tokio::time::sleep_until(at.into()).await;
    let patches = [
        json!({"outputs": {}}),
        json!({"metadata": {"labels": {COMPLETED_LABEL: "true"}}}),
    ];
    for p in patches {
        if let Err(e) = results
            .patch(&node, &PatchParams::default(), &Patch::Merge(&p))
            .await
        {
            eprintln!("executor: patch task result {node}: {e}");
        }
    }
}

/// The node id from the `wait` container's `ARGO_NODE_ID`, where Argo also puts it.
fn node_id_env(pod: &Pod) -> Option<String> {
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.env.iter().flatten())
        .find(|e| e.name == "ARGO_NODE_ID")
        .and_then(|e| e.value.clone())
}
