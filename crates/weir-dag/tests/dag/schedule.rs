//! Readiness and run outcome on small hand-made pipelines.

use std::num::NonZeroUsize;

use weir_dag::{Graph, Node, NodeState, Readiness, RunOutcome, StateCountMismatch, TriggerRule};

use crate::states;

fn chain() -> Graph {
    Graph::new(vec![
        Node::new("a", [""; 0]),
        Node::new("b", ["a"]),
        Node::new("c", ["b"]),
    ])
    .unwrap()
}

fn cap(n: usize) -> Option<NonZeroUsize> {
    NonZeroUsize::new(n)
}

#[test]
fn roots_start_first() {
    let r = chain().readiness(&states("PPP"), None).unwrap();
    assert_eq!(
        r,
        Readiness {
            start: vec![0],
            ..Readiness::default()
        }
    );
}

#[test]
fn upstream_failure_propagates_down_a_chain_in_one_call() {
    let r = chain().readiness(&states("FPP"), None).unwrap();
    assert_eq!(
        r,
        Readiness {
            upstream_failed: vec![1, 2],
            ..Readiness::default()
        }
    );
}

#[test]
fn skip_propagates_down_a_chain_in_one_call() {
    let r = chain().readiness(&states("KPP"), None).unwrap();
    assert_eq!(r.skip, [1, 2]);
    assert!(r.start.is_empty() && r.upstream_failed.is_empty());
}

#[test]
fn cleanup_after_propagated_failure_starts_in_the_same_call() {
    let graph = Graph::new(vec![
        Node::new("extract", [""; 0]),
        Node::new("load", ["extract"]),
        Node::new("cleanup", ["load"]).with_rule(TriggerRule::AllDone),
        Node::new("alert", ["load"]).with_rule(TriggerRule::OneFailed),
    ])
    .unwrap();
    let r = graph.readiness(&states("FPPP"), None).unwrap();
    assert_eq!(r.upstream_failed, [1]);
    assert_eq!(r.start, [2, 3]);
}

#[test]
fn always_starts_while_its_upstream_is_pending() {
    let graph = Graph::new(vec![
        Node::new("a", ["b"]),
        Node::new("b", [""; 0]),
        Node::new("heartbeat", ["a"]).with_rule(TriggerRule::Always),
    ])
    .unwrap();
    let r = graph.readiness(&states("PPP"), None).unwrap();
    assert_eq!(r.start, [1, 2]);
}

#[test]
fn cap_counts_active_steps_and_holds_back_the_later_ones() {
    let graph = Graph::new(
        ["a", "b", "c", "d", "e"]
            .into_iter()
            .map(|n| Node::new(n, [""; 0]))
            .collect(),
    )
    .unwrap();
    let r = graph.readiness(&states("APPSP"), cap(2)).unwrap();
    assert_eq!(r.start, [1]);
    assert_eq!(r.throttled, [2, 4]);

    let full = graph.readiness(&states("AAPSP"), cap(2)).unwrap();
    assert!(full.start.is_empty());
    assert_eq!(full.throttled, [2, 4]);
}

#[test]
fn cap_never_delays_propagation() {
    let graph = Graph::new(vec![
        Node::new("busy", [""; 0]),
        Node::new("bad", [""; 0]),
        Node::new("after", ["bad"]),
        Node::new("finally", ["after"]).with_rule(TriggerRule::AllDone),
    ])
    .unwrap();
    let r = graph.readiness(&states("AFPP"), cap(1)).unwrap();
    assert_eq!(r.upstream_failed, [2]);
    assert!(r.start.is_empty());
    assert_eq!(r.throttled, [3]);
}

#[test]
fn states_must_match_the_graph() {
    let err = chain().readiness(&states("PP"), None).unwrap_err();
    assert_eq!(
        err,
        StateCountMismatch {
            expected: 3,
            got: 2
        }
    );
    assert_eq!(err.to_string(), "expected one state per step (3), got 2");
    assert!(chain().outcome(&states("PPPP")).is_err());
}

#[test]
fn outcome_follows_airflows_leaf_rule() {
    let graph = Graph::new(vec![
        Node::new("load", [""; 0]),
        Node::new("cleanup", ["load"]).with_rule(TriggerRule::AllDone),
        Node::new("side", [""; 0]),
    ])
    .unwrap();
    let cases = [
        ("PPP", RunOutcome::Running),
        ("SAS", RunOutcome::Running),
        ("SSS", RunOutcome::Succeeded),
        ("SSK", RunOutcome::Succeeded),
        ("KKK", RunOutcome::Succeeded),
        // A failure handled downstream does not fail the run...
        ("FSS", RunOutcome::Succeeded),
        // ...but a failed or upstream-failed leaf does.
        ("SFS", RunOutcome::Failed),
        ("SUS", RunOutcome::Failed),
        ("SSF", RunOutcome::Failed),
    ];
    for (s, want) in cases {
        assert_eq!(graph.outcome(&states(s)).unwrap(), want, "{s}");
    }
}

#[test]
fn empty_pipeline_succeeds_at_once() {
    let graph = Graph::new(Vec::new()).unwrap();
    assert!(graph.readiness(&[], None).unwrap().is_empty());
    assert_eq!(graph.outcome(&[]).unwrap(), RunOutcome::Succeeded);
}

#[test]
fn finished_steps_are_left_alone() {
    let r = chain().readiness(&[NodeState::Succeeded; 3], None).unwrap();
    assert!(r.is_empty());
}
