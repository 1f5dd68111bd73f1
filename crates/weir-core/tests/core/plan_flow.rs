//! Runs moving through their DAG across reconciles: the diamond's order of starts and its
//! end, failures reaching downstream steps through their trigger rules, results passed on.

use crate::common;
use weir_api::reason::{EventReason, StepReason, WeirReason};

use common::*;
use serde_json::json;
use weir_api::v1alpha1::{RunPhase, StepPhase};

#[test]
fn a_diamond_starts_in_dependency_order_and_succeeds_once() {
    let mut w = World::new(dag(&["a", "b <- a", "c <- a", "d <- b c"]));

    w.admit();
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-1"]);

    w.advance(10);
    let p = w.reconcile();
    assert!(p.apply.is_empty(), "a still running: {:?}", applied(&p));
    assert_eq!(p.status.progress.as_deref(), Some("0/4"));

    w.succeed("r-a-1");
    w.advance(10);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-b-1", "r-c-1"]);
    assert_eq!(step(&p, "a").phase, StepPhase::Succeeded);
    assert_eq!(step(&p, "a").reason, Some(WeirReason::Completed.into()));
    assert_eq!(step(&p, "a").finish_time, time(at(20)));
    assert_eq!(p.status.progress.as_deref(), Some("1/4"));

    // One of the two branches finishing is not enough for d.
    w.succeed("r-b-1");
    w.advance(10);
    let p = w.reconcile();
    assert!(p.apply.is_empty(), "{:?}", applied(&p));
    assert_eq!(step(&p, "d").phase, StepPhase::Pending);

    w.succeed("r-c-1");
    w.advance(10);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-d-1"]);
    assert_eq!(step(&p, "d").start_time, time(at(40)));
    assert_eq!(p.status.phase, RunPhase::Running);

    w.succeed("r-d-1");
    w.advance(10);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert_eq!(p.status.progress.as_deref(), Some("4/4"));
    assert_eq!(p.status.completion_time, time(at(50)));
    let complete = condition(&p, "Complete");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("True", "Succeeded")
    );
    assert!(p.apply.is_empty());
    assert_eq!(p.requeue_after, None);

    // A finished run changes no more.
    w.advance(100);
    let p = w.reconcile();
    assert_eq!(p.status.completion_time, time(at(50)));
    assert!(p.events.is_empty() && p.apply.is_empty() && p.delete.is_empty());
    assert_eq!(
        w.event_reasons(),
        ["Started", "Succeeded"],
        "exactly one Succeeded event"
    );
    assert_eq!(w.applied.len(), 4);
}

#[test]
fn a_failure_carries_the_childs_reason_and_reaches_downstream_rules() {
    let mut w = World::new(dag(&[
        "a",
        "b <- a",
        "c <- b",
        "cleanup <- a [allDone]",
        "alert <- a [oneFailed]",
        "happy <- a [oneSuccess]",
    ]));
    w.admit();
    w.reconcile();
    w.fail("r-a-1", "OOMKilled");
    w.advance(5);
    let p = w.reconcile();

    let a = step(&p, "a");
    assert_eq!(a.phase, StepPhase::Failed);
    assert_eq!(a.reason, Some(StepReason::from("OOMKilled")));
    assert_eq!(a.message.as_deref(), Some("r-a-1: OOMKilled"));
    assert_eq!(a.finish_time, time(at(5)));
    for s in ["b", "c", "happy"] {
        assert_eq!(step(&p, s).phase, StepPhase::UpstreamFailed, "{s}");
    }
    assert!(
        step(&p, "b")
            .message
            .as_deref()
            .unwrap_or_default()
            .contains('a')
    );
    assert_eq!(applied(&p), ["r-cleanup-1", "r-alert-1"]);
    assert!(p.events.iter().any(|e| e.reason == EventReason::StepFailed
        && e.warning
        && e.message.contains("OOMKilled")));
    assert_eq!(
        p.status.phase,
        RunPhase::Running,
        "cleanup and alert still run"
    );

    w.succeed("r-cleanup-1");
    w.succeed("r-alert-1");
    w.advance(5);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert_eq!(
        p.status.message.as_deref(),
        Some("step a failed: OOMKilled")
    );
    let complete = condition(&p, "Complete");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("True", "StepFailed")
    );
    assert_eq!(p.status.progress.as_deref(), Some("6/6"));
    assert_eq!(p.status.completion_time, time(at(10)));
    assert_eq!(w.event_reasons(), ["Started", "StepFailed", "Failed"]);
}

#[test]
fn a_failure_handled_by_the_only_leaf_lets_the_run_succeed() {
    // Airflow's leaf rule: the run's outcome is its leaves'.
    let mut w = World::new(dag(&["a", "cleanup <- a [allDone]"]));
    w.admit();
    w.reconcile();
    w.fail("r-a-1", "Error");
    w.reconcile();
    w.succeed("r-cleanup-1");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
}

#[test]
fn a_skipped_branch_skips_all_success_and_feeds_none_failed() {
    let mut w = World::new(dag(&[
        "a",
        "onfail <- a [allFailed]",
        "after <- onfail",
        "join <- a onfail [noneFailed]",
    ]));
    w.admit();
    w.reconcile();
    w.succeed("r-a-1");
    let p = w.reconcile();
    assert_eq!(step(&p, "onfail").phase, StepPhase::Skipped);
    assert_eq!(
        step(&p, "onfail").reason,
        Some(WeirReason::TriggerRule.into())
    );
    assert_eq!(step(&p, "after").phase, StepPhase::Skipped);
    assert_eq!(applied(&p), ["r-join-1"]);
    w.succeed("r-join-1");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert_eq!(p.status.progress.as_deref(), Some("4/4"));
}

#[test]
fn an_always_step_starts_with_the_roots() {
    let mut w = World::new(dag(&["a", "watch <- a [always]"]));
    w.admit();
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-1", "r-watch-1"]);
}

#[test]
fn a_result_is_visible_to_a_downstream_started_in_the_same_reconcile() {
    let mut spec = dag(&["a", "b <- a"]);
    if let Some(j) = step_mut(&mut spec, "b").job.as_mut() {
        j.args = vec!["--rows={{ results.a.rows }}".into()];
    }
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.succeed_with("r-a-1", json!({"rows": 42}));
    w.advance(1);
    let p = w.reconcile();
    assert_eq!(step(&p, "a").result, Some(json!({"rows": 42})));
    assert_eq!(step(&p, "b").reason, None, "{:?}", step(&p, "b").message);
    assert_eq!(step(&p, "b").phase, StepPhase::Running);
    assert_eq!(args(job(&p, "r-b-1")), ["--rows=42"]);
}

#[test]
fn a_result_is_visible_to_a_downstream_started_in_a_later_reconcile() {
    // `c` also waits for `b`, so `a`'s result is in status a reconcile before `c` starts.
    let mut spec = dag(&["a", "b", "c <- a b"]);
    if let Some(j) = step_mut(&mut spec, "c").job.as_mut() {
        j.args = vec!["{{ results.a }}".into()];
    }
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.succeed_with("r-a-1", json!("s3://bucket/day=1"));
    w.reconcile();
    w.succeed("r-b-1");
    let p = w.reconcile();
    assert_eq!(args(job(&p, "r-c-1")), ["s3://bucket/day=1"]);
}

// ---- status writes the controller may batch ------------------------------------------------

/// A start is never urgent: the controller may hold it back to share one write with the
/// next change. A step succeeding while the run goes on is not urgent either; the run's
/// end is.
#[test]
fn only_the_end_of_a_succeeding_run_is_urgent() {
    let mut w = World::new(dag(&["a", "b <- a"]));
    w.admit();
    assert!(!w.reconcile().urgent, "starting a");
    w.succeed("r-a-1");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-b-1"]);
    assert!(!p.urgent, "a succeeded, b started");
    w.succeed("r-b-1");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert!(p.urgent);
}

/// A one-step run whose Job ends before its start was written: the next reconcile adopts
/// the Job and reads its end in the same pass, so the run needs a single status write.
#[test]
fn a_child_that_ended_before_its_start_was_written_is_read_in_the_same_pass() {
    let mut w = World::new(dag(&["a"]));
    w.admit();
    let held = w.crash_after_apply();
    assert_eq!(applied(&held), ["r-a-1"]);
    w.succeed("r-a-1");
    w.advance(3);
    let p = w.reconcile();
    assert!(p.apply.is_empty(), "adopted, not applied again");
    assert_eq!(step(&p, "a").phase, StepPhase::Succeeded);
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert!(p.urgent);
}

/// The same through a DAG: the adopted upstream's result reaches the downstream step
/// started in that very pass.
#[test]
fn an_adopted_childs_result_reaches_a_downstream_started_in_the_same_pass() {
    let mut spec = dag(&["a", "b <- a"]);
    if let Some(j) = step_mut(&mut spec, "b").job.as_mut() {
        j.args = vec!["--rows={{ results.a.rows }}".into()];
    }
    let mut w = World::new(spec);
    w.admit();
    w.crash_after_apply();
    w.succeed_with("r-a-1", json!({"rows": 7}));
    let p = w.reconcile();
    assert_eq!(step(&p, "a").phase, StepPhase::Succeeded);
    assert_eq!(args(job(&p, "r-b-1")), ["--rows=7"]);
    assert!(!p.urgent);
}

/// An adopted child that failed is a failure, and failures are written at once.
#[test]
fn an_adopted_child_that_failed_is_retried_and_urgent() {
    let mut spec = dag(&["a"]);
    step_mut(&mut spec, "a").retries = Some(retries(1, "", 1));
    let mut w = World::new(spec);
    w.admit();
    w.crash_after_apply();
    w.fail("r-a-1", "Error");
    let p = w.reconcile();
    assert_eq!(step(&p, "a").phase, StepPhase::Retrying);
    assert_eq!(step(&p, "a").reason, Some(StepReason::from("Error")));
    assert!(p.urgent);
    assert_eq!(applied(&w.reconcile()), ["r-a-2"]);
}

/// Issue 9: a 300-step DAG stays well under the status limit, while 300 steps each
/// returning a 4 KiB result would not: that run fails with `StatusTooLarge`, and the
/// status it writes (results dropped) fits.
#[test]
fn a_status_past_the_size_limit_fails_the_run_and_is_shrunk_to_fit() {
    let names: Vec<String> = (0..300).map(|i| format!("s{i:03}")).collect();
    let lines: Vec<&str> = names.iter().map(String::as_str).collect();
    let size = |p: &weir_core::Plan| serde_json::to_vec(&p.status).map_or(0, |v| v.len());

    let mut small = World::new(dag(&lines));
    small.admit();
    small.reconcile();
    for n in &names {
        small.succeed_with(&format!("r-{n}-1"), json!({"rows": 1}));
    }
    let p = small.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert!(
        size(&p) < weir_core::MAX_STATUS_BYTES / 2,
        "{} bytes",
        size(&p)
    );

    let mut big = World::new(dag(&lines));
    big.admit();
    big.reconcile();
    let result = json!("y".repeat(4000));
    for n in &names[..280] {
        big.succeed_with(&format!("r-{n}-1"), result.clone());
    }
    let p = big.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed, "{:?}", p.status.message);
    assert_eq!(
        condition(&p, "Complete").reason,
        weir_core::STATUS_TOO_LARGE
    );
    assert!(
        size(&p) <= weir_core::MAX_STATUS_BYTES,
        "{} bytes",
        size(&p)
    );
    assert!(p.status.steps.iter().all(|s| s.result.is_none()));
    // The 20 steps still running are cancelled and their Jobs deleted.
    assert_eq!(deleted(&p).len(), 20, "{:?}", deleted(&p));
    assert!(p.apply.is_empty());
}

/// What the controller writes when the API server refuses a run's status as too large: the
/// run fails with `StatusTooLarge`, its results are dropped and its unfinished steps end.
#[test]
fn a_status_the_api_server_refused_becomes_a_small_failed_one() {
    let mut w = World::new(dag(&["a", "b"]));
    w.admit();
    w.reconcile();
    w.succeed_with("r-a-1", json!({"rows": 1}));
    let p = w.reconcile();
    let small = weir_core::too_large(p.status.clone(), at(5), "etcdserver: request is too large");
    assert_eq!(small.phase, RunPhase::Failed);
    assert!(small.steps.iter().all(|s| s.result.is_none()));
    let b = small
        .steps
        .iter()
        .find(|s| s.name == "b")
        .map(|s| (s.phase, s.reason.clone()));
    assert_eq!(
        b,
        Some((StepPhase::Cancelled, Some("StatusTooLarge".into())))
    );
    let complete = small.conditions.iter().find(|c| c.type_ == "Complete");
    assert_eq!(complete.map(|c| c.reason.as_str()), Some("StatusTooLarge"));
    assert!(
        small
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("request is too large")
    );
}

#[test]
fn a_child_the_api_server_refuses_fails_its_attempt_with_the_reason_and_is_retried_per_policy() {
    let mut spec = dag(&["a"]);
    step_mut(&mut spec, "a").retries = Some(retries(1, "1s", 1));
    let mut w = World::new(spec);
    w.admit();
    assert_eq!(applied(&w.reconcile()), ["r-a-1"]);
    // The create was refused: the child does not exist, the controller says why.
    let why = "CustomResourceDefinition widgets is cluster-scoped";
    w.children.retain(|c| c.name != "r-a-1");
    w.refused.insert("r-a-1".into(), why.into());
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!(a.phase, StepPhase::Retrying);
    assert_eq!(a.reason, Some(WeirReason::CreateRefused.into()));
    assert_eq!(a.message.as_deref(), Some(why));
    assert!(p.urgent);
    w.advance(2);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"], "the retry is a new child");
    w.children.retain(|c| c.name != "r-a-2");
    w.refused.insert("r-a-2".into(), why.into());
    let p = w.reconcile();
    assert_eq!(step(&p, "a").phase, StepPhase::Failed);
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert!(reasons(&p).contains(&EventReason::StepFailed.as_str()));
}
