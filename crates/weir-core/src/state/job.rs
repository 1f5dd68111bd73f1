//! Job state: the Job's conditions decide when it has finished; its pods say why, and say
//! when it is stuck in a way the Job controller never notices.
//!
//! The Job controller fails a Job only when pods *end* badly (backoffLimit, podFailurePolicy)
//! or its deadline passes. A pod that cannot pull its image, crash-loops, or whose main
//! container failed next to a sidecar that runs on never ends, so the Job would stay active
//! until a timeout. Reading the pods lets weir fail such a step within [`START_GRACE`].
//!
//! [`START_GRACE`]: super::START_GRACE

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::api::core::v1::Pod;

use super::{ChildPhase, ChildState, join_messages, pod_state};

/// Conditions that mean the Job has failed. `FailureTarget` comes first, while the Job
/// controller is still terminating pods; the outcome is already decided then.
const FAILED: &[&str] = &["Failed", "FailureTarget"];

/// Conditions that mean the Job has succeeded (`SuccessCriteriaMet` is the early one).
const SUCCEEDED: &[&str] = &["Complete", "SuccessCriteriaMet"];

/// Job failure reasons that only say "pods failed"; a failed pod's own reason says more.
const POD_CAUSED: &[&str] = &[
    "BackoffLimitExceeded",
    "PodFailurePolicy",
    "FailedIndexes",
    "MaxFailedIndexesExceeded",
];

/// Pod reasons too vague to replace the Job's reason.
const VAGUE: &[&str] = &[
    "Error",
    "Failed",
    "Completed",
    "ContainerStatusUnknown",
    "Unknown",
];

/// Reads a Job's state from the Job and its pods (the planner matches them by labels).
///
/// - A true `Failed` / `FailureTarget` condition → Failed with the condition's reason, except
///   that a pod-caused reason (`BackoffLimitExceeded`, `PodFailurePolicy`, …) gives way to
///   the latest failed pod's specific reason (`OOMKilled`, `Evicted`, …); the message keeps
///   both. `DeadlineExceeded` stays: the deadline ended the Job, whatever the pods did.
/// - A true `Complete` / `SuccessCriteriaMet` condition → Succeeded, with the result of the
///   latest succeeded pod.
/// - Otherwise the live pods decide: one stuck or with a failed main container → Failed; for
///   a single-pod Job, a main container that exited 0 → Succeeded (a sidecar may keep the
///   pod and so the Job alive); one running → Running; one pending → Pending with its reason
///   (`Unschedulable`, `ImagePullBackOff` within the grace, `ContainerCreating`).
/// - With no live pod: `status.active > 0` or pods that ended (the Job controller is about
///   to replace them or to set a condition) → Running; else Pending. A suspended Job is
///   Pending with reason `Suspended`.
pub fn job_state(job: &Job, pods: &[Pod], now: Timestamp) -> ChildState {
    let status = job.status.as_ref();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let mut pods: Vec<(&Pod, ChildState)> = pods.iter().map(|p| (p, pod_state(p, now))).collect();
    // Oldest first, so "the latest pod" is the last match; pods without a timestamp
    // (partial objects) sort first and lose to real ones.
    pods.sort_by_key(|(p, _)| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let state = if let Some(c) = true_condition(conditions, FAILED) {
        failed(c, &pods)
    } else if let Some(c) = true_condition(conditions, SUCCEEDED) {
        succeeded(c, &pods)
    } else {
        unfinished(job, conditions, &pods)
    };
    ChildState {
        started_at: status.and_then(|s| s.start_time.as_ref()).map(|t| t.0),
        ..state
    }
}

/// The Job has succeeded by its conditions, but none of `pods` shows a succeeded pod: the
/// pod holding the step's result (its termination message) has not been observed yet (the
/// Job's and the pods' watch events arrive on separate streams), so [`job_state`] would
/// report the success without its result. The caller should read the Job's pods first.
pub fn result_unobserved(job: &Job, pods: &[Pod]) -> bool {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    true_condition(conditions, SUCCEEDED).is_some()
        && !pods
            .iter()
            .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded"))
}

fn failed(condition: &JobCondition, pods: &[(&Pod, ChildState)]) -> ChildState {
    let job_reason = condition.reason.as_deref();
    let failed_pod = pods
        .iter()
        .rev()
        .find(|(_, s)| s.phase == ChildPhase::Failed);
    // A Job that hit its deadline often has pods that never started; their reason
    // (ImagePullBackOff, Unschedulable) belongs in the message.
    let telling_pod = failed_pod.or_else(|| {
        pods.iter()
            .rev()
            .find(|(_, s)| s.phase == ChildPhase::Pending && s.reason.is_some())
    });
    let pod_reason = failed_pod
        .and_then(|(_, s)| s.reason.as_deref())
        .filter(|r| !VAGUE.contains(r));
    let reason = match (job_reason, pod_reason) {
        (None, Some(p)) => p,
        (Some(j), Some(p)) if POD_CAUSED.contains(&j) => p,
        (Some(j), _) => j,
        (None, None) => "Failed",
    };
    let pod_detail = telling_pod.map(|(p, s)| describe_pod(p, s));
    ChildState::new(ChildPhase::Failed)
        .reason(reason)
        .message(join_messages([
            condition.message.as_deref(),
            pod_detail.as_deref(),
        ]))
}

fn succeeded(condition: &JobCondition, pods: &[(&Pod, ChildState)]) -> ChildState {
    let pod = pods
        .iter()
        .rev()
        .find(|(_, s)| s.phase == ChildPhase::Succeeded);
    let mut state = ChildState::new(ChildPhase::Succeeded)
        .reason(condition.reason.as_deref().unwrap_or("Completed"))
        .message(join_messages([
            condition.message.as_deref(),
            pod.and_then(|(_, s)| s.message.as_deref()),
        ]));
    state.result = pod.and_then(|(_, s)| s.result.clone());
    state
}

fn unfinished(job: &Job, conditions: &[JobCondition], pods: &[(&Pod, ChildState)]) -> ChildState {
    if let Some(c) = true_condition(conditions, &["Suspended"]) {
        return ChildState::new(ChildPhase::Pending)
            .reason("Suspended")
            .message(c.message.as_deref());
    }
    // Pods that ended are the Job controller's business (it retries or fails the Job);
    // pods being deleted are on their way out.
    let live: Vec<&(&Pod, ChildState)> = pods
        .iter()
        .filter(|(p, _)| p.metadata.deletion_timestamp.is_none() && !pod_ended(p))
        .collect();
    if let Some((p, s)) = live
        .iter()
        .rev()
        .find(|(_, s)| s.phase == ChildPhase::Failed)
    {
        return s.clone().message(Some(describe_pod(p, s)));
    }
    if single_pod(job)
        && let Some((p, s)) = live
            .iter()
            .rev()
            .find(|(_, s)| s.phase == ChildPhase::Succeeded)
    {
        let note = format!(
            "pod {}: main container finished while other containers still run",
            name(p)
        );
        let message = join_messages([Some(note.as_str()), s.message.as_deref()]);
        return s.clone().message(message);
    }
    if live.iter().any(|(_, s)| s.phase == ChildPhase::Running) {
        return ChildState::new(ChildPhase::Running);
    }
    // The latest pending pod that says why it waits, else the latest pending pod.
    let mut pending = live
        .iter()
        .rev()
        .filter(|(_, s)| s.phase == ChildPhase::Pending);
    let first_pending = pending.clone().next();
    if let Some((_, s)) = pending.find(|(_, s)| s.reason.is_some()).or(first_pending) {
        return s.clone();
    }
    let status = job.status.as_ref();
    let active = status.and_then(|s| s.active).unwrap_or(0);
    if active > 0 || !pods.is_empty() {
        return ChildState::new(ChildPhase::Running);
    }
    ChildState::new(ChildPhase::Pending)
}

/// The first condition of one of `types` whose status is `True`.
fn true_condition<'a>(conditions: &'a [JobCondition], types: &[&str]) -> Option<&'a JobCondition> {
    types.iter().find_map(|t| {
        conditions
            .iter()
            .find(|c| c.type_ == *t && c.status == "True")
    })
}

/// Whether the pod reached a terminal phase (the kubelet will not run it again).
fn pod_ended(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Whether the Job runs one pod to one completion, so one pod's success is the Job's.
fn single_pod(job: &Job) -> bool {
    let spec = job.spec.as_ref();
    spec.and_then(|s| s.completions).unwrap_or(1) == 1
        && spec.and_then(|s| s.parallelism).unwrap_or(1) <= 1
}

/// `pod <name>: <reason>: <message>` for a Job's message.
fn describe_pod(pod: &Pod, state: &ChildState) -> String {
    let mut out = format!("pod {}", name(pod));
    for part in [&state.reason, &state.message].into_iter().flatten() {
        out.push_str(": ");
        out.push_str(part);
    }
    out
}

fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("(unnamed)")
}
