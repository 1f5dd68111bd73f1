//! Counting in slices and uniqueness in several passes give what one pass gives.

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

fn run(batch_rows: u64, pass_rows: u64) -> Vec<Observed> {
    let lf = frame();
    let schema = lf.clone().collect_schema().unwrap();
    let kinds = [
        ("expect_column_values_to_be_unique", json!({"column": "id"})),
        (
            "expect_column_values_to_be_unique",
            json!({"column": "name"}),
        ),
        (
            "expect_compound_columns_to_be_unique",
            json!({"column_list": ["a", "b"]}),
        ),
        (
            "expect_compound_columns_to_be_unique",
            json!({"column_list": ["a", "b"], "ignore_row_if": "any_value_is_missing"}),
        ),
        (
            "expect_table_row_count_to_be_between",
            json!({"min_value": 1}),
        ),
        (
            "expect_column_values_to_not_be_null",
            json!({"column": "a"}),
        ),
        (
            "expect_column_values_to_be_between",
            json!({"column": "a", "min_value": 3, "max_value": 80}),
        ),
        (
            "expect_column_values_to_be_in_set",
            json!({"column": "b", "value_set": [1, 2, 3, 5, 8, 13, 21, 34, 55]}),
        ),
        (
            "expect_column_values_to_match_regex",
            json!({"column": "name", "regex": "^n[0-9]{1,3}$"}),
        ),
        (
            "expect_column_mean_to_be_between",
            json!({"column": "a", "min_value": 0}),
        ),
        (
            "expect_column_min_to_be_between",
            json!({"column": "a", "min_value": 0}),
        ),
        (
            "expect_column_max_to_be_between",
            json!({"column": "b", "max_value": 100}),
        ),
        (
            "expect_column_pair_values_a_to_be_greater_than_b",
            json!({"column_A": "a", "column_B": "b"}),
        ),
    ];
    let expectations: Vec<Expectation> = kinds
        .iter()
        .enumerate()
        .map(|(i, (kind, kwargs))| expectation(i, kind, kwargs.clone()))
        .collect();
    evaluate(&lf, &schema, &expectations, batch_rows, pass_rows).unwrap()
}

#[test]
fn passes_over_hash_partitions_agree_with_one_pass() {
    let one = run(0, u64::MAX);
    for o in &one[..4] {
        assert!(
            o.unexpected.unwrap_or(0) > 0,
            "duplicates in every check: {one:?}"
        );
    }
    for pass_rows in [5_000, 1_000, 333] {
        assert_eq!(run(0, pass_rows), one, "{pass_rows} rows per pass");
    }
}

/// Counts, statistics and samples (the first unexpected values in row order, some of them
/// beyond the first slice) are the same whatever the slices.
#[test]
fn slices_agree_with_one_piece() {
    let one = run(0, u64::MAX);
    for o in &one[5..9] {
        assert!(
            o.unexpected.unwrap_or(0) > 0,
            "unexpected rows in every check: {one:?}"
        );
    }
    for batch_rows in [10_000, 5_000, 1_024, 97] {
        let sliced = run(batch_rows, u64::MAX);
        for (i, (a, b)) in sliced.iter().zip(&one).enumerate() {
            match (&a.observed_value, &b.observed_value) {
                (Some(x), Some(y)) if x.is_f64() => {
                    let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                    assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{i}: {x} vs {y}");
                }
                (x, y) => assert_eq!(x, y, "{i}: observed value, {batch_rows} rows a slice"),
            }
            assert_eq!(
                (a.element_count, a.considered, a.unexpected, &a.sample),
                (b.element_count, b.considered, b.unexpected, &b.sample),
                "{i}: {batch_rows} rows a slice"
            );
        }
    }
}
