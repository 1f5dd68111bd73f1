//! Reading one expectation's `kwargs` into typed values, naming the expectation and the
//! field in every error, and refusing keys the expectation does not take (a misspelt
//! `min_vale` must not silently check nothing).

use serde_json::{Map, Value};

use super::SuiteError;

/// Keys GE accepts on every expectation that change nothing about what is checked.
const PASSIVE: &[&str] = &[
    "result_format",
    "catch_exceptions",
    "include_config",
    "meta",
];

/// The kwargs of expectation `index` (0-based) of type `kind`, with the keys read so far.
pub struct Kwargs<'a> {
    index: usize,
    kind: &'a str,
    map: &'a Map<String, Value>,
    read: Vec<&'static str>,
}

impl<'a> Kwargs<'a> {
    /// Starts reading `map`.
    pub fn new(index: usize, kind: &'a str, map: &'a Map<String, Value>) -> Self {
        Kwargs {
            index,
            kind,
            map,
            read: Vec::new(),
        }
    }

    /// An error about `field` of this expectation.
    pub fn error(&self, field: &str, reason: &str) -> SuiteError {
        SuiteError::at(
            self.index,
            Some(self.kind),
            &format!("kwargs.{field}"),
            reason,
        )
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.read.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A required string.
    pub fn string(&mut self, key: &'static str) -> Result<String, SuiteError> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.error(key, &format!("expected a string, got {other}"))),
            None => Err(self.error(key, "missing")),
        }
    }

    /// A required list of strings.
    pub fn strings(&mut self, key: &'static str) -> Result<Vec<String>, SuiteError> {
        match self.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.error(key, &format!("expected strings, got {other}"))),
                })
                .collect(),
            Some(other) => Err(self.error(key, &format!("expected a list, got {other}"))),
            None => Err(self.error(key, "missing")),
        }
    }

    /// A required list of any values.
    pub fn list(&mut self, key: &'static str) -> Result<Vec<Value>, SuiteError> {
        match self.get(key) {
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(other) => Err(self.error(key, &format!("expected a list, got {other}"))),
            None => Err(self.error(key, "missing")),
        }
    }

    /// An optional number or string bound (`min_value`, `max_value`).
    pub fn bound(&mut self, key: &'static str) -> Result<Option<Bound>, SuiteError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(match n.as_i64() {
                Some(i) => Bound::Int(i),
                None => Bound::Float(n.as_f64().unwrap_or(f64::NAN)),
            })),
            Some(Value::String(s)) => Ok(Some(Bound::Text(s.clone()))),
            Some(other) => Err(self.error(key, &format!("expected a number, got {other}"))),
        }
    }

    /// An optional boolean, `default` when absent.
    pub fn flag(&mut self, key: &'static str, default: bool) -> Result<bool, SuiteError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.error(key, &format!("expected true or false, got {other}"))),
        }
    }

    /// A required non-negative whole number.
    pub fn count(&mut self, key: &'static str) -> Result<u64, SuiteError> {
        match self.get(key) {
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64().unwrap_or(0)),
            Some(other) => {
                Err(self.error(key, &format!("expected a whole number ≥ 0, got {other}")))
            }
            None => Err(self.error(key, "missing")),
        }
    }

    /// `mostly`: a fraction in [0, 1], 1 when absent.
    pub fn mostly(&mut self) -> Result<f64, SuiteError> {
        match self.get("mostly") {
            None => Ok(1.0),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(m) if (0.0..=1.0).contains(&m) => Ok(m),
                _ => Err(self.error("mostly", &format!("{n} is not between 0 and 1"))),
            },
            Some(other) => Err(self.error(
                "mostly",
                &format!("expected a number between 0 and 1, got {other}"),
            )),
        }
    }

    /// An optional string among `allowed`, `default` when absent.
    pub fn choice(
        &mut self,
        key: &'static str,
        allowed: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, SuiteError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => allowed
                .iter()
                .find(|a| **a == s.as_str())
                .copied()
                .ok_or_else(|| self.error(key, &format!("{s:?} is not one of {allowed:?}"))),
            Some(other) => Err(self.error(key, &format!("expected a string, got {other}"))),
        }
    }

    /// Fails on any key not read (nor passive); call after reading every key the kind takes.
    pub fn finish(self) -> Result<(), SuiteError> {
        for key in self.map.keys() {
            if key == "row_condition" || key == "condition_parser" {
                return Err(self.error(key, "not supported by weir-data validate"));
            }
            if !self.read.contains(&key.as_str()) && !PASSIVE.contains(&key.as_str()) {
                return Err(self.error(
                    key,
                    &format!("unknown parameter (this expectation takes {:?})", self.read),
                ));
            }
        }
        Ok(())
    }
}

/// A bound as written: an integer, a float or (for strings and dates) text.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Text(String),
}

impl Bound {
    /// As a JSON value (for the result's echo of the bound).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Bound::Int(i) => Some(*i as f64),
            Bound::Float(f) => Some(*f),
            Bound::Text(_) => None,
        }
    }
}

/// `min_value` / `max_value` with `strict_min` / `strict_max`, as GE reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// Lower bound, if any.
    pub min: Option<Bound>,
    /// Upper bound, if any.
    pub max: Option<Bound>,
    /// `>` rather than `>=`.
    pub strict_min: bool,
    /// `<` rather than `<=`.
    pub strict_max: bool,
}

impl Range {
    /// Reads the four keys; at least one bound must be given.
    pub fn read(kw: &mut Kwargs<'_>, strict: bool) -> Result<Range, SuiteError> {
        let min = kw.bound("min_value")?;
        let max = kw.bound("max_value")?;
        let (strict_min, strict_max) = if strict {
            (kw.flag("strict_min", false)?, kw.flag("strict_max", false)?)
        } else {
            (false, false)
        };
        if min.is_none() && max.is_none() {
            return Err(kw.error("min_value", "min_value and max_value are both missing"));
        }
        if let (Some(lo), Some(hi)) = (
            min.as_ref().and_then(Bound::as_f64),
            max.as_ref().and_then(Bound::as_f64),
        ) && lo > hi
        {
            return Err(kw.error("min_value", &format!("{lo} is greater than max_value {hi}")));
        }
        Ok(Range {
            min,
            max,
            strict_min,
            strict_max,
        })
    }

    /// Whether a number is inside (an aggregate's observed value).
    pub fn contains(&self, x: f64) -> bool {
        let above = match self.min.as_ref().and_then(Bound::as_f64) {
            Some(lo) if self.strict_min => x > lo,
            Some(lo) => x >= lo,
            None => true,
        };
        let below = match self.max.as_ref().and_then(Bound::as_f64) {
            Some(hi) if self.strict_max => x < hi,
            Some(hi) => x <= hi,
            None => true,
        };
        above && below
    }

    /// Whether either bound is text.
    pub fn is_text(&self) -> bool {
        matches!(self.min, Some(Bound::Text(_))) || matches!(self.max, Some(Bound::Text(_)))
    }
}
