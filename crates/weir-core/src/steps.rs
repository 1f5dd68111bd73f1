//! One step's instances (one, or one per forEach item): reading their children's states,
//! retries with backoff, timeouts, starting attempts, and adding it all up into the step's
//! status.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use weir_api::reason::{EventReason, StepReason, WeirReason};
use weir_api::v1alpha1::{ChildKindRef, ItemStatus, Step, StepPhase, StepStatus};

use crate::duration::{backoff_delay, parse_duration};
use crate::observe::{ChildKind, ChildRef, Manifest, ObservedChild};
use crate::render::{ChildSpec, RenderFailure};
use crate::state::ChildPhase;

/// How long a child recorded in status may be missing from the cache before the attempt
/// counts as failed (`ChildMissing`). Covers watch lag right after a create.
pub const MISSING_GRACE: Duration = Duration::from_secs(30);

/// How often to look again at a child waiting with a reason (image pulls, scheduling), whose
/// grace period ends without any watch event.
pub const WAITING_RECHECK: Duration = Duration::from_secs(15);

/// Most bytes (as JSON) the results of one step may take together: a forEach step's item
/// results, or one step's result (itself at most 4 KiB, Kubernetes' termination message
/// limit). With [`crate::plan::MAX_STATUS_BYTES`] it keeps a run's status writable; larger
/// outputs belong in object storage, with their URI as the result.
pub const MAX_STEP_RESULTS_BYTES: usize = 64 * 1024;

/// Keeps a step's results within [`MAX_STEP_RESULTS_BYTES`]: counted in item order, an
/// instance whose result would go past the limit fails with `ResultTooLarge` (not retried:
/// the same work gives the same result), and so does its step.
pub(crate) fn bound_results(env: &mut dyn StepEnv, step: &Step, insts: &mut [Instance]) {
    let mut total = 0usize;
    for inst in insts.iter_mut() {
        let Some(r) = &inst.result else { continue };
        let bytes = serde_json::to_string(r).map_or(usize::MAX, |t| t.len());
        if total.saturating_add(bytes) <= MAX_STEP_RESULTS_BYTES {
            total += bytes;
            continue;
        }
        inst.result = None;
        inst.phase = StepPhase::Failed;
        inst.reason = Some(WeirReason::ResultTooLarge.into());
        let who = match inst.index {
            Some(i) => format!("step {} item {i}", step.name),
            None => format!("step {}", step.name),
        };
        let msg = format!(
            "{who}: its result ({bytes} bytes) takes the step's results past \
             {MAX_STEP_RESULTS_BYTES} bytes; write large outputs to object storage and \
             return their URI"
        );
        inst.message = Some(msg.clone());
        env.urgent();
        env.event(true, EventReason::ResultTooLarge, msg);
    }
}

/// One unit of work of a step: the step itself, or one forEach item.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Instance {
    pub index: Option<u32>,
    pub phase: StepPhase,
    pub attempt: u32,
    pub retries: u32,
    pub child: Option<String>,
    pub attempt_start: Option<Timestamp>,
    pub next_attempt: Option<Timestamp>,
    pub reason: Option<StepReason>,
    pub message: Option<String>,
    pub result: Option<Value>,
    /// The type of the child planned or adopted by this reconcile.
    pub child_kind: Option<ChildKind>,
}

impl Instance {
    pub(crate) fn from_step(s: &StepStatus) -> Vec<Instance> {
        if !s.items.is_empty() {
            return s.items.iter().map(Instance::from_item).collect();
        }
        vec![Instance {
            index: None,
            phase: s.phase,
            attempt: s.attempt,
            retries: s.retries,
            child: s.children.first().cloned(),
            attempt_start: s.attempt_start_time.as_ref().map(|t| t.0),
            next_attempt: s.next_attempt_time.as_ref().map(|t| t.0),
            reason: s.reason.clone(),
            message: s.message.clone(),
            result: s.result.clone(),
            child_kind: None,
        }]
    }

    fn from_item(i: &ItemStatus) -> Instance {
        Instance {
            index: Some(i.index),
            phase: i.phase,
            attempt: i.attempt,
            retries: i.retries,
            child: i.child.clone(),
            attempt_start: i.attempt_start_time.as_ref().map(|t| t.0),
            next_attempt: i.next_attempt_time.as_ref().map(|t| t.0),
            reason: i.reason.clone(),
            message: i.message.clone(),
            result: i.result.clone(),
            child_kind: None,
        }
    }

    fn to_item(&self) -> ItemStatus {
        ItemStatus {
            index: self.index.unwrap_or_default(),
            phase: self.phase,
            attempt: self.attempt,
            retries: self.retries,
            child: self.child.clone(),
            attempt_start_time: self.attempt_start.map(Time),
            next_attempt_time: self.next_attempt.map(Time),
            reason: self.reason.clone(),
            message: self.message.clone(),
            result: self.result.clone(),
        }
    }
}

/// What the step logic asks of the rest of the planner.
pub(crate) trait StepEnv {
    /// The reconcile's time.
    fn now(&self) -> Timestamp;
    /// The observed child with this name.
    fn child(&self, name: &str) -> Option<&ObservedChild>;
    /// Why the API server refused to create the child with this name, if it did.
    fn refused(&self, name: &str) -> Option<&str>;
    /// Render the manifest for an attempt.
    fn render(&self, child: &ChildSpec<'_>) -> Result<Manifest, RenderFailure>;
    /// The deterministic name of an attempt's child.
    fn child_name(&self, step: &Step, index: Option<u32>, attempt: u32) -> String;
    /// A transition users must see at once happened: write the status now.
    fn urgent(&mut self);
    /// The items of a forEach step, if it has one.
    fn items(&self, step: &Step) -> &[Value];
    /// Record a manifest to apply, a child to delete, an event, a time to look again.
    fn apply(&mut self, m: Manifest);
    /// Delete a child.
    fn delete(&mut self, c: ChildRef);
    /// Record an event.
    fn event(&mut self, warning: bool, reason: EventReason, message: String);
    /// Look again within `d`.
    fn requeue(&mut self, d: Duration);
    /// Whether one more child may start now (`maxParallelSteps`, `suspend`); takes the slot.
    fn take_slot(&mut self) -> bool;
}

/// Reads the children of the step's running instances and moves them on: success, failure
/// (retry or not), timeout, missing child.
pub(crate) fn observe(env: &mut dyn StepEnv, step: &Step, insts: &mut [Instance]) {
    let now = env.now();
    let timeout = step.timeout.as_deref().and_then(|t| parse_duration(t).ok());
    for inst in insts.iter_mut().filter(|i| i.phase == StepPhase::Running) {
        let Some(name) = inst.child.clone() else {
            continue;
        };
        let since = inst.attempt_start.unwrap_or(now);
        let observed = env.child(&name).cloned();
        if observed.is_none()
            && let Some(why) = env.refused(&name).map(str::to_string)
        {
            fail(env, step, inst, WeirReason::CreateRefused.into(), why);
            continue;
        }
        match observed {
            None => {
                let waited = elapsed_since(since, now);
                if waited >= MISSING_GRACE {
                    fail(
                        env,
                        step,
                        inst,
                        WeirReason::ChildMissing.into(),
                        format!("{name} disappeared while running"),
                    );
                } else {
                    env.requeue(MISSING_GRACE - waited);
                }
            }
            Some(c) if c.deleting && c.state.phase != ChildPhase::Succeeded => {
                fail(
                    env,
                    step,
                    inst,
                    WeirReason::ChildDeleted.into(),
                    format!("{name} was deleted while running"),
                );
            }
            Some(c) => match c.state.phase {
                // Not urgent: the child keeps the success (it is deleted by policy only
                // after the status records it), and the run's end, if this was the last
                // step, is.
                ChildPhase::Succeeded => {
                    inst.phase = StepPhase::Succeeded;
                    inst.reason = Some(
                        c.state
                            .reason
                            .clone()
                            .map_or(WeirReason::Completed.into(), StepReason::from),
                    );
                    inst.message = c.state.message.clone();
                    inst.result = c.state.result.clone();
                }
                ChildPhase::Failed => {
                    let reason = c
                        .state
                        .reason
                        .clone()
                        .map_or(WeirReason::Failed.into(), StepReason::from);
                    fail(
                        env,
                        step,
                        inst,
                        reason,
                        c.state.message.clone().unwrap_or_default(),
                    );
                }
                ChildPhase::Pending | ChildPhase::Running => {
                    inst.reason = c.state.reason.clone().map(StepReason::from);
                    inst.message = c.state.message.clone();
                    if let Some(limit) = timeout {
                        let ran = elapsed_since(since, now);
                        if ran >= limit {
                            env.delete(ChildRef {
                                kind: c.kind.clone(),
                                name: name.clone(),
                            });
                            let text = step.timeout.clone().unwrap_or_default();
                            fail(
                                env,
                                step,
                                inst,
                                WeirReason::Timeout.into(),
                                format!("attempt {} ran longer than {text}", inst.attempt),
                            );
                            continue;
                        }
                        env.requeue(limit - ran);
                    }
                    if c.state.phase == ChildPhase::Pending && c.state.reason.is_some() {
                        env.requeue(WAITING_RECHECK);
                    }
                }
            },
        }
    }
}

/// Starts what may start: due retries and not-yet-started items, as slots allow.
pub(crate) fn launch(env: &mut dyn StepEnv, step: &Step, insts: &mut [Instance]) {
    let now = env.now();
    for inst in insts.iter_mut() {
        let next = match inst.phase {
            // A pending item carries the attempt before its first (0, or the last attempt
            // before a re-run), so its name never repeats one used before.
            StepPhase::Pending => inst.attempt + 1,
            StepPhase::Retrying => match inst.next_attempt {
                Some(at) if at > now => {
                    env.requeue(elapsed_since(now, at));
                    continue;
                }
                _ => inst.attempt + 1,
            },
            _ => continue,
        };
        if !env.take_slot() {
            continue;
        }
        start(env, step, inst, next);
    }
}

fn start(env: &mut dyn StepEnv, step: &Step, inst: &mut Instance, attempt: u32) {
    let now = env.now();
    let items = env.items(step);
    let item = inst.index.and_then(|i| items.get(i as usize)).cloned();
    let spec = ChildSpec {
        step,
        index: inst.index,
        item: item.as_ref(),
        attempt,
    };
    inst.attempt = attempt;
    inst.attempt_start = Some(now);
    inst.next_attempt = None;
    // The child may exist already: created by a reconcile whose status write was deferred
    // or lost (a crash). Adopt it instead of applying it again; its name says it is the same.
    let name = env.child_name(step, inst.index, attempt);
    if let Some(existing) = env.child(&name) {
        inst.attempt_start = existing
            .state
            .started_at
            .filter(|t| *t <= now)
            .or(Some(now));
        inst.child_kind = Some(existing.kind.clone());
        inst.child = Some(name);
        inst.phase = StepPhase::Running;
        inst.reason = None;
        inst.message = None;
        // It may have finished already (its start was never written): read it now, so a
        // one-step run whose Job ends within the batch period needs one status write.
        observe(env, step, std::slice::from_mut(inst));
        return;
    }
    match env.render(&spec) {
        Ok(manifest) => {
            inst.child_kind = Some(manifest.kind());
            inst.child = Some(manifest.name().to_string());
            inst.phase = StepPhase::Running;
            inst.reason = None;
            inst.message = None;
            env.apply(manifest);
            if let Some(limit) = step.timeout.as_deref().and_then(|t| parse_duration(t).ok()) {
                env.requeue(limit);
            }
        }
        Err(f) => {
            inst.child = None;
            let reason = f.reason().into();
            fail(env, step, inst, reason, f.to_string());
        }
    }
}

/// An attempt failed: retry it (after its backoff) or fail the instance for good.
fn fail(
    env: &mut dyn StepEnv,
    step: &Step,
    inst: &mut Instance,
    reason: StepReason,
    message: String,
) {
    let now = env.now();
    env.urgent();
    inst.message = Some(truncate(message, 1024));
    let policy = step.retries.as_ref();
    let retryable = policy.is_some_and(|p| {
        inst.retries < p.limit
            && !reason.never_retried()
            && (p.retry_on.is_empty() || reason.listed_in(&p.retry_on))
    });
    let who = match inst.index {
        Some(i) => format!("step {} item {i}", step.name),
        None => format!("step {}", step.name),
    };
    if !retryable {
        inst.phase = StepPhase::Failed;
        env.event(
            true,
            EventReason::StepFailed,
            format!("{who} failed: {reason}"),
        );
        inst.reason = Some(reason);
        return;
    }
    inst.retries += 1;
    let delay = backoff_delay(policy.and_then(|p| p.backoff.as_ref()), inst.retries + 1)
        .unwrap_or_default();
    inst.phase = StepPhase::Retrying;
    inst.next_attempt = Some(add(now, delay));
    env.event(
        true,
        EventReason::StepRetrying,
        format!(
            "{who} attempt {} failed ({reason}); retry {} in {}s",
            inst.attempt,
            inst.retries,
            delay.as_secs()
        ),
    );
    inst.reason = Some(reason);
    env.requeue(delay);
}

/// Writes the instances back into the step's status and derives the step's phase.
pub(crate) fn aggregate(
    status: &mut StepStatus,
    insts: &[Instance],
    for_each: bool,
    now: Timestamp,
) {
    let was = status.phase;
    // Recorded once per attempt's planning: the controller reads children by this type.
    if let Some(kind) = insts.iter().find_map(|i| i.child_kind.as_ref()) {
        status.child_kind = Some(match kind {
            ChildKind::Job => ChildKindRef {
                api_version: "batch/v1".into(),
                kind: "Job".into(),
            },
            ChildKind::Other { api_version, kind } => ChildKindRef {
                api_version: api_version.clone(),
                kind: kind.clone(),
            },
        });
    }
    if !for_each {
        if let Some(i) = insts.first() {
            status.phase = i.phase;
            status.attempt = i.attempt;
            status.retries = i.retries;
            status.children = i.child.iter().cloned().collect();
            status.attempt_start_time = i.attempt_start.map(Time);
            status.next_attempt_time = i.next_attempt.map(Time);
            status.reason = i.reason.clone();
            status.message = i.message.clone();
            status.result = i.result.clone();
        }
    } else {
        status.items = insts.iter().map(Instance::to_item).collect();
        status.attempt = insts
            .iter()
            .map(|i| i.attempt)
            .max()
            .unwrap_or(status.attempt)
            .max(status.attempt);
        status.children = insts.iter().filter_map(|i| i.child.clone()).collect();
        let all_done = insts.iter().all(|i| i.phase.is_finished());
        let failed = insts.iter().find(|i| i.phase == StepPhase::Failed);
        status.next_attempt_time = insts.iter().filter_map(|i| i.next_attempt).min().map(Time);
        status.phase = if !all_done {
            if insts.iter().any(|i| i.phase == StepPhase::Running)
                || insts.iter().any(|i| i.phase == StepPhase::Pending)
            {
                StepPhase::Running
            } else {
                StepPhase::Retrying
            }
        } else if let Some(f) = failed {
            status.reason = f.reason.clone();
            status.message = Some(format!(
                "item {}: {}",
                f.index.unwrap_or_default(),
                f.message.clone().unwrap_or_default()
            ));
            StepPhase::Failed
        } else {
            status.reason = Some(WeirReason::Completed.into());
            status.result = Some(Value::Array(
                insts
                    .iter()
                    .map(|i| i.result.clone().unwrap_or(Value::Null))
                    .collect(),
            ));
            // Kept once, in the step's result: a finished step is never read item by item.
            for item in &mut status.items {
                item.result = None;
            }
            StepPhase::Succeeded
        };
    }
    if status.start_time.is_none() && status.phase != StepPhase::Pending {
        status.start_time = Some(Time(now));
    }
    if status.phase.is_finished() && (!was.is_finished() || status.finish_time.is_none()) {
        status.finish_time = Some(Time(now));
    }
}

pub(crate) fn elapsed_since(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

pub(crate) fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(t)
}

pub(crate) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}
