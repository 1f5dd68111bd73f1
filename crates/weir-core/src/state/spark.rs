//! SparkApplication state (spark-operator, `sparkoperator.k8s.io/v1beta2`), read from
//! `status.applicationState.state`:
//!
//! | state | phase | why |
//! |---|---|---|
//! | missing, `""`, `NEW` | Pending | not submitted yet |
//! | `SUBMITTED`, `RUNNING` | Running | |
//! | `SUCCEEDING` | Running | becomes COMPLETED, or PENDING_RERUN under `restartPolicy: Always` |
//! | `FAILING` | Running | becomes PENDING_RERUN while the app's own retries remain, else FAILED |
//! | `SUBMISSION_FAILED` | Running | resubmitted while `onSubmissionFailureRetries` remain, else FAILED on the operator's next pass |
//! | `PENDING_RERUN`, `INVALIDATING` | Running | the operator is restarting the app |
//! | `SUSPENDING`, `RESUMING` | Running | the `spec.suspend` flow |
//! | `SUSPENDED` | Pending | nothing runs until `spec.suspend` is cleared |
//! | `UNKNOWN` | Running | the driver's state is unknown; the step timeout decides |
//! | `COMPLETED` | **Succeeded** | terminal |
//! | `FAILED` | **Failed** | terminal; `errorMessage` says why (e.g. the driver's exit code) |
//! | anything else | Running | a state from a newer operator; the step timeout decides |
//!
//! Only COMPLETED and FAILED are terminal, as in the operator's own `IsTerminated`: deciding
//! earlier would race the operator's retries. The reason is the state in CamelCase
//! (`SUBMISSION_FAILED` → `SubmissionFailed`), so it can serve as a condition reason; the
//! message is `status.applicationState.errorMessage`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::{ChildPhase, ChildState};

/// Reads a SparkApplication's state; see the module documentation for the table.
/// `started_at` is `status.lastSubmissionAttemptTime`.
pub fn spark_application_state(obj: &Value) -> ChildState {
    let app = obj.pointer("/status/applicationState");
    let state = app
        .and_then(|a| a.get("state"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    let phase = match state {
        "" | "NEW" | "SUSPENDED" => ChildPhase::Pending,
        "COMPLETED" => ChildPhase::Succeeded,
        "FAILED" => ChildPhase::Failed,
        _ => ChildPhase::Running,
    };
    let mut out = ChildState::new(phase).message(
        app.and_then(|a| a.get("errorMessage"))
            .and_then(Value::as_str),
    );
    out.reason = camel_case(state);
    out.started_at = obj
        .pointer("/status/lastSubmissionAttemptTime")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok());
    out
}

/// What spark-operator reports about an application beyond its state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparkDetails {
    /// `status.applicationState.state`, as is.
    pub state: Option<String>,
    /// `status.sparkApplicationId`.
    pub application_id: Option<String>,
    /// `status.driverInfo.podName`.
    pub driver_pod: Option<String>,
    /// `status.executorState` counted by state.
    pub executors: BTreeMap<String, u32>,
    /// `status.submissionAttempts`.
    pub submission_attempts: Option<i64>,
    /// `status.executionAttempts`.
    pub execution_attempts: Option<i64>,
    /// `status.lastSubmissionAttemptTime`.
    pub submitted_at: Option<Timestamp>,
    /// `status.terminationTime`.
    pub terminated_at: Option<Timestamp>,
}

/// Reads [`SparkDetails`]; fields of the wrong type are left out.
pub fn spark_application_details(obj: &Value) -> SparkDetails {
    let status = obj.get("status");
    let text = |ptr: &str| {
        status
            .and_then(|s| s.pointer(ptr))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let time = |ptr: &str| text(ptr).and_then(|t| t.parse().ok());
    let int = |key: &str| status.and_then(|s| s.get(key)).and_then(Value::as_i64);
    let mut executors = BTreeMap::new();
    if let Some(m) = status
        .and_then(|s| s.get("executorState"))
        .and_then(Value::as_object)
    {
        for state in m.values().filter_map(Value::as_str) {
            *executors.entry(state.to_string()).or_insert(0) += 1;
        }
    }
    SparkDetails {
        state: text("/applicationState/state"),
        application_id: text("/sparkApplicationId"),
        driver_pod: text("/driverInfo/podName"),
        executors,
        submission_attempts: int("submissionAttempts"),
        execution_attempts: int("executionAttempts"),
        submitted_at: time("/lastSubmissionAttemptTime"),
        terminated_at: time("/terminationTime"),
    }
}

/// `SUBMISSION_FAILED` → `SubmissionFailed`; characters other than ASCII letters and digits
/// separate words. Blank → `None`.
fn camel_case(state: &str) -> Option<String> {
    let out: String = state
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(state: &str) -> Value {
        json!({"status": {"applicationState": {"state": state}}})
    }

    #[test]
    fn every_application_state() {
        use ChildPhase::*;
        let table = [
            ("", Pending, None),
            ("NEW", Pending, Some("New")),
            ("SUBMITTED", Running, Some("Submitted")),
            ("RUNNING", Running, Some("Running")),
            ("SUCCEEDING", Running, Some("Succeeding")),
            ("FAILING", Running, Some("Failing")),
            ("SUBMISSION_FAILED", Running, Some("SubmissionFailed")),
            ("PENDING_RERUN", Running, Some("PendingRerun")),
            ("INVALIDATING", Running, Some("Invalidating")),
            ("SUSPENDING", Running, Some("Suspending")),
            ("SUSPENDED", Pending, Some("Suspended")),
            ("RESUMING", Running, Some("Resuming")),
            ("UNKNOWN", Running, Some("Unknown")),
            ("COMPLETED", Succeeded, Some("Completed")),
            ("FAILED", Failed, Some("Failed")),
            ("SOME_FUTURE_STATE", Running, Some("SomeFutureState")),
        ];
        for (state, phase, reason) in table {
            let got = spark_application_state(&app(state));
            assert_eq!(got.phase, phase, "{state}");
            assert_eq!(got.reason.as_deref(), reason, "{state}");
            assert_eq!(got.result, None);
        }
    }

    #[test]
    fn failed_carries_error_message_and_submission_time() {
        let obj = json!({"status": {
            "applicationState": {"state": "FAILED", "errorMessage": "driver container failed with ExitCode: 1, Reason: Error"},
            "lastSubmissionAttemptTime": "2025-01-02T03:04:05Z",
        }});
        let got = spark_application_state(&obj);
        assert_eq!(got.phase, ChildPhase::Failed);
        assert_eq!(
            got.message.as_deref(),
            Some("driver container failed with ExitCode: 1, Reason: Error")
        );
        assert_eq!(got.started_at, "2025-01-02T03:04:05Z".parse().ok());
    }

    #[test]
    fn malformed_objects_never_panic_nor_finish() {
        let cases = [
            (json!(null), ChildPhase::Pending),
            (json!({}), ChildPhase::Pending),
            (json!([1, 2]), ChildPhase::Pending),
            (json!({"status": null}), ChildPhase::Pending),
            (
                json!({"status": {"applicationState": "RUNNING"}}),
                ChildPhase::Pending,
            ),
            (
                json!({"status": {"applicationState": {"state": 3}}}),
                ChildPhase::Pending,
            ),
            (
                json!({"status": {"applicationState": {"state": "--"}}}),
                ChildPhase::Running,
            ),
        ];
        for (obj, phase) in cases {
            let got = spark_application_state(&obj);
            assert_eq!(got.phase, phase, "{obj}");
            assert_eq!(got.started_at, None, "{obj}");
        }
    }

    #[test]
    fn details_count_executors_and_read_the_driver_and_attempts() {
        let obj = json!({"status": {
            "applicationState": {"state": "RUNNING"},
            "sparkApplicationId": "spark-123",
            "driverInfo": {"podName": "load-1-driver"},
            "executorState": {"e1": "RUNNING", "e2": "RUNNING", "e3": "FAILED", "e4": 7},
            "submissionAttempts": 2,
            "executionAttempts": 1,
            "lastSubmissionAttemptTime": "2025-01-02T03:04:05Z",
            "terminationTime": "",
        }});
        let d = spark_application_details(&obj);
        assert_eq!(d.state.as_deref(), Some("RUNNING"));
        assert_eq!(d.application_id.as_deref(), Some("spark-123"));
        assert_eq!(d.driver_pod.as_deref(), Some("load-1-driver"));
        assert_eq!(
            d.executors,
            BTreeMap::from([("FAILED".into(), 1), ("RUNNING".into(), 2)])
        );
        assert_eq!(
            (d.submission_attempts, d.execution_attempts),
            (Some(2), Some(1))
        );
        assert_eq!(d.submitted_at, "2025-01-02T03:04:05Z".parse().ok());
        assert_eq!(d.terminated_at, None);
        assert_eq!(
            spark_application_details(&json!(null)),
            SparkDetails::default()
        );
    }

    #[test]
    fn odd_field_types_are_ignored() {
        let obj = json!({"status": {
            "applicationState": {"state": "FAILED", "errorMessage": 7},
            "lastSubmissionAttemptTime": "yesterday",
        }});
        let got = spark_application_state(&obj);
        assert_eq!(got.phase, ChildPhase::Failed);
        assert_eq!((got.message, got.started_at), (None, None));
    }
}
