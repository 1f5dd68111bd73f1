//! The planner's first reconcile of a run (spec and params snapshot, root steps, the
//! identity stamped on each child) and invalid input (bad specs, params, a missing Pipeline,
//! template errors).

use crate::common;
use weir_api::reason::{EventReason, WeirReason};

use std::collections::BTreeMap;

use common::*;
use weir_api::labels;
use weir_api::v1alpha1::{ParamSpec, RunPhase, StepPhase, TemplateRef};

fn params_spec() -> weir_api::v1alpha1::PipelineSpec {
    let mut spec = dag(&["extract", "load", "report <- extract load"]);
    spec.params = vec![
        ParamSpec {
            name: "date".into(),
            default: Some("2025-01-01".into()),
            ..Default::default()
        },
        ParamSpec {
            name: "table".into(),
            default: Some("events".into()),
            ..Default::default()
        },
    ];
    spec
}

#[test]
fn first_reconcile_snapshots_the_spec_and_params_and_creates_nothing() {
    let mut w = World::new(params_spec());
    w.run.spec.params = BTreeMap::from([("date".to_string(), "2025-06-01".to_string())]);
    let p = w.reconcile();

    let s = &p.status;
    assert_eq!(s.phase, RunPhase::Running);
    assert_eq!(
        s.pipeline_spec.as_deref(),
        w.pipeline.as_ref().map(|pl| &pl.spec)
    );
    assert_eq!(s.pipeline_generation, Some(4));
    assert_eq!(
        s.params,
        BTreeMap::from([
            ("date".to_string(), "2025-06-01".to_string()),
            ("table".to_string(), "events".to_string()),
        ])
    );
    assert_eq!(s.start_time, time(t0()));
    assert_eq!(s.completion_time, None);
    assert_eq!(s.observed_generation, Some(1));
    assert_eq!(s.progress.as_deref(), Some("0/3"));
    let valid = condition(&p, "Valid");
    assert_eq!(
        (valid.status.as_str(), valid.reason.as_str()),
        ("True", "Valid")
    );
    assert_eq!(condition(&p, "Complete").status, "False");
    assert_eq!(reasons(&p), ["Started"]);
    // Regression (issue 9): the snapshot used to be a deferred change while the roots'
    // Jobs were created in the same pass, so an edit of the Pipeline (or a restart) before
    // the next write reached the run. Now the snapshot is written at once, and alone.
    assert!(p.urgent, "the snapshot is written at once");
    assert!(p.apply.is_empty(), "applied {:?}", applied(&p));
    assert_eq!(step(&p, "extract").phase, StepPhase::Pending);
    assert_eq!(
        p.requeue_after, None,
        "its own status write triggers the next reconcile"
    );

    // The next reconcile, from the recorded snapshot, starts only the roots.
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-extract-1", "r-load-1"]);
    assert_eq!(step(&p, "extract").phase, StepPhase::Running);
    assert_eq!(step(&p, "extract").attempt, 1);
    assert_eq!(step(&p, "extract").children, ["r-extract-1"]);
    assert_eq!(step(&p, "extract").start_time, time(t0()));
    assert_eq!(step(&p, "report").phase, StepPhase::Pending);
    assert_eq!(step(&p, "report").attempt, 0);
    assert!(p.delete.is_empty());
    assert_eq!(p.requeue_after, None, "nothing time-based to wait for");
}

/// Regression (issue 9): a Pipeline edited between the snapshot and the first Job, even
/// into an invalid one, reaches neither the run's steps nor its validity.
#[test]
fn an_edit_right_after_admission_changes_nothing_even_when_broken() {
    let mut w = World::new(dag(&["a", "b <- a"]));
    w.admit();
    w.pipeline = Some(pipeline(dag(&["a <- b", "b <- a"])));
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Running);
    assert_eq!(applied(&p), ["r-a-1"]);
    w.succeed("r-a-1");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-b-1"]);
}

#[test]
fn editing_the_pipeline_after_admission_does_not_change_the_run() {
    let mut w = World::new(params_spec());
    w.admit();
    w.reconcile();
    if let Some(pl) = w.pipeline.as_mut() {
        pl.spec.steps.retain(|s| s.name != "report");
        pl.metadata.generation = Some(5);
    }
    w.succeed("r-extract-1");
    w.succeed("r-load-1");
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-report-1"]);
    assert_eq!(p.status.pipeline_generation, Some(4));
}

#[test]
fn every_child_carries_weirs_labels_and_a_controller_owner_reference() {
    let mut w = World::new(params_spec());
    w.admit();
    let p = w.reconcile();
    let j = job(&p, "r-extract-1");

    assert_eq!(j.metadata.namespace.as_deref(), Some(NS));
    let expect = [
        (labels::PIPELINE, "etl"),
        (labels::RUN, "r"),
        (labels::STEP, "extract"),
        (labels::ATTEMPT, "1"),
    ];
    let job_labels = j.metadata.labels.clone().unwrap_or_default();
    let pod_labels = j
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    for (key, value) in expect {
        assert_eq!(
            job_labels.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
        assert_eq!(
            pod_labels.get(key).map(String::as_str),
            Some(value),
            "pod {key}"
        );
    }
    assert!(!job_labels.contains_key(labels::INDEX));

    let owners = j.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1);
    let o = &owners[0];
    assert_eq!(
        (
            o.api_version.as_str(),
            o.kind.as_str(),
            o.name.as_str(),
            o.uid.as_str()
        ),
        ("weir.dev/v1alpha1", "PipelineRun", "r", "uid-r")
    );
    assert_eq!(o.controller, Some(true));
}

#[test]
fn an_inline_pipeline_is_admitted_without_a_pipeline_object() {
    let mut w = World::new(dag(&["a"]));
    w.pipeline = None;
    w.run.spec.pipeline_ref = None;
    w.run.spec.pipeline = Some(Box::new(dag(&["a", "b <- a"])));
    let p = w.admit();
    assert_eq!(p.status.phase, RunPhase::Running);
    let p = w.reconcile();
    assert_eq!(applied(&p), ["r-a-1"]);
    let l = job(&p, "r-a-1").metadata.labels.clone().unwrap_or_default();
    assert_eq!(l.get(labels::PIPELINE).map(String::as_str), Some("inline"));
}

// ---- invalid input ---------------------------------------------------------------------

/// Asserts the run failed as invalid with `path` in the Valid condition's message.
fn assert_invalid(p: &weir_core::Plan, path: &str) {
    assert_eq!(p.status.phase, RunPhase::Failed);
    let valid = condition(p, "Valid");
    assert_eq!(
        (valid.status.as_str(), valid.reason.as_str()),
        ("False", "InvalidSpec")
    );
    assert!(
        valid.message.contains(path),
        "{path} not in {:?}",
        valid.message
    );
    let complete = condition(p, "Complete");
    assert_eq!(
        (complete.status.as_str(), complete.reason.as_str()),
        ("True", "InvalidSpec")
    );
    let ev = p
        .events
        .iter()
        .find(|e| e.reason == EventReason::InvalidSpec);
    assert!(
        ev.is_some_and(|e| e.warning && e.message.contains(path)),
        "{:?}",
        p.events
    );
    assert!(p.apply.is_empty());
    assert_eq!(p.status.pipeline_spec, None);
    assert_eq!(p.requeue_after, None, "no requeue storm for invalid input");
}

#[test]
fn an_unknown_dependency_fails_the_run_naming_the_field() {
    let mut w = World::new(dag(&["a", "b <- a nope"]));
    let p = w.reconcile();
    assert_invalid(&p, "spec.steps[1].dependsOn");
    assert!(condition(&p, "Valid").message.contains("nope"));
}

#[test]
fn an_invalid_inline_pipeline_points_under_spec_pipeline() {
    let mut w = World::new(dag(&["a"]));
    w.pipeline = None;
    w.run.spec.pipeline_ref = None;
    w.run.spec.pipeline = Some(Box::new(dag(&["a <- a"])));
    assert_invalid(&w.reconcile(), "spec.pipeline.steps[0].dependsOn");
}

#[test]
fn an_unknown_run_param_fails_the_run() {
    let mut w = World::new(params_spec());
    w.run.spec.params = BTreeMap::from([("dat".to_string(), "x".to_string())]);
    let p = w.reconcile();
    assert_invalid(&p, "spec.params.dat");
    assert!(condition(&p, "Valid").message.contains("date, table"));
}

#[test]
fn a_missing_required_param_fails_the_run() {
    let mut spec = params_spec();
    spec.params.push(ParamSpec {
        name: "bucket".into(),
        required: true,
        ..Default::default()
    });
    let mut w = World::new(spec);
    assert_invalid(&w.reconcile(), "spec.params.bucket");
}

#[test]
fn an_invalid_run_records_one_event_across_reconciles() {
    let mut w = World::new(dag(&["a", "b <- nope"]));
    w.reconcile();
    w.advance(60);
    let p = w.reconcile();
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert!(p.events.is_empty(), "second reconcile: {:?}", p.events);
}

#[test]
fn a_failed_invalid_run_stays_failed_when_the_pipeline_is_fixed() {
    let mut w = World::new(dag(&["a", "b <- nope"]));
    let first = w.reconcile();
    assert_eq!(first.status.phase, RunPhase::Failed);
    w.pipeline = Some(pipeline(dag(&["a", "b <- a"])));
    w.advance(60);
    let p = w.reconcile();
    assert_eq!(
        p.status.phase,
        RunPhase::Failed,
        "a finished run changes no more"
    );
    assert!(p.apply.is_empty(), "started {:?}", applied(&p));
}

#[test]
fn a_missing_pipeline_leaves_the_run_pending_with_one_event() {
    let mut w = World::new(dag(&["a"]));
    w.pipeline = None;
    let first = w.reconcile();
    w.advance(30);
    let second = w.reconcile();
    for p in [&first, &second] {
        assert_eq!(p.status.phase, RunPhase::Pending);
        let valid = condition(p, "Valid");
        assert_eq!(
            (valid.status.as_str(), valid.reason.as_str()),
            ("False", "PipelineNotFound")
        );
        assert!(valid.message.contains("etl"));
        assert!(p.apply.is_empty());
        assert_eq!(p.requeue_after, None, "the Pipeline watch wakes it");
    }
    assert_eq!(
        condition(&second, "Valid").last_transition_time,
        condition(&first, "Valid").last_transition_time
    );
    assert_eq!(w.event_reasons(), ["PipelineNotFound"]);
    assert!(w.events[0].warning);

    // The Pipeline appears: the run starts.
    w.pipeline = Some(pipeline(dag(&["a"])));
    let p = w.admit();
    assert_eq!(p.status.phase, RunPhase::Running);
    assert_eq!(condition(&p, "Valid").status, "True");
    assert_eq!(applied(&w.reconcile()), ["r-a-1"]);
}

#[test]
fn an_undefined_template_variable_fails_the_step_without_retrying() {
    let mut spec = dag(&["a", "b <- a"]);
    let a = step_mut(&mut spec, "a");
    a.retries = Some(retries(3, "", 1));
    if let Some(j) = a.job.as_mut() {
        j.template = Some(TemplateRef {
            inline: Some(
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: main\n          image: {{ job.image }}\n          args: [{{ no_such_thing | tojson }}]\n"
                    .into(),
            ),
            ..Default::default()
        });
    }
    let mut w = World::new(spec);
    w.admit();
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!(a.phase, StepPhase::Failed);
    assert_eq!(a.reason, Some(WeirReason::TemplateError.into()));
    assert!(
        a.message
            .as_deref()
            .unwrap_or_default()
            .contains("no_such_thing"),
        "{:?}",
        a.message
    );
    assert_eq!(a.retries, 0);
    assert_eq!(a.next_attempt_time, None);
    assert!(p.apply.is_empty());
    // The failure settles downstream and the run in the same reconcile.
    assert_eq!(reasons(&p), ["StepFailed", "Failed"]);
    assert_eq!(step(&p, "b").phase, StepPhase::UpstreamFailed);
    assert_eq!(p.status.phase, RunPhase::Failed);

    // Nothing changes on the next reconcile: no retry for a template error.
    w.advance(1);
    let p = w.reconcile();
    assert_eq!(
        step(&p, "a").phase,
        StepPhase::Failed,
        "no retry for a template error"
    );
    assert_eq!(step(&p, "a").attempt, 1);
    assert!(p.apply.is_empty());
    assert_eq!(step(&p, "b").phase, StepPhase::UpstreamFailed);
    assert_eq!(p.status.phase, RunPhase::Failed);
    assert_eq!(
        p.status.message.as_deref(),
        Some("step a failed: TemplateError")
    );
}

#[test]
fn an_undefined_variable_in_args_fails_the_step_naming_it() {
    let mut spec = dag(&["a"]);
    if let Some(j) = step_mut(&mut spec, "a").job.as_mut() {
        j.args = vec!["--date={{ params.missing }}".into()];
    }
    let mut w = World::new(spec);
    w.admit();
    let p = w.reconcile();
    let a = step(&p, "a");
    assert_eq!(a.phase, StepPhase::Failed);
    assert_eq!(a.reason, Some(WeirReason::TemplateError.into()));
    assert!(
        a.message.as_deref().unwrap_or_default().contains("missing"),
        "{:?}",
        a.message
    );
}

#[test]
fn params_render_into_args() {
    let mut spec = params_spec();
    if let Some(j) = step_mut(&mut spec, "extract").job.as_mut() {
        j.args = vec![
            "--date={{ params.date }}".into(),
            "{{ run.name }}-{{ step.name }}".into(),
        ];
    }
    let mut w = World::new(spec);
    w.run.spec.params = BTreeMap::from([("date".to_string(), "2025-06-01".to_string())]);
    w.admit();
    let p = w.reconcile();
    assert_eq!(
        args(job(&p, "r-extract-1")),
        ["--date=2025-06-01", "r-extract"]
    );
}
