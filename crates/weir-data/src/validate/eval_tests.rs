//! Uniqueness in several passes gives what one pass gives.

use polars::prelude::*;
use serde_json::json;

use super::super::expect::{Expectation, parse};
use super::super::suite::RawExpectation;
use super::{Observed, evaluate};

fn expectation(index: usize, kind: &str, kwargs: serde_json::Value) -> Expectation {
    let raw = RawExpectation {
        kind: kind.to_owned(),
        kwargs: kwargs.as_object().cloned().unwrap_or_default(),
    };
    parse(index, &raw).unwrap()
}

/// 10,000 rows: ids with every 7th one repeated, strings with nulls and repeats, and a
/// compound key whose tuples repeat, in a scrambled order.
fn frame() -> LazyFrame {
    let n = 10_000i64;
    let scramble = |i: i64| (i * 7919) % n;
    let ids: Vec<i64> = (0..n)
        .map(|i| {
            if scramble(i) % 7 == 0 {
                scramble(i) / 2
            } else {
                scramble(i)
            }
        })
        .collect();
    let names: Vec<Option<String>> = (0..n)
        .map(|i| (i % 11 != 0).then(|| format!("n{}", scramble(i) % 6_000)))
        .collect();
    let a: Vec<Option<i64>> = (0..n)
        .map(|i| (i % 13 != 0).then_some(scramble(i) % 90))
        .collect();
    let b: Vec<i64> = (0..n).map(|i| scramble(i) % 70).collect();
    df!("id" => ids, "name" => names, "a" => a, "b" => b)
        .unwrap()
        .lazy()
}

fn run(pass_rows: u64) -> Vec<Observed> {
    let lf = frame();
    let schema = lf.clone().collect_schema().unwrap();
    let expectations = [
        expectation(
            0,
            "expect_column_values_to_be_unique",
            json!({"column": "id"}),
        ),
        expectation(
            1,
            "expect_column_values_to_be_unique",
            json!({"column": "name"}),
        ),
        expectation(
            2,
            "expect_compound_columns_to_be_unique",
            json!({"column_list": ["a", "b"]}),
        ),
        expectation(
            3,
            "expect_compound_columns_to_be_unique",
            json!({"column_list": ["a", "b"], "ignore_row_if": "any_value_is_missing"}),
        ),
    ];
    evaluate(&lf, &schema, &expectations, pass_rows).unwrap()
}

#[test]
fn passes_over_hash_partitions_agree_with_one_pass() {
    let one = run(u64::MAX);
    for unexpected in one.iter().map(|o| o.unexpected.unwrap_or(0)) {
        assert!(
            unexpected > 0,
            "the data has duplicates for every check: {one:?}"
        );
    }
    for pass_rows in [5_000, 1_000, 333] {
        assert_eq!(run(pass_rows), one, "{pass_rows} rows per pass");
    }
}
