//! Fan-out (`forEach`): the items a step is run once for, and how its
//! children add up to one step state.
//!
//! A fanned-out step stays one node of the graph; its children (indexed
//! `0..n`, one per item) live below it. The planner reads the items when the
//! step starts, runs the children (capped by [`children_to_start`]), and feeds
//! [`aggregate`] of their states to [`crate::Graph::readiness`] as the step's
//! state.

use std::num::NonZeroUsize;

use serde_json::Value;

use crate::state::NodeState;

/// The usual cap on a step's items: a mistaken upstream result (a whole table
/// instead of a list of partitions) should fail the step, not create
/// thousands of pods. Airflow's `max_map_length` is 1024 for the same reason.
pub const DEFAULT_MAX_ITEMS: usize = 1000;

/// Why a step's items could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FanOutError {
    /// The upstream result is not JSON at all.
    #[error("the result is not JSON ({error}); it starts with {excerpt:?}")]
    NotJson {
        /// The parser's complaint, with line and column.
        error: String,
        /// The first characters of the result, to recognise it by.
        excerpt: String,
    },
    /// The result (or the value under `key`) is JSON but not an array.
    #[error("{} is {found}, not an array", describe(.key.as_deref()))]
    NotAnArray {
        /// The key looked up, if any.
        key: Option<String>,
        /// What was found instead (`an object`, `a string`, …).
        found: &'static str,
    },
    /// A key was given but the result is not a JSON object.
    #[error("the result is {found}, not an object holding `{key}`")]
    NotAnObject {
        /// The key that was to be looked up.
        key: String,
        /// What the result is (`an array`, `a string`, …).
        found: &'static str,
    },
    /// A key was given but the result object does not have it.
    #[error("the result has no key `{key}` (its keys: {})", .keys.join(", "))]
    MissingKey {
        /// The key looked up.
        key: String,
        /// The keys the object has, sorted, so a typo is easy to spot.
        keys: Vec<String>,
    },
    /// More items than allowed.
    #[error("{count} items is more than the limit of {max}")]
    TooMany {
        /// How many items there were.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// The items of a literal `forEach` list, checked against the `max` items.
pub fn items_from_literal(items: Vec<Value>, max: usize) -> Result<Vec<Value>, FanOutError> {
    check_count(items, max)
}

/// The items held in an upstream step's JSON result: the result itself must
/// be an array when `key` is `None`; otherwise it must be an object whose
/// `key` holds the array. Surrounding whitespace (a trailing newline from
/// `echo`) is fine.
pub fn items_from_result(
    result: &str,
    key: Option<&str>,
    max: usize,
) -> Result<Vec<Value>, FanOutError> {
    let value: Value = serde_json::from_str(result).map_err(|e| FanOutError::NotJson {
        error: e.to_string(),
        excerpt: excerpt(result),
    })?;
    let list = match key {
        None => value,
        Some(key) => match value {
            Value::Object(mut map) => match map.remove(key) {
                Some(inner) => inner,
                None => {
                    // Sorted, so the message does not depend on whether some
                    // other crate turned on serde_json's `preserve_order`.
                    let mut keys: Vec<String> = map.keys().cloned().collect();
                    keys.sort();
                    return Err(FanOutError::MissingKey {
                        key: key.to_owned(),
                        keys,
                    });
                }
            },
            other => {
                return Err(FanOutError::NotAnObject {
                    key: key.to_owned(),
                    found: kind(&other),
                });
            }
        },
    };
    match list {
        Value::Array(items) => check_count(items, max),
        other => Err(FanOutError::NotAnArray {
            key: key.map(str::to_owned),
            found: kind(&other),
        }),
    }
}

/// The state of a started fanned-out step, from its children's states.
///
/// | children | step |
/// |---|---|
/// | none (no items) | `Skipped` (as Airflow skips a task mapped over nothing) |
/// | any `Pending` or `Active` | `Active` |
/// | any `Failed` or `UpstreamFailed` | `Failed` |
/// | all `Skipped` | `Skipped` |
/// | otherwise (all `Succeeded` or `Skipped`) | `Succeeded` |
///
/// Downstream steps thus see the step as a whole: one failed child fails it
/// for their rules. (Airflow instead counts each mapped instance as an
/// upstream; a planner wanting that can pass the children's states to
/// [`crate::TriggerRule::decide`] directly.)
#[must_use]
pub fn aggregate(children: &[NodeState]) -> NodeState {
    if children.is_empty() {
        NodeState::Skipped
    } else if children.iter().any(|s| !s.is_finished()) {
        NodeState::Active
    } else if children.iter().any(|s| s.is_failure()) {
        NodeState::Failed
    } else if children.iter().all(|&s| s == NodeState::Skipped) {
        NodeState::Skipped
    } else {
        NodeState::Succeeded
    }
}

/// The children to start now: `Pending` ones by ascending index, as many as
/// `max_parallel` leaves room for beside the `Active` ones (all when `None`).
#[must_use]
pub fn children_to_start(children: &[NodeState], max_parallel: Option<NonZeroUsize>) -> Vec<usize> {
    let active = children.iter().filter(|&&s| s == NodeState::Active).count();
    let slots = max_parallel.map_or(usize::MAX, |cap| cap.get().saturating_sub(active));
    children
        .iter()
        .enumerate()
        .filter(|&(_, &s)| s == NodeState::Pending)
        .map(|(i, _)| i)
        .take(slots)
        .collect()
}

fn check_count(items: Vec<Value>, max: usize) -> Result<Vec<Value>, FanOutError> {
    if items.len() > max {
        Err(FanOutError::TooMany {
            count: items.len(),
            max,
        })
    } else {
        Ok(items)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(key: Option<&str>) -> String {
    match key {
        None => "the result".to_owned(),
        Some(key) => format!("`{key}` in the result"),
    }
}

/// The first 60 characters of `text`, marked when cut, so an error shows
/// what the step printed without quoting a whole log.
fn excerpt(text: &str) -> String {
    const LIMIT: usize = 60;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(LIMIT).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}
