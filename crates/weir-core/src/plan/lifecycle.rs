//! A run's life after admission: finishing, cancelling, the run timeout, re-runs, and
//! deleting what should not exist.

use super::*;

impl Planner<'_> {
    pub(super) fn fail_run(&mut self, reason: &str, message: String) {
        self.finish_run(RunPhase::Failed, reason, message);
    }

    pub(super) fn finish_run(&mut self, phase: RunPhase, reason: &str, message: String) {
        self.plan.urgent = true;
        let was = self.status.phase;
        self.status.phase = phase;
        self.status.message = Some(message.clone());
        self.status.completion_time.get_or_insert(Time(self.now));
        self.condition(cond::COMPLETE, true, reason, &message);
        if was != phase {
            let (warning, ev) = match phase {
                RunPhase::Succeeded => (false, EventReason::Succeeded),
                RunPhase::Cancelled => (false, EventReason::Cancelled),
                _ => (true, EventReason::Failed),
            };
            self.event(warning, ev, message);
        }
    }

    /// Stops everything: every live child is deleted, unfinished steps become `Cancelled`.
    pub(super) fn cancel(&mut self, reason: WeirReason, message: String) {
        cancel_unfinished(&mut self.status, reason, self.now);
        self.finish_run(RunPhase::Cancelled, reason.as_str(), message);
    }

    /// Deletes the observed children that are still running and match `which`.
    pub(super) fn delete_live_children(&mut self, which: impl Fn(&ObservedChild) -> bool) {
        for c in self.obs.children.iter() {
            if c.deleting || c.state.phase.is_terminal() || !which(c) {
                continue;
            }
            let r = ChildRef {
                kind: c.kind.clone(),
                name: c.name.clone(),
            };
            if !self.plan.delete.contains(&r) {
                self.plan.delete.push(r);
            }
        }
    }

    pub(super) fn run_timed_out(&mut self, spec: &PipelineSpec) -> bool {
        let (Some(limit), Some(start)) = (
            spec.timeout.as_deref().and_then(|t| parse_duration(t).ok()),
            self.status.start_time.as_ref(),
        ) else {
            return false;
        };
        let ran = elapsed_since(start.0, self.now);
        if ran < limit {
            self.requeue(limit - ran);
            return false;
        }
        let text = spec.timeout.clone().unwrap_or_default();
        let mut stopped = Vec::new();
        for s in &mut self.status.steps {
            if !s.phase.is_finished() {
                let started = s.phase != StepPhase::Pending;
                s.phase = if started {
                    StepPhase::Failed
                } else {
                    StepPhase::Cancelled
                };
                s.reason = Some(WeirReason::RunTimeout.into());
                s.message = Some(format!("the run exceeded its timeout of {text}"));
                s.finish_time = Some(Time(self.now));
                s.next_attempt_time = None;
                for i in &mut s.items {
                    i.next_attempt_time = None;
                    if !i.phase.is_finished() {
                        i.phase = s.phase;
                    }
                }
                stopped.push(s.name.clone());
            }
        }
        self.delete_live_children(|c| stopped.contains(&c.step));
        self.fail_run("Timeout", format!("the run exceeded its timeout of {text}"));
        true
    }

    /// Carries out a new `spec.rerun`: the named (or every failed) step and everything
    /// downstream start over; successes elsewhere are kept.
    pub(super) fn rerun(&mut self, graph: &Graph) {
        let Some(req) = &self.obs.run.spec.rerun else {
            return;
        };
        if self.status.last_rerun_id.as_deref() == Some(req.id.as_str()) {
            return;
        }
        self.status.last_rerun_id = Some(req.id.clone());
        // A re-run of a run that stays cancelled would reset steps only for the cancel to
        // stop them again, losing their recorded outcomes: refuse it, and say how to re-run.
        if self.obs.run.spec.cancel {
            self.event(
                true,
                EventReason::RerunIgnored,
                "the run is cancelled (spec.cancel); set spec.cancel to false with the re-run \
                 request (weir retry does) to re-run it"
                    .into(),
            );
            return;
        }
        let mut targets = Vec::new();
        if req.steps.is_empty() {
            targets.extend(
                self.status
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| {
                        matches!(
                            s.phase,
                            StepPhase::Failed | StepPhase::UpstreamFailed | StepPhase::Cancelled
                        )
                    })
                    .map(|(i, _)| i),
            );
        } else {
            for name in &req.steps {
                match graph.index_of(name) {
                    Some(i) => targets.push(i),
                    None => self.event(
                        true,
                        EventReason::RerunIgnored,
                        format!("no step named {name}"),
                    ),
                }
            }
        }
        let mut reset = vec![false; graph.len()];
        for t in targets {
            reset[t] = true;
            for d in graph.downstream_closure(t) {
                reset[d] = true;
            }
        }
        let mut count = 0;
        for (i, s) in self.status.steps.iter_mut().enumerate() {
            if reset[i] && s.phase.is_finished() {
                let attempt = s
                    .items
                    .iter()
                    .map(|it| it.attempt)
                    .max()
                    .unwrap_or(0)
                    .max(s.attempt);
                *s = StepStatus {
                    name: s.name.clone(),
                    attempt,
                    ..Default::default()
                };
                count += 1;
            }
        }
        if count > 0 {
            self.status.phase = RunPhase::Running;
            // The run timeout counts from the last (re)start: a re-run of a timed-out run
            // would otherwise time out again at once.
            self.status.start_time = Some(Time(self.now));
            self.status.completion_time = None;
            self.status.message = None;
            self.condition(cond::COMPLETE, false, "Rerun", "");
            self.event(
                false,
                EventReason::Rerun,
                format!("re-running {count} steps"),
            );
        }
    }

    /// Deletes what should not exist: every child of a cancelled run, and the children of
    /// finished steps whose delete policy says so. Repeated every reconcile, so a lost delete
    /// is retried.
    ///
    /// A finished step's children go only once the written status records the step as
    /// finished: the child is the only record of an outcome the status has not stored yet,
    /// and a controller restarting in between would otherwise find the step running with
    /// its child gone.
    pub(super) fn clean_up(&mut self, spec: &PipelineSpec) {
        let cancelled = self.status.phase == RunPhase::Cancelled;
        let written = self
            .obs
            .run
            .status
            .as_ref()
            .map(|s| s.steps.as_slice())
            .unwrap_or_default();
        let mut doomed: Vec<ChildRef> = Vec::new();
        for c in self.obs.children.iter().filter(|c| !c.deleting) {
            let step = spec
                .steps
                .iter()
                .zip(&self.status.steps)
                .find(|(s, _)| s.name == c.step);
            let by_policy = step.is_some_and(|(s, st)| {
                let policy = s
                    .delete_policy
                    .or(spec.defaults.delete_policy)
                    .unwrap_or_default();
                let recorded = written
                    .iter()
                    .any(|w| w.name == st.name && w.phase == st.phase);
                recorded
                    && st.phase.is_finished()
                    && match policy {
                        DeletePolicy::Never => false,
                        DeletePolicy::Always => true,
                        DeletePolicy::IfSucceeded => st.phase == StepPhase::Succeeded,
                        DeletePolicy::IfFailed => st.phase == StepPhase::Failed,
                    }
            });
            if cancelled || by_policy {
                doomed.push(ChildRef {
                    kind: c.kind.clone(),
                    name: c.name.clone(),
                });
            }
        }
        for d in doomed {
            if !self.plan.delete.contains(&d) {
                self.plan.delete.push(d);
            }
        }
        // A finished run has nothing left to run (e.g. one failed with `StatusTooLarge`).
        if self.status.phase.is_finished() {
            self.delete_live_children(|_| true);
        }
    }
}

/// Every unfinished step (and item) becomes `Cancelled` with `reason`, its retry dropped.
pub(super) fn cancel_unfinished(
    status: &mut PipelineRunStatus,
    reason: WeirReason,
    now: Timestamp,
) {
    for s in &mut status.steps {
        if !s.phase.is_finished() {
            s.phase = StepPhase::Cancelled;
            s.reason = Some(reason.into());
            s.next_attempt_time = None;
            s.finish_time = Some(Time(now));
            for i in &mut s.items {
                if !i.phase.is_finished() {
                    i.phase = StepPhase::Cancelled;
                }
            }
        }
    }
}
