//! State parsers: each kind a step can create (a Job with its pods, a bare Pod, a
//! SparkApplication, or any kind the user describes with field rules) is read into one
//! [`ChildState`] the planner can act on.
//!
//! Every parser is total. A partial or malformed object reads as Pending or Running, never
//! as a terminal state it cannot prove and never as a panic: a half-written status or a
//! field from a newer Kubernetes only delays a decision, and the step's timeout catches
//! anything that stays undecided.

mod job;
mod pod;
mod rules;
mod spark;

pub use job::{job_state, result_unobserved};
pub use pod::{
    MAIN_CONTAINER, MAIN_CONTAINER_ANNOTATION, START_GRACE, main_container_name, pod_state,
};
pub use rules::{lookup_path, rules_state};
pub use spark::{SparkDetails, spark_application_details, spark_application_state};

use jiff::Timestamp;
use serde_json::Value;

/// Longest [`ChildState::message`] in bytes. Messages end up in the run's status and in
/// Events, and a container can write kilobytes of stack trace into its termination message.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// Largest termination message parsed into [`ChildState::result`]. Kubernetes itself cuts
/// termination messages at 4096 bytes, so a longer one means a truncated (and therefore
/// broken) value rather than a real result.
pub const MAX_RESULT_BYTES: usize = 4096;

/// Where a child is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildPhase {
    /// Not started yet: unscheduled, pulling images, waiting to be submitted.
    Pending,
    /// Started and not finished, or in a state we cannot classify (a timeout decides).
    Running,
    /// Finished successfully; final.
    Succeeded,
    /// Finished unsuccessfully, or stuck in a way that will not heal by itself; final.
    Failed,
}

impl ChildPhase {
    /// Whether the child will not change phase again, so the planner can retry or move on.
    pub fn is_terminal(self) -> bool {
        matches!(self, ChildPhase::Succeeded | ChildPhase::Failed)
    }
}

/// What a parser read from a child object.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildState {
    /// Where the child is.
    pub phase: ChildPhase,
    /// A CamelCase word saying why, e.g. `OOMKilled`, `ImagePullBackOff`,
    /// `BackoffLimitExceeded`, `Unschedulable`; usable as a condition or Event reason.
    pub reason: Option<String>,
    /// Human details (a container's message, a Job condition message), at most
    /// [`MAX_MESSAGE_BYTES`].
    pub message: Option<String>,
    /// The main container's termination message as JSON, for a succeeded child only: text
    /// that is not JSON becomes a JSON string; a message over [`MAX_RESULT_BYTES`] gives
    /// `None` and a note in `message`.
    pub result: Option<Value>,
    /// When the child started running (a Job's or Pod's `status.startTime`).
    pub started_at: Option<Timestamp>,
}

impl ChildState {
    /// A state with only a phase; parsers fill in the rest.
    pub fn new(phase: ChildPhase) -> Self {
        ChildState {
            phase,
            reason: None,
            message: None,
            result: None,
            started_at: None,
        }
    }

    /// Sets the reason (builder style, to keep parsers to one expression per case).
    pub(crate) fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the message, truncated to [`MAX_MESSAGE_BYTES`]; empty text means none.
    pub(crate) fn message(mut self, message: Option<impl AsRef<str>>) -> Self {
        self.message = message.and_then(|m| truncate_message(m.as_ref()));
        self
    }
}

/// Trims `text` and cuts it to [`MAX_MESSAGE_BYTES`] on a character boundary, marking the
/// cut with `…` so a reader knows there was more. Blank text gives `None`.
pub(crate) fn truncate_message(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.len() <= MAX_MESSAGE_BYTES {
        return Some(text.to_string());
    }
    let ellipsis = '…';
    let mut end = MAX_MESSAGE_BYTES - ellipsis.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = text[..end].to_string();
    out.push(ellipsis);
    Some(out)
}

/// Joins the non-blank parts with `"; "`, e.g. a Job's condition message and its pod's.
pub(crate) fn join_messages<'a>(
    parts: impl IntoIterator<Item = Option<&'a str>>,
) -> Option<String> {
    let parts: Vec<&str> = parts
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("; "))
    }
}

/// A termination message read as a step result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Termination {
    /// The parsed value, if there was one that fit.
    pub result: Option<Value>,
    /// Why there is no result although there was text.
    pub note: Option<String>,
}

/// Reads a container's termination message as a result: JSON if it parses, else the text
/// as a JSON string (so `echo done > /dev/termination-log` still passes something on).
/// Blank text is no result; text over [`MAX_RESULT_BYTES`] is refused with a note,
/// because Kubernetes truncates at that size and a cut JSON document would mislead.
pub(crate) fn parse_termination_message(text: Option<&str>) -> Termination {
    let text = text.unwrap_or_default();
    if text.len() > MAX_RESULT_BYTES {
        return Termination {
            result: None,
            note: Some(format!(
                "termination message too large for a result ({} bytes, limit {MAX_RESULT_BYTES})",
                text.len()
            )),
        };
    }
    let trimmed = text.trim();
    let result = if trimmed.is_empty() {
        None
    } else {
        Some(serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(trimmed.to_string())))
    };
    Termination { result, note: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn termination_message_json_text_blank_and_too_large() {
        let cases: Vec<(Option<String>, Option<Value>, bool)> = vec![
            (
                Some(r#"{"rows": 42}"#.into()),
                Some(json!({"rows": 42})),
                false,
            ),
            (Some("42\n".into()), Some(json!(42)), false),
            (Some("done\n".into()), Some(json!("done")), false),
            (Some("{not json".into()), Some(json!("{not json")), false),
            (Some("  \n".into()), None, false),
            (None, None, false),
            (
                Some("x".repeat(MAX_RESULT_BYTES)),
                Some(json!("x".repeat(MAX_RESULT_BYTES))),
                false,
            ),
            (Some("x".repeat(MAX_RESULT_BYTES + 1)), None, true),
        ];
        for (text, want, noted) in cases {
            let got = parse_termination_message(text.as_deref());
            assert_eq!(got.result, want, "{text:?}");
            assert_eq!(got.note.is_some(), noted, "{text:?}");
        }
    }

    #[test]
    fn truncation_respects_char_boundaries_and_limit() {
        assert_eq!(truncate_message("  hi \n"), Some("hi".into()));
        assert_eq!(truncate_message(" \n"), None);
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = truncate_message(&long).unwrap_or_default();
        assert!(cut.len() <= MAX_MESSAGE_BYTES, "{}", cut.len());
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn join_skips_blank_parts() {
        assert_eq!(
            join_messages([Some("a"), None, Some(" "), Some("b")]),
            Some("a; b".into())
        );
        assert_eq!(join_messages([None, Some("")]), None);
    }

    #[test]
    fn only_succeeded_and_failed_are_terminal() {
        assert!(!ChildPhase::Pending.is_terminal());
        assert!(!ChildPhase::Running.is_terminal());
        assert!(ChildPhase::Succeeded.is_terminal());
        assert!(ChildPhase::Failed.is_terminal());
    }
}
