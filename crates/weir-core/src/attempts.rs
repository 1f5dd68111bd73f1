//! A standalone SparkJob or DbtRun planned as what it is: one step with one instance. Its
//! attempts go through the step logic a pipeline step uses ([`crate::steps`]: retries with
//! backoff and `retryOn`, the timeout, a deleted or missing child, adoption after a crash),
//! each attempt rendered by [`render_standalone`] into a child named `{name}-{attempt}`.
//!
//! The controller writes the status that records an attempt *before* it creates the
//! attempt's child ([`StandalonePlan::apply`] always comes with an urgent status). So a
//! child absent from the cache is never created again: it is missing (a crash between the
//! two writes, failed after [`crate::steps::MISSING_GRACE`]) or deleted (at once, when the
//! status shows it was observed before); either fails the attempt, and a retry gets a new
//! name. One attempt is submitted at most once.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use weir_api::reason::EventReason;
use weir_api::v1alpha1::{RetryPolicy, Step, StepPhase, StepStatus};
use weir_render::Renderer;

use crate::check::{CheckInputs, check_standalone};
use crate::observe::{ChildKind, ChildRef, Event, Manifest, ObservedChild};
use crate::render::{ChildSpec, RenderFailure};
use crate::standalone::{Standalone, StandaloneInput, attempt_child_name, render_standalone};
use crate::state::{ChildPhase, ChildState};
use crate::steps::{self, Instance, StepEnv};

/// The condition saying whether the spec is valid.
pub const VALID: &str = "Valid";

/// Where a standalone resource's attempts are, as its status records them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attempts {
    /// `Pending` (nothing started), `Running`, `Retrying`, `Succeeded` or `Failed`.
    pub phase: StepPhase,
    /// The current attempt (0 before the first).
    pub attempt: u32,
    /// Retries used.
    pub retries: u32,
    /// The current attempt's child.
    pub child: Option<String>,
    /// Why it is in its phase.
    pub reason: Option<String>,
    /// Details.
    pub message: Option<String>,
    /// The succeeded child's result (its termination message).
    pub result: Option<Value>,
    /// When the current attempt started.
    pub attempt_start: Option<Timestamp>,
    /// When the next attempt starts (`Retrying`).
    pub next_attempt: Option<Timestamp>,
    /// When the first attempt started.
    pub start: Option<Timestamp>,
    /// When it finished.
    pub finish: Option<Timestamp>,
}

/// Everything the planner needs about one standalone resource.
#[derive(Debug, Clone)]
pub struct StandaloneObserved<'a> {
    /// What it renders from (its `attempt` is ignored: the planner picks the attempt).
    pub input: StandaloneInput<'a>,
    /// Its `metadata.generation`.
    pub generation: Option<i64>,
    /// Its retry policy.
    pub retries: Option<&'a RetryPolicy>,
    /// Its per-attempt timeout (`30m`).
    pub timeout: Option<&'a str>,
    /// Its attempts as recorded.
    pub attempts: Attempts,
    /// The current attempt's child, read by name, with its parsed state.
    pub child: Option<ObservedChild>,
    /// The status shows the current attempt's child was observed before (e.g. it recorded
    /// the SparkApplication's state): if it is gone now, it was deleted.
    pub child_seen: bool,
    /// Why the API server refused to create the current attempt's child, if it did.
    pub refused: Option<&'a str>,
    /// ConfigMap template texts by (ConfigMap, key).
    pub config_templates: &'a BTreeMap<(String, String), String>,
    /// The renderer.
    pub renderer: &'a Renderer,
    /// The reconcile's time.
    pub now: Timestamp,
}

/// What the controller does for one reconcile of a standalone resource.
#[derive(Debug, Clone, PartialEq)]
pub struct StandalonePlan {
    /// The attempts after this reconcile.
    pub attempts: Attempts,
    /// The spec's problems (empty: valid), each `path: message`.
    pub problems: Vec<String>,
    /// The child to create, *after* the status recording it is written.
    pub apply: Option<Manifest>,
    /// Children to delete (a timed-out attempt's).
    pub delete: Vec<ChildRef>,
    /// Write the status at once (always when there is something to apply).
    pub urgent: bool,
    /// Look again within this long (a retry's backoff, a timeout, a missing child's grace).
    pub requeue_after: Option<Duration>,
    /// Events to record once the status is written.
    pub events: Vec<Event>,
}

/// Plans one reconcile: validity, then the attempts.
pub fn plan_standalone(o: &StandaloneObserved<'_>) -> StandalonePlan {
    let who = format!("{} {}", o.input.kind.name(), o.input.name);
    let mut env = Env {
        o,
        child: observed_child(o),
        plan: StandalonePlan {
            attempts: o.attempts.clone(),
            problems: Vec::new(),
            apply: None,
            delete: Vec::new(),
            urgent: false,
            requeue_after: None,
            events: Vec::new(),
        },
    };
    let inputs = CheckInputs {
        renderer: o.renderer,
        config_templates: o.config_templates,
    };
    let checked = check_standalone(&o.input, &inputs);
    env.plan.problems = checked
        .problems
        .iter()
        .map(|f| f.problem.to_string())
        .collect();
    // An invalid spec that never started waits for a valid generation (it starts then).
    let invalid_only = o.attempts.attempt == 0
        && o.attempts.reason.as_deref() == Some(EventReason::InvalidSpec.as_str());
    if invalid_only {
        env.plan.attempts = Attempts::default();
    }
    if !env.plan.problems.is_empty() && env.plan.attempts.attempt == 0 {
        return invalid(env.plan, &who);
    }
    let step = Step {
        name: o.input.name.to_string(),
        retries: o.retries.cloned(),
        timeout: o.timeout.map(str::to_string),
        ..Step::default()
    };
    let mut status = to_step_status(&env.plan.attempts);
    let mut insts = Instance::from_step(&status);
    steps::observe(&mut env, &step, &mut insts);
    steps::launch(&mut env, &step, &mut insts);
    steps::aggregate(&mut status, &insts, false, o.now);
    let mut plan = env.plan;
    plan.attempts = from_step_status(&status);
    if plan.apply.is_some() {
        plan.urgent = true;
    }
    // The step logic words its Events for a pipeline step.
    let step_words = format!("step {}", o.input.name);
    for e in &mut plan.events {
        e.message = e.message.replacen(&step_words, &who, 1);
    }
    plan
}

/// A spec with problems and no attempt: nothing starts; `Failed` with reason `InvalidSpec`
/// until a valid generation arrives.
fn invalid(mut plan: StandalonePlan, who: &str) -> StandalonePlan {
    let message = plan.problems.join("; ");
    let was = plan.attempts.reason.clone();
    plan.attempts = Attempts {
        phase: StepPhase::Failed,
        reason: Some(EventReason::InvalidSpec.as_str().to_string()),
        message: Some(steps::truncate(message.clone(), 1024)),
        ..Attempts::default()
    };
    plan.urgent = true;
    if was.as_deref() != Some(EventReason::InvalidSpec.as_str()) {
        plan.events.push(Event {
            warning: true,
            reason: EventReason::InvalidSpec,
            message: format!("{who} is invalid: {message}"),
        });
    }
    plan
}

/// The child as the step logic should see it: as observed, or, when it is gone although
/// the status shows it was seen, as a child being deleted (it was).
fn observed_child(o: &StandaloneObserved<'_>) -> Option<ObservedChild> {
    if o.child.is_some() || !o.child_seen || o.attempts.phase != StepPhase::Running {
        return o.child.clone();
    }
    let name = o.attempts.child.clone()?;
    Some(ObservedChild {
        kind: o.input.kind.child_kind(),
        name,
        step: o.input.name.to_string(),
        state: ChildState::new(ChildPhase::Running),
        deleting: true,
    })
}

struct Env<'o, 'a> {
    o: &'o StandaloneObserved<'a>,
    child: Option<ObservedChild>,
    plan: StandalonePlan,
}

impl StepEnv for Env<'_, '_> {
    fn now(&self) -> Timestamp {
        self.o.now
    }
    fn child(&self, name: &str) -> Option<&ObservedChild> {
        self.child.as_ref().filter(|c| c.name == name)
    }
    fn refused(&self, name: &str) -> Option<&str> {
        let current = self.o.attempts.child.as_deref() == Some(name);
        self.o.refused.filter(|_| current)
    }
    fn render(&self, child: &ChildSpec<'_>) -> Result<Manifest, RenderFailure> {
        let input = StandaloneInput {
            attempt: child.attempt,
            ..self.o.input.clone()
        };
        render_standalone(self.o.renderer, self.o.config_templates, &input)
    }
    fn child_name(&self, _step: &Step, _index: Option<u32>, attempt: u32) -> String {
        attempt_child_name(self.o.input.name, attempt)
    }
    fn urgent(&mut self) {
        self.plan.urgent = true;
    }
    fn items(&self, _step: &Step) -> &[Value] {
        &[]
    }
    fn apply(&mut self, m: Manifest) {
        self.plan.apply = Some(m);
    }
    fn delete(&mut self, c: ChildRef) {
        self.plan.delete.push(c);
    }
    fn event(&mut self, warning: bool, reason: EventReason, message: String) {
        self.plan.events.push(Event {
            warning,
            reason,
            message,
        });
    }
    fn requeue(&mut self, d: Duration) {
        self.plan.requeue_after = Some(self.plan.requeue_after.map_or(d, |r| r.min(d)));
    }
    fn take_slot(&mut self) -> bool {
        true
    }
}

fn to_step_status(a: &Attempts) -> StepStatus {
    StepStatus {
        phase: a.phase,
        attempt: a.attempt,
        retries: a.retries,
        children: a.child.iter().cloned().collect(),
        attempt_start_time: a.attempt_start.map(Time),
        next_attempt_time: a.next_attempt.map(Time),
        reason: a.reason.clone().map(Into::into),
        message: a.message.clone(),
        result: a.result.clone(),
        start_time: a.start.map(Time),
        finish_time: a.finish.map(Time),
        ..StepStatus::default()
    }
}

fn from_step_status(s: &StepStatus) -> Attempts {
    Attempts {
        phase: s.phase,
        attempt: s.attempt,
        retries: s.retries,
        child: s.children.first().cloned(),
        reason: s.reason.as_ref().map(|r| r.as_str().to_string()),
        message: s.message.clone(),
        result: s.result.clone(),
        attempt_start: s.attempt_start_time.as_ref().map(|t| t.0),
        next_attempt: s.next_attempt_time.as_ref().map(|t| t.0),
        start: s.start_time.as_ref().map(|t| t.0),
        finish: s.finish_time.as_ref().map(|t| t.0),
    }
}

impl Standalone {
    /// The kind's name, e.g. `SparkJob`.
    pub fn name(self) -> &'static str {
        match self {
            Standalone::SparkJob => "SparkJob",
            Standalone::DbtRun => "DbtRun",
        }
    }

    /// The kind of its children.
    pub fn child_kind(self) -> ChildKind {
        match self {
            Standalone::SparkJob => ChildKind::Other {
                api_version: crate::SPARK_API_VERSION.into(),
                kind: "SparkApplication".into(),
            },
            Standalone::DbtRun => ChildKind::Job,
        }
    }
}
