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
