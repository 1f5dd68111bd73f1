//! What the planner deletes: everything of a cancelled run (and again whenever a child
//! reappears), and the children of finished steps under each delete policy.

use crate::common;
use weir_api::reason::WeirReason;

use common::*;
use weir_api::v1alpha1::{ConcurrencyPolicy, DeletePolicy, RunPhase, StepPhase};

/// `a` succeeded, `b` (after `a`) and `c` are running.
fn midway() -> World {
    let mut w = World::new(dag(&["a", "b <- a", "c", "d <- b c"]));
    w.admit();
    w.reconcile();
    w.succeed("r-a-1");
    w.advance(10);
    w.reconcile();
    w.advance(10);
    w
}

#[test]
fn cancel_deletes_every_child_and_cancels_unfinished_steps() {
    let mut w = midway();
    w.run.spec.cancel = true;
    let p = w.reconcile();

    assert_eq!(deleted(&p), ["r-a-1", "r-b-1", "r-c-1"]);
    assert!(p.apply.is_empty());
    assert_eq!(
        step(&p, "a").phase,
        StepPhase::Succeeded,
        "finished steps stay"
    );
    for s in ["b", "c", "d"] {
        let st = step(&p, s);
        assert_eq!(st.phase, StepPhase::Cancelled, "{s}");
        assert_eq!(st.reason, Some(WeirReason::Cancelled.into()), "{s}");
        assert_eq!(st.finish_time, time(at(20)), "{s}");
    }
    assert_eq!(p.status.phase, RunPhase::Cancelled);
    assert_eq!(p.status.completion_time, time(at(20)));
    assert_eq!(p.status.progress.as_deref(), Some("4/4"));
    let complete = condition(&p, "Complete");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("True", "Cancelled")
    );
    assert_eq!(reasons(&p), ["Cancelled"]);
    assert!(!p.events[0].warning);
    assert_eq!(p.requeue_after, None);
}

#[test]
fn a_cancelled_run_deletes_children_that_reappear_and_applies_nothing() {
    let mut w = midway();
    w.run.spec.cancel = true;
    w.reconcile();

    // Still being deleted: nothing to do.
    w.advance(5);
    let p = w.reconcile();
    assert!(p.delete.is_empty() && p.apply.is_empty() && p.events.is_empty());

    // A child shows up again (a stale cache, a delete that did not take).
    w.collect_garbage();
    w.children.push(weir_core::ObservedChild {
        kind: weir_core::ChildKind::Job,
        name: "r-b-1".into(),
        step: "b".into(),
        state: state(weir_core::state::ChildPhase::Running, None),
        deleting: false,
    });
    w.advance(5);
    let p = w.reconcile();
    assert_eq!(deleted(&p), ["r-b-1"]);
    assert!(p.apply.is_empty());
    assert_eq!(p.status.phase, RunPhase::Cancelled);
    assert_eq!(p.status.completion_time, time(at(20)));
    assert!(p.events.is_empty());
}

#[test]
fn cancel_skips_children_already_being_deleted_and_clears_retries() {
    let mut spec = dag(&["a", "b"]);
    step_mut(&mut spec, "b").retries = Some(retries(3, "1m", 2));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.fail("r-b-1", "Error");
    if let Some(c) = w.children.iter_mut().find(|c| c.name == "r-a-1") {
        c.deleting = true;
    }
    w.run.spec.cancel = true;
    let p = w.reconcile();
    assert_eq!(deleted(&p), ["r-b-1"]);
    assert_eq!(step(&p, "b").phase, StepPhase::Cancelled);
    assert_eq!(step(&p, "b").next_attempt_time, None);
    assert_eq!(p.requeue_after, None, "no retry to wake up for");
}

#[test]
fn cancel_wins_over_a_step_that_would_start() {
    let mut w = World::new(dag(&["a", "b <- a"]));
    w.admit();
    w.reconcile();
    w.succeed("r-a-1");
    w.run.spec.cancel = true;
    let p = w.reconcile();
    assert!(p.apply.is_empty(), "{:?}", applied(&p));
    assert_eq!(step(&p, "b").phase, StepPhase::Cancelled);
}

#[test]
fn cancelling_a_queued_run_ends_it_at_once() {
    let mut spec = dag(&["a"]);
    spec.concurrency.max_active_runs = Some(1);
    spec.concurrency.policy = ConcurrencyPolicy::Queue;
    let mut w = World::named("r2", spec);
    w.siblings = vec![weir_core::Sibling {
        name: "r1".into(),
        created: at(-60),
        phase: RunPhase::Running,
    }];
    w.admit();
    assert_eq!(w.reconcile().status.phase, RunPhase::Queued);
    w.run.spec.cancel = true;
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Cancelled);
    assert!(p.apply.is_empty());
}

// ---- delete policies ---------------------------------------------------------------------

/// `ok` succeeds and `bad` fails under `policy` (as the pipeline default); returns the
/// children deleted in the reconcile after the one that sees (and writes) both finish.
fn deleted_under(policy: Option<DeletePolicy>) -> Vec<String> {
    let mut w = World::new(dag(&["ok", "bad"]));
    if let Some(policy) = policy {
        w.default_delete_policy(policy);
    }
    w.admit();
    w.reconcile();
    w.succeed("r-ok-1");
    w.fail("r-bad-1", "Error");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert!(p.delete.is_empty(), "the finish is not written yet");
    deleted(&w.reconcile())
}

#[test]
fn delete_policies_decide_which_finished_steps_lose_their_children() {
    let table: [(Option<DeletePolicy>, &[&str]); 5] = [
        (None, &[]),
        (Some(DeletePolicy::Never), &[]),
        (Some(DeletePolicy::Always), &["r-bad-1", "r-ok-1"]),
        (Some(DeletePolicy::IfSucceeded), &["r-ok-1"]),
        (Some(DeletePolicy::IfFailed), &["r-bad-1"]),
    ];
    for (policy, expect) in table {
        assert_eq!(deleted_under(policy), expect, "{policy:?}");
    }
}

#[test]
fn a_steps_own_policy_wins_over_the_default() {
    let mut spec = dag(&["ok", "bad"]);
    spec.defaults.delete_policy = Some(DeletePolicy::Always);
    step_mut(&mut spec, "bad").delete_policy = Some(DeletePolicy::Never);
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.succeed("r-ok-1");
    w.fail("r-bad-1", "Error");
    w.reconcile();
    assert_eq!(deleted(&w.reconcile()), ["r-ok-1"]);
}

#[test]
fn if_succeeded_deletes_every_attempt_once_the_step_succeeds_and_never_while_it_runs() {
    let mut spec = dag(&["a", "b <- a"]);
    spec.defaults.delete_policy = Some(DeletePolicy::IfSucceeded);
    step_mut(&mut spec, "a").retries = Some(retries(1, "", 1));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.fail("r-a-1", "Error");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"]);
    assert!(p.delete.is_empty(), "a is not finished");
    w.succeed("r-a-2");
    let p = w.reconcile();
    assert!(p.delete.is_empty(), "the success is not written yet");
    assert_eq!(applied(&p), ["r-b-1"]);
    assert_eq!(deleted(&w.reconcile()), ["r-a-1", "r-a-2"]);
    // Deleted children are not deleted again; a delete that did not take is retried.
    let p = w.reconcile();
    assert!(p.delete.is_empty());
    if let Some(c) = w.children.iter_mut().find(|c| c.name == "r-a-2") {
        c.deleting = false;
    }
    assert_eq!(deleted(&w.reconcile()), ["r-a-2"]);
}

#[test]
fn if_succeeded_keeps_the_children_of_a_failed_step_after_the_run_ends() {
    let mut w = World::new(dag(&["a", "b <- a"]));
    w.default_delete_policy(DeletePolicy::IfSucceeded);
    w.admit();
    w.reconcile();
    w.succeed("r-a-1");
    w.reconcile();
    assert_eq!(deleted(&w.reconcile()), ["r-a-1"]);
    w.fail("r-b-1", "Error");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert!(p.delete.is_empty());
    w.advance(3600);
    assert!(w.reconcile().delete.is_empty());
    assert_eq!(w.live(), ["r-b-1"]);
}

/// Regression: the controller may defer a run's first status write (it only starts steps);
/// a cancel arriving before that write found no steps in status and left the Jobs the
/// unrecorded reconcile had created running.
#[test]
fn a_cancel_before_the_first_status_write_cancels_the_steps_and_deletes_their_children() {
    let mut w = World::new(dag(&["a", "b", "c <- a"]));
    w.admit();
    let unrecorded = w.crash_after_apply();
    assert_eq!(applied(&unrecorded), ["r-a-1", "r-b-1"]);
    w.run.spec.cancel = true;
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Cancelled);
    for name in ["a", "b", "c"] {
        assert_eq!(step(&p, name).phase, StepPhase::Cancelled, "{name}");
    }
    assert_eq!(deleted(&p), ["r-a-1", "r-b-1"]);
    assert!(p.apply.is_empty());
}

/// Regression: the reconcile that saw a step finish deleted its child (policy Always) before
/// writing the status; a controller killed in between came back to a step "running" with
/// no child, and failed or re-ran it. The child now outlives every unwritten outcome.
#[test]
fn a_child_is_deleted_by_policy_only_after_its_outcome_is_written() {
    let mut w = World::new(dag(&["a", "b <- a"]));
    w.default_delete_policy(DeletePolicy::Always);
    w.admit();
    w.reconcile();
    w.succeed("r-a-1");
    // The success is seen, b is created, and the controller dies before the status write.
    let unwritten = w.crash_after_apply();
    assert_eq!(applied(&unwritten), ["r-b-1"]);
    assert!(unwritten.delete.is_empty());
    // After the restart the same success is seen again from the child, and written.
    let p = w.reconcile();
    assert_eq!(step(&p, "a").phase, StepPhase::Succeeded);
    assert!(p.delete.is_empty());
    assert_eq!(deleted(&w.reconcile()), ["r-a-1"]);
}
