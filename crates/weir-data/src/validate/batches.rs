//! The counting pass in slices of rows, so that its memory follows a slice, not the data.
//!
//! polars 0.46 runs a `select` of aggregates on its in-memory engine (its old streaming
//! engine does not take `len()`), reading every column the pass names whole: 20 M rows took
//! 1.8 GiB. A slice of a Parquet scan reads only the row groups it covers, so the pass runs
//! slice by slice: counts add up, minimums and maximums combine, and a mean is a sum over a
//! count. The sample of unexpected values is taken from the first slices that have any.

use polars::prelude::*;

use super::values::f64_of;

/// Rows per slice of a Parquet scan's counting pass.
pub const BATCH_ROWS: u64 = 1 << 21;

/// The one-row results of the counting pass, a slice each, with where each slice starts.
pub struct Batches {
    slices: Vec<(i64, DataFrame)>,
    rows_per: u64,
}

/// Runs `exprs` (one of them `len()` named `rows`) over `lf` in slices of `rows_per` rows
/// (0: in one piece, as for CSV, where a slice re-reads what comes before it).
pub fn count(lf: &LazyFrame, exprs: &[Expr], rows_per: u64) -> PolarsResult<Batches> {
    let rows_per = if rows_per >= u64::from(IdxSize::MAX) {
        0
    } else {
        rows_per
    };
    let mut slices = Vec::new();
    let mut offset = 0u64;
    loop {
        let part = if rows_per == 0 {
            lf.clone()
        } else {
            lf.clone().slice(offset as i64, rows_per as IdxSize)
        };
        let df = part.with_streaming(true).select(exprs).collect()?;
        let rows = number(&df, "rows").unwrap_or(0.0) as u64;
        slices.push((offset as i64, df));
        if rows_per == 0 || rows < rows_per {
            break;
        }
        offset += rows_per;
    }
    Ok(Batches { slices, rows_per })
}

fn number(df: &DataFrame, name: &str) -> Option<f64> {
    df.column(name)
        .ok()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| f64_of(&v))
}

impl Batches {
    fn each(&self, name: &str) -> impl Iterator<Item = f64> + '_ {
        let name = name.to_owned();
        self.slices
            .iter()
            .filter_map(move |(_, df)| number(df, &name))
    }

    /// The sum over the slices (None when no slice has the value).
    pub fn total(&self, name: &str) -> Option<f64> {
        self.each(name)
            .fold(None, |acc, x| Some(acc.unwrap_or(0.0) + x))
    }

    /// The smallest of the slices' values.
    pub fn min(&self, name: &str) -> Option<f64> {
        self.each(name).reduce(f64::min)
    }

    /// The largest of the slices' values.
    pub fn max(&self, name: &str) -> Option<f64> {
        self.each(name).reduce(f64::max)
    }

    /// `sum / count` over the slices; None without a counted value.
    pub fn mean(&self, sum: &str, count: &str) -> Option<f64> {
        let n = self.total(count)?;
        (n > 0.0).then(|| self.total(sum).unwrap_or(0.0) / n)
    }

    /// The slices of `lf` whose value `name` is above zero, in row order.
    pub fn slices_with(&self, lf: &LazyFrame, name: &str) -> Vec<LazyFrame> {
        self.slices
            .iter()
            .filter(|(_, df)| number(df, name).unwrap_or(0.0) > 0.0)
            .map(|(offset, _)| self.slice(lf, *offset))
            .collect()
    }

    fn slice(&self, lf: &LazyFrame, offset: i64) -> LazyFrame {
        if self.rows_per == 0 {
            lf.clone()
        } else {
            lf.clone().slice(offset, self.rows_per as IdxSize)
        }
    }
}
