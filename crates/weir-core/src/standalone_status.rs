//! A SparkJob's and a DbtRun's status, to and from the [`Attempts`] the planner works on:
//! the attempt fields both kinds share, the `Valid` and `Succeeded` conditions, and what
//! each kind adds (the SparkApplication's details; the docs' URI).

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use weir_api::v1alpha1::{DbtRunStatus, SparkJobStatus, StepPhase};

use crate::attempts::{Attempts, StandalonePlan, VALID};
use crate::conditions;
use crate::state::SparkDetails;

/// The condition saying the resource finished successfully (`False` once it failed).
pub const SUCCEEDED: &str = "Succeeded";

/// The attempts a SparkJob's status records.
pub fn spark_attempts(s: &SparkJobStatus) -> Attempts {
    Attempts {
        phase: phase(s.phase.as_deref()),
        attempt: s.attempt,
        retries: s.retries,
        child: s.application_name.clone(),
        reason: s.reason.clone(),
        message: s.message.clone(),
        result: None,
        attempt_start: s.attempt_start_time.as_ref().map(|t| t.0),
        next_attempt: s.next_attempt_time.as_ref().map(|t| t.0),
        start: s.start_time.as_ref().map(|t| t.0),
        finish: s.completion_time.as_ref().map(|t| t.0),
    }
}

/// Whether the status shows the current attempt's SparkApplication was observed.
pub fn spark_child_seen(s: &SparkJobStatus) -> bool {
    s.application_state.is_some()
}

/// A SparkJob's new status: the planned attempts, and `details` of the current attempt's
/// SparkApplication when it was observed (a new attempt starts with none).
pub fn spark_job_status(
    old: &SparkJobStatus,
    plan: &StandalonePlan,
    details: Option<&SparkDetails>,
    generation: Option<i64>,
    now: Timestamp,
) -> SparkJobStatus {
    let a = &plan.attempts;
    let same_child = old.application_name == a.child;
    // Details belong to one application: kept while it is the current one and unobserved
    // (e.g. deleted), dropped when a new attempt starts.
    let fresh = SparkDetails::default();
    let kept = SparkDetails {
        state: old.application_state.clone(),
        application_id: old.spark_application_id.clone(),
        driver_pod: old.driver_pod_name.clone(),
        executors: old.executors.clone(),
        submission_attempts: old.submission_attempts,
        execution_attempts: old.execution_attempts,
        submitted_at: old.submission_time.as_ref().map(|t| t.0),
        terminated_at: old.termination_time.as_ref().map(|t| t.0),
    };
    let d = details.unwrap_or(if same_child { &kept } else { &fresh });
    let mut out = SparkJobStatus {
        observed_generation: generation,
        phase: Some(a.phase.as_str().to_string()),
        attempt: a.attempt,
        retries: a.retries,
        application_state: d.state.clone(),
        application_name: a.child.clone(),
        spark_application_id: d.application_id.clone(),
        driver_pod_name: d.driver_pod.clone(),
        executors: d.executors.clone(),
        submission_attempts: d.submission_attempts,
        execution_attempts: d.execution_attempts,
        submission_time: d.submitted_at.map(Time),
        termination_time: d.terminated_at.map(Time),
        reason: a.reason.clone(),
        message: a.message.clone(),
        attempt_start_time: a.attempt_start.map(Time),
        next_attempt_time: a.next_attempt.map(Time),
        start_time: a.start.map(Time),
        completion_time: a.finish.map(Time),
        conditions: old.conditions.clone(),
    };
    set_conditions(&mut out.conditions, plan, generation, now);
    out
}

/// The attempts a DbtRun's status records.
pub fn dbt_attempts(s: &DbtRunStatus) -> Attempts {
    Attempts {
        phase: phase(s.phase.as_deref()),
        attempt: s.attempt,
        retries: s.retries,
        child: s.job_name.clone(),
        reason: s.reason.clone(),
        message: s.message.clone(),
        result: None,
        attempt_start: s.attempt_start_time.as_ref().map(|t| t.0),
        next_attempt: s.next_attempt_time.as_ref().map(|t| t.0),
        start: s.start_time.as_ref().map(|t| t.0),
        finish: s.completion_time.as_ref().map(|t| t.0),
    }
}

/// A DbtRun's new status. The docs' URI is the succeeded Job's `{"uri": …}` result (what
/// `weir-data dbt-docs` prints), kept once recorded.
pub fn dbt_run_status(
    old: &DbtRunStatus,
    plan: &StandalonePlan,
    generation: Option<i64>,
    now: Timestamp,
) -> DbtRunStatus {
    let a = &plan.attempts;
    let docs_uri = a
        .result
        .as_ref()
        .and_then(|r| r.get("uri"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| old.docs_uri.clone());
    let mut out = DbtRunStatus {
        observed_generation: generation,
        phase: Some(a.phase.as_str().to_string()),
        attempt: a.attempt,
        retries: a.retries,
        job_name: a.child.clone(),
        reason: a.reason.clone(),
        message: a.message.clone(),
        docs_uri,
        attempt_start_time: a.attempt_start.map(Time),
        next_attempt_time: a.next_attempt.map(Time),
        start_time: a.start.map(Time),
        completion_time: a.finish.map(Time),
        conditions: old.conditions.clone(),
    };
    set_conditions(&mut out.conditions, plan, generation, now);
    out
}

/// `Valid` from the plan's problems; `Succeeded` once finished.
fn set_conditions(
    conds: &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    plan: &StandalonePlan,
    generation: Option<i64>,
    now: Timestamp,
) {
    let (valid, reason, message) = match plan.problems.is_empty() {
        true => (true, "Valid", String::new()),
        false => (false, "InvalidSpec", plan.problems.join("; ")),
    };
    conditions::set(conds, VALID, valid, reason, &message, generation, now);
    let a = &plan.attempts;
    if a.phase.is_finished() {
        let ok = a.phase == StepPhase::Succeeded;
        let reason = a.reason.clone().unwrap_or_else(|| a.phase.as_str().into());
        let message = a.message.clone().unwrap_or_default();
        conditions::set(conds, SUCCEEDED, ok, &reason, &message, generation, now);
    }
}

fn phase(text: Option<&str>) -> StepPhase {
    match text {
        Some("Running") => StepPhase::Running,
        Some("Retrying") => StepPhase::Retrying,
        Some("Succeeded") => StepPhase::Succeeded,
        Some("Failed") => StepPhase::Failed,
        _ => StepPhase::Pending,
    }
}
