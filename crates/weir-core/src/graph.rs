//! The CRD's steps as weir-dag nodes and states.

use weir_api::v1alpha1::{PipelineSpec, StepPhase, TriggerRule};
use weir_dag::{Node, NodeState, TriggerRule as Rule};

/// The pipeline's steps as DAG nodes, index-aligned with `spec.steps`.
pub fn dag_nodes(spec: &PipelineSpec) -> Vec<Node> {
    spec.steps
        .iter()
        .map(|s| {
            Node::new(s.name.clone(), s.depends_on.iter().cloned()).with_rule(rule(s.trigger_rule))
        })
        .collect()
}

fn rule(r: TriggerRule) -> Rule {
    match r {
        TriggerRule::AllSuccess => Rule::AllSuccess,
        TriggerRule::AllFailed => Rule::AllFailed,
        TriggerRule::AllDone => Rule::AllDone,
        TriggerRule::OneSuccess => Rule::OneSuccess,
        TriggerRule::OneFailed => Rule::OneFailed,
        TriggerRule::NoneFailed => Rule::NoneFailed,
        TriggerRule::NoneSkipped => Rule::NoneSkipped,
        TriggerRule::Always => Rule::Always,
    }
}

/// A step's phase as the DAG sees it. A cancelled step counts as failed for its downstream.
pub fn node_state(phase: StepPhase) -> NodeState {
    match phase {
        StepPhase::Pending => NodeState::Pending,
        StepPhase::Running | StepPhase::Retrying => NodeState::Active,
        StepPhase::Succeeded => NodeState::Succeeded,
        StepPhase::Failed | StepPhase::Cancelled => NodeState::Failed,
        StepPhase::Skipped => NodeState::Skipped,
        StepPhase::UpstreamFailed => NodeState::UpstreamFailed,
    }
}
