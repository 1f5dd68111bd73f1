//! forEach over an upstream step's result: one child per item, the item in the rendered
//! Job, the items' results as the step's, and the edge cases (no items, not a list).

use crate::common;
use weir_api::reason::{EventReason, StepReason, WeirReason};

use common::*;
use serde_json::{Value, json};
use weir_api::labels;
use weir_api::v1alpha1::{PipelineSpec, RunPhase, StepPhase};

/// `list` produces the items, `each` runs once per item, `report` runs after.
fn fan_out(key: Option<&str>) -> PipelineSpec {
    let mut spec = dag(&["list", "each <- list", "report <- each"]);
    let each = step_mut(&mut spec, "each");
    each.for_each = Some(for_each_from("list", key));
    if let Some(j) = each.job.as_mut() {
        j.args = vec![
            "--part={{ item }}".into(),
            "--index={{ step.index }}".into(),
        ];
    }
    spec
}

/// Runs `list` to success with `result`; returns the plan of the reconcile that sees it.
fn listed(spec: PipelineSpec, result: Value) -> (World, weir_core::Plan) {
    let mut w = World::new(spec);
    w.admit();
    w.reconcile();
    w.succeed_with("r-list-1", result);
    w.advance(10);
    let p = w.reconcile();
    (w, p)
}

#[test]
fn one_child_per_item_with_the_item_in_its_args() {
    let (mut w, p) = listed(fan_out(None), json!(["2025-01", "2025-02", "2025-03"]));
    assert_eq!(applied(&p), ["r-each-0-1", "r-each-1-1", "r-each-2-1"]);
    for (i, part) in ["2025-01", "2025-02", "2025-03"].iter().enumerate() {
        let j = job(&p, &format!("r-each-{i}-1"));
        assert_eq!(args(j), [format!("--part={part}"), format!("--index={i}")]);
        let l = j.metadata.labels.clone().unwrap_or_default();
        assert_eq!(l.get(labels::INDEX), Some(&i.to_string()));
        assert_eq!(l.get(labels::STEP).map(String::as_str), Some("each"));
        assert_eq!(l.get(labels::ATTEMPT).map(String::as_str), Some("1"));
    }
    let each = step(&p, "each");
    assert_eq!(each.phase, StepPhase::Running);
    assert_eq!(each.children, ["r-each-0-1", "r-each-1-1", "r-each-2-1"]);
    assert_eq!(each.items.len(), 3);
    assert!(
        each.items
            .iter()
            .all(|i| i.phase == StepPhase::Running && i.attempt == 1)
    );
    assert_eq!(each.items[2].child.as_deref(), Some("r-each-2-1"));

    // Items finish one by one; the step waits for all of them.
    w.succeed_with("r-each-0-1", json!({"rows": 1}));
    w.succeed_with("r-each-2-1", json!({"rows": 3}));
    let p = w.reconcile();
    assert_eq!(step(&p, "each").phase, StepPhase::Running);
    assert_eq!(step(&p, "report").phase, StepPhase::Pending);

    w.succeed_with("r-each-1-1", json!({"rows": 2}));
    let p = w.reconcile();
    let each = step(&p, "each");
    assert_eq!(each.phase, StepPhase::Succeeded);
    assert_eq!(
        each.result,
        Some(json!([{"rows": 1}, {"rows": 2}, {"rows": 3}])),
        "the items' results, in item order"
    );
    assert_eq!(applied(&p), ["r-report-1"]);
    w.succeed("r-report-1");
    assert_eq!(w.reconcile().status.phase, RunPhase::Succeeded);
}

#[test]
fn items_can_come_from_a_key_of_an_object_result() {
    let (_, p) = listed(
        fan_out(Some("files")),
        json!({"files": ["a.parquet", "b.parquet"], "count": 2}),
    );
    assert_eq!(applied(&p), ["r-each-0-1", "r-each-1-1"]);
    assert_eq!(args(job(&p, "r-each-1-1"))[0], "--part=b.parquet");
}

#[test]
fn object_items_are_visible_field_by_field() {
    let mut spec = fan_out(None);
    if let Some(j) = step_mut(&mut spec, "each").job.as_mut() {
        j.args = vec!["{{ item.table }}@{{ item.day }}".into()];
    }
    let (_, p) = listed(spec, json!([{"table": "events", "day": 3}]));
    assert_eq!(args(job(&p, "r-each-0-1")), ["events@3"]);
}

#[test]
fn an_empty_list_skips_the_step_and_its_all_success_downstream() {
    let (mut w, p) = listed(fan_out(None), json!([]));
    assert!(p.apply.is_empty());
    let each = step(&p, "each");
    assert_eq!(each.phase, StepPhase::Skipped);
    assert_eq!(each.reason, Some(WeirReason::NoItems.into()));
    let p = w.reconcile();
    assert_eq!(step(&p, "report").phase, StepPhase::Skipped);
    assert_eq!(p.status.phase, RunPhase::Succeeded);
}

#[test]
fn a_result_that_is_not_a_list_fails_the_step_without_retrying() {
    for (result, key, says) in [
        (json!({"files": []}), None, "not an array"),
        (json!("not json at all"), None, "not JSON"),
        (json!({"other": [1]}), Some("files"), "no key `files`"),
    ] {
        let mut spec = fan_out(key);
        step_mut(&mut spec, "each").retries = Some(retries(3, "", 1));
        let (mut w, p) = listed(spec, result.clone());
        let each = step(&p, "each");
        assert_eq!(each.phase, StepPhase::Failed, "{result}");
        assert_eq!(each.reason, Some(WeirReason::InvalidForEach.into()));
        let msg = each.message.clone().unwrap_or_default();
        assert!(msg.contains(says) && msg.contains("list"), "{msg}");
        assert!(p.apply.is_empty());
        assert!(reasons(&p).contains(&"StepFailed"));
        let p = w.reconcile();
        assert!(p.apply.is_empty(), "no retry");
        assert_eq!(step(&p, "report").phase, StepPhase::UpstreamFailed);
        assert_eq!(p.status.phase, RunPhase::Failed);
        assert_eq!(
            p.status.message.as_deref(),
            Some("step each failed: InvalidForEach")
        );
    }
}

#[test]
fn a_failed_item_is_retried_alone() {
    let mut spec = fan_out(None);
    step_mut(&mut spec, "each").retries = Some(retries(1, "30s", 2));
    let (mut w, _) = listed(spec, json!(["x", "y"]));
    w.succeed("r-each-0-1");
    w.fail("r-each-1-1", "OOMKilled");
    let p = w.reconcile();
    let each = step(&p, "each");
    assert_eq!(each.phase, StepPhase::Retrying);
    assert_eq!(each.items[0].phase, StepPhase::Succeeded);
    assert_eq!(each.items[1].phase, StepPhase::Retrying);
    assert_eq!(each.items[1].reason, Some(StepReason::from("OOMKilled")));
    assert_eq!(each.next_attempt_time, time(at(40)));
    assert_eq!(secs(p.requeue_after), Some(30));
    assert!(
        p.events
            .iter()
            .any(|e| e.reason == EventReason::StepRetrying && e.message.contains("item 1"))
    );

    w.advance(30);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-each-1-2"]);
    assert_eq!(
        args(job(&p, "r-each-1-2"))[0],
        "--part=y",
        "the same item again"
    );
    assert_eq!(step(&p, "each").attempt, 2);
    w.succeed("r-each-1-2");
    let p = w.reconcile();
    assert_eq!(step(&p, "each").phase, StepPhase::Succeeded);
}

#[test]
fn a_failed_item_fails_the_step_once_every_item_is_done() {
    let (mut w, _) = listed(fan_out(None), json!(["x", "y", "z"]));
    w.fail("r-each-1-1", "Error");
    let p = w.reconcile();
    assert_eq!(
        step(&p, "each").phase,
        StepPhase::Running,
        "x and z still run"
    );
    assert_eq!(step(&p, "each").items[1].phase, StepPhase::Failed);
    w.succeed("r-each-0-1");
    w.succeed("r-each-2-1");
    let p = w.reconcile();
    let each = step(&p, "each");
    assert_eq!(each.phase, StepPhase::Failed);
    assert_eq!(each.reason, Some(StepReason::from("Error")));
    assert!(
        each.message
            .as_deref()
            .unwrap_or_default()
            .starts_with("item 1")
    );
    assert_eq!(step(&p, "report").phase, StepPhase::UpstreamFailed);
}

#[test]
fn literal_items_need_no_upstream() {
    let mut spec = dag(&["each"]);
    step_mut(&mut spec, "each").for_each = Some(weir_api::v1alpha1::ForEach {
        items: Some(vec![json!(1), json!(2)]),
        ..Default::default()
    });
    let mut w = World::new(spec);
    w.admit();
    assert_eq!(applied(&w.reconcile()), ["r-each-0-1", "r-each-1-1"]);
}

/// Issue 9: a fan-out whose items' results add up past the per-step limit would make the
/// run's status unwritable (1,000 items × 4 KiB). Counted in item order, the item that
/// goes past the limit fails with `ResultTooLarge` (a Warning), not retried, and so does
/// the step; nothing grows past the limit.
#[test]
fn results_past_the_step_limit_fail_the_item_and_the_step() {
    let mut spec = fan_out(None);
    step_mut(&mut spec, "each").retries = Some(retries(3, "", 1));
    let items: Vec<Value> = (0..20).map(|i| json!(i)).collect();
    let (mut w, _) = listed(spec, Value::Array(items));
    let big = "x".repeat(4000);
    for i in 0..20 {
        w.succeed_with(&format!("r-each-{i}-1"), json!(big));
    }
    let p = w.reconcile();
    let each = step(&p, "each");
    assert_eq!(each.phase, StepPhase::Failed, "{each:?}");
    assert_eq!(each.reason, Some(WeirReason::ResultTooLarge.into()));
    let fitting = weir_core::MAX_STEP_RESULTS_BYTES / 4002;
    let failed: Vec<u32> = each
        .items
        .iter()
        .filter(|i| i.reason == Some(WeirReason::ResultTooLarge.into()))
        .map(|i| i.index)
        .collect();
    assert_eq!(failed, (fitting as u32..20).collect::<Vec<_>>());
    assert!(each.items.iter().all(|i| i.retries == 0), "never retried");
    let kept: usize = each
        .items
        .iter()
        .filter_map(|i| i.result.as_ref())
        .map(|r| r.to_string().len())
        .sum();
    assert!(
        kept <= weir_core::MAX_STEP_RESULTS_BYTES,
        "{kept} bytes kept"
    );
    assert!(p.urgent);
    assert!(reasons(&p).contains(&"ResultTooLarge"), "{:?}", reasons(&p));
    assert_eq!(p.status.phase, RunPhase::Failed);
}

/// A succeeded fan-out keeps its items' results once, in the step's result.
#[test]
fn a_succeeded_fan_out_keeps_results_once() {
    let (mut w, _) = listed(fan_out(None), json!(["a", "b"]));
    w.succeed_with("r-each-0-1", json!({"rows": 1}));
    w.succeed_with("r-each-1-1", json!({"rows": 2}));
    let p = w.reconcile();
    let each = step(&p, "each");
    assert_eq!(each.phase, StepPhase::Succeeded);
    assert_eq!(each.result, Some(json!([{"rows": 1}, {"rows": 2}])));
    assert!(each.items.iter().all(|i| i.result.is_none()), "{each:?}");
}
