//! Fan-out items and children.

use std::num::NonZeroUsize;

use serde_json::json;
use weir_dag::NodeState;
use weir_dag::fanout::{
    DEFAULT_MAX_ITEMS, FanOutError, aggregate, children_to_start, items_from_literal,
    items_from_result,
};

use crate::states;

fn err(result: &str, key: Option<&str>) -> String {
    items_from_result(result, key, DEFAULT_MAX_ITEMS)
        .unwrap_err()
        .to_string()
}

#[test]
fn literal_items_are_checked_against_the_limit() {
    let items = vec![json!("2024-01-01"), json!({"table": "orders"})];
    assert_eq!(items_from_literal(items.clone(), 2).unwrap(), items);
    assert_eq!(
        items_from_literal(items, 1).unwrap_err(),
        FanOutError::TooMany { count: 2, max: 1 }
    );
}

#[test]
fn result_array_with_trailing_newline() {
    let items = items_from_result("[\"a\", 2, {\"b\": 3}]\n", None, 10).unwrap();
    assert_eq!(items, [json!("a"), json!(2), json!({"b": 3})]);
    assert!(items_from_result("[]", None, 10).unwrap().is_empty());
}

#[test]
fn result_array_under_a_key() {
    let items = items_from_result(r#"{"files": ["x", "y"], "total": 2}"#, Some("files"), 10);
    assert_eq!(items.unwrap(), [json!("x"), json!("y")]);
}

#[test]
fn result_errors_say_what_was_found() {
    assert_eq!(
        err("done.", None),
        "the result is not JSON (expected value at line 1 column 1); it starts with \"done.\""
    );
    let long = format!("{}{}", "x".repeat(59), "é!");
    assert!(err(&long, None).ends_with(&format!("\"{}é…\"", "x".repeat(59))));
    assert_eq!(
        err(r#"{"a": 1}"#, None),
        "the result is an object, not an array"
    );
    assert_eq!(err("\"[1]\"", None), "the result is a string, not an array");
    assert_eq!(
        err("[1]", Some("files")),
        "the result is an array, not an object holding `files`"
    );
    assert_eq!(
        err(r#"{"total": 2, "file": []}"#, Some("files")),
        "the result has no key `files` (its keys: file, total)"
    );
    assert_eq!(
        err(r#"{"files": "a,b"}"#, Some("files")),
        "`files` in the result is a string, not an array"
    );
    assert_eq!(
        items_from_result("[1, 2, 3]", None, 2)
            .unwrap_err()
            .to_string(),
        "3 items is more than the limit of 2"
    );
}

#[test]
fn aggregate_of_children() {
    let cases = [
        ("", NodeState::Skipped),
        ("SSA", NodeState::Active),
        ("FP", NodeState::Active),
        ("SSS", NodeState::Succeeded),
        ("SK", NodeState::Succeeded),
        ("KK", NodeState::Skipped),
        ("SF", NodeState::Failed),
        ("SU", NodeState::Failed),
    ];
    for (children, want) in cases {
        assert_eq!(aggregate(&states(children)), want, "{children:?}");
    }
}

#[test]
fn children_start_by_index_within_the_cap() {
    let children = states("SAPPFP");
    assert_eq!(children_to_start(&children, None), [2, 3, 5]);
    assert_eq!(children_to_start(&children, NonZeroUsize::new(3)), [2, 3]);
    assert!(children_to_start(&children, NonZeroUsize::new(1)).is_empty());
}
