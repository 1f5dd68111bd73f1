//! `spec.rerun`: part of a finished run starts over, successes are kept, attempt numbers
//! (and so child names) never repeat, and each request id is carried out once.

use crate::common;
use weir_api::reason::StepReason;

use common::*;
use serde_json::json;
use weir_api::v1alpha1::{ForEach, Rerun, RunPhase, StepPhase};

/// `a` and `side` succeeded, `b` failed, `c` is upstream-failed: the run Failed.
fn failed_run() -> World {
    let mut w = World::new(dag(&["a", "b <- a", "c <- b", "side <- a"]));
    w.admit();
    w.reconcile();
    w.succeed("r-a-1");
    w.advance(10);
    w.reconcile();
    w.fail("r-b-1", "Error");
    w.succeed("r-side-1");
    w.advance(10);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert_eq!(step(&p, "c").phase, StepPhase::UpstreamFailed);
    w.advance(100);
    w
}

fn rerun(w: &mut World, id: &str, steps: &[&str]) {
    w.run.spec.rerun = Some(Rerun {
        id: id.into(),
        steps: steps.iter().map(|s| s.to_string()).collect(),
    });
}

#[test]
fn rerunning_a_failed_step_resets_it_and_downstream_and_keeps_successes() {
    let mut w = failed_run();
    let before = w.run.status.clone().unwrap_or_default();
    rerun(&mut w, "1", &["b"]);
    let p = w.reconcile();

    assert_eq!(applied(&p), ["r-b-2"], "a new attempt, never r-b-1 again");
    let b = step(&p, "b");
    assert_eq!((b.phase, b.attempt, b.retries), (StepPhase::Running, 2, 0));
    assert_eq!(b.reason, None);
    assert_eq!(b.start_time, time(at(120)));
    let c = step(&p, "c");
    assert_eq!(
        (
            c.phase,
            c.attempt,
            c.reason.as_ref().map(StepReason::as_str)
        ),
        (StepPhase::Pending, 0, None)
    );
    for kept in ["a", "side"] {
        let old = before.steps.iter().find(|s| s.name == kept);
        assert_eq!(Some(step(&p, kept)), old, "{kept} is kept as it was");
    }
    assert_eq!(p.status.phase, RunPhase::Running);
    assert_eq!(p.status.completion_time, None);
    assert_eq!(p.status.last_rerun_id.as_deref(), Some("1"));
    assert_eq!(p.status.progress.as_deref(), Some("2/4"));
    let complete = condition(&p, "Complete");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("False", "Rerun")
    );
    assert_eq!(reasons(&p), ["Rerun"]);
    assert!(p.events[0].message.contains('2'), "{}", p.events[0].message);

    w.succeed("r-b-2");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-c-1"]);
    w.succeed("r-c-1");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert_eq!(p.status.completion_time, time(at(120)));

    // The request is still in the spec: it is not carried out again.
    w.advance(60);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Succeeded);
    assert!(p.apply.is_empty() && p.events.is_empty());
    assert_eq!(
        w.event_reasons().iter().filter(|r| **r == "Rerun").count(),
        1
    );
}

#[test]
fn an_empty_step_list_reruns_every_failed_and_upstream_failed_step() {
    let mut w = failed_run();
    rerun(&mut w, "1", &[]);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-b-2"]);
    assert_eq!(step(&p, "a").phase, StepPhase::Succeeded);
    assert_eq!(step(&p, "side").phase, StepPhase::Succeeded);
    assert_eq!(step(&p, "c").phase, StepPhase::Pending);
    assert_eq!(reasons(&p), ["Rerun"]);
}

#[test]
fn a_second_request_continues_the_attempt_numbers() {
    let mut w = failed_run();
    rerun(&mut w, "1", &["b"]);
    w.reconcile();
    w.fail("r-b-2", "Error");
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);

    rerun(&mut w, "2", &["a"]);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"]);
    for s in ["b", "c", "side"] {
        assert_eq!(
            step(&p, s).phase,
            StepPhase::Pending,
            "{s} is downstream of a"
        );
    }
    w.succeed("r-a-2");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-b-3", "r-side-2"]);
    let names: Vec<&String> = w.applied.keys().collect();
    assert_eq!(
        names,
        [
            "r-a-1", "r-a-2", "r-b-1", "r-b-2", "r-b-3", "r-side-1", "r-side-2"
        ]
    );
}

#[test]
fn retries_start_again_after_a_rerun_but_attempts_do_not() {
    let mut spec = dag(&["a"]);
    step_mut(&mut spec, "a").retries = Some(retries(1, "", 1));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.fail("r-a-1", "Error");
    w.reconcile();
    w.fail("r-a-2", "Error");
    assert_eq!(w.reconcile().status.phase, RunPhase::Failed);
    rerun(&mut w, "x", &[]);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-3"]);
    assert_eq!((step(&p, "a").attempt, step(&p, "a").retries), (3, 0));
    w.fail("r-a-3", "Error");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-4"], "the retry budget is fresh");
}

#[test]
fn a_rerun_for_each_step_gives_every_item_a_new_attempt() {
    let mut spec = dag(&["each"]);
    step_mut(&mut spec, "each").for_each = Some(ForEach {
        items: Some(vec![json!("x"), json!("y")]),
        ..Default::default()
    });
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.succeed("r-each-0-1");
    w.fail("r-each-1-1", "Error");
    assert_eq!(w.reconcile().status.phase, RunPhase::Failed);
    rerun(&mut w, "1", &["each"]);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-each-0-2", "r-each-1-2"]);
}

#[test]
fn an_unknown_step_is_reported_and_nothing_reruns() {
    let mut w = failed_run();
    rerun(&mut w, "1", &["nope"]);
    let p = w.reconcile();
    assert_eq!(reasons(&p), ["RerunIgnored"]);
    assert!(p.events[0].warning && p.events[0].message.contains("nope"));
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert!(p.apply.is_empty());
    assert_eq!(p.status.last_rerun_id.as_deref(), Some("1"));
    assert!(w.reconcile().events.is_empty(), "reported once");
}

/// Regression (issue 9, item 9): a run cancelled while `load` ran and `transform` had
/// failed with OOMKilled, then re-run with `--step transform`: the re-run reset
/// `transform`, the cancel still in the spec cancelled it again, and the run stayed
/// `Cancelled` with `transform`'s OOMKilled record replaced by `Cancelled`. A re-run of a
/// run that is still cancelled is now refused with a Warning and changes nothing; cleared
/// together with the cancel (what `weir retry` sends), it really re-runs.
#[test]
fn a_rerun_of_a_cancelled_run_is_refused_unless_the_cancel_is_cleared() {
    let mut w = World::new(dag(&["transform", "load"]));
    w.admit();
    w.reconcile();
    w.fail("r-transform-1", "OOMKilled");
    w.reconcile();
    w.run.spec.cancel = true;
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Cancelled);
    assert_eq!(step(&p, "load").phase, StepPhase::Cancelled);
    let cancelled = w.run.status.clone().unwrap_or_default();

    rerun(&mut w, "1", &["transform"]);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Cancelled);
    assert_eq!(
        step(&p, "transform").reason,
        Some(StepReason::from("OOMKilled"))
    );
    assert_eq!(p.status.steps, cancelled.steps, "no outcome lost");
    assert!(p.apply.is_empty());
    assert_eq!(reasons(&p), ["RerunIgnored"]);
    assert!(p.events[0].warning && p.events[0].message.contains("spec.cancel"));

    w.run.spec.cancel = false;
    rerun(&mut w, "2", &[]);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Running);
    assert_eq!(applied(&p), ["r-transform-2", "r-load-2"]);
}
