//! A standalone SparkJob's attempts (weir-core's `attempts`): one child per attempt, named
//! `{name}-{attempt}`, retried with a new name, never submitted twice, failed at once when
//! its observed child is deleted, timed out, and refused when its spec is invalid.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use weir_api::v1alpha1::{RetryPolicy, StepPhase};
use weir_core::attempts::{Attempts, StandaloneObserved, StandalonePlan, plan_standalone};
use weir_core::check::shared_renderer;
use weir_core::observe::ObservedChild;
use weir_core::standalone::{Standalone, StandaloneInput};
use weir_core::state::{ChildPhase, ChildState};

fn spec() -> Value {
    json!({"image": "spark:3.5.1", "sparkVersion": "3.5.1", "mainApplicationFile": "local:///app.py", "type": "Python"})
}

const T0: &str = "2026-01-01T00:00:00Z";

fn at(secs: i64) -> Timestamp {
    T0.parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_secs(secs)
}

/// Plans with `attempts` recorded, the child in `child` (phase), at `now` seconds.
fn plan(
    spec: &Value,
    attempts: &Attempts,
    child: Option<ChildPhase>,
    seen: bool,
    retries: Option<&RetryPolicy>,
    timeout: Option<&str>,
    now: i64,
) -> StandalonePlan {
    let templates = BTreeMap::new();
    let observed = StandaloneObserved {
        input: StandaloneInput {
            kind: Standalone::SparkJob,
            name: "load",
            attempt: 1,
            namespace: "ns",
            uid: "uid-1",
            start_time: Some(at(0)),
            spec: spec.clone(),
            template: None,
        },
        generation: Some(1),
        retries,
        timeout,
        attempts: attempts.clone(),
        child: child.map(|phase| ObservedChild {
            kind: Standalone::SparkJob.child_kind(),
            name: attempts.child.clone().unwrap_or_default(),
            step: String::new(),
            state: ChildState::new(phase),
            deleting: false,
        }),
        child_seen: seen,
        refused: None,
        config_templates: &templates,
        renderer: shared_renderer(),
        now: at(now),
    };
    plan_standalone(&observed)
}

#[test]
fn the_first_reconcile_records_attempt_one_and_creates_its_child_after_the_status() {
    let p = plan(&spec(), &Attempts::default(), None, false, None, None, 0);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.attempts.phase, StepPhase::Running);
    assert_eq!(
        (p.attempts.attempt, p.attempts.child.as_deref()),
        (1, Some("load-1"))
    );
    assert_eq!(
        p.apply.as_ref().map(|m| m.name().to_string()),
        Some("load-1".into())
    );
    assert!(
        p.urgent,
        "the status recording the attempt is written first"
    );
}

#[test]
fn a_failed_attempt_is_retried_under_a_new_name_and_never_resubmitted() {
    let retries = RetryPolicy {
        limit: 1,
        backoff: Some(weir_api::v1alpha1::Backoff {
            initial: "1s".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let running = plan(
        &spec(),
        &Attempts::default(),
        None,
        false,
        Some(&retries),
        None,
        0,
    )
    .attempts;
    // The child has not shown up yet: wait (within the grace), never create it again.
    let waiting = plan(&spec(), &running, None, false, Some(&retries), None, 5);
    assert!(waiting.apply.is_none());
    assert_eq!(waiting.attempts.phase, StepPhase::Running);
    assert!(waiting.requeue_after.is_some());
    let failed = plan(
        &spec(),
        &running,
        Some(ChildPhase::Failed),
        true,
        Some(&retries),
        None,
        10,
    );
    assert_eq!(failed.attempts.phase, StepPhase::Retrying);
    assert!(failed.apply.is_none());
    let second = plan(
        &spec(),
        &failed.attempts,
        None,
        false,
        Some(&retries),
        None,
        11,
    );
    assert_eq!(second.attempts.child.as_deref(), Some("load-2"));
    assert_eq!(
        second.apply.as_ref().map(|m| m.name().to_string()),
        Some("load-2".into())
    );
    let done = plan(
        &spec(),
        &second.attempts,
        Some(ChildPhase::Failed),
        true,
        Some(&retries),
        None,
        20,
    );
    assert_eq!(done.attempts.phase, StepPhase::Failed, "retries used up");
    assert!(
        done.events
            .iter()
            .any(|e| e.warning && e.message.starts_with("SparkJob load"))
    );
}

#[test]
fn a_deleted_child_fails_its_attempt_at_once_and_a_missing_one_after_the_grace() {
    let running = plan(&spec(), &Attempts::default(), None, false, None, None, 0).attempts;
    let deleted = plan(&spec(), &running, None, true, None, None, 1);
    assert_eq!(deleted.attempts.phase, StepPhase::Failed);
    assert_eq!(deleted.attempts.reason.as_deref(), Some("ChildDeleted"));
    assert!(
        deleted.apply.is_none(),
        "the attempt is never submitted again"
    );
    let missing = plan(&spec(), &running, None, false, None, None, 31);
    assert_eq!(missing.attempts.reason.as_deref(), Some("ChildMissing"));
    assert!(missing.apply.is_none());
}

#[test]
fn an_attempt_past_its_timeout_is_deleted_and_failed() {
    let running = plan(
        &spec(),
        &Attempts::default(),
        None,
        false,
        None,
        Some("1m"),
        0,
    )
    .attempts;
    let still = plan(
        &spec(),
        &running,
        Some(ChildPhase::Running),
        true,
        None,
        Some("1m"),
        30,
    );
    assert_eq!(still.requeue_after, Some(Duration::from_secs(30)));
    let late = plan(
        &spec(),
        &running,
        Some(ChildPhase::Running),
        true,
        None,
        Some("1m"),
        61,
    );
    assert_eq!(late.attempts.reason.as_deref(), Some("Timeout"));
    assert_eq!(late.delete.len(), 1);
    assert_eq!(late.delete[0].name, "load-1");
}

#[test]
fn a_succeeded_child_finishes_the_job_and_nothing_more_happens() {
    let running = plan(&spec(), &Attempts::default(), None, false, None, None, 0).attempts;
    let done = plan(
        &spec(),
        &running,
        Some(ChildPhase::Succeeded),
        true,
        None,
        None,
        5,
    );
    assert_eq!(done.attempts.phase, StepPhase::Succeeded);
    assert!(done.attempts.finish.is_some());
    let again = plan(
        &spec(),
        &done.attempts,
        Some(ChildPhase::Succeeded),
        true,
        None,
        None,
        6,
    );
    assert_eq!(again.attempts, done.attempts, "idempotent");
    assert!(again.apply.is_none() && again.delete.is_empty());
}

#[test]
fn an_invalid_spec_starts_nothing_names_the_field_and_starts_once_fixed() {
    let mut bad = spec();
    bad["timeout"] = json!("soon");
    let p = plan(&bad, &Attempts::default(), None, false, None, None, 0);
    assert!(p.apply.is_none());
    assert_eq!(p.attempts.phase, StepPhase::Failed);
    assert_eq!(p.attempts.reason.as_deref(), Some("InvalidSpec"));
    assert!(
        p.problems.iter().any(|m| m.starts_with("spec.timeout:")),
        "{:?}",
        p.problems
    );
    assert!(p.events.iter().any(|e| e.warning));
    let fixed = plan(&spec(), &p.attempts, None, false, None, None, 1);
    assert_eq!(fixed.attempts.child.as_deref(), Some("load-1"));
    assert!(fixed.apply.is_some());
}
