//! Admission: the spec snapshot, parameters, and the concurrency policy that decides
//! whether a run may start (or must step aside) given its siblings.

use super::*;

impl Planner<'_> {
    /// This run's place among its siblings: creation time, then name. Every reconcile of
    /// every sibling sorts the same way, so they agree on who goes first.
    fn order(&self) -> (Timestamp, String) {
        let meta = &self.obs.run.metadata;
        let created = meta
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(self.now);
        (created, meta.name.clone().unwrap_or_default())
    }

    /// Snapshots the spec and params and starts the run (its status must be written before
    /// any step starts), unless it is invalid, its Pipeline is missing, or the concurrency
    /// policy holds it back. Returns whether it started.
    pub(super) fn admit(&mut self) -> bool {
        let run = self.obs.run;
        let (spec, root, generation) = match (&run.spec.pipeline, &run.spec.pipeline_ref) {
            (Some(inline), _) => ((**inline).clone(), "spec.pipeline", run.metadata.generation),
            (None, Some(name)) => match self.obs.pipeline {
                Some(pl) => (pl.spec.clone(), "spec", pl.metadata.generation),
                None => {
                    let msg = format!("Pipeline {name} does not exist");
                    if self.condition(cond::VALID, false, cond::REASON_PIPELINE_NOT_FOUND, &msg) {
                        self.event(true, EventReason::PipelineNotFound, msg.clone());
                    }
                    self.status.message = Some(msg);
                    self.plan.urgent = true;
                    return false;
                }
            },
            (None, None) => {
                self.invalid(vec![Problem {
                    path: "spec".into(),
                    message: "set pipelineRef or pipeline".into(),
                }]);
                return false;
            }
        };
        let mut problems = validate_pipeline(&spec, root);
        let params = match resolve_params(&spec, &run.spec.params) {
            Ok(p) => p,
            Err(mut e) => {
                problems.append(&mut e);
                BTreeMap::new()
            }
        };
        if !problems.is_empty() {
            self.invalid(problems);
            return false;
        }
        if !self.concurrency_allows(&spec) {
            return false;
        }
        self.status.steps = spec
            .steps
            .iter()
            .map(|s| StepStatus {
                name: s.name.clone(),
                ..Default::default()
            })
            .collect();
        self.status.pipeline_spec = Some(Box::new(spec));
        self.status.pipeline_generation = generation;
        self.status.params = params;
        self.status.phase = RunPhase::Running;
        self.status.start_time = Some(Time(self.now));
        self.status.message = None;
        self.condition(cond::VALID, true, cond::REASON_VALID, "");
        self.condition(cond::COMPLETE, false, "Running", "");
        self.event(false, EventReason::Started, "run started".into());
        // The snapshot is written before any child exists (see `plan`): never deferred.
        self.plan.urgent = true;
        true
    }

    pub(super) fn invalid(&mut self, problems: Vec<Problem>) {
        let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let msg = truncate(all.join("; "), 2048);
        self.condition(cond::VALID, false, cond::REASON_INVALID_SPEC, &msg);
        self.event(true, EventReason::InvalidSpec, msg.clone());
        self.fail_run("InvalidSpec", msg);
    }

    /// The run may start now under `maxActiveRuns`. Runs are ordered by creation time (then
    /// name), so two runs reconciled at the same moment reach the same answer.
    pub(super) fn concurrency_allows(&mut self, spec: &PipelineSpec) -> bool {
        let c = &spec.concurrency;
        let Some(max) = c.max_active_runs else {
            return true;
        };
        if self.obs.run.spec.pipeline_ref.is_none()
            || matches!(
                c.policy,
                ConcurrencyPolicy::Allow | ConcurrencyPolicy::Replace
            )
        {
            return true;
        }
        let me = self.order();
        let ahead = self
            .obs
            .siblings
            .iter()
            .filter(|s| !s.phase.is_finished())
            .filter(|s| s.phase == RunPhase::Running || (s.created, s.name.clone()) < me)
            .count();
        if ahead < max as usize {
            return true;
        }
        if c.policy == ConcurrencyPolicy::Forbid {
            let msg = format!("{ahead} runs are active and maxActiveRuns is {max} (policy Forbid)");
            self.event(true, EventReason::ConcurrencyForbidden, msg.clone());
            self.fail_run("ConcurrencyForbidden", msg);
        } else {
            if self.status.phase != RunPhase::Queued {
                self.event(
                    false,
                    EventReason::Queued,
                    format!("waiting: {ahead} runs ahead, maxActiveRuns is {max}"),
                );
            }
            self.status.phase = RunPhase::Queued;
            self.plan.urgent = true;
            self.status.message = Some(format!(
                "waiting for a slot: {ahead} runs ahead, maxActiveRuns is {max}"
            ));
        }
        false
    }

    /// Under `Replace`, a run with `maxActiveRuns` newer unfinished runs steps aside.
    pub(super) fn replaced(&self, spec: &PipelineSpec) -> bool {
        let c = &spec.concurrency;
        let (Some(max), ConcurrencyPolicy::Replace) = (c.max_active_runs, c.policy) else {
            return false;
        };
        let me = self.order();
        let newer = self
            .obs
            .siblings
            .iter()
            .filter(|s| !s.phase.is_finished() && (s.created, s.name.clone()) > me)
            .count();
        newer >= max as usize
    }
}
