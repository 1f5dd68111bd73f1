//! State of user-registered kinds, read with field rules instead of code: a step that
//! creates, say, a Flink or Ray job names the fields that mean success and failure.

use serde_json::Value;
use weir_api::v1alpha1::FieldRule;

use super::{ChildPhase, ChildState};

/// The reason of a state decided by a rule; the message says which rule and value.
pub const MATCHED_RULE: &str = "MatchedRule";

/// Reads an object's state with the step's rules: failure rules first (an object that
/// says both is treated as failed), then success rules; no match means Running, and the
/// step timeout bounds the wait. The message names the rule that matched, e.g.
/// `failureWhen status.phase=Error`. `started_at` is `metadata.creationTimestamp`, the best
/// a kind we know nothing about offers.
pub fn rules_state(obj: &Value, success: &[FieldRule], failure: &[FieldRule]) -> ChildState {
    let started_at = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok());
    let decided = [
        (failure, ChildPhase::Failed, "failureWhen"),
        (success, ChildPhase::Succeeded, "successWhen"),
    ]
    .into_iter()
    .find_map(|(rules, phase, list)| {
        rules.iter().find_map(|rule| {
            let value = matches(obj, rule)?;
            Some(
                ChildState::new(phase)
                    .reason(MATCHED_RULE)
                    .message(Some(format!("{list} {}={value}", rule.path))),
            )
        })
    });
    ChildState {
        started_at,
        ..decided.unwrap_or_else(|| ChildState::new(ChildPhase::Running))
    }
}

/// The field's value as a string when the rule matches it.
fn matches(obj: &Value, rule: &FieldRule) -> Option<String> {
    let value = scalar_string(lookup_path(obj, &rule.path)?)?;
    rule.values.contains(&value).then_some(value)
}

/// Looks up a dot-separated path such as `status.conditions.0.type`: names index objects,
/// numbers index arrays, and `name[key=value]` picks the element of array `name` whose
/// `key` is `value` (`status.conditions[type=Available].status`, the way conditions are
/// read). Keys that contain dots or brackets cannot be addressed; no kind we know of puts
/// state under such a key. An empty path or a missing step gives `None`.
pub fn lookup_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return None;
    }
    path.split('.').try_fold(obj, |current, segment| {
        let (name, selector) = match segment.split_once('[') {
            Some((name, rest)) => (name, Some(rest.strip_suffix(']')?.split_once('=')?)),
            None => (segment, None),
        };
        let field = match current {
            Value::Object(map) => map.get(name)?,
            Value::Array(items) if selector.is_none() => items.get(name.parse::<usize>().ok()?)?,
            _ => return None,
        };
        match selector {
            None => Some(field),
            Some((key, value)) => field
                .as_array()?
                .iter()
                .find(|item| item.get(key).and_then(scalar_string).as_deref() == Some(value)),
        }
    })
}

/// Strings as they are, numbers and booleans in their JSON spelling (`3`, `1.5`, `true`).
/// `null`, objects and arrays match nothing: a rule compares one value, and a missing
/// field must not match a rule that lists `"null"`.
fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(path: &str, values: &[&str]) -> FieldRule {
        FieldRule {
            path: path.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn flink() -> Value {
        json!({
            "metadata": {"name": "f", "creationTimestamp": "2025-03-04T05:06:07Z"},
            "status": {
                "jobStatus": {"state": "RUNNING", "restarts": 0, "healthy": true, "score": 1.5},
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "Finished", "status": "False"}
                ],
                "note": null
            }
        })
    }

    #[test]
    fn lookup_nested_paths_and_arrays() {
        let obj = flink();
        let cases = [
            ("status.jobStatus.state", Some(json!("RUNNING"))),
            ("status.conditions.0.type", Some(json!("Ready"))),
            ("status.conditions.1.status", Some(json!("False"))),
            ("status.conditions.2.type", None),
            ("status.conditions.x.type", None),
            (
                "status.conditions[type=Finished].status",
                Some(json!("False")),
            ),
            ("status.conditions[type=Ready].status", Some(json!("True"))),
            ("status.conditions[type=Gone].status", None),
            ("status.conditions[type].status", None),
            ("status.conditions[type=Ready", None),
            ("status.jobStatus[state=RUNNING]", None),
            ("status.conditions.-1.type", None),
            ("status.jobStatus.state.deeper", None),
            ("status.note", Some(json!(null))),
            ("status..state", None),
            ("", None),
        ];
        for (path, want) in cases {
            assert_eq!(lookup_path(&obj, path).cloned(), want, "{path}");
        }
    }

    #[test]
    fn rules_table() {
        use ChildPhase::*;
        let obj = flink();
        let cases = [
            // (success, failure, phase, message)
            (
                vec![rule("status.jobStatus.state", &["FINISHED"])],
                vec![],
                Running,
                None,
            ),
            (
                vec![rule("status.jobStatus.state", &["FINISHED", "RUNNING"])],
                vec![],
                Succeeded,
                Some("successWhen status.jobStatus.state=RUNNING"),
            ),
            (
                vec![rule("status.jobStatus.state", &["RUNNING"])],
                vec![rule("status.conditions.0.status", &["True"])],
                Failed,
                Some("failureWhen status.conditions.0.status=True"),
            ),
            (
                vec![rule("status.jobStatus.restarts", &["0"])],
                vec![],
                Succeeded,
                Some("successWhen status.jobStatus.restarts=0"),
            ),
            (
                vec![rule("status.jobStatus.healthy", &["true"])],
                vec![],
                Succeeded,
                Some("successWhen status.jobStatus.healthy=true"),
            ),
            (
                vec![rule("status.jobStatus.score", &["1.5"])],
                vec![],
                Succeeded,
                Some("successWhen status.jobStatus.score=1.5"),
            ),
            (
                vec![rule("status.jobStatus.healthy", &["True"])],
                vec![],
                Running,
                None,
            ),
            (vec![rule("status.note", &["null"])], vec![], Running, None),
            (
                vec![rule("status.missing", &["null", ""])],
                vec![],
                Running,
                None,
            ),
            (
                vec![rule("status.conditions", &["[]"])],
                vec![],
                Running,
                None,
            ),
            (vec![], vec![], Running, None),
        ];
        for (success, failure, phase, message) in cases {
            let got = rules_state(&obj, &success, &failure);
            assert_eq!(got.phase, phase, "{success:?} {failure:?}");
            assert_eq!(got.message.as_deref(), message, "{success:?} {failure:?}");
            let want_reason = if phase == Running {
                None
            } else {
                Some(MATCHED_RULE)
            };
            assert_eq!(got.reason.as_deref(), want_reason);
            assert_eq!(got.started_at, "2025-03-04T05:06:07Z".parse().ok());
        }
    }

    #[test]
    fn malformed_objects_run_on() {
        let success = [rule("status.phase", &["Done"])];
        let failure = [rule("status.phase", &["Error"])];
        for obj in [
            json!(null),
            json!("x"),
            json!([]),
            json!({"status": 3}),
            json!({"metadata": {"creationTimestamp": 5}}),
        ] {
            let got = rules_state(&obj, &success, &failure);
            assert_eq!(got.phase, ChildPhase::Running, "{obj}");
            assert_eq!(got.started_at, None);
        }
    }
}
