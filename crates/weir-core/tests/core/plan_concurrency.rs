//! Limits: `maxParallelSteps` (steps and forEach items), `spec.suspend`, and the run-level
//! `maxActiveRuns` with its Queue, Forbid and Replace policies.

use crate::common;
use weir_api::reason::{EventReason, WeirReason};

use common::*;
use serde_json::json;
use weir_api::v1alpha1::{ConcurrencyPolicy, ForEach, PipelineSpec, RunPhase, StepPhase};
use weir_core::Sibling;

fn five_independent(cap: u32) -> PipelineSpec {
    let mut spec = dag(&["s1", "s2", "s3", "s4", "s5"]);
    spec.concurrency.max_parallel_steps = Some(cap);
    spec
}

/// Children that exist, are not being deleted and have not finished.
fn running(w: &World) -> usize {
    w.children
        .iter()
        .filter(|c| !c.deleting && !c.state.phase.is_terminal())
        .count()
}

#[test]
fn max_parallel_steps_caps_the_children_alive_at_once() {
    let mut w = World::new(five_independent(2));
    w.admit();
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-s1-1", "r-s2-1"]);
    for s in ["s3", "s4", "s5"] {
        assert_eq!(step(&p, s).phase, StepPhase::Pending, "{s}");
        assert!(
            step(&p, s)
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("slot")
        );
    }

    let mut order = applied(&p);
    for _ in 0..10 {
        // The oldest running child finishes each round.
        if let Some(name) = w
            .children
            .iter()
            .find(|c| !c.state.phase.is_terminal())
            .map(|c| c.name.clone())
        {
            w.succeed(&name);
        }
        w.advance(10);
        let p = w.reconcile();
        order.extend(applied(&p));
        assert!(running(&w) <= 2, "{} running", running(&w));
        if p.status.phase.is_finished() {
            assert_eq!(p.status.phase, RunPhase::Succeeded);
            break;
        }
    }
    assert_eq!(order, ["r-s1-1", "r-s2-1", "r-s3-1", "r-s4-1", "r-s5-1"]);
    assert_eq!(
        w.run.status.as_ref().map(|s| s.phase),
        Some(RunPhase::Succeeded)
    );
}

#[test]
fn a_retrying_step_holds_no_slot_but_needs_one_to_start_again() {
    let mut spec = five_independent(1);
    step_mut(&mut spec, "s1").retries = Some(retries(1, "10s", 2));
    let mut w = World::new(spec);
    w.admit();
    assert_eq!(applied(&w.reconcile()), ["r-s1-1"]);
    w.fail("r-s1-1", "Error");
    let p = w.reconcile();
    assert_eq!(
        applied(&p),
        ["r-s2-1"],
        "the freed slot goes to the next step"
    );
    w.advance(10);
    let p = w.reconcile();
    assert!(
        p.apply.is_empty(),
        "the retry is due but s2 holds the only slot"
    );
    assert_eq!(step(&p, "s1").phase, StepPhase::Retrying);
    w.succeed("r-s2-1");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-s1-2"], "a due retry goes before new steps");
}

fn fan_out(items: usize, cap: Option<u32>) -> PipelineSpec {
    let mut spec = dag(&["fe"]);
    spec.concurrency.max_parallel_steps = cap;
    let fe = step_mut(&mut spec, "fe");
    fe.for_each = Some(ForEach {
        items: Some((0..items).map(|i| json!(format!("p{i}"))).collect()),
        ..Default::default()
    });
    spec
}

#[test]
fn for_each_items_respect_max_parallel_steps() {
    let mut w = World::new(fan_out(5, Some(2)));
    w.admit();
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-fe-0-1", "r-fe-1-1"]);
    let fe = step(&p, "fe");
    assert_eq!(fe.phase, StepPhase::Running);
    assert_eq!(fe.items.len(), 5);
    assert_eq!(fe.items[2].phase, StepPhase::Pending);

    w.succeed("r-fe-0-1");
    let p = w.reconcile();
    assert_eq!(p.apply.len(), 1, "{:?}", applied(&p));
    assert_eq!(running(&w), 2);
    for _ in 0..10 {
        let names: Vec<String> = w
            .children
            .iter()
            .filter(|c| !c.state.phase.is_terminal())
            .map(|c| c.name.clone())
            .collect();
        for n in &names {
            w.succeed(n);
        }
        let p = w.reconcile();
        assert!(running(&w) <= 2);
        if p.status.phase.is_finished() {
            break;
        }
    }
    let status = w.run.status.clone().unwrap_or_default();
    assert_eq!(status.phase, RunPhase::Succeeded);
    assert_eq!(w.applied.len(), 5, "{:?}", w.applied.keys());
}

#[test]
fn for_each_items_started_later_are_still_first_attempts() {
    let mut w = World::new(fan_out(3, Some(1)));
    w.admit();
    w.reconcile();
    w.succeed("r-fe-0-1");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-fe-1-1"]);
    assert_eq!(step(&p, "fe").items[1].attempt, 1);
}

#[test]
fn suspend_starts_nothing_new_while_running_children_go_on() {
    let mut spec = dag(&["a", "b <- a", "c"]);
    step_mut(&mut spec, "c").retries = Some(retries(1, "", 1));
    let mut w = World::new(spec);
    w.run.spec.suspend = true;
    w.admit();
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Running);
    assert!(p.apply.is_empty());
    assert_eq!(step(&p, "a").phase, StepPhase::Pending);

    w.run.spec.suspend = false;
    assert_eq!(applied(&w.reconcile()), ["r-a-1", "r-c-1"]);

    w.run.spec.suspend = true;
    w.succeed("r-a-1");
    w.fail("r-c-1", "Error");
    let p = w.reconcile();
    assert_eq!(
        step(&p, "a").phase,
        StepPhase::Succeeded,
        "running children are still read"
    );
    assert_eq!(step(&p, "c").phase, StepPhase::Retrying);
    assert!(
        p.apply.is_empty(),
        "neither b nor c's retry: {:?}",
        applied(&p)
    );

    w.run.spec.suspend = false;
    assert_eq!(applied(&w.reconcile()), ["r-c-2", "r-b-1"]);
}

// ---- maxActiveRuns -----------------------------------------------------------------------

fn limited(policy: ConcurrencyPolicy) -> PipelineSpec {
    let mut spec = dag(&["a"]);
    spec.concurrency.max_active_runs = Some(1);
    spec.concurrency.policy = policy;
    spec
}

fn older_sibling(phase: RunPhase) -> Sibling {
    Sibling {
        name: "r1".into(),
        created: at(-60),
        phase,
    }
}

#[test]
fn queue_holds_the_run_until_the_sibling_finishes() {
    let mut w = World::named("r2", limited(ConcurrencyPolicy::Queue));
    w.siblings = vec![older_sibling(RunPhase::Running)];
    let first = w.reconcile();
    w.advance(30);
    let second = w.reconcile();
    for p in [&first, &second] {
        assert_eq!(p.status.phase, RunPhase::Queued);
        assert!(
            p.status
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("maxActiveRuns")
        );
        assert_eq!(p.status.pipeline_spec, None);
        assert_eq!(p.status.start_time, None);
        assert!(p.apply.is_empty());
    }
    assert_eq!(w.event_reasons(), ["Queued"], "one event while queued");

    w.siblings = vec![older_sibling(RunPhase::Succeeded)];
    w.advance(30);
    let p = w.admit();
    assert_eq!(p.status.phase, RunPhase::Running);
    assert_eq!(p.status.start_time, time(at(60)));
    assert!(p.urgent, "the snapshot is written at once");
    assert_eq!(reasons(&p), ["Started"]);
    assert_eq!(applied(&w.reconcile()), ["r2-a-1"]);
}

#[test]
fn an_older_queued_run_goes_first() {
    let mut w = World::named("r2", limited(ConcurrencyPolicy::Queue));
    w.siblings = vec![older_sibling(RunPhase::Queued)];
    assert_eq!(w.reconcile().status.phase, RunPhase::Queued);
    let mut w = World::named("r0", limited(ConcurrencyPolicy::Queue));
    w.siblings = vec![Sibling {
        created: at(60),
        ..older_sibling(RunPhase::Queued)
    }];
    assert_eq!(
        w.reconcile().status.phase,
        RunPhase::Running,
        "a newer queued run is behind"
    );
}

#[test]
fn forbid_fails_the_run() {
    let mut w = World::named("r2", limited(ConcurrencyPolicy::Forbid));
    w.siblings = vec![older_sibling(RunPhase::Running)];
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    let complete = condition(&p, "Complete");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("True", "ConcurrencyForbidden")
    );
    assert!(p.apply.is_empty());
    let ev = p
        .events
        .iter()
        .find(|e| e.reason == EventReason::ConcurrencyForbidden);
    assert!(ev.is_some_and(|e| e.warning), "{:?}", p.events);
    assert!(p.status.completion_time.is_some());
}

#[test]
fn a_forbidden_run_stays_failed_after_the_sibling_finishes() {
    let mut w = World::named("r2", limited(ConcurrencyPolicy::Forbid));
    w.siblings = vec![older_sibling(RunPhase::Running)];
    w.reconcile();
    w.siblings = vec![older_sibling(RunPhase::Succeeded)];
    w.advance(60);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert!(p.apply.is_empty(), "started {:?}", applied(&p));
    assert!(p.events.is_empty(), "{:?}", p.events);
}

#[test]
fn replace_cancels_the_older_run_when_a_newer_one_is_unfinished() {
    let mut old = World::named("r1", limited(ConcurrencyPolicy::Replace));
    old.run.metadata.creation_timestamp = time(at(-60));
    old.admit();
    old.reconcile();
    assert_eq!(old.live(), ["r1-a-1"]);

    let mut new = World::named("r2", limited(ConcurrencyPolicy::Replace));
    new.siblings = vec![old.as_sibling()];
    new.admit();
    let p = new.reconcile();
    assert_eq!(
        p.status.phase,
        RunPhase::Running,
        "Replace admits the newer run"
    );
    assert_eq!(applied(&p), ["r2-a-1"]);

    old.siblings = vec![new.as_sibling()];
    let p = old.reconcile();
    assert_eq!(p.status.phase, RunPhase::Cancelled);
    assert_eq!(condition(&p, "Complete").reason, "Replaced");
    assert_eq!(step(&p, "a").phase, StepPhase::Cancelled);
    assert_eq!(step(&p, "a").reason, Some(WeirReason::Replaced.into()));
    assert_eq!(deleted(&p), ["r1-a-1"]);

    // The newer run is not replaced by the older one.
    new.siblings = vec![old.as_sibling()];
    assert_eq!(new.reconcile().status.phase, RunPhase::Running);
}

#[test]
fn a_newer_finished_run_replaces_nothing() {
    let mut w = World::named("r1", limited(ConcurrencyPolicy::Replace));
    w.siblings = vec![Sibling {
        name: "r2".into(),
        created: at(60),
        phase: RunPhase::Failed,
    }];
    w.admit();
    assert_eq!(w.reconcile().status.phase, RunPhase::Running);
}

#[test]
fn allow_ignores_max_active_runs() {
    let mut w = World::named("r2", limited(ConcurrencyPolicy::Allow));
    w.siblings = vec![older_sibling(RunPhase::Running)];
    w.admit();
    assert_eq!(w.reconcile().status.phase, RunPhase::Running);
}

/// Two runs created in the same second, reconciled in `order`; returns their phases.
fn same_time(order: [usize; 2], policy: ConcurrencyPolicy) -> [RunPhase; 2] {
    let mut worlds = [
        World::named("x", limited(policy)),
        World::named("y", limited(policy)),
    ];
    for _ in 0..2 {
        for i in order {
            let other = worlds[1 - i].as_sibling();
            worlds[i].siblings = vec![other];
            worlds[i].reconcile();
        }
    }
    worlds.map(|w| w.run.status.map(|s| s.phase).unwrap_or_default())
}

#[test]
fn runs_created_at_the_same_time_are_ordered_by_name_whoever_is_reconciled_first() {
    use RunPhase::*;
    assert_eq!(
        same_time([0, 1], ConcurrencyPolicy::Queue),
        [Running, Queued]
    );
    assert_eq!(
        same_time([1, 0], ConcurrencyPolicy::Queue),
        [Running, Queued]
    );
    assert_eq!(
        same_time([0, 1], ConcurrencyPolicy::Forbid),
        [Running, Failed]
    );
    assert_eq!(
        same_time([1, 0], ConcurrencyPolicy::Forbid),
        [Running, Failed]
    );
    assert_eq!(
        same_time([0, 1], ConcurrencyPolicy::Replace),
        [Cancelled, Running]
    );
    assert_eq!(
        same_time([1, 0], ConcurrencyPolicy::Replace),
        [Cancelled, Running]
    );
}
