//! The reasons weir writes and decides on, as types: a step's reason in the run's status and
//! the reason of an Event. The planner, the controller and the CLI compare these with the
//! compiler's help instead of comparing strings, and what a reason implies (never retried,
//! worth a status write at once, recorded only with `--normal-events`) is said once, here.
//!
//! On the wire a reason is the same CamelCase string as ever, so the CRD schema of the
//! fields holding one stays `type: string`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a reason enum whose known variants are named by their own CamelCase text.
macro_rules! known_reasons {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every variant, for tables and tests.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The CamelCase text written to the API (status fields, Event reasons).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)*
                }
            }

            /// The variant written as `text`, if it is one of weir's own.
            pub fn known(text: &str) -> Option<Self> {
                match text {
                    $(stringify!($variant) => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

known_reasons! {
    /// A reason weir itself gives a step or item (as opposed to one a child reported).
    WeirReason {
        /// The child succeeded and said nothing more specific.
        Completed,
        /// The child failed and said nothing more specific.
        Failed,
        /// The child recorded in status stayed missing from the cache past its grace period.
        ChildMissing,
        /// The child was deleted while it ran.
        ChildDeleted,
        /// The API server refused to create the child: an invalid manifest, a kind it does
        /// not serve, a cluster-scoped kind the controller may not create, no permission.
        CreateRefused,
        /// The attempt ran longer than the step's `timeout`.
        Timeout,
        /// The run ran longer than its `timeout`; the step was stopped with it.
        RunTimeout,
        /// The step's template failed to render (syntax, undefined name, bad manifest).
        TemplateError,
        /// The step's template does not exist (unknown built-in, ConfigMap or key missing).
        TemplateNotFound,
        /// The step's forEach items could not be had (too many, not a list).
        InvalidForEach,
        /// The step's results went past their size limit.
        ResultTooLarge,
        /// The step's trigger rule was not met: skipped.
        TriggerRule,
        /// An upstream step failed.
        UpstreamFailed,
        /// A forEach step with no items: skipped.
        NoItems,
        /// The run was cancelled (`spec.cancel`).
        Cancelled,
        /// The run was replaced by a newer one (concurrency policy `Replace`).
        Replaced,
        /// The run's status outgrew what the API server stores.
        StatusTooLarge,
        /// `weir-data validate` found the data below its suite's threshold (the container
        /// says so in its termination message): the same data fails the same way again.
        ValidationFailed,
        /// `weir-data validate` was given a suite that cannot run (bad YAML, unknown
        /// expectation or column, unset variable).
        InvalidSuite,
    }
}

impl WeirReason {
    /// Whether retrying cannot help: the same inputs fail the same way (a template, the
    /// items, a result too large for the status, data below its quality threshold, a suite
    /// that cannot run).
    pub const fn never_retried(self) -> bool {
        matches!(
            self,
            WeirReason::TemplateError
                | WeirReason::TemplateNotFound
                | WeirReason::InvalidForEach
                | WeirReason::ResultTooLarge
                | WeirReason::ValidationFailed
                | WeirReason::InvalidSuite
        )
    }
}

/// Why a step or forEach item is in its phase (`status.steps[].reason`): one of weir's own
/// reasons, or the one its child reported (`OOMKilled`, `BackoffLimitExceeded`,
/// `ImagePullBackOff`, …) kept as the child said it, so `retryOn` can name any of them.
///
/// A child's text that happens to be one of weir's own reads as weir's, so a reason compares
/// equal however it was made.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepReason {
    /// One of weir's own.
    Weir(WeirReason),
    /// What a child reported, as it reported it.
    Child(String),
}

impl StepReason {
    /// The text written to the API.
    pub fn as_str(&self) -> &str {
        match self {
            StepReason::Weir(r) => r.as_str(),
            StepReason::Child(s) => s,
        }
    }

    /// Whether a failure with this reason is never retried, whatever the retry policy.
    pub fn never_retried(&self) -> bool {
        matches!(self, StepReason::Weir(r) if r.never_retried())
    }

    /// Whether a retry policy's `retryOn` list names this reason.
    pub fn listed_in(&self, retry_on: &[String]) -> bool {
        retry_on.iter().any(|r| r == self.as_str())
    }
}

impl From<WeirReason> for StepReason {
    fn from(r: WeirReason) -> Self {
        StepReason::Weir(r)
    }
}

impl From<&str> for StepReason {
    fn from(text: &str) -> Self {
        WeirReason::known(text).map_or_else(|| StepReason::Child(text.to_string()), Self::Weir)
    }
}

impl From<String> for StepReason {
    fn from(text: String) -> Self {
        match WeirReason::known(&text) {
            Some(r) => StepReason::Weir(r),
            None => StepReason::Child(text),
        }
    }
}

impl PartialEq<WeirReason> for StepReason {
    fn eq(&self, other: &WeirReason) -> bool {
        matches!(self, StepReason::Weir(r) if r == other)
    }
}

impl fmt::Display for StepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StepReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StepReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(StepReason::from)
    }
}

known_reasons! {
    /// The reason of an Event weir records (`kubectl describe`): a bounded set, also used as
    /// a metric label.
    EventReason {
        /// A run was admitted and started.
        Started,
        /// A run succeeded.
        Succeeded,
        /// A run failed.
        Failed,
        /// A run was cancelled or replaced.
        Cancelled,
        /// A run waits for a slot under `maxActiveRuns`.
        Queued,
        /// A step (or item) failed for good.
        StepFailed,
        /// A step (or item) failed and will be retried.
        StepRetrying,
        /// A step's results went past their size limit.
        ResultTooLarge,
        /// A Pipeline or a run's spec is invalid.
        InvalidSpec,
        /// A run was refused under concurrency policy `Forbid`.
        ConcurrencyForbidden,
        /// A run names a Pipeline that does not exist.
        PipelineNotFound,
        /// Steps of a finished run are re-run.
        Rerun,
        /// A re-run request was ignored.
        RerunIgnored,
        /// A bucket trigger could not list its bucket (the message says why).
        TriggerFailed,
        /// More objects arrived within a bucket trigger's window than its state keeps.
        TriggerTruncated,
        /// Scheduled times were skipped (catch-up limit, starting deadline).
        ScheduleSkipped,
    }
}

impl EventReason {
    /// Whether the status change that comes with this Event should be written at once:
    /// everything worth an Event is, except a run's start (progress nobody waits for).
    pub const fn urgent(self) -> bool {
        !matches!(self, EventReason::Started)
    }

    /// Whether a Normal Event with this reason is routine progress, recorded only when the
    /// controller runs with `--normal-events` (a busy cluster has thousands of runs a day).
    pub const fn routine(self) -> bool {
        matches!(self, EventReason::Started | EventReason::Succeeded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_reads_back_as_it_was_written() {
        for r in WeirReason::ALL {
            let text = serde_json::to_string(&StepReason::from(*r)).unwrap_or_default();
            assert_eq!(text, format!("\"{r}\""));
            let back: StepReason = serde_json::from_str(&text).unwrap_or(StepReason::from("x"));
            assert_eq!(back, *r);
        }
        let oom: StepReason =
            serde_json::from_str("\"OOMKilled\"").unwrap_or(StepReason::from("x"));
        assert_eq!(oom, StepReason::Child("OOMKilled".into()));
        assert_eq!(
            serde_json::to_string(&oom).unwrap_or_default(),
            "\"OOMKilled\""
        );
    }

    #[test]
    fn a_childs_text_naming_a_weir_reason_is_that_reason() {
        assert_eq!(StepReason::from("Timeout"), WeirReason::Timeout);
        assert!(StepReason::from("TemplateError".to_string()).never_retried());
    }

    #[test]
    fn only_input_failures_are_never_retried() {
        let never: Vec<&str> = WeirReason::ALL
            .iter()
            .filter(|r| r.never_retried())
            .map(|r| r.as_str())
            .collect();
        assert_eq!(
            never,
            [
                "TemplateError",
                "TemplateNotFound",
                "InvalidForEach",
                "ResultTooLarge",
                "ValidationFailed",
                "InvalidSuite"
            ]
        );
        assert!(!StepReason::from("OOMKilled").never_retried());
        assert!(!StepReason::from("Error").never_retried());
    }

    #[test]
    fn retry_on_names_reasons_by_their_text() {
        let on = vec!["OOMKilled".to_string(), "Timeout".to_string()];
        assert!(StepReason::from("OOMKilled").listed_in(&on));
        assert!(StepReason::from(WeirReason::Timeout).listed_in(&on));
        assert!(!StepReason::from("Error").listed_in(&on));
    }

    #[test]
    fn only_a_start_is_not_urgent_and_only_starts_and_successes_are_routine() {
        for r in EventReason::ALL {
            assert_eq!(r.urgent(), *r != EventReason::Started, "{r}");
            assert_eq!(
                r.routine(),
                matches!(r, EventReason::Started | EventReason::Succeeded),
                "{r}"
            );
        }
        assert_eq!(
            EventReason::known("StepFailed"),
            Some(EventReason::StepFailed)
        );
    }
}
