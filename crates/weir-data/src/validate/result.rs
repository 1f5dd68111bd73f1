//! The validation result under Great Expectations' own keys (`success`, `statistics`,
//! `results[].success`, `results[].expectation_config`, `results[].result.{observed_value,
//! unexpected_count, unexpected_percent, partial_unexpected_list, …}`), plus the gate's own
//! fields: `success_fraction`, `threshold`, `threshold_met` and, below the threshold,
//! `reason: ValidationFailed`, which weir's state parser reads from the termination message.

use polars::prelude::{DataType, Schema};
use serde::Serialize;
use serde_json::{Map, Value};

use super::eval::{Observed, type_name};
use super::expect::{Check, Expectation, MapRule};
use crate::output::MAX_BYTES;

/// The reason a run below the threshold reports (and weir never retries).
pub const VALIDATION_FAILED: &str = "ValidationFailed";

/// The whole result: stdout, and the source of the termination message and the report.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Whether every expectation succeeded (GE's meaning).
    pub success: bool,
    /// Whether the share of successful expectations reached the threshold: the exit code.
    pub threshold_met: bool,
    /// `ValidationFailed` below the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Successful expectations over all of them (1 for an empty suite).
    pub success_fraction: f64,
    /// The fraction required.
    pub threshold: f64,
    /// GE's counts.
    pub statistics: Statistics,
    /// The suite's name.
    pub suite_name: String,
    /// What was read.
    pub data: DataInfo,
    /// Where the HTML report went, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// One per expectation, in suite order.
    pub results: Vec<ExpectationResult>,
}

/// GE's `statistics`.
#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    /// Expectations run.
    pub evaluated_expectations: usize,
    /// Expectations that succeeded.
    pub successful_expectations: usize,
    /// Expectations that failed.
    pub unsuccessful_expectations: usize,
    /// Successful ones, in percent.
    pub success_percent: f64,
}

/// What was validated.
#[derive(Debug, Clone, Serialize)]
pub struct DataInfo {
    /// The `--data` URI.
    pub uri: String,
    /// Files read.
    pub files: usize,
    /// `parquet` or `csv`.
    pub format: String,
    /// Rows read.
    pub rows: u64,
    /// Seconds from start to result.
    pub seconds: f64,
}

/// One expectation's result, as GE writes it.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectationResult {
    /// Whether it succeeded.
    pub success: bool,
    /// Its type and kwargs as written.
    pub expectation_config: Config,
    /// What was observed.
    pub result: Map<String, Value>,
}

/// GE's `expectation_config`.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The expectation type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its kwargs.
    pub kwargs: Map<String, Value>,
}

/// Builds one expectation's result from what was observed.
pub fn expectation_result(e: &Expectation, o: &Observed, schema: &Schema) -> ExpectationResult {
    let mut result = Map::new();
    let success = match &e.check {
        Check::ColumnExists { column } => schema.contains(column),
        Check::ColumnType { column, types } => {
            let dtype = schema.get(column);
            put(&mut result, "observed_value", o.observed_value.clone());
            dtype.is_some_and(|d| types.iter().any(|t| type_matches(d, t)))
        }
        Check::RowCount(range) => {
            put(&mut result, "observed_value", o.observed_value.clone());
            range.contains(o.element_count as f64)
        }
        Check::ColumnsOrdered(want) => {
            put(&mut result, "observed_value", o.observed_value.clone());
            schema
                .iter_names()
                .map(|n| n.as_str())
                .eq(want.iter().map(String::as_str))
        }
        Check::ColumnsSet { columns, exact } => {
            put(&mut result, "observed_value", o.observed_value.clone());
            let has = |c: &String| schema.contains(c);
            let all_there = columns.iter().all(has);
            all_there && (!exact || schema.len() == columns.len())
        }
        Check::Stat { range, .. } => {
            put(&mut result, "observed_value", o.observed_value.clone());
            o.observed_value
                .as_ref()
                .and_then(Value::as_f64)
                .is_some_and(|x| range.contains(x))
        }
        Check::Map { rule, mostly, .. } => {
            let nulls_counted = matches!(rule, MapRule::NotNull | MapRule::Null);
            counts(&mut result, o, !nulls_counted);
            mostly_success(o, *mostly)
        }
        Check::Unique { mostly, .. }
        | Check::Pair { mostly, .. }
        | Check::Compound { mostly, .. } => {
            counts(&mut result, o, true);
            mostly_success(o, *mostly)
        }
    };
    ExpectationResult {
        success,
        expectation_config: Config {
            kind: e.kind.clone(),
            kwargs: e.kwargs.clone(),
        },
        result,
    }
}

fn put(result: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    result.insert(key.to_owned(), value.unwrap_or(Value::Null));
}

fn percent(part: u64, whole: u64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        Value::from(part as f64 * 100.0 / whole as f64)
    }
}

/// GE's SUMMARY counts; `missing` adds the null counts of checks that skip nulls.
fn counts(result: &mut Map<String, Value>, o: &Observed, missing: bool) {
    let unexpected = o.unexpected.unwrap_or(0);
    let considered = o.considered.unwrap_or(o.element_count);
    result.insert("element_count".into(), o.element_count.into());
    result.insert("unexpected_count".into(), unexpected.into());
    result.insert("unexpected_percent".into(), percent(unexpected, considered));
    result.insert(
        "partial_unexpected_list".into(),
        Value::Array(o.sample.clone()),
    );
    if missing {
        let missing_count = o.element_count.saturating_sub(considered);
        result.insert("missing_count".into(), missing_count.into());
        result.insert(
            "missing_percent".into(),
            percent(missing_count, o.element_count),
        );
        result.insert(
            "unexpected_percent_total".into(),
            percent(unexpected, o.element_count),
        );
        result.insert(
            "unexpected_percent_nonmissing".into(),
            percent(unexpected, considered),
        );
    }
}

/// GE's `mostly`: the share of considered rows that passed is at least `mostly`; a check
/// with no rows to consider succeeds.
fn mostly_success(o: &Observed, mostly: f64) -> bool {
    let considered = o.considered.unwrap_or(o.element_count);
    let unexpected = o.unexpected.unwrap_or(0);
    if considered == 0 {
        return true;
    }
    let passed = (considered - unexpected.min(considered)) as f64 / considered as f64;
    passed >= mostly
}

/// Whether a type name from a suite names `dtype`: pandas/numpy names (`int64`, `float64`,
/// `str`, `object`, `bool`, `datetime64[ns]`), Python's (`int`, `float`, `str`) and
/// polars' own (`Int64`, `String`).
pub fn type_matches(dtype: &DataType, name: &str) -> bool {
    let name = name.trim();
    if name.eq_ignore_ascii_case(&dtype.to_string()) || name == type_name(dtype) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    match dtype {
        DataType::String => matches!(
            lower.as_str(),
            "str" | "string" | "object" | "utf8" | "stringdtype" | "large_string"
        ),
        DataType::Boolean => matches!(lower.as_str(), "bool" | "boolean" | "bool_"),
        DataType::Date | DataType::Datetime(..) => {
            lower.starts_with("datetime") || lower == "timestamp" || lower == "date"
        }
        DataType::Int64 => matches!(lower.as_str(), "int" | "int64" | "integer" | "long"),
        DataType::Int32 => matches!(lower.as_str(), "int32" | "integer"),
        DataType::Float64 => matches!(lower.as_str(), "float" | "float64" | "double"),
        DataType::Float32 => matches!(lower.as_str(), "float32"),
        _ => false,
    }
}

impl Validation {
    /// Puts the results together; `threshold` decides `threshold_met` and the reason.
    pub fn new(
        suite_name: String,
        data: DataInfo,
        results: Vec<ExpectationResult>,
        threshold: f64,
    ) -> Self {
        let evaluated = results.len();
        let ok = results.iter().filter(|r| r.success).count();
        let fraction = if evaluated == 0 {
            1.0
        } else {
            ok as f64 / evaluated as f64
        };
        let threshold_met = fraction >= threshold;
        Validation {
            success: ok == evaluated,
            threshold_met,
            reason: (!threshold_met).then_some(VALIDATION_FAILED),
            success_fraction: fraction,
            threshold,
            statistics: Statistics {
                evaluated_expectations: evaluated,
                successful_expectations: ok,
                unsuccessful_expectations: evaluated - ok,
                success_percent: fraction * 100.0,
            },
            suite_name,
            data,
            report: None,
            results,
        }
    }

    /// The result as one JSON line (stdout).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The termination message: the verdict and, per expectation, its type, column and
    /// counts, as many as fit in [`MAX_BYTES`] (`truncated` says some were left out).
    pub fn termination_message(&self) -> String {
        let mut head = serde_json::json!({
            "success": self.success,
            "threshold_met": self.threshold_met,
            "success_fraction": self.success_fraction,
            "threshold": self.threshold,
            "statistics": self.statistics,
            "rows": self.data.rows,
        });
        if let Some(reason) = self.reason {
            head["reason"] = reason.into();
        }
        if let Some(report) = &self.report {
            head["report"] = report.clone().into();
        }
        let mut items: Vec<Value> = self.results.iter().map(short).collect();
        // Failures first: they are what a reader of the message wants.
        items.sort_by_key(|i| i["success"].as_bool().unwrap_or(false));
        loop {
            let mut message = head.clone();
            message["results"] = Value::Array(items.clone());
            if items.len() < self.results.len() {
                message["truncated"] = true.into();
            }
            let text = message.to_string();
            if text.len() <= MAX_BYTES || items.is_empty() {
                return text;
            }
            items.pop();
        }
    }
}

fn short(r: &ExpectationResult) -> Value {
    let mut item = serde_json::json!({
        "type": r.expectation_config.kind,
        "success": r.success,
    });
    for key in ["column", "column_A", "column_B"] {
        if let Some(v) = r.expectation_config.kwargs.get(key) {
            item[key] = v.clone();
        }
    }
    for key in ["unexpected_count", "observed_value"] {
        if let Some(v) = r.result.get(key).filter(|v| v.is_number() || v.is_string()) {
            item[key] = v.clone();
        }
    }
    item
}
