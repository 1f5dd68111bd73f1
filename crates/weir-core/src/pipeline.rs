//! Decisions about a Pipeline as a whole: is its spec valid, how many of its runs are
//! active, and which finished runs to delete (history limits, `ttlSecondsAfterFinished`).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use weir_api::conditions as cond;
use weir_api::reason::EventReason;
use weir_api::v1alpha1::{Pipeline, PipelineStatus, RunPhase};

use crate::check::{CheckInputs, check_pipeline, shared_renderer};
use crate::conditions::set as set_condition;
use crate::observe::Event;
use crate::steps::{add, elapsed_since, truncate};

/// One run of the pipeline, as the pipeline controller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The run's name.
    pub name: String,
    /// When it was created.
    pub created: Timestamp,
    /// Its phase.
    pub phase: RunPhase,
    /// When it finished, if it did.
    pub completed: Option<Timestamp>,
}

/// What the pipeline controller must do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PipelinePlan {
    /// The pipeline's new status.
    pub status: PipelineStatus,
    /// Finished runs to delete (their children go with them).
    pub delete_runs: Vec<String>,
    /// Events to record on the Pipeline.
    pub events: Vec<Event>,
    /// Look again then (the next TTL expiry).
    pub requeue_after: Option<Duration>,
    /// The change is one someone waits for (validity, a new generation observed): written
    /// at once. Run counters alone change with every run and may wait a batch period.
    pub urgent: bool,
}

/// Plans one reconcile of a Pipeline given all its runs, checking its templates with no
/// ConfigMap texts: a step whose template lives in a ConfigMap is not checked (see
/// [`plan_pipeline_with`]).
pub fn plan_pipeline(pipeline: &Pipeline, runs: &[RunSummary], now: Timestamp) -> PipelinePlan {
    let none = BTreeMap::new();
    let inputs = CheckInputs {
        renderer: shared_renderer(),
        config_templates: &none,
    };
    plan_pipeline_with(pipeline, runs, now, Some(&inputs))
}

/// Sets the `Valid` condition from [`check_pipeline`], with an Event when it turns false.
fn set_validity(
    plan: &mut PipelinePlan,
    pipeline: &Pipeline,
    now: Timestamp,
    inputs: &CheckInputs<'_>,
) {
    let generation = pipeline.metadata.generation;
    let name = pipeline.metadata.name.as_deref().unwrap_or_default();
    let namespace = pipeline.metadata.namespace.as_deref().unwrap_or_default();
    let problems: Vec<_> = check_pipeline(name, namespace, &pipeline.spec, inputs)
        .problems
        .into_iter()
        .map(|f| f.problem)
        .collect();
    if problems.is_empty() {
        set_condition(
            &mut plan.status.conditions,
            cond::VALID,
            true,
            cond::REASON_VALID,
            "",
            generation,
            now,
        );
        return;
    }
    let msg = truncate(
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        2048,
    );
    if set_condition(
        &mut plan.status.conditions,
        cond::VALID,
        false,
        cond::REASON_INVALID_SPEC,
        &msg,
        generation,
        now,
    ) {
        plan.events.push(Event {
            warning: true,
            reason: EventReason::InvalidSpec,
            message: msg,
        });
    }
}

/// Whether `Valid` must be worked out (again): the spec changed since the recorded
/// condition, or there is none. Otherwise the recorded answer stands, so a reconcile caused
/// by a run (most of them) renders no template and reads no ConfigMap, and a restart
/// rewrites nothing.
pub fn needs_check(pipeline: &Pipeline) -> bool {
    let generation = pipeline.metadata.generation;
    let status = pipeline.status.as_ref();
    let checked = status.and_then(|s| {
        s.conditions
            .iter()
            .find(|c| c.type_ == cond::VALID)
            .map(|c| c.observed_generation == generation)
    });
    status.map(|s| s.observed_generation) != Some(generation) || checked != Some(true)
}

/// Plans one reconcile of a Pipeline given all its runs. With `inputs`, `Valid` is
/// [`check_pipeline`]'s answer, the very one `weir check` gives for the same spec and
/// ConfigMaps; without (see [`needs_check`]), the recorded condition is kept.
pub fn plan_pipeline_with(
    pipeline: &Pipeline,
    runs: &[RunSummary],
    now: Timestamp,
    inputs: Option<&CheckInputs<'_>>,
) -> PipelinePlan {
    let mut plan = PipelinePlan {
        status: pipeline.status.clone().unwrap_or_default(),
        ..Default::default()
    };
    let generation = pipeline.metadata.generation;
    if let Some(inputs) = inputs {
        set_validity(&mut plan, pipeline, now, inputs);
    }
    plan.status.observed_generation = generation;
    plan.status.active_runs = runs
        .iter()
        .filter(|r| matches!(r.phase, RunPhase::Running | RunPhase::Pending))
        .count() as u32;
    plan.status.queued_runs = runs.iter().filter(|r| r.phase == RunPhase::Queued).count() as u32;
    plan.status.last_run = runs
        .iter()
        .max_by_key(|r| (r.created, r.name.clone()))
        .map(|r| r.name.clone());

    let h = &pipeline.spec.history;
    let mut finished: Vec<&RunSummary> = runs.iter().filter(|r| r.phase.is_finished()).collect();
    // Newest first: limits keep the newest runs.
    finished
        .sort_by(|a, b| (b.completed, b.created, &b.name).cmp(&(a.completed, a.created, &a.name)));
    let mut kept_ok = 0u32;
    let mut kept_failed = 0u32;
    for r in finished {
        let (limit, kept) = if r.phase == RunPhase::Succeeded {
            (h.successful_runs_limit, &mut kept_ok)
        } else {
            (h.failed_runs_limit, &mut kept_failed)
        };
        let over_limit = limit.is_some_and(|l| *kept >= l);
        let expired = match (h.ttl_seconds_after_finished, r.completed) {
            (Some(ttl), Some(done)) => {
                let ttl = Duration::from_secs(u64::from(ttl));
                let age = elapsed_since(done, now);
                if age < ttl {
                    let wait = elapsed_since(now, add(done, ttl));
                    plan.requeue_after = Some(plan.requeue_after.map_or(wait, |w| w.min(wait)));
                }
                age >= ttl
            }
            _ => false,
        };
        if over_limit || expired {
            plan.delete_runs.push(r.name.clone());
        } else {
            *kept += 1;
        }
    }
    let old = pipeline.status.clone().unwrap_or_default();
    plan.urgent = old.conditions != plan.status.conditions
        || old.observed_generation != plan.status.observed_generation;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::v1alpha1::{History, PipelineSpec, Step};

    fn pipeline(history: History) -> Pipeline {
        let step = Step {
            name: "a".into(),
            job: Some(weir_api::v1alpha1::JobStep {
                image: Some("busybox".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut p = Pipeline::new(
            "p",
            PipelineSpec {
                steps: vec![step],
                history,
                ..Default::default()
            },
        );
        p.metadata.generation = Some(3);
        p
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap_or_default()
    }

    fn run(name: &str, phase: RunPhase, done: Option<i64>) -> RunSummary {
        RunSummary {
            name: name.into(),
            created: at(0),
            phase,
            completed: done.map(at),
        }
    }

    #[test]
    fn validity_is_checked_when_the_spec_changed_and_kept_otherwise() {
        let mut p = pipeline(History::default());
        assert!(needs_check(&p), "never checked");
        let plan = plan_pipeline(&p, &[], at(1));
        assert!(plan.urgent, "a new Valid condition is written at once");
        p.status = Some(plan.status);
        assert!(!needs_check(&p), "checked at this generation");
        let kept = plan_pipeline_with(&p, &[], at(2), None);
        assert_eq!(Some(&kept.status), p.status.as_ref(), "nothing rewritten");
        assert!(!kept.urgent);
        p.metadata.generation = Some(4);
        assert!(needs_check(&p), "the spec changed");
    }

    #[test]
    fn history_limits_keep_the_newest_runs_of_each_outcome() {
        let p = pipeline(History {
            successful_runs_limit: Some(1),
            failed_runs_limit: Some(2),
            ..Default::default()
        });
        let runs = vec![
            run("ok-old", RunPhase::Succeeded, Some(10)),
            run("ok-new", RunPhase::Succeeded, Some(20)),
            run("bad-1", RunPhase::Failed, Some(5)),
            run("bad-2", RunPhase::Cancelled, Some(6)),
            run("bad-3", RunPhase::Failed, Some(7)),
            run("running", RunPhase::Running, None),
        ];
        let plan = plan_pipeline(&p, &runs, at(100));
        assert_eq!(
            plan.delete_runs,
            vec!["ok-old".to_string(), "bad-1".to_string()]
        );
        assert_eq!(plan.status.active_runs, 1);
        assert_eq!(plan.status.observed_generation, Some(3));
    }

    #[test]
    fn ttl_deletes_expired_runs_and_wakes_for_the_next() {
        let p = pipeline(History {
            ttl_seconds_after_finished: Some(60),
            ..Default::default()
        });
        let runs = vec![
            run("old", RunPhase::Succeeded, Some(0)),
            run("young", RunPhase::Failed, Some(50)),
        ];
        let plan = plan_pipeline(&p, &runs, at(70));
        assert_eq!(plan.delete_runs, vec!["old".to_string()]);
        assert_eq!(plan.requeue_after, Some(Duration::from_secs(40)));
    }

    #[test]
    fn an_invalid_spec_sets_valid_false_naming_the_field_once() {
        let mut p = pipeline(History::default());
        p.spec.steps[0].depends_on = vec!["nope".into()];
        let plan = plan_pipeline(&p, &[], at(0));
        let c = &plan.status.conditions[0];
        assert_eq!((c.type_.as_str(), c.status.as_str()), ("Valid", "False"));
        assert!(
            c.message.contains("spec.steps[0].dependsOn"),
            "{}",
            c.message
        );
        assert_eq!(plan.events.len(), 1);
        p.status = Some(plan.status);
        assert!(
            plan_pipeline(&p, &[], at(1)).events.is_empty(),
            "no second Event for the same problem"
        );
    }
}
