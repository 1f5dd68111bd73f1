//! Table tests for the Pod and Job state parsers, on small objects written as JSON the way
//! the API server returns them.

// Fixtures are literals; a fixture that does not deserialize is a bug in the test.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};
use weir_core::state::{
    ChildPhase, ChildState, START_GRACE, job_state, pod_state, result_unobserved,
};

const CREATED: &str = "2025-06-01T10:00:00Z";

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp literal")
}

/// `CREATED` plus `secs` seconds.
fn after(secs: i64) -> Timestamp {
    at(CREATED) + jiff::SignedDuration::from_secs(secs)
}

fn grace_secs() -> i64 {
    i64::try_from(START_GRACE.as_secs()).expect("grace fits")
}

/// A container status with the fields the API requires and the given `state`.
fn cs(name: &str, state: Value) -> Value {
    json!({"name": name, "image": "img", "imageID": "", "ready": false, "restartCount": 0, "state": state})
}

fn terminated(code: i32, reason: &str, message: Option<&str>) -> Value {
    let mut t = json!({"exitCode": code, "reason": reason});
    if let Some(m) = message {
        t["message"] = json!(m);
    }
    json!({"terminated": t})
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({"waiting": {"reason": reason, "message": message}})
}

fn running() -> Value {
    json!({"running": {"startedAt": "2025-06-01T10:00:30Z"}})
}

/// A pod named `name` with containers `main` and `sidecar`, the given status and extras
/// merged into the top level (metadata, spec) by the caller.
fn pod_with(name: &str, status: Value) -> Value {
    json!({
        "metadata": {"name": name, "creationTimestamp": CREATED},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main"}, {"name": "sidecar"}]},
        "status": status,
    })
}

fn pod(value: Value) -> Pod {
    serde_json::from_value(value).expect("pod fixture")
}

fn job(value: Value) -> Job {
    serde_json::from_value(value).expect("job fixture")
}

/// A pod table row: case, status, now, expected phase, reason and a message fragment.
type PodCase = (
    &'static str,
    Value,
    Timestamp,
    ChildPhase,
    Option<&'static str>,
    &'static str,
);

/// A Job table row: case, Job status, its pods, now, expected phase, reason and a message
/// fragment.
type JobCase = (
    &'static str,
    Value,
    Vec<Pod>,
    Timestamp,
    ChildPhase,
    Option<&'static str>,
    &'static str,
);

/// Phase, reason and whether the message contains `needle`.
fn check(got: &ChildState, phase: ChildPhase, reason: Option<&str>, needle: &str, case: &str) {
    assert_eq!(got.phase, phase, "{case}: {got:?}");
    assert_eq!(got.reason.as_deref(), reason, "{case}: {got:?}");
    let message = got.message.as_deref().unwrap_or_default();
    assert!(
        message.contains(needle),
        "{case}: message {message:?} lacks {needle:?}"
    );
}

#[test]
fn pod_table() {
    use ChildPhase::*;
    let now = after(30);
    let late = after(grace_secs() + 1);
    let unschedulable = json!({"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient memory.",
    }]});
    #[rustfmt::skip]
    let cases: Vec<PodCase> = vec![
        ("no status", json!(null), now, Pending, None, ""),
        ("empty status", json!({}), now, Pending, None, ""),
        ("unschedulable", unschedulable, late, Pending, Some("Unschedulable"), "Insufficient memory"),
        ("creating", json!({"phase": "Pending", "containerStatuses": [cs("main", waiting("ContainerCreating", ""))]}),
            now, Pending, Some("ContainerCreating"), ""),
        ("running", json!({"phase": "Running", "containerStatuses": [cs("main", running()), cs("sidecar", running())]}),
            now, Running, None, ""),
        ("main succeeded, sidecar runs", json!({"phase": "Running",
            "containerStatuses": [cs("main", terminated(0, "Completed", None)), cs("sidecar", running())]}),
            now, Succeeded, Some("Completed"), ""),
        ("OOMKilled", json!({"phase": "Failed", "containerStatuses": [cs("main", terminated(137, "OOMKilled", None))]}),
            now, Failed, Some("OOMKilled"), "exit code 137"),
        ("error with message", json!({"phase": "Failed",
            "containerStatuses": [cs("main", terminated(2, "Error", Some("no such table: events\n")))]}),
            now, Failed, Some("Error"), "exit code 2: no such table: events"),
        ("terminated without reason", json!({"phase": "Failed", "containerStatuses": [cs("main", json!({"terminated": {"exitCode": 3}}))]}),
            now, Failed, Some("Error"), "exit code 3"),
        ("validation below threshold", json!({"phase": "Failed", "containerStatuses": [cs("main",
            terminated(3, "Error", Some(r#"{"success":false,"reason":"ValidationFailed","success_fraction":0.5}"#)))]}),
            now, Failed, Some("ValidationFailed"), "exit code 3"),
        ("invalid suite", json!({"phase": "Failed", "containerStatuses": [cs("main",
            terminated(4, "Error", Some(r#"{"reason":"InvalidSuite","message":"s.yaml: expectation 2"}"#)))]}),
            now, Failed, Some("InvalidSuite"), "expectation 2"),
        ("the kubelet's reason wins", json!({"phase": "Failed", "containerStatuses": [cs("main",
            terminated(137, "OOMKilled", Some(r#"{"reason":"ValidationFailed"}"#)))]}),
            now, Failed, Some("OOMKilled"), "exit code 137"),
        ("a crash cannot name any reason", json!({"phase": "Failed", "containerStatuses": [cs("main",
            terminated(1, "Error", Some(r#"{"reason":"TemplateError"}"#)))]}),
            now, Failed, Some("Error"), "exit code 1"),
        ("pull backoff within grace", json!({"phase": "Pending",
            "containerStatuses": [cs("main", waiting("ImagePullBackOff", "Back-off pulling image \"nope:1\""))]}),
            now, Pending, Some("ImagePullBackOff"), "nope:1"),
        ("pull backoff after grace", json!({"phase": "Pending",
            "containerStatuses": [cs("main", waiting("ImagePullBackOff", "Back-off pulling image \"nope:1\""))]}),
            late, Failed, Some("ImagePullBackOff"), "nope:1"),
        ("err image pull after grace", json!({"phase": "Pending", "containerStatuses": [cs("main", waiting("ErrImagePull", "not found"))]}),
            late, Failed, Some("ErrImagePull"), "not found"),
        ("invalid image name within grace", json!({"phase": "Pending", "containerStatuses": [cs("main", waiting("InvalidImageName", "bad ref"))]}),
            now, Pending, Some("InvalidImageName"), "bad ref"),
        ("missing secret within grace", json!({"phase": "Pending",
            "containerStatuses": [cs("main", waiting("CreateContainerConfigError", "secret \"db\" not found"))]}),
            now, Pending, Some("CreateContainerConfigError"), "secret \"db\" not found"),
        ("missing secret after grace", json!({"phase": "Pending",
            "containerStatuses": [cs("main", waiting("CreateContainerConfigError", "secret \"db\" not found"))]}),
            late, Failed, Some("CreateContainerConfigError"), "secret \"db\" not found"),
        ("crash loop at once", json!({"phase": "Running", "containerStatuses": [{
            "name": "main", "image": "img", "imageID": "", "ready": false, "restartCount": 4,
            "state": waiting("CrashLoopBackOff", "back-off 1m20s restarting failed container"),
            "lastState": terminated(137, "OOMKilled", None)}]}),
            now, Failed, Some("CrashLoopBackOff"), "last exit code 137 (OOMKilled)"),
        ("init container pull failure", json!({"phase": "Pending",
            "initContainerStatuses": [cs("git-sync", waiting("ImagePullBackOff", "Back-off pulling image \"git-sync\""))],
            "containerStatuses": [cs("main", waiting("PodInitializing", ""))]}),
            late, Failed, Some("ImagePullBackOff"), "init container git-sync"),
        ("init container failed", json!({"phase": "Failed",
            "initContainerStatuses": [cs("fetch", terminated(1, "Error", Some("403")))],
            "containerStatuses": [cs("main", waiting("PodInitializing", ""))]}),
            now, Failed, Some("Error"), "init container fetch: exit code 1: 403"),
        ("evicted", json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory.",
            "containerStatuses": [cs("main", terminated(137, "ContainerStatusUnknown", None))]}),
            now, Failed, Some("Evicted"), "low on resource"),
        ("pod deadline", json!({"phase": "Failed", "reason": "DeadlineExceeded", "message": "Pod was active too long"}),
            now, Failed, Some("DeadlineExceeded"), "active too long"),
        ("phase succeeded, no statuses", json!({"phase": "Succeeded"}), now, Succeeded, None, ""),
        ("phase failed, no statuses", json!({"phase": "Failed", "message": "gone"}), now, Failed, Some("Failed"), "gone"),
        ("phase failed with reason", json!({"phase": "Failed", "reason": "UnexpectedAdmissionError"}),
            now, Failed, Some("UnexpectedAdmissionError"), ""),
        ("phase unknown", json!({"phase": "Unknown"}), now, Running, Some("Unknown"), ""),
        ("main has no state yet", json!({"phase": "Pending", "containerStatuses": [cs("main", json!(null))]}),
            now, Pending, None, ""),
    ];
    for (case, status, at, phase, reason, needle) in cases {
        let mut p = pod_with("p", status);
        if p["status"].is_null() {
            p.as_object_mut().map(|o| o.remove("status"));
        }
        check(&pod_state(&pod(p), at), phase, reason, needle, case);
    }
}

/// KJO read `terminated.errorCode`, which does not exist, so a failed main container next
/// to a sidecar that still runs read as success (peers.md §1, "Probable bug").
#[test]
fn kjo_error_code_bug_failed_main_with_running_sidecar_is_failed() {
    let p = pod(pod_with(
        "p",
        json!({"phase": "Running", "containerStatuses": [
            cs("main", terminated(1, "Error", Some("boom"))),
            cs("sidecar", running()),
        ]}),
    ));
    let got = pod_state(&p, after(60));
    check(
        &got,
        ChildPhase::Failed,
        Some("Error"),
        "exit code 1: boom",
        "kjo",
    );
    assert_eq!(got.result, None);
}

#[test]
fn main_container_choice() {
    let statuses = json!({"phase": "Running", "containerStatuses": [
        cs("app", terminated(1, "Error", None)),
        cs("proxy", running()),
        cs("main", terminated(0, "Completed", None)),
    ]});
    let mut p = pod_with("p", statuses);
    p["spec"]["containers"] = json!([{"name": "app"}, {"name": "proxy"}, {"name": "main"}]);
    // The container named `main` decides over the first one.
    assert_eq!(
        pod_state(&pod(p.clone()), after(5)).phase,
        ChildPhase::Succeeded
    );
    // An annotation names it explicitly, and wins over the convention.
    p["metadata"]["annotations"] = json!({"weir.dev/main-container": "app"});
    assert_eq!(
        pod_state(&pod(p.clone()), after(5)).phase,
        ChildPhase::Failed
    );
    // An annotation naming no container is ignored.
    p["metadata"]["annotations"] = json!({"weir.dev/main-container": "nope"});
    assert_eq!(
        pod_state(&pod(p.clone()), after(5)).phase,
        ChildPhase::Succeeded
    );
    // Without `main` or annotation, the first container decides; without a spec, the first status.
    p["spec"]["containers"] = json!([{"name": "proxy"}, {"name": "app"}]);
    assert_eq!(
        pod_state(&pod(p.clone()), after(5)).phase,
        ChildPhase::Running
    );
    p.as_object_mut().map(|o| o.remove("spec"));
    p["metadata"]["annotations"] = json!({});
    assert_eq!(pod_state(&pod(p), after(5)).phase, ChildPhase::Succeeded);
}

#[test]
fn restart_policy_keeps_a_failed_container_running() {
    let mut p = pod_with(
        "p",
        json!({"phase": "Running", "containerStatuses": [cs("main", terminated(1, "Error", None))]}),
    );
    p["spec"]["restartPolicy"] = json!("OnFailure");
    check(
        &pod_state(&pod(p.clone()), after(5)),
        ChildPhase::Running,
        Some("Error"),
        "restarting",
        "OnFailure",
    );
    p["status"]["containerStatuses"] = json!([cs("main", terminated(0, "Completed", None))]);
    assert_eq!(pod_state(&pod(p), after(5)).phase, ChildPhase::Succeeded);
}

#[test]
fn grace_starts_at_scheduling_and_needs_a_clock() {
    let status = json!({"phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-06-01T10:10:00Z"}],
        "containerStatuses": [cs("main", waiting("ErrImagePull", "denied"))]});
    let p = pod(pod_with("p", status.clone()));
    // Ten minutes after creation but only a minute after scheduling: still within the grace.
    assert_eq!(
        pod_state(&p, at("2025-06-01T10:11:00Z")).phase,
        ChildPhase::Pending
    );
    assert_eq!(
        pod_state(&p, at("2025-06-01T10:12:00Z")).phase,
        ChildPhase::Failed
    );
    // No timestamp at all: the grace cannot end, the step timeout decides.
    let mut bare = pod_with("p", status);
    bare["metadata"] = json!({"name": "p"});
    bare["status"]["conditions"] = json!([]);
    assert_eq!(
        pod_state(&pod(bare), after(99_999)).phase,
        ChildPhase::Pending
    );
    // A clock behind the pod (skew) is not past the grace.
    let early = pod(pod_with(
        "p",
        json!({"phase": "Pending", "containerStatuses": [cs("main", waiting("ErrImagePull", ""))]}),
    ));
    assert_eq!(pod_state(&early, after(-3600)).phase, ChildPhase::Pending);
}

#[test]
fn termination_message_becomes_the_result() {
    let big = format!("\"{}\"", "x".repeat(5000));
    let cases: Vec<(&str, Option<Value>, &str)> = vec![
        (
            r#"{"rows": 1200, "files": ["a.parquet"]}"#,
            Some(json!({"rows": 1200, "files": ["a.parquet"]})),
            "",
        ),
        (
            "s3://bucket/out/2025-06-01/\n",
            Some(json!("s3://bucket/out/2025-06-01/")),
            "",
        ),
        (&big, None, "too large"),
    ];
    for (text, result, needle) in cases {
        let p = pod(pod_with(
            "p",
            json!({"phase": "Succeeded", "startTime": "2025-06-01T10:00:05Z",
            "containerStatuses": [cs("main", terminated(0, "Completed", Some(text)))]}),
        ));
        let got = pod_state(&p, after(60));
        check(&got, ChildPhase::Succeeded, Some("Completed"), needle, text);
        assert_eq!(got.result, result);
        assert_eq!(got.started_at, Some(at("2025-06-01T10:00:05Z")));
    }
}

/// A Job with the given status and pod template; pods are passed separately.
fn job_with(status: Value) -> Job {
    job(json!({
        "metadata": {"name": "r-load-1", "creationTimestamp": CREATED},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main"}]}}},
        "status": status,
    }))
}

fn condition(type_: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": "True", "reason": reason, "message": message})
}

fn failed_pod(name: &str, created: &str, state: Value) -> Pod {
    let mut p = pod_with(
        name,
        json!({"phase": "Failed", "containerStatuses": [cs("main", state)]}),
    );
    p["metadata"]["creationTimestamp"] = json!(created);
    pod(p)
}

#[test]
fn job_table() {
    use ChildPhase::*;
    let now = after(30);
    let late = after(grace_secs() + 1);
    let oom = failed_pod("p1", CREATED, terminated(137, "OOMKilled", None));
    let err_old = failed_pod(
        "p0",
        "2025-06-01T09:00:00Z",
        terminated(137, "OOMKilled", None),
    );
    let err = failed_pod("p2", CREATED, terminated(1, "Error", Some("bad input")));
    let ok = pod(pod_with(
        "p3",
        json!({"phase": "Succeeded",
        "containerStatuses": [cs("main", terminated(0, "Completed", Some(r#"{"n": 3}"#)))]}),
    ));
    let pulling = pod(pod_with(
        "p4",
        json!({"phase": "Pending",
        "containerStatuses": [cs("main", waiting("ImagePullBackOff", "Back-off pulling image \"x\""))]}),
    ));
    let unschedulable = pod(pod_with(
        "p5",
        json!({"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no nodes"}]}),
    ));
    let run = pod(pod_with(
        "p6",
        json!({"phase": "Running", "containerStatuses": [cs("main", running())]}),
    ));
    let main_failed_sidecar_runs = pod(pod_with(
        "p7",
        json!({"phase": "Running",
        "containerStatuses": [cs("main", terminated(1, "Error", None)), cs("sidecar", running())]}),
    ));
    let main_done_sidecar_runs = pod(pod_with(
        "p8",
        json!({"phase": "Running",
        "containerStatuses": [cs("main", terminated(0, "Completed", Some("7"))), cs("sidecar", running())]}),
    ));
    let backoff = condition(
        "Failed",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    );
    #[rustfmt::skip]
    let cases: Vec<JobCase> = vec![
        ("no status", json!(null), vec![], now, Pending, None, ""),
        ("complete", json!({"conditions": [condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods")]}),
            vec![ok.clone()], now, Succeeded, Some("CompletionsReached"), "expected number"),
        ("success criteria met", json!({"conditions": [condition("SuccessCriteriaMet", "CompletionsReached", "")]}),
            vec![], now, Succeeded, Some("CompletionsReached"), ""),
        ("backoff limit, pod OOMKilled", json!({"conditions": [backoff.clone()]}),
            vec![oom.clone()], now, Failed, Some("OOMKilled"), "backoff limit; pod p1: OOMKilled: exit code 137"),
        ("backoff limit, pod plain error", json!({"conditions": [backoff.clone()]}),
            vec![err.clone()], now, Failed, Some("BackoffLimitExceeded"), "pod p2: Error: exit code 1: bad input"),
        ("latest failed pod tells", json!({"conditions": [backoff.clone()]}),
            vec![err.clone(), err_old], now, Failed, Some("BackoffLimitExceeded"), "pod p2"),
        ("failure target", json!({"conditions": [condition("FailureTarget", "PodFailurePolicy", "Container main exited with 42")]}),
            vec![oom.clone()], now, Failed, Some("OOMKilled"), "exited with 42"),
        ("deadline", json!({"conditions": [condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")]}),
            vec![oom.clone()], now, Failed, Some("DeadlineExceeded"), "longer than specified deadline; pod p1: OOMKilled"),
        ("deadline while pulling", json!({"conditions": [condition("Failed", "DeadlineExceeded", "too long")]}),
            vec![pulling.clone()], now, Failed, Some("DeadlineExceeded"), "pod p4: ImagePullBackOff"),
        ("false condition ignored", json!({"active": 1, "conditions": [{"type": "Failed", "status": "False"}]}),
            vec![run.clone()], now, Running, None, ""),
        ("image pull within grace", json!({"active": 1}), vec![pulling.clone()], now, Pending, Some("ImagePullBackOff"), "x"),
        ("image pull after grace", json!({"active": 1}), vec![pulling.clone()], late, Failed, Some("ImagePullBackOff"), "pod p4"),
        ("unschedulable", json!({"active": 1}), vec![unschedulable.clone()], late, Pending, Some("Unschedulable"), "no nodes"),
        ("running pod wins over pending", json!({"active": 2}), vec![unschedulable, run.clone()], now, Running, None, ""),
        ("main failed, sidecar runs", json!({"active": 1}), vec![main_failed_sidecar_runs], now, Failed, Some("Error"), "pod p7"),
        ("main done, sidecar runs", json!({"active": 1}), vec![main_done_sidecar_runs], now, Succeeded, Some("Completed"), "other containers"),
        ("ended pods, no condition yet", json!({"failed": 1}), vec![err], now, Running, None, ""),
        ("active without pods", json!({"active": 1}), vec![], now, Running, None, ""),
        ("suspended", json!({"conditions": [condition("Suspended", "JobSuspended", "Job suspended")]}),
            vec![], now, Pending, Some("Suspended"), "Job suspended"),
    ];
    for (case, status, pods, at, phase, reason, needle) in cases {
        let got = job_state(&job_with(status), &pods, at);
        check(&got, phase, reason, needle, case);
    }
}

#[test]
fn job_result_and_start_time() {
    let ok = pod(pod_with(
        "p",
        json!({"phase": "Succeeded",
        "containerStatuses": [cs("main", terminated(0, "Completed", Some(r#"{"rows": 7}"#)))]}),
    ));
    let j = job_with(json!({"startTime": "2025-06-01T10:00:01Z",
        "conditions": [condition("Complete", "CompletionsReached", "")]}));
    let got = job_state(&j, &[ok], after(60));
    assert_eq!(got.result, Some(json!({"rows": 7})));
    assert_eq!(got.started_at, Some(at("2025-06-01T10:00:01Z")));
    // Pods cleaned up by a TTL: still Succeeded, just no result.
    assert_eq!(job_state(&j, &[], after(60)).result, None);
}

/// Regression (issue 9): a Job seen Complete before its succeeded pod (separate watch
/// streams, or a pod cache still listing after a restart) lost the step's result. Such a
/// Job says its pods must be read first; once a succeeded pod is seen, or while the Job is
/// not complete, it does not.
#[test]
fn a_complete_job_without_a_succeeded_pod_has_its_result_unobserved() {
    let complete =
        job_with(json!({"conditions": [condition("Complete", "CompletionsReached", "")]}));
    let active = job_with(json!({"active": 1}));
    let ok = pod(pod_with(
        "p",
        json!({"phase": "Succeeded", "containerStatuses": [cs("main", terminated(0, "Completed", None))]}),
    ));
    let live = pod(pod_with(
        "p",
        json!({"phase": "Running", "containerStatuses": [cs("main", running())]}),
    ));
    assert!(result_unobserved(&complete, &[]));
    assert!(result_unobserved(&complete, std::slice::from_ref(&live)));
    assert!(!result_unobserved(&complete, &[ok]));
    assert!(!result_unobserved(&active, &[live]));
}

#[test]
fn parallel_job_waits_for_its_condition() {
    let done = pod(pod_with(
        "p",
        json!({"phase": "Running",
        "containerStatuses": [cs("main", terminated(0, "Completed", None)), cs("sidecar", running())]}),
    ));
    let mut j = job(json!({"metadata": {"name": "j"}, "spec": {"completions": 3,
        "template": {"spec": {"containers": [{"name": "main"}]}}}, "status": {"active": 3}}));
    // One pod of three finished: the Job is not done.
    assert_eq!(
        job_state(&j, std::slice::from_ref(&done), after(5)).phase,
        ChildPhase::Running
    );
    j.spec = None;
    assert_eq!(
        job_state(&j, &[done], after(5)).phase,
        ChildPhase::Succeeded
    );
}

#[test]
fn deleting_pods_do_not_decide() {
    let mut p = pod_with(
        "p",
        json!({"phase": "Pending",
        "containerStatuses": [cs("main", waiting("CrashLoopBackOff", ""))]}),
    );
    p["metadata"]["deletionTimestamp"] = json!("2025-06-01T10:01:00Z");
    let got = job_state(&job_with(json!({"active": 1})), &[pod(p)], after(90));
    assert_eq!(got.phase, ChildPhase::Running);
}

#[test]
fn long_messages_are_truncated() {
    let long = "y".repeat(10_000);
    let j = job_with(json!({"conditions": [condition("Failed", "BackoffLimitExceeded", &long)]}));
    let got = job_state(&j, &[], after(5));
    let len = got.message.as_deref().map(str::len).unwrap_or_default();
    assert!(
        (1..=weir_core::state::MAX_MESSAGE_BYTES).contains(&len),
        "{len}"
    );
}
