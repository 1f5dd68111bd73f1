//! Checking a suite against the data's schema before any row is read: every column an
//! expectation names exists, and the check applies to its type (a regex to strings, a mean
//! to numbers, a value set of the column's kind). A failure is a bad suite, not a failed
//! validation.

use polars::prelude::{DataType, Schema};
use serde_json::Value;

use super::SuiteError;
use super::expect::{Check, Expectation, MapRule, PairOp};

/// What kind of values a column holds, for deciding which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Integers and floats.
    Numeric,
    /// Strings.
    Text,
    /// Booleans.
    Boolean,
    /// Dates, datetimes, anything else.
    Other,
}

/// The family of a polars type.
pub fn family(dtype: &DataType) -> Family {
    if dtype.is_primitive_numeric() {
        Family::Numeric
    } else if matches!(dtype, DataType::String) {
        Family::Text
    } else if matches!(dtype, DataType::Boolean) {
        Family::Boolean
    } else {
        Family::Other
    }
}

/// Checks expectation `index` against the data's schema: columns exist and fit the check.
pub fn check(index: usize, e: &Expectation, schema: &Schema) -> Result<(), SuiteError> {
    let err = |field: &str, reason: String| {
        SuiteError::at(index, Some(&e.kind), &format!("kwargs.{field}"), &reason)
    };
    let column = |field: &str, name: &str| -> Result<Family, SuiteError> {
        schema.get(name).map(family).ok_or_else(|| {
            let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
            err(
                field,
                format!("no column {name:?} in the data (columns: {names:?})"),
            )
        })
    };
    let need = |field: &str, name: &str, want: &[Family], what: &str| -> Result<(), SuiteError> {
        let got = column(field, name)?;
        if want.contains(&got) {
            Ok(())
        } else {
            let dtype = schema.get(name).map(|d| d.to_string()).unwrap_or_default();
            Err(err(
                field,
                format!("column {name:?} is {dtype}, not {what}"),
            ))
        }
    };
    match &e.check {
        Check::ColumnExists { .. }
        | Check::RowCount(_)
        | Check::ColumnsOrdered(_)
        | Check::ColumnsSet { .. } => Ok(()),
        Check::ColumnType { column: c, .. } | Check::Unique { column: c, .. } => {
            column("column", c).map(|_| ())
        }
        Check::Map {
            column: c, rule, ..
        } => match rule {
            MapRule::NotNull | MapRule::Null => column("column", c).map(|_| ()),
            MapRule::Between(range) if range.is_text() => need(
                "column",
                c,
                &[Family::Text],
                "a string (the bounds are strings)",
            ),
            MapRule::Between(_) => need("column", c, &[Family::Numeric], "numeric"),
            MapRule::InSet(set) | MapRule::NotInSet(set) => {
                let fam = column("column", c)?;
                set_fits(set, fam).map_err(|reason| err("value_set", reason))
            }
            MapRule::Regex(_)
            | MapRule::NotRegex(_)
            | MapRule::Lengths(_)
            | MapRule::LengthEquals(_) => need("column", c, &[Family::Text], "a string"),
        },
        Check::Stat {
            column: c, range, ..
        } => {
            if range.is_text() {
                return Err(err(
                    "min_value",
                    "the bounds of an aggregate are numbers".into(),
                ));
            }
            need("column", c, &[Family::Numeric], "numeric")
        }
        Check::Pair { a, b, op, .. } => {
            let fa = column("column_A", a)?;
            let fb = column("column_B", b)?;
            match op {
                PairOp::Greater { .. } if fa != fb || fa == Family::Boolean => Err(err(
                    "column_B",
                    format!("columns {a:?} and {b:?} cannot be ordered against each other"),
                )),
                PairOp::Equal if fa != fb => Err(err(
                    "column_B",
                    format!("columns {a:?} and {b:?} hold different types"),
                )),
                _ => Ok(()),
            }
        }
        Check::Compound { columns, .. } => columns
            .iter()
            .try_for_each(|c| column("column_list", c).map(|_| ())),
    }
}

/// Whether every value of a set can be compared with a column of `fam`.
fn set_fits(set: &[Value], fam: Family) -> Result<(), String> {
    let ok = |v: &Value| match fam {
        Family::Numeric => v.is_number(),
        Family::Text | Family::Other => v.is_string(),
        Family::Boolean => v.is_boolean(),
    };
    match set.iter().find(|v| !v.is_null() && !ok(v)) {
        Some(bad) => Err(format!("{bad} cannot be compared with the column's values")),
        None => Ok(()),
    }
}
