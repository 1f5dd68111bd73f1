//! Pod state: the main container decides.
//!
//! A step pod may carry sidecars (git-sync, log shippers, proxies) that never exit, so the
//! pod's own phase can stay `Running` long after the work is done or has failed. The main
//! container's state is what the step is about. The KubernetesJobOperator got this almost
//! right but read `terminated.errorCode`, a field that does not exist (it is `exitCode`),
//! so a failed main container next to a running sidecar read as success.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod, PodStatus};

use weir_api::reason::WeirReason;

use super::{ChildPhase, ChildState, join_messages, parse_termination_message};

/// The conventional name of the container whose exit decides a step.
pub const MAIN_CONTAINER: &str = "main";

/// Annotation naming the main container when it is not called `main`.
pub const MAIN_CONTAINER_ANNOTATION: &str = "weir.dev/main-container";

/// How long a container may fail to start (image pull errors, a missing ConfigMap or
/// Secret) before the step fails. Such errors often heal on their own — a registry
/// hiccup, a Secret applied a few seconds after the run — so failing at once would turn
/// transient trouble into a failed attempt; waiting forever would hide real typos.
pub const START_GRACE: Duration = Duration::from_secs(120);

/// Pod-level reasons that end the pod whatever its containers say.
const FINAL_POD_REASONS: &[&str] = &["Evicted", "DeadlineExceeded"];

/// Waiting reasons that fail the step at once: the kubelet keeps restarting a container
/// that keeps crashing, which never ends by itself.
const FAIL_NOW: &[&str] = &["CrashLoopBackOff"];

/// Waiting reasons that fail the step once [`START_GRACE`] has passed.
const FAIL_AFTER_GRACE: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// The name of the container whose state decides the pod: the one named by the
/// [`MAIN_CONTAINER_ANNOTATION`] (if such a container exists — an explicit choice wins over
/// the convention), else the one named [`MAIN_CONTAINER`], else the first container. Uses
/// the spec's containers, or the statuses when the spec is missing.
pub fn main_container_name(pod: &Pod) -> Option<&str> {
    let mut names: Vec<&str> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.as_str()))
        .collect();
    if names.is_empty() {
        names = statuses(pod.status.as_ref(), false)
            .map(|c| c.name.as_str())
            .collect();
    }
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(MAIN_CONTAINER_ANNOTATION))
        .map(String::as_str);
    if let Some(name) = annotated.filter(|a| names.contains(a)) {
        return Some(name);
    }
    if names.contains(&MAIN_CONTAINER) {
        return Some(MAIN_CONTAINER);
    }
    names.first().copied()
}

/// Reads a pod's state. `now` measures how long a container has failed to start.
///
/// In order: an `Evicted` / `DeadlineExceeded` pod has failed; a terminated main container
/// decides (exit 0 → Succeeded with its termination message as result, else Failed with its
/// reason and `exit code N: message`), unless the restart policy will start it again; a
/// running main container means Running; a terminal pod phase maps directly; a container
/// stuck before starting (init containers first, since they block the main one) fails —
/// `CrashLoopBackOff` at once, image and config errors after [`START_GRACE`], Pending with
/// that reason before; an unschedulable pod is Pending with reason `Unschedulable` (never
/// Failed: a cluster autoscaler may still add a node, and the step timeout bounds the wait).
pub fn pod_state(pod: &Pod, now: Timestamp) -> ChildState {
    let Some(status) = pod.status.as_ref() else {
        return ChildState::new(ChildPhase::Pending);
    };
    let main = main_container_name(pod)
        .and_then(|name| statuses(Some(status), false).find(|c| c.name == name));
    let started_at = status.start_time.as_ref().map(|t| t.0).or_else(|| {
        main.and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
            .map(|t| t.0)
    });
    ChildState {
        started_at,
        ..decide(pod, status, main, now)
    }
}

fn decide(
    pod: &Pod,
    status: &PodStatus,
    main: Option<&ContainerStatus>,
    now: Timestamp,
) -> ChildState {
    if let Some(reason) = status
        .reason
        .as_deref()
        .filter(|r| FINAL_POD_REASONS.contains(r))
    {
        return ChildState::new(ChildPhase::Failed)
            .reason(reason)
            .message(status.message.as_deref());
    }
    let main_state = main.and_then(|c| c.state.as_ref());
    if let Some(t) = main_state.and_then(|s| s.terminated.as_ref()) {
        return terminated(t, restart_policy(pod));
    }
    if main_state.is_some_and(|s| s.running.is_some()) {
        return ChildState::new(ChildPhase::Running);
    }
    match status.phase.as_deref() {
        Some("Succeeded") => return ChildState::new(ChildPhase::Succeeded),
        Some("Failed") => return failed_pod(status),
        _ => {}
    }
    let blocking = statuses(Some(status), true)
        .map(|c| (c, true))
        .chain(main.map(|c| (c, false)));
    let mut first_waiting = None;
    for (container, init) in blocking {
        if let Some(state) = stuck(pod, container, init, now) {
            return state;
        }
        if first_waiting.is_none() {
            first_waiting = waiting_reason(container);
        }
    }
    match status.phase.as_deref() {
        Some("Running") => return ChildState::new(ChildPhase::Running),
        // The node stopped reporting; it may come back, and the timeout bounds the wait.
        Some("Unknown") => return ChildState::new(ChildPhase::Running).reason("Unknown"),
        _ => {}
    }
    if let Some(c) = unschedulable(status) {
        return ChildState::new(ChildPhase::Pending)
            .reason("Unschedulable")
            .message(c.message.as_deref());
    }
    match first_waiting {
        Some((reason, message)) => ChildState::new(ChildPhase::Pending)
            .reason(reason)
            .message(message),
        None => ChildState::new(ChildPhase::Pending),
    }
}

/// The state of a terminated main container.
fn terminated(t: &ContainerStateTerminated, restart_policy: &str) -> ChildState {
    let code = t.exit_code;
    let detail = exit_message(code, t.message.as_deref());
    let restarts = match restart_policy {
        "Always" => true,
        "OnFailure" => code != 0,
        _ => false,
    };
    if restarts {
        // The kubelet starts the container again; the Job's backoffLimit (or a crash loop)
        // decides later.
        let reason = t
            .reason
            .as_deref()
            .unwrap_or(if code == 0 { "Completed" } else { "Error" });
        return ChildState::new(ChildPhase::Running)
            .reason(reason)
            .message(Some(format!("{detail}; restarting")));
    }
    if code == 0 {
        let term = parse_termination_message(t.message.as_deref());
        let mut state = ChildState::new(ChildPhase::Succeeded)
            .reason(t.reason.as_deref().unwrap_or("Completed"))
            .message(term.note);
        state.result = term.result;
        return state;
    }
    let kubelet_reason = t.reason.as_deref().unwrap_or("Error");
    // A plain non-zero exit may say why in its termination message (`weir-data validate`
    // writes `{"reason": "ValidationFailed", …}`); the kubelet's own specific reasons
    // (OOMKilled, …) always win.
    let reason = match kubelet_reason {
        "Error" => reason_in_message(t.message.as_deref()).unwrap_or(kubelet_reason),
        other => other,
    };
    ChildState::new(ChildPhase::Failed)
        .reason(reason)
        .message(Some(detail))
}

/// The reasons a failed container may give in its termination message: weir-data's, for
/// failures a retry cannot fix.
const REPORTED_REASONS: &[WeirReason] = &[WeirReason::ValidationFailed, WeirReason::InvalidSuite];

/// The `reason` of a termination message that is a JSON object naming one of
/// [`REPORTED_REASONS`].
fn reason_in_message(message: Option<&str>) -> Option<&'static str> {
    let text = message?.trim();
    if !text.starts_with('{') || text.len() > super::MAX_RESULT_BYTES {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let reason = WeirReason::known(value.get("reason")?.as_str()?)?;
    REPORTED_REASONS
        .contains(&reason)
        .then_some(reason.as_str())
}

/// `exit code N: message`, or `exit code N` when the container left no message.
fn exit_message(code: i32, message: Option<&str>) -> String {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!("exit code {code}: {m}"),
        None => format!("exit code {code}"),
    }
}

/// A pod the kubelet marked Failed without a main container verdict: its own reason, or a
/// failed init container's, says why.
fn failed_pod(status: &PodStatus) -> ChildState {
    if let Some(reason) = status.reason.as_deref() {
        return ChildState::new(ChildPhase::Failed)
            .reason(reason)
            .message(status.message.as_deref());
    }
    let failed_init = statuses(Some(status), true).find_map(|c| {
        let t = c.state.as_ref()?.terminated.as_ref()?;
        (t.exit_code != 0).then_some((c, t))
    });
    match failed_init {
        Some((c, t)) => ChildState::new(ChildPhase::Failed)
            .reason(t.reason.as_deref().unwrap_or("Error"))
            .message(Some(format!(
                "init container {}: {}",
                c.name,
                exit_message(t.exit_code, t.message.as_deref())
            ))),
        None => ChildState::new(ChildPhase::Failed)
            .reason("Failed")
            .message(status.message.as_deref()),
    }
}

/// The state of a container that cannot start, or `None` when it is not stuck.
fn stuck(pod: &Pod, c: &ContainerStatus, init: bool, now: Timestamp) -> Option<ChildState> {
    let waiting = c.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref()?;
    let fail_now = FAIL_NOW.contains(&reason);
    if !fail_now && !FAIL_AFTER_GRACE.contains(&reason) {
        return None;
    }
    let who = init.then(|| format!("init container {}", c.name));
    let last_exit = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| match t.reason.as_deref() {
            Some(r) => format!("last exit code {} ({r})", t.exit_code),
            None => format!("last exit code {}", t.exit_code),
        });
    let message = join_messages([
        who.as_deref(),
        waiting.message.as_deref(),
        last_exit.as_deref(),
    ]);
    let phase = if fail_now || grace_over(pod, c, now) {
        ChildPhase::Failed
    } else {
        ChildPhase::Pending
    };
    Some(ChildState::new(phase).reason(reason).message(message))
}

/// Whether the container has been unable to start for [`START_GRACE`]. The clock starts at
/// the latest moment we know it could start: pod creation, scheduling (a pod that waited
/// ten minutes for a node has not been pulling for ten minutes), or its previous run's end.
/// With none of those known we cannot tell, so the grace never ends and the timeout decides.
fn grace_over(pod: &Pod, c: &ContainerStatus, now: Timestamp) -> bool {
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let scheduled = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "True")
        })
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0);
    let last_run = c
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.finished_at.as_ref())
        .map(|t| t.0);
    let Some(since) = [created, scheduled, last_run].into_iter().flatten().max() else {
        return false;
    };
    let grace = SignedDuration::try_from(START_GRACE).unwrap_or(SignedDuration::MAX);
    now.duration_since(since) >= grace
}

/// A waiting container's reason and message (`ContainerCreating`, `PodInitializing`, …).
fn waiting_reason(c: &ContainerStatus) -> Option<(&str, Option<&str>)> {
    let waiting = c.state.as_ref()?.waiting.as_ref()?;
    Some((waiting.reason.as_deref()?, waiting.message.as_deref()))
}

/// The `PodScheduled=False` condition with reason `Unschedulable`, if the pod has one.
fn unschedulable(status: &PodStatus) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    status.conditions.as_ref()?.iter().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    })
}

/// The pod's restart policy. The API server always sets one; a pod without it (a test
/// fixture, a partial object) is read as `Never` so a terminated container is final.
fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Never")
}

/// The container statuses (or init container statuses) of a status.
fn statuses(status: Option<&PodStatus>, init: bool) -> impl Iterator<Item = &ContainerStatus> {
    status
        .and_then(|s| {
            if init {
                s.init_container_statuses.as_ref()
            } else {
                s.container_statuses.as_ref()
            }
        })
        .into_iter()
        .flatten()
}
