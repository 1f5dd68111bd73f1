//! Fixtures for the planner's table tests: pipelines from a compact description, a run, a
//! tiny in-memory "cluster" that carries out plans the way the controller does, and "the
//! cluster did X to child Y" helpers.
//!
//! Each `tests/plan_*.rs` uses part of this module, so unused items are expected.
#![allow(dead_code)]

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde_json::{Value, json};
use weir_api::labels;
use weir_api::v1alpha1::{
    Backoff, DeletePolicy, ForEach, JobStep, Pipeline, PipelineRun, PipelineRunSpec, PipelineSpec,
    RetryPolicy, Step, StepStatus, TriggerRule,
};
use weir_core::state::{ChildPhase, ChildState};
use weir_core::{Event, Manifest, Observed, ObservedChild, Plan, Sibling, plan};
use weir_render::Renderer;

/// The namespace every run lives in.
pub const NS: &str = "data";
/// The Pipeline runs refer to.
pub const PIPELINE: &str = "etl";
/// The default run's name.
pub const RUN: &str = "r";

/// The time of the first reconcile.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_748_772_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `t0()` plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

/// A job step running `busybox` with no dependencies.
pub fn job_step(name: &str) -> Step {
    Step {
        name: name.into(),
        job: Some(JobStep {
            image: Some("busybox".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A pipeline spec from one line per step: `"name"`, `"name <- dep1 dep2"`, optionally
/// ending with a trigger rule in brackets: `"cleanup <- a b [allDone]"`.
pub fn dag(lines: &[&str]) -> PipelineSpec {
    let steps = lines
        .iter()
        .map(|line| {
            let (line, rule) = match line.split_once('[') {
                Some((head, rule)) => (head, Some(rule.trim_end_matches(']').trim())),
                None => (*line, None),
            };
            let (name, deps) = line.split_once("<-").unwrap_or((line, ""));
            let mut s = job_step(name.trim());
            s.depends_on = deps.split_whitespace().map(String::from).collect();
            if let Some(rule) = rule {
                s.trigger_rule = trigger_rule(rule);
            }
            s
        })
        .collect();
    PipelineSpec {
        steps,
        ..Default::default()
    }
}

/// A trigger rule by its camelCase name (`allDone`, `oneFailed`, …).
pub fn trigger_rule(name: &str) -> TriggerRule {
    match serde_json::from_value(json!(name)) {
        Ok(rule) => rule,
        Err(e) => panic!("unknown trigger rule {name:?} in a fixture: {e}"),
    }
}

/// The step called `name` of `spec`, to tweak.
pub fn step_mut<'a>(spec: &'a mut PipelineSpec, name: &str) -> &'a mut Step {
    match spec.steps.iter_mut().find(|s| s.name == name) {
        Some(s) => s,
        None => panic!("fixture pipeline has no step {name}"),
    }
}

/// A retry policy: `limit` retries, backoff `initial` (none when empty) and `factor`.
pub fn retries(limit: u32, initial: &str, factor: u32) -> RetryPolicy {
    RetryPolicy {
        limit,
        backoff: (!initial.is_empty()).then(|| Backoff {
            initial: initial.into(),
            factor: Some(factor),
            max: None,
        }),
        retry_on: Vec::new(),
    }
}

/// forEach over the result of `from` (optionally under `key`).
pub fn for_each_from(from: &str, key: Option<&str>) -> ForEach {
    ForEach {
        from_step: Some(from.into()),
        key: key.map(String::from),
        items: None,
    }
}

/// The Pipeline object runs refer to.
pub fn pipeline(spec: PipelineSpec) -> Pipeline {
    let mut p = Pipeline::new(PIPELINE, spec);
    p.metadata.namespace = Some(NS.into());
    p.metadata.generation = Some(4);
    p
}

/// A run of [`PIPELINE`] named `name`, created at `created`, with no status yet.
pub fn run(name: &str, created: Timestamp) -> PipelineRun {
    let mut r = PipelineRun::new(
        name,
        PipelineRunSpec {
            pipeline_ref: Some(PIPELINE.into()),
            ..Default::default()
        },
    );
    r.metadata.namespace = Some(NS.into());
    r.metadata.uid = Some(format!("uid-{name}"));
    r.metadata.generation = Some(1);
    r.metadata.creation_timestamp = Some(Time(created));
    r
}

/// A child state with a phase and an optional reason.
pub fn state(phase: ChildPhase, reason: Option<&str>) -> ChildState {
    let mut s = ChildState::new(phase);
    s.reason = reason.map(String::from);
    s
}

/// One run, its Pipeline, its siblings and its children: what the controller observes,
/// kept up to date by carrying out each plan like the controller (and the cluster) would.
pub struct World {
    /// The run as stored; `reconcile` writes each plan's status back here.
    pub run: PipelineRun,
    /// The referenced Pipeline (None: it does not exist).
    pub pipeline: Option<Pipeline>,
    /// Other runs of the same Pipeline.
    pub siblings: Vec<Sibling>,
    /// The children that exist, with their states.
    pub children: Vec<ObservedChild>,
    /// ConfigMap templates by (ConfigMap, key).
    pub config_templates: BTreeMap<(String, String), String>,
    /// Children the API server refused to create, with why.
    pub refused: BTreeMap<String, String>,
    /// The time of the next reconcile.
    pub now: Timestamp,
    /// Every manifest ever applied, by child name (the first version).
    pub applied: BTreeMap<String, Manifest>,
    /// Every event of every reconcile, in order.
    pub events: Vec<Event>,
    /// How many reconciles ran.
    pub reconciles: usize,
    renderer: Renderer,
}

impl World {
    /// Run [`RUN`] of a Pipeline with `spec`, created at `t0()`, first reconcile at `t0()`.
    pub fn new(spec: PipelineSpec) -> World {
        World::named(RUN, spec)
    }

    /// Like [`World::new`] with another run name.
    pub fn named(name: &str, spec: PipelineSpec) -> World {
        World {
            run: run(name, t0()),
            pipeline: Some(pipeline(spec)),
            siblings: Vec::new(),
            children: Vec::new(),
            config_templates: BTreeMap::new(),
            refused: BTreeMap::new(),
            now: t0(),
            applied: BTreeMap::new(),
            events: Vec::new(),
            reconciles: 0,
            renderer: Renderer::new(),
        }
    }

    /// The plan for the current observation, changing nothing.
    pub fn plan(&self) -> Plan {
        let obs = Observed {
            run: &self.run,
            pipeline: self.pipeline.as_ref(),
            siblings: self.siblings.clone(),
            children: self.children.clone(),
            config_templates: self.config_templates.clone(),
            refused: self.refused.clone(),
            now: self.now,
        };
        plan(&obs, &self.renderer)
    }

    /// One reconcile as the controller does it: plan, apply (a new child appears
    /// `Running`; an existing one is left as it is, like a server-side apply of the same
    /// object), delete (the child gets a deletionTimestamp), then write the status.
    /// Panics when a child name is applied again with different content.
    pub fn reconcile(&mut self) -> Plan {
        let p = self.plan();
        self.carry_out(&p);
        p
    }

    /// The run's first reconcile, when it is admitted: it writes the spec snapshot and
    /// creates nothing, since every child must be rendered from a snapshot that is already
    /// recorded (a Pipeline edited, broken or a controller restarted in between changes
    /// nothing). Panics when it applied anything. Returns its plan.
    pub fn admit(&mut self) -> Plan {
        let p = self.reconcile();
        assert!(
            p.apply.is_empty(),
            "admission applied {:?} before the snapshot was written",
            p.apply.iter().map(manifest_name).collect::<Vec<_>>()
        );
        p
    }

    /// A reconcile whose controller dies after applying and deleting, before the status
    /// patch: the cluster changed, the run's status did not.
    pub fn crash_after_apply(&mut self) -> Plan {
        let p = self.plan();
        self.touch_cluster(&p);
        p
    }

    /// Carries out `p` (see [`World::reconcile`]).
    pub fn carry_out(&mut self, p: &Plan) {
        self.reconciles += 1;
        self.touch_cluster(p);
        self.events.extend(p.events.iter().cloned());
        self.run.status = Some(p.status.clone());
    }

    fn touch_cluster(&mut self, p: &Plan) {
        for m in &p.apply {
            let name = manifest_name(m);
            match self.applied.get(&name) {
                Some(first) => assert_eq!(
                    first, m,
                    "child {name} was applied again with different content"
                ),
                None => {
                    self.applied.insert(name.clone(), m.clone());
                }
            }
            if self.child(&name).is_none() {
                self.children.push(ObservedChild {
                    kind: m.kind(),
                    step: manifest_label(m, labels::STEP),
                    name,
                    state: ChildState::new(ChildPhase::Running),
                    deleting: false,
                });
            }
        }
        for d in &p.delete {
            if let Some(c) = self.children.iter_mut().find(|c| c.name == d.name) {
                c.deleting = true;
            }
        }
    }

    /// Moves the clock on by `secs` seconds.
    pub fn advance(&mut self, secs: i64) {
        self.now += SignedDuration::from_secs(secs);
    }

    /// The observed child called `name`.
    pub fn child(&self, name: &str) -> Option<&ObservedChild> {
        self.children.iter().find(|c| c.name == name)
    }

    fn child_mut(&mut self, name: &str) -> &mut ObservedChild {
        match self.children.iter_mut().find(|c| c.name == name) {
            Some(c) => c,
            None => panic!("no child {name} in the cluster"),
        }
    }

    /// The cluster: child `name` succeeded.
    pub fn succeed(&mut self, name: &str) {
        self.child_mut(name).state = state(ChildPhase::Succeeded, Some("Completed"));
    }

    /// The cluster: child `name` succeeded, its termination message parsed into `result`.
    pub fn succeed_with(&mut self, name: &str, result: Value) {
        let mut s = state(ChildPhase::Succeeded, Some("Completed"));
        s.result = Some(result);
        self.child_mut(name).state = s;
    }

    /// The cluster: child `name` failed with `reason`.
    pub fn fail(&mut self, name: &str, reason: &str) {
        let mut s = state(ChildPhase::Failed, Some(reason));
        s.message = Some(format!("{name}: {reason}"));
        self.child_mut(name).state = s;
    }

    /// The cluster: child `name` waits (Pending) with `reason`, e.g. `ImagePullBackOff`.
    pub fn pending(&mut self, name: &str, reason: &str) {
        self.child_mut(name).state = state(ChildPhase::Pending, Some(reason));
    }

    /// The cluster: child `name` is gone from the cache.
    pub fn vanish(&mut self, name: &str) {
        self.children.retain(|c| c.name != name);
    }

    /// The cluster: every child being deleted is gone.
    pub fn collect_garbage(&mut self) {
        self.children.retain(|c| !c.deleting);
    }

    /// The names of the children that exist and are not being deleted.
    pub fn live(&self) -> Vec<String> {
        self.children
            .iter()
            .filter(|c| !c.deleting)
            .map(|c| c.name.clone())
            .collect()
    }

    /// This run as another run's sibling.
    pub fn as_sibling(&self) -> Sibling {
        Sibling {
            name: self.run.metadata.name.clone().unwrap_or_default(),
            created: self
                .run
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(t0(), |t| t.0),
            phase: self
                .run
                .status
                .as_ref()
                .map(|s| s.phase)
                .unwrap_or_default(),
        }
    }

    /// Event reasons of every reconcile so far.
    pub fn event_reasons(&self) -> Vec<&'static str> {
        self.events.iter().map(|e| e.reason.as_str()).collect()
    }

    /// Sets the delete policy of every step.
    pub fn default_delete_policy(&mut self, policy: DeletePolicy) {
        if let Some(p) = self.pipeline.as_mut() {
            p.spec.defaults.delete_policy = Some(policy);
        }
    }
}

/// The status of step `name` in `plan`.
pub fn step<'a>(plan: &'a Plan, name: &str) -> &'a StepStatus {
    match plan.status.steps.iter().find(|s| s.name == name) {
        Some(s) => s,
        None => panic!("plan has no step {name}: {:?}", plan.status.steps),
    }
}

/// The names of the children `plan` applies, in order.
pub fn applied(plan: &Plan) -> Vec<String> {
    plan.apply.iter().map(manifest_name).collect()
}

/// The names of the children `plan` deletes, sorted.
pub fn deleted(plan: &Plan) -> Vec<String> {
    let mut names: Vec<String> = plan.delete.iter().map(|d| d.name.clone()).collect();
    names.sort();
    names
}

/// The reasons of `plan`'s events, in order.
pub fn reasons(plan: &Plan) -> Vec<&'static str> {
    plan.events.iter().map(|e| e.reason.as_str()).collect()
}

/// Condition `kind` of the run status in `plan`.
pub fn condition<'a>(plan: &'a Plan, kind: &str) -> &'a Condition {
    match plan.status.conditions.iter().find(|c| c.type_ == kind) {
        Some(c) => c,
        None => panic!("no condition {kind}: {:?}", plan.status.conditions),
    }
}

/// A manifest's `metadata.name`.
pub fn manifest_name(m: &Manifest) -> String {
    m.name().to_string()
}

fn manifest_label(m: &Manifest, key: &str) -> String {
    match m {
        Manifest::Job(j) => j
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(key).cloned())
            .unwrap_or_default(),
        Manifest::Object(v) => v["metadata"]["labels"][key]
            .as_str()
            .unwrap_or_default()
            .into(),
    }
}

/// The applied Job called `name` in `plan`.
pub fn job<'a>(plan: &'a Plan, name: &str) -> &'a Job {
    for m in &plan.apply {
        if let Manifest::Job(j) = m
            && j.metadata.name.as_deref() == Some(name)
        {
            return j;
        }
    }
    panic!("plan applies no Job {name}: {:?}", applied(plan))
}

/// The main container's args of a Job.
pub fn args(job: &Job) -> Vec<String> {
    job.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers.first())
        .and_then(|c| c.args.clone())
        .unwrap_or_default()
}

/// Whole seconds of an optional duration, for readable asserts.
pub fn secs(d: Option<std::time::Duration>) -> Option<u64> {
    d.map(|d| d.as_secs())
}

/// A timestamp as it appears in status.
pub fn time(t: Timestamp) -> Option<Time> {
    Some(Time(t))
}
