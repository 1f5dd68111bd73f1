//! Running the expectations over a lazy scan, with polars' streaming engine.
//!
//! One pass computes every per-row count and every aggregate together (one `select` of
//! sums over unexpected-row masks), so each column is read once however many expectations
//! name it; for Parquet the pass runs in slices of rows ([`batches`]), so its memory follows
//! a slice, not the data. Uniqueness is a group-by per expectation, in several passes over
//! hash partitions of the key when the data has more than [`UNIQUE_PASS_ROWS`] rows (each
//! pass holds a part of the distinct keys; polars still reads the key column whole), and the
//! sample of unexpected values comes from the first slices that have any.

use polars::prelude::*;
use serde_json::Value;

use super::batches;
use super::expect::{Check, CompoundIgnore, Expectation, MapRule, PairIgnore, PairOp, Stat};
use super::kwargs::{Bound, Range};
use super::values::{any_to_json, f64_of};

/// Unexpected values kept per expectation (GE's `partial_unexpected_list` holds 20).
pub const SAMPLE: u32 = 20;

/// What one expectation observed, before success and percentages are worked out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Rows in the data.
    pub element_count: u64,
    /// Rows the check considered (non-null ones for most column checks).
    pub considered: Option<u64>,
    /// Rows that failed the check.
    pub unexpected: Option<u64>,
    /// An aggregate's value, a column's type, the row count, the column list.
    pub observed_value: Option<Value>,
    /// A sample of unexpected values, in row order where the check has one.
    pub sample: Vec<Value>,
}

/// Evaluates every expectation over `lf` (whose schema is `schema`). The counting pass runs
/// in slices of `batch_rows` rows (0: in one piece; see [`batches`]), a uniqueness check in
/// passes of about `pass_rows` rows ([`UNIQUE_PASS_ROWS`] in production).
pub fn evaluate(
    lf: &LazyFrame,
    schema: &Schema,
    expectations: &[Expectation],
    batch_rows: u64,
    pass_rows: u64,
) -> PolarsResult<Vec<Observed>> {
    let mut exprs = vec![len().cast(DataType::UInt64).alias("rows")];
    for (i, e) in expectations.iter().enumerate() {
        exprs.extend(aggregates(i, &e.check));
    }
    let totals = batches::count(lf, &exprs, batch_rows)?;
    let number = |name: &str| totals.total(name);
    let rows = number("rows").unwrap_or(0.0) as u64;
    let mut out = Vec::with_capacity(expectations.len());
    for (i, e) in expectations.iter().enumerate() {
        let mut o = Observed {
            element_count: rows,
            ..Observed::default()
        };
        let counted = |o: &mut Observed| {
            o.unexpected = number(&format!("u{i}")).map(|x| x as u64);
            o.considered = number(&format!("n{i}")).map(|x| x as u64);
        };
        match &e.check {
            Check::ColumnExists { column } => {
                o.observed_value = Some(Value::Bool(schema.contains(column)));
            }
            Check::ColumnType { column, .. } => {
                o.observed_value = schema.get(column).map(|d| Value::String(type_name(d)));
            }
            Check::RowCount(_) => o.observed_value = Some(rows.into()),
            Check::ColumnsOrdered(_) | Check::ColumnsSet { .. } => {
                let names: Vec<Value> = schema.iter_names().map(|n| n.as_str().into()).collect();
                o.observed_value = Some(Value::Array(names));
            }
            Check::Stat { column, stat, .. } => {
                let s = format!("s{i}");
                let value = match stat {
                    Stat::Mean => totals.mean(&s, &format!("c{i}")),
                    Stat::Min => totals.min(&s),
                    Stat::Max => totals.max(&s),
                    Stat::Median | Stat::Stdev => {
                        let df = collect(lf.clone().select([stat_expr(column, *stat)]))?;
                        first_number(&df)
                    }
                };
                o.observed_value = value.map(Value::from);
            }
            Check::Map {
                rule: MapRule::NotNull,
                ..
            } => {
                counted(&mut o);
                // The unexpected values are the nulls: no need to read them.
                let n = o.unexpected.unwrap_or(0).min(u64::from(SAMPLE)) as usize;
                o.sample = vec![Value::Null; n];
            }
            Check::Map { column, rule, .. } => {
                counted(&mut o);
                let slices = totals.slices_with(lf, &format!("u{i}"));
                o.sample = sample(&slices, unexpected_mask(column, rule), &[column])?;
            }
            Check::Pair {
                a, b, op, ignore, ..
            } => {
                counted(&mut o);
                let slices = totals.slices_with(lf, &format!("u{i}"));
                o.sample = sample(&slices, pair_mask(a, b, *op, *ignore).1, &[a, b])?;
            }
            Check::Unique { column, .. } => {
                counted(&mut o);
                let keep = col(column.as_str()).is_not_null();
                duplicates(lf, &[column], keep, rows.div_ceil(pass_rows.max(1)), &mut o)?;
            }
            Check::Compound {
                columns, ignore, ..
            } => {
                counted(&mut o);
                let keep = compound_keep(columns, *ignore);
                let cols: Vec<&String> = columns.iter().collect();
                duplicates(lf, &cols, keep, rows.div_ceil(pass_rows.max(1)), &mut o)?;
            }
        }
        out.push(o);
    }
    Ok(out)
}

/// Runs a query on the streaming engine (polars runs what it cannot stream in memory, over
/// the columns the query reads).
fn collect(lf: LazyFrame) -> PolarsResult<DataFrame> {
    lf.with_streaming(true).collect()
}

/// The aggregate expressions expectation `i` adds to the one pass.
fn aggregates(i: usize, check: &Check) -> Vec<Expr> {
    let u = format!("u{i}");
    let n = format!("n{i}");
    let sum = |mask: Expr, name: &str| mask.cast(DataType::UInt64).sum().alias(name);
    match check {
        Check::Map { column, rule, .. } => {
            let considered = match rule {
                MapRule::NotNull | MapRule::Null => len().cast(DataType::UInt64),
                _ => col(column.as_str()).count().cast(DataType::UInt64),
            };
            vec![sum(unexpected_mask(column, rule), &u), considered.alias(n)]
        }
        Check::Pair {
            a, b, op, ignore, ..
        } => {
            let (kept, unexpected) = pair_mask(a, b, *op, *ignore);
            vec![sum(unexpected, &u), sum(kept, &n)]
        }
        Check::Unique { column, .. } => {
            vec![col(column.as_str()).count().cast(DataType::UInt64).alias(n)]
        }
        Check::Compound {
            columns, ignore, ..
        } => vec![sum(compound_keep(columns, *ignore), &n)],
        Check::Stat { column, stat, .. } => {
            let c = col(column.as_str()).cast(DataType::Float64);
            match stat {
                // A mean is combined across slices from a sum and a count.
                Stat::Mean => vec![
                    c.clone().sum().alias(format!("s{i}")),
                    c.count().cast(DataType::UInt64).alias(format!("c{i}")),
                ],
                Stat::Min | Stat::Max => vec![stat_expr(column, *stat).alias(format!("s{i}"))],
                // The median and the standard deviation get a query of their own, holding
                // that one column.
                Stat::Median | Stat::Stdev => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

fn stat_expr(column: &str, stat: Stat) -> Expr {
    let c = col(column).cast(DataType::Float64);
    match stat {
        Stat::Mean => c.mean(),
        Stat::Min => c.min(),
        Stat::Max => c.max(),
        Stat::Median => c.median(),
        Stat::Stdev => c.std(1),
    }
}

/// The first cell of a one-row result, as a number.
fn first_number(df: &DataFrame) -> Option<f64> {
    df.get_columns()
        .first()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| f64_of(&v))
}

/// True on the rows a per-row rule finds unexpected; a null value is never unexpected
/// except to the null checks.
pub fn unexpected_mask(column: &str, rule: &MapRule) -> Expr {
    let c = col(column);
    let ok = match rule {
        MapRule::NotNull => return c.is_null(),
        MapRule::Null => return c.is_not_null(),
        MapRule::Between(range) => in_range(c, range),
        MapRule::InSet(set) => in_set(c, set),
        MapRule::NotInSet(set) => in_set(c, set).not(),
        MapRule::Regex(re) => c.str().contains(lit(re.as_str()), true),
        MapRule::NotRegex(re) => c.str().contains(lit(re.as_str()), true).not(),
        MapRule::Lengths(range) => in_range(c.str().len_chars(), range),
        MapRule::LengthEquals(n) => c.str().len_chars().cast(DataType::UInt64).eq(lit(*n)),
    };
    ok.not().fill_null(lit(false))
}

fn bound_lit(b: &Bound) -> Expr {
    match b {
        Bound::Int(i) => lit(*i),
        Bound::Float(f) => lit(*f),
        Bound::Text(s) => lit(s.as_str()),
    }
}

fn in_range(x: Expr, range: &Range) -> Expr {
    let lower = range.min.as_ref().map(|b| {
        if range.strict_min {
            x.clone().gt(bound_lit(b))
        } else {
            x.clone().gt_eq(bound_lit(b))
        }
    });
    let upper = range.max.as_ref().map(|b| {
        if range.strict_max {
            x.clone().lt(bound_lit(b))
        } else {
            x.clone().lt_eq(bound_lit(b))
        }
    });
    match (lower, upper) {
        (Some(l), Some(u)) => l.and(u),
        (Some(l), None) => l,
        (None, Some(u)) => u,
        // Range::read refuses a range with neither bound.
        (None, None) => lit(true),
    }
}

/// Membership in a value set; numbers are compared as floats (`1` matches `1.0`, as in
/// pandas), strings and booleans as they are.
fn in_set(c: Expr, set: &[Value]) -> Expr {
    let values: Vec<&Value> = set.iter().filter(|v| !v.is_null()).collect();
    let series = if values.iter().all(|v| v.is_boolean()) && !values.is_empty() {
        let bools: Vec<bool> = values.iter().filter_map(|v| v.as_bool()).collect();
        Series::new("set".into(), bools)
    } else if values.iter().all(|v| v.is_number()) && !values.is_empty() {
        let nums: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
        return c
            .cast(DataType::Float64)
            .is_in(lit(Series::new("set".into(), nums)));
    } else {
        let strs: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        Series::new("set".into(), strs)
    };
    c.is_in(lit(series))
}

/// (rows kept, rows unexpected) of a column pair: a comparison with a null is false, as in
/// pandas, so a kept row with one null is unexpected.
fn pair_mask(a: &str, b: &str, op: PairOp, ignore: PairIgnore) -> (Expr, Expr) {
    let (ca, cb) = (col(a), col(b));
    let ignored = match ignore {
        PairIgnore::Both => ca.clone().is_null().and(cb.clone().is_null()),
        PairIgnore::Either => ca.clone().is_null().or(cb.clone().is_null()),
        PairIgnore::Neither => lit(false),
    };
    let ok = match op {
        PairOp::Greater { or_equal: true } => ca.gt_eq(cb),
        PairOp::Greater { or_equal: false } => ca.gt(cb),
        PairOp::Equal => ca.eq(cb),
    };
    let kept = ignored.not();
    (kept.clone(), kept.and(ok.fill_null(lit(false)).not()))
}

fn compound_keep(columns: &[String], ignore: CompoundIgnore) -> Expr {
    let nulls = columns.iter().map(|c| col(c.as_str()).is_null());
    match ignore {
        CompoundIgnore::All => nulls.reduce(Expr::and).map_or(lit(true), Expr::not),
        CompoundIgnore::Any => nulls.reduce(Expr::or).map_or(lit(true), Expr::not),
        CompoundIgnore::Never => lit(true),
    }
}

/// Rows per pass of a uniqueness check. Above it the check runs in several passes, each
/// over the rows whose key hashes to one partition, so one group-by holds about this many
/// distinct keys at most: memory stays bounded as the data grows, for one more read of the
/// key columns per pass.
pub const UNIQUE_PASS_ROWS: u64 = 4_000_000;

/// Counts the rows of duplicate groups (every row of a group with more than one), among the
/// rows `keep` selects, in `passes` passes; the sample is the first duplicated values (or tuples), sorted.
/// A duplicate's rows share a key, hence a partition: the partitions' counts add up, and the
/// first [`SAMPLE`] of the partitions' first [`SAMPLE`] are the first overall.
fn duplicates(
    lf: &LazyFrame,
    columns: &[&String],
    keep: Expr,
    passes: u64,
    o: &mut Observed,
) -> PolarsResult<()> {
    let keys: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
    let passes = passes.max(1);
    let mut unexpected = 0u64;
    let mut heads = Vec::new();
    for pass in 0..passes {
        let rows_of_pass = if passes == 1 {
            keep.clone()
        } else {
            keep.clone()
                .and((partition_hash(&keys) % lit(passes)).eq(lit(pass)))
        };
        let groups = collect(
            lf.clone()
                .filter(rows_of_pass)
                .group_by(keys.clone())
                .agg([len().cast(DataType::UInt64).alias("__weir_n")])
                .filter(col("__weir_n").gt(lit(1u64))),
        )?;
        unexpected += groups
            .column("__weir_n")
            .ok()
            .and_then(|c| c.as_materialized_series().sum::<u64>().ok())
            .unwrap_or(0);
        if groups.height() > 0 {
            heads.push(first_sorted(groups.lazy(), &keys)?.lazy());
        }
    }
    o.unexpected = Some(unexpected);
    if !heads.is_empty() {
        let head = first_sorted(concat(heads, UnionArgs::default())?, &keys)?;
        o.sample = rows_as_json(&head, columns, columns.len() > 1);
    }
    Ok(())
}

/// The first [`SAMPLE`] rows of `keys`, sorted by them.
fn first_sorted(lf: LazyFrame, keys: &[Expr]) -> PolarsResult<DataFrame> {
    lf.select(keys)
        .sort_by_exprs(keys, SortMultipleOptions::default())
        .limit(SAMPLE)
        .collect()
}

/// A hash of the key columns (fixed seeds: the same key, the same partition), combined by
/// xor for a compound key.
fn partition_hash(keys: &[Expr]) -> Expr {
    keys.iter()
        .map(|k| k.clone().hash(0x5745_4952, 1, 2, 3))
        .reduce(|a, b| a.xor(b))
        .unwrap_or_else(|| lit(0u64))
}

/// Up to [`SAMPLE`] values of `columns` on the rows `mask` selects, in row order, from the
/// slices that have any.
fn sample(slices: &[LazyFrame], mask: Expr, columns: &[&String]) -> PolarsResult<Vec<Value>> {
    let cols: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
    let mut out = Vec::new();
    for slice in slices {
        let want = SAMPLE.saturating_sub(out.len() as u32);
        if want == 0 {
            break;
        }
        let df = collect(
            slice
                .clone()
                .filter(mask.clone())
                .select(cols.clone())
                .limit(want),
        )?;
        out.extend(rows_as_json(&df, columns, false));
    }
    Ok(out)
}

/// One JSON value per row: the value itself for one column, `[a, b]` for a pair, an object
/// per row for compound keys (`records`) (GE's shapes).
fn rows_as_json(df: &DataFrame, columns: &[&String], records: bool) -> Vec<Value> {
    (0..df.height())
        .map(|r| {
            let cell = |c: &str| {
                df.column(c)
                    .ok()
                    .and_then(|s| s.get(r).ok())
                    .map_or(Value::Null, |v| any_to_json(&v))
            };
            match columns {
                [one] => cell(one),
                [a, b] if !records => Value::Array(vec![cell(a), cell(b)]),
                many => Value::Object(many.iter().map(|c| ((*c).clone(), cell(c))).collect()),
            }
        })
        .collect()
}

/// A column type under the names pandas gives it (`int64`, `float64`, `bool`, `str`, …).
pub fn type_name(dtype: &DataType) -> String {
    match dtype {
        DataType::String => "str".to_owned(),
        DataType::Boolean => "bool".to_owned(),
        DataType::Date => "datetime64[s]".to_owned(),
        DataType::Datetime(unit, _) => format!("datetime64[{unit}]"),
        DataType::Int8 => "int8".to_owned(),
        DataType::Int16 => "int16".to_owned(),
        DataType::Int32 => "int32".to_owned(),
        DataType::Int64 => "int64".to_owned(),
        DataType::UInt8 => "uint8".to_owned(),
        DataType::UInt16 => "uint16".to_owned(),
        DataType::UInt32 => "uint32".to_owned(),
        DataType::UInt64 => "uint64".to_owned(),
        DataType::Float32 => "float32".to_owned(),
        DataType::Float64 => "float64".to_owned(),
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
