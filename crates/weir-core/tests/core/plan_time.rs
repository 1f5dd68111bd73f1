//! Everything the planner decides from the clock: retries and their backoff, step
//! timeouts, the run's timeout, and children missing from the cache.

use crate::common;
use weir_api::reason::{StepReason, WeirReason};

use common::*;
use weir_api::v1alpha1::{RunPhase, StepPhase};

fn retrying_pipeline() -> weir_api::v1alpha1::PipelineSpec {
    let mut spec = dag(&["a", "b <- a"]);
    step_mut(&mut spec, "a").retries = Some(retries(2, "10s", 2));
    spec
}

// ---- retries -----------------------------------------------------------------------------

#[test]
fn retries_wait_their_backoff_and_continue_the_attempt_numbers() {
    let mut w = World::new(retrying_pipeline());
    w.admit();
    w.reconcile();

    w.advance(5);
    w.fail("r-a-1", "OOMKilled");
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!(a.phase, StepPhase::Retrying);
    assert_eq!((a.attempt, a.retries), (1, 1));
    assert_eq!(a.reason, Some(StepReason::from("OOMKilled")));
    assert_eq!(a.next_attempt_time, time(at(15)));
    assert_eq!(secs(p.requeue_after), Some(10));
    assert!(p.apply.is_empty());
    assert_eq!(reasons(&p), ["StepRetrying"]);
    assert_eq!(step(&p, "b").phase, StepPhase::Pending, "a is not done yet");
    assert_eq!(p.status.phase, RunPhase::Running);

    // Woken early (some other event): nothing starts before the time.
    w.advance(4);
    let p = w.reconcile();
    assert!(p.apply.is_empty(), "{:?}", applied(&p));
    assert_eq!(secs(p.requeue_after), Some(6));
    assert!(p.events.is_empty());

    w.advance(6);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"]);
    let a = step(&p, "a");
    assert_eq!((a.phase, a.attempt, a.retries), (StepPhase::Running, 2, 1));
    assert_eq!(a.children, ["r-a-2"]);
    assert_eq!(a.attempt_start_time, time(at(15)));
    assert_eq!(
        a.start_time,
        time(t0()),
        "the step's start is its first attempt's"
    );
    assert_eq!(a.next_attempt_time, None);
    assert_eq!(a.reason, None);
    let l = job(&p, "r-a-2").metadata.labels.clone().unwrap_or_default();
    assert_eq!(l.get("weir.dev/attempt").map(String::as_str), Some("2"));

    // The second failure waits twice as long.
    w.advance(5);
    w.fail("r-a-2", "Error");
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!((a.phase, a.retries), (StepPhase::Retrying, 2));
    assert_eq!(a.next_attempt_time, time(at(40)));
    assert_eq!(secs(p.requeue_after), Some(20));

    w.advance(20);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-3"]);

    w.advance(5);
    w.succeed("r-a-3");
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!((a.phase, a.attempt), (StepPhase::Succeeded, 3));
    assert_eq!(a.reason, Some(WeirReason::Completed.into()));
    assert_eq!(applied(&p), ["r-b-1"]);

    w.succeed("r-b-1");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert_eq!(
        w.applied.keys().cloned().collect::<Vec<_>>(),
        ["r-a-1", "r-a-2", "r-a-3", "r-b-1"]
    );
}

#[test]
fn the_last_allowed_failure_fails_the_step_for_good() {
    let mut spec = retrying_pipeline();
    step_mut(&mut spec, "a").retries = Some(retries(1, "10s", 2));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.fail("r-a-1", "Error");
    w.reconcile();
    w.advance(10);
    w.reconcile();
    w.fail("r-a-2", "Error");
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!((a.phase, a.attempt, a.retries), (StepPhase::Failed, 2, 1));
    assert_eq!(a.next_attempt_time, None);
    assert_eq!(step(&p, "b").phase, StepPhase::UpstreamFailed);
    assert_eq!(p.requeue_after, None);
    assert_eq!(reasons(&p), ["StepFailed", "Failed"]);
    assert_eq!(p.status.phase, RunPhase::Failed);
}

#[test]
fn retry_on_retries_only_the_listed_reasons() {
    for (reason, retried) in [("OOMKilled", true), ("Error", false), ("Timeout", false)] {
        let mut spec = retrying_pipeline();
        let mut policy = retries(2, "10s", 2);
        policy.retry_on = vec!["OOMKilled".into()];
        step_mut(&mut spec, "a").retries = Some(policy);
        let mut w = World::new(spec);
        w.admit();
        w.reconcile();
        w.fail("r-a-1", reason);
        let p = w.reconcile();
        let expect = if retried {
            StepPhase::Retrying
        } else {
            StepPhase::Failed
        };
        assert_eq!(step(&p, "a").phase, expect, "{reason}");
        assert_eq!(
            step(&p, "a").reason.as_ref().map(StepReason::as_str),
            Some(reason)
        );
    }
}

/// A data-quality failure (`weir-data validate` below its threshold, or a suite that cannot
/// run) fails the same way on the same data: never retried, whatever `retryOn` says, while
/// a crash of the same step still is.
#[test]
fn a_validation_failure_is_never_retried_but_a_crash_is() {
    let cases = [
        (vec![], "ValidationFailed", false),
        (
            vec!["Error".to_string(), "ValidationFailed".to_string()],
            "ValidationFailed",
            false,
        ),
        (vec![], "InvalidSuite", false),
        (vec![], "Error", true),
        (vec!["Error".to_string()], "Error", true),
    ];
    for (retry_on, reason, retried) in cases {
        let mut spec = retrying_pipeline();
        let mut policy = retries(2, "10s", 2);
        policy.retry_on = retry_on.clone();
        step_mut(&mut spec, "a").retries = Some(policy);
        let mut w = World::new(spec);
        w.admit();
        w.reconcile();
        w.fail("r-a-1", reason);
        let p = w.reconcile();
        let expect = if retried {
            StepPhase::Retrying
        } else {
            StepPhase::Failed
        };
        assert_eq!(
            step(&p, "a").phase,
            expect,
            "{reason} with retryOn {retry_on:?}"
        );
    }
}

#[test]
fn a_retry_without_backoff_starts_in_the_same_reconcile() {
    let mut spec = dag(&["a"]);
    step_mut(&mut spec, "a").retries = Some(retries(1, "", 1));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.fail("r-a-1", "Error");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"]);
    assert_eq!(step(&p, "a").phase, StepPhase::Running);
    assert_eq!(step(&p, "a").retries, 1);
}

// ---- step timeout ------------------------------------------------------------------------

fn timed_pipeline(timeout: &str) -> weir_api::v1alpha1::PipelineSpec {
    let mut spec = dag(&["a", "b <- a"]);
    step_mut(&mut spec, "a").timeout = Some(timeout.into());
    spec
}

#[test]
fn a_step_past_its_timeout_is_deleted_and_failed() {
    let mut w = World::new(timed_pipeline("1m"));
    w.admit();
    w.reconcile();

    w.advance(25);
    let p = w.reconcile();
    assert!(p.delete.is_empty());
    assert_eq!(
        secs(p.requeue_after),
        Some(35),
        "the time left before the deadline"
    );

    w.advance(35);
    let p = w.reconcile();
    assert_eq!(deleted(&p), ["r-a-1"]);
    let a = step(&p, "a");
    assert_eq!(a.phase, StepPhase::Failed);
    assert_eq!(a.reason, Some(WeirReason::Timeout.into()));
    assert!(
        a.message.as_deref().unwrap_or_default().contains("1m"),
        "{:?}",
        a.message
    );
    assert_eq!(step(&p, "b").phase, StepPhase::UpstreamFailed);
    assert!(reasons(&p).contains(&"StepFailed"));
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert_eq!(p.status.message.as_deref(), Some("step a failed: Timeout"));
}

#[test]
fn a_pending_child_times_out_too_and_is_rechecked_meanwhile() {
    let mut w = World::new(timed_pipeline("10m"));
    w.admit();
    w.reconcile();
    w.pending("r-a-1", "ImagePullBackOff");
    w.advance(60);
    let p = w.reconcile();
    assert_eq!(
        step(&p, "a").reason,
        Some(StepReason::from("ImagePullBackOff"))
    );
    assert_eq!(
        secs(p.requeue_after),
        Some(15),
        "waiting recheck before the 9m left"
    );
    w.advance(540);
    let p = w.reconcile();
    assert_eq!(deleted(&p), ["r-a-1"]);
    assert_eq!(step(&p, "a").reason, Some(WeirReason::Timeout.into()));
}

#[test]
fn a_timed_out_attempt_is_retried_when_retries_allow() {
    let mut spec = timed_pipeline("1m");
    step_mut(&mut spec, "a").retries = Some(retries(1, "10s", 2));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.advance(60);
    let p = w.reconcile();
    assert_eq!(deleted(&p), ["r-a-1"]);
    let a = step(&p, "a");
    assert_eq!(
        (a.phase, a.reason.as_ref().map(StepReason::as_str)),
        (StepPhase::Retrying, Some("Timeout"))
    );
    assert_eq!(secs(p.requeue_after), Some(10));
    w.collect_garbage();
    w.advance(10);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"]);
    w.advance(15);
    let p = w.reconcile();
    assert_eq!(
        secs(p.requeue_after),
        Some(45),
        "the new attempt's own deadline"
    );
}

#[test]
fn starting_an_attempt_with_a_timeout_requeues_at_its_deadline() {
    let mut w = World::new(timed_pipeline("1m"));
    w.admit();
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-1"]);
    assert_eq!(secs(p.requeue_after), Some(60));
}

// ---- run timeout -------------------------------------------------------------------------

fn run_timeout_world() -> World {
    let mut spec = dag(&["a", "b <- a", "c"]);
    spec.timeout = Some("10m".into());
    step_mut(&mut spec, "c").retries = Some(retries(3, "1h", 2));
    let mut w = World::new(spec);
    w.admit();
    let p = w.reconcile();
    assert_eq!(secs(p.requeue_after), Some(600));
    w.advance(100);
    w.fail("r-c-1", "Error");
    let p = w.reconcile();
    assert_eq!(step(&p, "c").phase, StepPhase::Retrying);
    assert_eq!(
        secs(p.requeue_after),
        Some(500),
        "the run's deadline comes first"
    );
    w.advance(500);
    w
}

#[test]
fn the_run_timeout_fails_active_steps_and_cancels_pending_ones() {
    let mut w = run_timeout_world();
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    let complete = condition(&p, "Complete");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("True", "Timeout")
    );
    assert!(
        p.status
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("10m")
    );
    for (name, phase) in [
        ("a", StepPhase::Failed),
        ("b", StepPhase::Cancelled),
        ("c", StepPhase::Failed),
    ] {
        let s = step(&p, name);
        assert_eq!(s.phase, phase, "{name}");
        assert_eq!(s.reason, Some(WeirReason::RunTimeout.into()), "{name}");
        assert_eq!(s.finish_time, time(at(600)), "{name}");
    }
    assert!(p.apply.is_empty());
    assert_eq!(p.requeue_after, None);
    assert_eq!(reasons(&p), ["Failed"]);
}

#[test]
fn the_run_timeout_deletes_live_children() {
    let mut w = run_timeout_world();
    let p = w.reconcile();
    assert_eq!(deleted(&p), ["r-a-1"], "the running child must stop");
}

#[test]
fn the_run_timeout_clears_pending_retries() {
    let mut w = run_timeout_world();
    let p = w.reconcile();
    assert_eq!(step(&p, "c").next_attempt_time, None);
}

#[test]
fn a_rerun_of_a_timed_out_run_starts_its_steps_again() {
    let mut w = run_timeout_world();
    w.reconcile();
    w.advance(100);
    w.run.spec.rerun = Some(weir_api::v1alpha1::Rerun {
        id: "1".into(),
        steps: Vec::new(),
    });
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Running, "{:?}", p.status.message);
    assert_eq!(applied(&p), ["r-a-2", "r-c-2"]);
}

// ---- missing and deleted children -------------------------------------------------------

#[test]
fn a_child_missing_from_the_cache_is_waited_for_then_fails_the_step() {
    let mut w = World::new(dag(&["a", "b <- a"]));
    w.admit();
    w.reconcile();
    // The watch has not delivered the new Job yet.
    w.vanish("r-a-1");
    w.advance(10);
    let p = w.reconcile();
    assert_eq!(step(&p, "a").phase, StepPhase::Running);
    assert_eq!(secs(p.requeue_after), Some(20), "the rest of the 30s grace");
    assert!(p.apply.is_empty(), "no second child while waiting");

    w.advance(20);
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!(a.phase, StepPhase::Failed);
    assert_eq!(a.reason, Some(WeirReason::ChildMissing.into()));
    assert!(a.message.as_deref().unwrap_or_default().contains("r-a-1"));
    assert_eq!(step(&p, "b").phase, StepPhase::UpstreamFailed);
}

#[test]
fn a_child_that_vanishes_after_the_grace_fails_at_once() {
    // The grace counts from the attempt's start (it covers watch lag after a create); the
    // planner keeps no "last seen" time, so a later disappearance is not waited for.
    let mut w = World::new(dag(&["a"]));
    w.admit();
    w.reconcile();
    w.advance(300);
    assert_eq!(w.reconcile().requeue_after, None);
    w.vanish("r-a-1");
    w.advance(1);
    let p = w.reconcile();
    assert_eq!(step(&p, "a").reason, Some(WeirReason::ChildMissing.into()));
    assert_eq!(p.status.phase, RunPhase::Failed);
}

#[test]
fn a_missing_child_counts_as_a_failed_attempt_for_retries() {
    let mut spec = dag(&["a"]);
    step_mut(&mut spec, "a").retries = Some(retries(1, "", 1));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.advance(120);
    w.vanish("r-a-1");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"]);
    assert_eq!(step(&p, "a").retries, 1);
}

#[test]
fn a_child_deleted_under_a_running_step_fails_it() {
    let mut w = World::new(dag(&["a"]));
    w.admit();
    w.reconcile();
    if let Some(c) = w.children.iter_mut().find(|c| c.name == "r-a-1") {
        c.deleting = true;
    }
    let p = w.reconcile();
    assert_eq!(step(&p, "a").phase, StepPhase::Failed);
    assert_eq!(step(&p, "a").reason, Some(WeirReason::ChildDeleted.into()));
}
