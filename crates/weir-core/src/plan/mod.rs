//! `plan(observed) -> Plan`: the whole decision for one reconcile of a PipelineRun.
//!
//! The order is fixed: admit (spec snapshot, params, concurrency) → re-run requests →
//! finished runs only clean up → cancel / replace / run timeout → move steps on → conclude.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use weir_api::conditions as cond;
use weir_api::reason::{EventReason, WeirReason};
use weir_api::v1alpha1::{
    ConcurrencyPolicy, DeletePolicy, PipelineRunStatus, PipelineSpec, RunPhase, Step, StepPhase,
    StepStatus,
};
use weir_dag::{Graph, RunOutcome};
use weir_render::Renderer;

use crate::conditions::set as set_condition;
use crate::duration::parse_duration;
use crate::graph::{dag_nodes, node_state};
use crate::observe::{ChildRef, Event, Manifest, Observed, ObservedChild, Plan};
use crate::render::{ChildSpec, RenderFailure, Renderable, RunRef};
use crate::standalone::{ItemsError, for_each_items};
use crate::steps::{self, Instance, StepEnv, add, elapsed_since, truncate};
use crate::validate::{Problem, resolve_params, validate_pipeline};

mod admission;
mod lifecycle;
mod limits;

pub use limits::{MAX_STATUS_BYTES, STATUS_TOO_LARGE, too_large};

/// Decides everything for one reconcile of `obs.run`. Pure: the same observation gives the
/// same plan, which is what makes a controller restarted at any point safe.
pub fn plan(obs: &Observed<'_>, renderer: &Renderer) -> Plan {
    let mut p = Planner::new(obs);
    if p.status.pipeline_spec.is_none() {
        // A run refused at admission (invalid, forbidden) stays refused; a run cancelled
        // while waiting for admission ends at once.
        if p.status.phase.is_finished() {
            return p.finish();
        }
        // A run cancelled before its first status write is admitted first, so its steps
        // show as Cancelled.
        if !p.admit() {
            if obs.run.spec.cancel && !p.status.phase.is_finished() {
                p.cancel(
                    WeirReason::Cancelled,
                    "cancelled by spec.cancel before it started".into(),
                );
                p.delete_live_children(|_| true);
            }
            return p.finish();
        }
        // Every child is rendered from the one spec recorded in the run's status, so that
        // record must exist before the first child does: this plan writes the snapshot (at
        // once) and creates nothing; the reconcile its write triggers starts the steps. An
        // edit of the Pipeline, a broken edit or a restart in between changes nothing.
        if !obs.run.spec.cancel {
            return p.finish();
        }
    }
    let Some(spec) = p.status.pipeline_spec.clone() else {
        return p.finish();
    };
    let graph = match Graph::new(dag_nodes(&spec)) {
        Ok(g) => g,
        Err(e) => {
            p.fail_run("InvalidSpec", e.to_string());
            return p.finish();
        }
    };
    p.rerun(&graph);
    if p.status.phase.is_finished() {
        p.clean_up(&spec);
        return p.finish();
    }
    if obs.run.spec.cancel {
        p.cancel(WeirReason::Cancelled, "cancelled by spec.cancel".into());
    } else if p.replaced(&spec) {
        p.cancel(
            WeirReason::Replaced,
            "replaced by a newer run (concurrency policy Replace)".into(),
        );
    } else if !p.run_timed_out(&spec) {
        p.move_steps(&spec, &graph, renderer);
        p.conclude(&spec, &graph);
    }
    p.clean_up(&spec);
    p.finish()
}

struct Planner<'a> {
    obs: &'a Observed<'a>,
    now: Timestamp,
    status: PipelineRunStatus,
    plan: Plan,
    slots: usize,
}

impl<'a> Planner<'a> {
    fn new(obs: &'a Observed<'a>) -> Self {
        let status = obs.run.status.clone().unwrap_or_default();
        Self {
            obs,
            now: obs.now,
            status,
            plan: Plan::default(),
            slots: usize::MAX,
        }
    }

    fn generation(&self) -> Option<i64> {
        self.obs.run.metadata.generation
    }

    /// Sets a condition on the run; true when its status flipped.
    fn condition(&mut self, kind: &str, status: bool, reason: &str, message: &str) -> bool {
        let generation = self.generation();
        set_condition(
            &mut self.status.conditions,
            kind,
            status,
            reason,
            message,
            generation,
            self.now,
        )
    }

    fn event(&mut self, warning: bool, reason: EventReason, message: String) {
        if reason.urgent() {
            self.plan.urgent = true;
        }
        self.plan.events.push(Event {
            warning,
            reason,
            message,
        });
    }

    fn requeue(&mut self, d: Duration) {
        let d = d.max(Duration::from_millis(200));
        self.plan.requeue_after = Some(self.plan.requeue_after.map_or(d, |r| r.min(d)));
    }

    // ---- steps ---------------------------------------------------------------------------

    fn move_steps(&mut self, spec: &PipelineSpec, graph: &Graph, renderer: &Renderer) {
        let results = succeeded_results(&self.status);
        let run = self.obs.run;
        let params = self.status.params.clone();
        let trigger = run
            .metadata
            .annotations
            .as_ref()
            .and_then(crate::bucket::trigger_context);
        let mut renderable = Renderable {
            renderer,
            spec,
            run: RunRef {
                name: run.metadata.name.as_deref().unwrap_or_default(),
                uid: run.metadata.uid.as_deref().unwrap_or_default(),
                namespace: run.metadata.namespace.as_deref().unwrap_or_default(),
                pipeline: run.spec.pipeline_ref.as_deref().unwrap_or("inline"),
                start_time: self.status.start_time.as_ref().map(|t| t.0),
                trigger: trigger.as_ref(),
            },
            params: &params,
            results,
            config_templates: &self.obs.config_templates,
        };
        let mut items: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        // Items of forEach steps already running (for retries and not-yet-started items).
        for (i, step) in spec.steps.iter().enumerate() {
            if step.for_each.is_some()
                && !matches!(self.status.steps[i].phase, StepPhase::Pending)
                && let Ok(v) = self.items_of(step)
            {
                items.insert(step.name.clone(), v);
            }
        }

        // 1. Read running children.
        self.each_started_step(spec, &renderable, &items, steps::observe);
        // Steps that just finished have results their downstream may render with now.
        renderable.results = succeeded_results(&self.status);
        // 2. Slots under maxParallelSteps / suspend.
        let active: usize = self.status.steps.iter().map(running_children).sum();
        self.slots = if run.spec.suspend {
            0
        } else {
            spec.concurrency
                .max_parallel_steps
                .map_or(usize::MAX, |m| (m as usize).saturating_sub(active))
        };
        // 3. Due retries and waiting items of started steps.
        self.each_started_step(spec, &renderable, &items, steps::launch);
        // 4. New steps, skips and upstream failures.
        loop {
            // A child adopted last round may have finished in it: its result is ready now.
            renderable.results = succeeded_results(&self.status);
            let states: Vec<_> = self
                .status
                .steps
                .iter()
                .map(|s| node_state(s.phase))
                .collect();
            let Ok(ready) = graph.readiness(&states, None) else {
                return;
            };
            // A start that fails at once (template, items) or a skip settles more steps:
            // go round until nothing changes, so the run does not wait a reconcile for it.
            let before = self
                .status
                .steps
                .iter()
                .map(|s| s.phase)
                .collect::<Vec<_>>();
            for i in ready.skip {
                self.settle(
                    i,
                    StepPhase::Skipped,
                    WeirReason::TriggerRule,
                    format!("trigger rule {:?} not met", spec.steps[i].trigger_rule),
                );
            }
            for i in ready.upstream_failed {
                let failed: Vec<&str> = graph
                    .upstream(i)
                    .iter()
                    .filter(|u| node_state(self.status.steps[**u].phase).is_failure())
                    .map(|u| spec.steps[*u].name.as_str())
                    .collect();
                self.settle(
                    i,
                    StepPhase::UpstreamFailed,
                    WeirReason::UpstreamFailed,
                    format!("upstream failed: {}", failed.join(", ")),
                );
            }
            for i in ready.start {
                if self.slots == 0 {
                    self.status.steps[i].message =
                        Some("waiting for a slot (maxParallelSteps or suspend)".into());
                    continue;
                }
                let step = &spec.steps[i];
                // New instances carry the attempt before their first (see `steps::launch`).
                let base = self.status.steps[i].attempt;
                let mut insts = vec![Instance {
                    attempt: base,
                    ..Default::default()
                }];
                if step.for_each.is_some() {
                    match self.items_of(step) {
                        Ok(v) if v.is_empty() => {
                            self.settle(
                                i,
                                StepPhase::Skipped,
                                WeirReason::NoItems,
                                "forEach has no items".into(),
                            );
                            continue;
                        }
                        Ok(v) => {
                            insts = (0..v.len())
                                .map(|k| Instance {
                                    index: Some(k as u32),
                                    attempt: base,
                                    ..Default::default()
                                })
                                .collect();
                            items.insert(step.name.clone(), v);
                        }
                        Err(msg) => {
                            self.settle(
                                i,
                                StepPhase::Failed,
                                WeirReason::InvalidForEach,
                                msg.clone(),
                            );
                            self.event(
                                true,
                                EventReason::StepFailed,
                                format!("step {}: {msg}", step.name),
                            );
                            continue;
                        }
                    }
                }
                let mut env = Env {
                    p: self,
                    r: &renderable,
                    items: &items,
                };
                steps::launch(&mut env, step, &mut insts);
                steps::bound_results(&mut env, step, &mut insts);
                steps::aggregate(
                    &mut self.status.steps[i],
                    &insts,
                    step.for_each.is_some(),
                    self.now,
                );
            }
            if self
                .status
                .steps
                .iter()
                .map(|s| s.phase)
                .collect::<Vec<_>>()
                == before
            {
                break;
            }
        }
    }

    /// Runs `work` over the instances of every step that has started and not finished,
    /// then writes them back into the step's status.
    fn each_started_step(
        &mut self,
        spec: &PipelineSpec,
        renderable: &Renderable<'_>,
        items: &BTreeMap<String, Vec<Value>>,
        work: fn(&mut dyn StepEnv, &Step, &mut [Instance]),
    ) {
        for (i, step) in spec.steps.iter().enumerate() {
            if !matches!(
                self.status.steps[i].phase,
                StepPhase::Running | StepPhase::Retrying
            ) {
                continue;
            }
            let mut insts = Instance::from_step(&self.status.steps[i]);
            let mut env = Env {
                p: self,
                r: renderable,
                items,
            };
            work(&mut env, step, &mut insts);
            steps::bound_results(&mut env, step, &mut insts);
            steps::aggregate(
                &mut self.status.steps[i],
                &insts,
                step.for_each.is_some(),
                self.now,
            );
        }
    }

    fn items_of(&self, step: &Step) -> Result<Vec<Value>, String> {
        // Only the step it fans out over matters: its recorded result, whatever its phase.
        let from = step.for_each.as_ref().and_then(|f| f.from_step.as_deref());
        let results: BTreeMap<String, Value> = self
            .status
            .steps
            .iter()
            .filter(|s| Some(s.name.as_str()) == from)
            .filter_map(|s| s.result.clone().map(|r| (s.name.clone(), r)))
            .collect();
        match for_each_items(step, &results) {
            Ok(items) => Ok(items.unwrap_or_default()),
            Err(ItemsError::NeedsResult { from }) => {
                Err(format!("step {from} has no result to iterate over"))
            }
            Err(ItemsError::Invalid(msg)) => Err(msg),
        }
    }

    fn settle(&mut self, i: usize, phase: StepPhase, reason: WeirReason, message: String) {
        self.plan.urgent = true;
        let s = &mut self.status.steps[i];
        s.phase = phase;
        s.reason = Some(reason.into());
        s.message = Some(message);
        s.finish_time = Some(Time(self.now));
    }

    fn conclude(&mut self, spec: &PipelineSpec, graph: &Graph) {
        let states: Vec<_> = self
            .status
            .steps
            .iter()
            .map(|s| node_state(s.phase))
            .collect();
        match graph.outcome(&states) {
            Ok(RunOutcome::Succeeded) => self.finish_run(
                RunPhase::Succeeded,
                "Succeeded",
                "every step succeeded or was skipped".into(),
            ),
            Ok(RunOutcome::Failed) => {
                let first = spec
                    .steps
                    .iter()
                    .zip(&self.status.steps)
                    .find(|(_, s)| s.phase == StepPhase::Failed);
                let msg = match first {
                    Some((step, s)) => format!(
                        "step {} failed: {}",
                        step.name,
                        s.reason.as_ref().map(|r| r.as_str()).unwrap_or_default()
                    ),
                    None => "a step failed".into(),
                };
                self.fail_run("StepFailed", msg);
            }
            _ => {}
        }
    }

    fn finish(mut self) -> Plan {
        self.bound_status();
        let total = self.status.steps.len();
        if total > 0 {
            let done = self
                .status
                .steps
                .iter()
                .filter(|s| s.phase.is_finished())
                .count();
            self.status.progress = Some(format!("{done}/{total}"));
        }
        self.status.observed_generation = self.generation();
        self.plan.status = self.status;
        self.plan
    }
}

/// Results of succeeded steps, by name, for templates (`results.NAME`).
fn succeeded_results(status: &PipelineRunStatus) -> BTreeMap<String, Value> {
    status
        .steps
        .iter()
        .filter(|s| s.phase == StepPhase::Succeeded)
        .filter_map(|s| s.result.clone().map(|r| (s.name.clone(), r)))
        .collect()
}

fn running_children(s: &StepStatus) -> usize {
    if s.items.is_empty() {
        usize::from(s.phase == StepPhase::Running)
    } else {
        s.items
            .iter()
            .filter(|i| i.phase == StepPhase::Running)
            .count()
    }
}

struct Env<'p, 'a, 'r> {
    p: &'p mut Planner<'a>,
    r: &'r Renderable<'r>,
    items: &'r BTreeMap<String, Vec<Value>>,
}

impl StepEnv for Env<'_, '_, '_> {
    fn now(&self) -> Timestamp {
        self.p.now
    }
    fn child(&self, name: &str) -> Option<&ObservedChild> {
        self.p.obs.children.iter().find(|c| c.name == name)
    }
    fn refused(&self, name: &str) -> Option<&str> {
        self.p.obs.refused.get(name).map(String::as_str)
    }
    fn render(&self, child: &ChildSpec<'_>) -> Result<Manifest, RenderFailure> {
        self.r.child(child)
    }
    fn child_name(&self, step: &Step, index: Option<u32>, attempt: u32) -> String {
        crate::names::child_name(self.r.run.name, &step.name, index, attempt)
    }
    fn urgent(&mut self) {
        self.p.plan.urgent = true;
    }
    fn items(&self, step: &Step) -> &[Value] {
        self.items
            .get(&step.name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    fn apply(&mut self, m: Manifest) {
        self.p.plan.apply.push(m);
    }
    fn delete(&mut self, c: ChildRef) {
        self.p.plan.delete.push(c);
    }
    fn event(&mut self, warning: bool, reason: EventReason, message: String) {
        self.p.event(warning, reason, message);
    }
    fn requeue(&mut self, d: Duration) {
        self.p.requeue(d);
    }
    fn take_slot(&mut self) -> bool {
        if self.p.slots == 0 {
            return false;
        }
        self.p.slots = self.p.slots.saturating_sub(1);
        true
    }
}

/// Adds `d` to `t`, saturating; for callers computing deadlines.
pub fn deadline(t: Timestamp, d: Duration) -> Timestamp {
    add(t, d)
}
