//! The expectations weir-data checks, under Great Expectations' names and parameters, read
//! from a suite: an unknown type, a missing, misspelt or mistyped parameter or a regex that
//! does not compile is a bad suite, not a failed validation (the columns are checked
//! against the data in [`super::schema`]).

use serde_json::Value;

use super::SuiteError;
use super::kwargs::{Kwargs, Range};
use super::suite::RawExpectation;

/// One expectation, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// GE's type name, as written.
    pub kind: String,
    /// Its kwargs, as written (echoed in the result's `expectation_config`).
    pub kwargs: serde_json::Map<String, Value>,
    /// What to check.
    pub check: Check,
}

/// What an expectation checks. Column names are as written in the suite.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// `expect_column_to_exist`.
    ColumnExists {
        /// The column.
        column: String,
    },
    /// `expect_column_values_to_be_of_type` / `…_in_type_list`: the column's type.
    ColumnType {
        /// The column.
        column: String,
        /// Type names, any of which may match.
        types: Vec<String>,
    },
    /// `expect_table_row_count_to_be_between` / `…_to_equal`.
    RowCount(Range),
    /// `expect_table_columns_to_match_ordered_list`.
    ColumnsOrdered(Vec<String>),
    /// `expect_table_columns_to_match_set`.
    ColumnsSet {
        /// The columns expected.
        columns: Vec<String>,
        /// Whether the table may have no others.
        exact: bool,
    },
    /// A per-row check of one column (nulls skipped except by the null checks).
    Map {
        /// The column.
        column: String,
        /// What each value must satisfy.
        rule: MapRule,
        /// The share of considered rows that must pass.
        mostly: f64,
    },
    /// `expect_column_values_to_be_unique`: every row of a duplicate group is unexpected.
    Unique {
        /// The column.
        column: String,
        /// The share of non-null rows that must be unique.
        mostly: f64,
    },
    /// `expect_column_{mean,min,max,median,stdev}_to_be_between`.
    Stat {
        /// The column.
        column: String,
        /// Which aggregate.
        stat: Stat,
        /// Where it must lie.
        range: Range,
    },
    /// `expect_column_pair_values_a_to_be_greater_than_b` / `…_to_be_equal`.
    Pair {
        /// `column_A`.
        a: String,
        /// `column_B`.
        b: String,
        /// The comparison.
        op: PairOp,
        /// Which rows are left out.
        ignore: PairIgnore,
        /// The share of kept rows that must pass.
        mostly: f64,
    },
    /// `expect_compound_columns_to_be_unique`.
    Compound {
        /// The columns whose combination must be unique.
        columns: Vec<String>,
        /// Which rows are left out.
        ignore: CompoundIgnore,
        /// The share of kept rows that must be unique.
        mostly: f64,
    },
}

/// A per-row rule of [`Check::Map`].
#[derive(Debug, Clone, PartialEq)]
pub enum MapRule {
    /// `expect_column_values_to_not_be_null`.
    NotNull,
    /// `expect_column_values_to_be_null`.
    Null,
    /// `expect_column_values_to_be_between`.
    Between(Range),
    /// `expect_column_values_to_be_in_set`.
    InSet(Vec<Value>),
    /// `expect_column_values_to_not_be_in_set`.
    NotInSet(Vec<Value>),
    /// `expect_column_values_to_match_regex` (a search, as `re.search`).
    Regex(String),
    /// `expect_column_values_to_not_match_regex`.
    NotRegex(String),
    /// `expect_column_value_lengths_to_be_between`.
    Lengths(Range),
    /// `expect_column_value_lengths_to_equal`.
    LengthEquals(u64),
}

/// An aggregate of [`Check::Stat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Arithmetic mean.
    Mean,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Median (the mean of the middle two for an even count, as pandas).
    Median,
    /// Sample standard deviation (ddof 1, as pandas).
    Stdev,
}

/// The comparison of [`Check::Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairOp {
    /// A > B.
    Greater {
        /// A ≥ B instead.
        or_equal: bool,
    },
    /// A == B.
    Equal,
}

/// `ignore_row_if` of a pair: which rows are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairIgnore {
    /// Both values null (GE's default).
    Both,
    /// Either value null.
    Either,
    /// No row.
    Neither,
}

/// `ignore_row_if` of compound uniqueness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompoundIgnore {
    /// All values null (GE's default).
    All,
    /// Any value null.
    Any,
    /// No row.
    Never,
}

/// The expectation types this command knows, for the error on an unknown one.
pub const KINDS: &[&str] = &[
    "expect_column_to_exist",
    "expect_column_values_to_be_of_type",
    "expect_column_values_to_be_in_type_list",
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_mean_to_be_between",
    "expect_column_min_to_be_between",
    "expect_column_max_to_be_between",
    "expect_column_median_to_be_between",
    "expect_column_stdev_to_be_between",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
    "expect_compound_columns_to_be_unique",
];

/// Reads expectation `index` of a suite into its typed form.
pub fn parse(index: usize, raw: &RawExpectation) -> Result<Expectation, SuiteError> {
    let kind = raw.kind.as_str();
    let mut kw = Kwargs::new(index, kind, &raw.kwargs);
    let map = |kw: &mut Kwargs<'_>, rule: MapRule| -> Result<Check, SuiteError> {
        Ok(Check::Map {
            column: kw.string("column")?,
            rule,
            mostly: kw.mostly()?,
        })
    };
    let check = match kind {
        "expect_column_to_exist" => Check::ColumnExists {
            column: kw.string("column")?,
        },
        "expect_column_values_to_be_of_type" => Check::ColumnType {
            column: kw.string("column")?,
            types: vec![kw.string("type_")?],
        },
        "expect_column_values_to_be_in_type_list" => Check::ColumnType {
            column: kw.string("column")?,
            types: kw.strings("type_list")?,
        },
        "expect_table_row_count_to_be_between" => Check::RowCount(Range::read(&mut kw, false)?),
        "expect_table_row_count_to_equal" => {
            let n = kw.count("value")?;
            Check::RowCount(Range {
                min: Some(super::kwargs::Bound::Int(n as i64)),
                max: Some(super::kwargs::Bound::Int(n as i64)),
                strict_min: false,
                strict_max: false,
            })
        }
        "expect_table_columns_to_match_ordered_list" => {
            Check::ColumnsOrdered(kw.strings("column_list")?)
        }
        "expect_table_columns_to_match_set" => Check::ColumnsSet {
            columns: kw.strings("column_set")?,
            exact: kw.flag("exact_match", true)?,
        },
        "expect_column_values_to_not_be_null" => map(&mut kw, MapRule::NotNull)?,
        "expect_column_values_to_be_null" => map(&mut kw, MapRule::Null)?,
        "expect_column_values_to_be_unique" => Check::Unique {
            column: kw.string("column")?,
            mostly: kw.mostly()?,
        },
        "expect_column_values_to_be_between" => {
            let range = Range::read(&mut kw, true)?;
            map(&mut kw, MapRule::Between(range))?
        }
        "expect_column_values_to_be_in_set" => {
            let set = kw.list("value_set")?;
            map(&mut kw, MapRule::InSet(set))?
        }
        "expect_column_values_to_not_be_in_set" => {
            let set = kw.list("value_set")?;
            map(&mut kw, MapRule::NotInSet(set))?
        }
        "expect_column_values_to_match_regex" | "expect_column_values_to_not_match_regex" => {
            let regex = kw.string("regex")?;
            if let Err(e) = regex::Regex::new(&regex) {
                let first = e.to_string();
                let last = first.lines().last().unwrap_or_default().trim().to_owned();
                return Err(kw.error("regex", &format!("{regex:?} does not compile: {last}")));
            }
            let rule = if kind.contains("_not_") {
                MapRule::NotRegex(regex)
            } else {
                MapRule::Regex(regex)
            };
            map(&mut kw, rule)?
        }
        "expect_column_value_lengths_to_be_between" => {
            let range = Range::read(&mut kw, true)?;
            map(&mut kw, MapRule::Lengths(range))?
        }
        "expect_column_value_lengths_to_equal" => {
            let n = kw.count("value")?;
            map(&mut kw, MapRule::LengthEquals(n))?
        }
        "expect_column_mean_to_be_between"
        | "expect_column_min_to_be_between"
        | "expect_column_max_to_be_between"
        | "expect_column_median_to_be_between"
        | "expect_column_stdev_to_be_between" => {
            let stat = match &kind["expect_column_".len()..] {
                s if s.starts_with("mean") => Stat::Mean,
                s if s.starts_with("min") => Stat::Min,
                s if s.starts_with("max") => Stat::Max,
                s if s.starts_with("median") => Stat::Median,
                _ => Stat::Stdev,
            };
            Check::Stat {
                column: kw.string("column")?,
                stat,
                range: Range::read(&mut kw, true)?,
            }
        }
        "expect_column_pair_values_a_to_be_greater_than_b"
        | "expect_column_pair_values_to_be_equal" => {
            let op = if kind.ends_with("equal") {
                PairOp::Equal
            } else {
                PairOp::Greater {
                    or_equal: kw.flag("or_equal", false)?,
                }
            };
            let ignore = match kw.choice(
                "ignore_row_if",
                &[
                    "both_values_are_missing",
                    "either_value_is_missing",
                    "neither",
                ],
                "both_values_are_missing",
            )? {
                "both_values_are_missing" => PairIgnore::Both,
                "either_value_is_missing" => PairIgnore::Either,
                _ => PairIgnore::Neither,
            };
            Check::Pair {
                a: kw.string("column_A")?,
                b: kw.string("column_B")?,
                op,
                ignore,
                mostly: kw.mostly()?,
            }
        }
        "expect_compound_columns_to_be_unique" => {
            let ignore = match kw.choice(
                "ignore_row_if",
                &["all_values_are_missing", "any_value_is_missing", "never"],
                "all_values_are_missing",
            )? {
                "all_values_are_missing" => CompoundIgnore::All,
                "any_value_is_missing" => CompoundIgnore::Any,
                _ => CompoundIgnore::Never,
            };
            let columns = kw.strings("column_list")?;
            if columns.is_empty() {
                return Err(kw.error("column_list", "empty"));
            }
            Check::Compound {
                columns,
                ignore,
                mostly: kw.mostly()?,
            }
        }
        other => {
            return Err(SuiteError::at(
                index,
                Some(other),
                "type",
                "unknown expectation type (see `weir-data validate --help` for the ones supported)",
            ));
        }
    };
    kw.finish()?;
    Ok(Expectation {
        kind: raw.kind.clone(),
        kwargs: raw.kwargs.clone(),
        check,
    })
}
