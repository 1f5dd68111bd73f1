//! Setting `metav1.Condition`s the way the API conventions ask: the transition time moves
//! only when the status flips.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Sets condition `kind` in `conditions`, keeping `lastTransitionTime` when the status is
/// unchanged. Returns true when the status changed (a transition worth an Event).
pub fn set(
    conditions: &mut Vec<Condition>,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let status = if status { "True" } else { "False" }.to_string();
    let fresh = Condition {
        type_: kind.to_string(),
        status: status.clone(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation: generation,
        last_transition_time: Time(now),
    };
    match conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(c) if c.status == status => {
            let transition = c.last_transition_time.clone();
            *c = Condition {
                last_transition_time: transition,
                ..fresh
            };
            false
        }
        Some(c) => {
            *c = fresh;
            true
        }
        None => {
            conditions.push(fresh);
            true
        }
    }
}

/// The status of condition `kind`, if set.
pub fn is_true(conditions: &[Condition], kind: &str) -> Option<bool> {
    conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status == "True")
}
