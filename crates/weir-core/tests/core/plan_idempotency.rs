//! The planner is a function: the same observation gives the same plan, and a controller
//! that dies between applying children and patching the status re-applies the same
//! children (same names, same content) instead of creating new attempts.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::json;
use weir_api::v1alpha1::{ForEach, PipelineRunStatus, PipelineSpec, RunPhase};
use weir_core::state::ChildPhase;

/// Retries, a throttled fan-out, a cleanup step: most of the planner's moving parts.
fn busy_pipeline() -> PipelineSpec {
    let mut spec = dag(&["a", "b <- a", "c <- b", "cleanup <- a [allDone]"]);
    spec.concurrency.max_parallel_steps = Some(2);
    step_mut(&mut spec, "a").retries = Some(retries(2, "10s", 2));
    let b = step_mut(&mut spec, "b");
    b.retries = Some(retries(1, "", 1));
    b.for_each = Some(ForEach {
        items: Some(vec![json!("x"), json!("y"), json!("z")]),
        ..Default::default()
    });
    spec
}

/// Children that fail (once) in the scripted cluster; every other child succeeds.
const FAILING: [&str; 2] = ["r-a-1", "r-b-1-1"];

/// The cluster finishes every running child: those in [`FAILING`] fail, others succeed.
fn finish_running(w: &mut World) {
    let running: Vec<String> = w
        .children
        .iter()
        .filter(|c| !c.deleting && !c.state.phase.is_terminal())
        .map(|c| c.name.clone())
        .collect();
    for name in running {
        if FAILING.contains(&name.as_str()) {
            w.fail(&name, "Error");
        } else {
            w.succeed(&name);
        }
    }
}

/// Drives `busy_pipeline` to its end; with `crash`, every reconcile is first attempted by
/// a controller that dies before its status patch. Returns the applied names and the
/// final phase.
fn drive(crash: bool) -> (BTreeSet<String>, RunPhase) {
    let mut w = World::new(busy_pipeline());
    w.admit();
    for _ in 0..40 {
        if crash {
            let lost = w.crash_after_apply();
            let p = w.reconcile();
            // The replay finds the children the lost reconcile created and adopts them:
            // nothing is applied twice, and it decides the same.
            assert!(
                p.apply.is_empty(),
                "the replay applies nothing: {:?}",
                applied(&p)
            );
            for name in applied(&lost) {
                let running: Vec<String> = p
                    .status
                    .steps
                    .iter()
                    .flat_map(|s| s.children.clone())
                    .collect();
                assert!(
                    running.contains(&name),
                    "the replay adopts {name}: {running:?}"
                );
            }
            assert_eq!(
                decisions(&p.status),
                decisions(&lost.status),
                "and decides the same"
            );
        } else {
            w.reconcile();
        }
        let phase = w.run.status.as_ref().map(|s| s.phase).unwrap_or_default();
        if phase.is_finished() {
            return (w.applied.keys().cloned().collect(), phase);
        }
        finish_running(&mut w);
        w.advance(15);
    }
    panic!("the run did not finish");
}

#[test]
fn a_crash_before_every_status_patch_creates_no_extra_child() {
    let (calm, phase) = drive(false);
    assert_eq!(phase, RunPhase::Succeeded);
    let (crashy, phase) = drive(true);
    assert_eq!(phase, RunPhase::Succeeded);
    assert_eq!(crashy, calm);
    assert!(
        calm.contains("r-a-2") && !calm.contains("r-a-3"),
        "{calm:?}"
    );
}

#[test]
fn replaying_an_older_status_adopts_the_same_retry() {
    let mut spec = dag(&["a"]);
    step_mut(&mut spec, "a").retries = Some(retries(3, "10s", 2));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.fail("r-a-1", "Error");
    w.reconcile();
    w.advance(10);
    let retrying = w.run.status.clone();
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-2"]);

    // The status patch was lost: the run still says Retrying, r-a-2 exists.
    w.run.status = retrying;
    w.advance(3);
    let p = w.reconcile();
    assert!(
        p.apply.is_empty(),
        "r-a-2 exists: adopted, not applied again"
    );
    assert_eq!(
        step(&p, "a").children,
        ["r-a-2"],
        "the same name, never r-a-3"
    );
    assert_eq!(step(&p, "a").attempt, 2);
}

#[test]
fn replaying_a_status_from_before_the_failure_was_seen_adopts_the_retry() {
    let mut spec = dag(&["a"]);
    step_mut(&mut spec, "a").retries = Some(retries(3, "", 1));
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    let running = w.run.status.clone();
    w.fail("r-a-1", "Error");
    assert_eq!(applied(&w.reconcile()), ["r-a-2"]);
    // Lost: the run still says attempt 1 is running; r-a-1 failed and r-a-2 exists.
    w.run.status = running;
    w.advance(5);
    let p = w.reconcile();
    assert!(
        p.apply.is_empty(),
        "r-a-2 exists: adopted, not applied again"
    );
    assert_eq!(step(&p, "a").children, ["r-a-2"]);
    assert_eq!(step(&p, "a").retries, 1);
}

/// What a status decides, without its timestamps (which are the reconcile's time or
/// derived from it, like a retry's `nextAttemptTime`).
fn decisions(status: &PipelineRunStatus) -> Vec<String> {
    let mut out = vec![format!(
        "{:?} {:?} {:?}",
        status.phase, status.progress, status.message
    )];
    for s in &status.steps {
        let items: Vec<_> = s
            .items
            .iter()
            .map(|i| (i.phase, i.attempt, i.child.clone()))
            .collect();
        out.push(format!(
            "{} {:?} {} {} {:?} {:?} {:?}",
            s.name, s.phase, s.attempt, s.retries, s.children, s.reason, items
        ));
    }
    out
}

#[test]
fn planning_twice_from_one_observation_gives_one_plan() {
    let mut w = World::new(busy_pipeline());
    w.admit();
    for round in 0..20 {
        let first = w.plan();
        assert_eq!(
            first,
            w.plan(),
            "round {round}: same observation, same time"
        );

        // A second later, with nothing observed to have changed: the same children and
        // the same decisions, up to timestamps.
        let before = w.now;
        w.advance(1);
        let later = w.plan();
        assert_eq!(applied(&later), applied(&first), "round {round}");
        assert_eq!(
            decisions(&later.status),
            decisions(&first.status),
            "round {round}"
        );
        w.now = before;

        let p = w.reconcile();
        if p.status.phase.is_finished() {
            return;
        }
        finish_running(&mut w);
        w.advance(15);
    }
    panic!("the run did not finish");
}

#[test]
fn reconciling_again_without_news_changes_nothing() {
    let mut w = World::new(dag(&["a", "b <- a"]));
    w.admit();
    w.reconcile();
    let settled = w.reconcile();
    let again = w.reconcile();
    assert!(again.apply.is_empty() && again.delete.is_empty() && again.events.is_empty());
    assert_eq!(again.status, settled.status);
    assert!(
        w.children
            .iter()
            .all(|c| c.state.phase == ChildPhase::Running)
    );
}
