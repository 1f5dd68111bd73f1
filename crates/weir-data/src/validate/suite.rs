//! Loading an expectation suite: the file's text, `${VAR}` / `${VAR:-default}` from the
//! environment (the seed's `ConfigLoader`), YAML or JSON in Great Expectations' own shape,
//! and `${ref:a.b.c}` references to other values of the same document (its
//! `retrieve_nested_value`).
//!
//! Substitution happens on the text, before parsing, as the seed's loader did, so
//! `mostly: ${MOSTLY:-0.95}` reads as a number. A reference is resolved after parsing and
//! replaces the whole scalar with the value found (a list, a number, a mapping), so one
//! `value_set` can serve several expectations.

use serde_json::{Map, Value};

use super::SuiteError;

/// A suite as Great Expectations writes one: a name and expectations, each a `type` and
/// its `kwargs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// The suite's `name` (`expectation_suite_name` in GE 0.x files).
    pub name: String,
    /// The expectations, in file order.
    pub expectations: Vec<RawExpectation>,
}

/// One expectation as written: its GE type name and keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct RawExpectation {
    /// GE's type name, e.g. `expect_column_values_to_not_be_null`.
    pub kind: String,
    /// GE's kwargs (`column`, `mostly`, …).
    pub kwargs: Map<String, Value>,
}

/// Keys of an expectation GE writes besides `type` and `kwargs`.
const EXPECTATION_KEYS: &[&str] = &[
    "type",
    "expectation_type",
    "kwargs",
    "meta",
    "id",
    "notes",
    "description",
    "rendered_content",
    "severity",
];

/// Reads and parses the suite at `path`, with variables from the process environment.
pub fn load(path: &str) -> Result<Suite, SuiteError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SuiteError::file(path, &format!("cannot read the suite: {e}")))?;
    parse(&text, path, &|name| std::env::var(name).ok())
}

/// Parses suite text; `env` looks variables up.
pub fn parse(
    text: &str,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Suite, SuiteError> {
    let text = substitute(text, env).map_err(|e| SuiteError::file(path, &e))?;
    let doc: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text)
            .map_err(|e| SuiteError::file(path, &format!("not valid JSON: {e}")))?
    } else {
        serde_saphyr::from_str(&text)
            .map_err(|e| SuiteError::file(path, &format!("not valid YAML: {}", one_line(&e))))?
    };
    let doc = resolve_refs(&doc, &doc, 0).map_err(|e| SuiteError::file(path, &e))?;
    from_document(&doc, path)
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces `${NAME}` and `${NAME:-default}`; an unset variable without a default is an
/// error naming it and its line. `$${` stays a literal `${`.
pub fn substitute(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if at > 0 && rest.as_bytes()[at - 1] == b'$' {
            out.push_str(&rest[..at - 1]);
            out.push_str("${");
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        let body_start = &rest[at + 2..];
        let Some(end) = body_start.find('}') else {
            out.push_str(&rest[at..]);
            return Ok(out);
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        if !is_var_name(name) {
            // Not a variable (`${ref:…}` and anything else): left for later stages.
            out.push_str(&rest[at..at + 3 + end]);
        } else {
            match (env(name), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    let line = text[..text.len() - rest.len() + at].lines().count().max(1);
                    return Err(format!(
                        "line {line}: environment variable {name} is not set and has no \
                         default (write ${{{name}:-default}})"
                    ));
                }
            }
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How deep references may chain (a reference to a reference …) before it is a cycle.
const MAX_REF_DEPTH: usize = 16;

/// Replaces every scalar `${ref:a.b.c}` with the value at that path of `root`.
fn resolve_refs(value: &Value, root: &Value, depth: usize) -> Result<Value, String> {
    match value {
        Value::String(s) => match s.strip_prefix("${ref:").and_then(|r| r.strip_suffix('}')) {
            Some(path) => {
                if depth >= MAX_REF_DEPTH {
                    return Err(format!("reference ${{ref:{path}}} refers to itself"));
                }
                let found = retrieve_nested_value(root, path)
                    .ok_or_else(|| format!("reference ${{ref:{path}}}: no value at {path}"))?;
                resolve_refs(found, root, depth + 1)
            }
            None => Ok(value.clone()),
        },
        Value::Array(items) => items
            .iter()
            .map(|v| resolve_refs(v, root, depth))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), resolve_refs(v, root, depth)?)))
            .collect::<Result<_, String>>()
            .map(Value::Object),
        _ => Ok(value.clone()),
    }
}

/// The value at a dotted path (`thresholds.amount.max`, list items by index: `sets.0`).
pub fn retrieve_nested_value<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |node, key| match node {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn from_document(doc: &Value, path: &str) -> Result<Suite, SuiteError> {
    let Value::Object(map) = doc else {
        return Err(SuiteError::file(
            path,
            "a suite is a mapping with `expectations: [...]`",
        ));
    };
    // Keys besides GE's (`meta`, `id`, …) are allowed at the top: a place for values that
    // `${ref:…}` uses.
    let name = ["name", "expectation_suite_name"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
        .unwrap_or("suite")
        .to_owned();
    let Some(list) = map.get("expectations") else {
        return Err(SuiteError::file(path, "no `expectations` list"));
    };
    let Value::Array(items) = list else {
        return Err(SuiteError::file(path, "`expectations` is not a list"));
    };
    let expectations = items
        .iter()
        .enumerate()
        .map(|(i, item)| expectation(i, item))
        .collect::<Result<_, _>>()?;
    Ok(Suite { name, expectations })
}

fn expectation(index: usize, item: &Value) -> Result<RawExpectation, SuiteError> {
    let at = |field: &str, reason: &str| SuiteError::at(index, None, field, reason);
    let Value::Object(map) = item else {
        return Err(at(
            "",
            "an expectation is a mapping with `type` and `kwargs`",
        ));
    };
    if let Some(key) = map.keys().find(|k| !EXPECTATION_KEYS.contains(&k.as_str())) {
        return Err(at(key, "unknown key (an expectation has type and kwargs)"));
    }
    let kind = match map.get("type").or_else(|| map.get("expectation_type")) {
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => return Err(at("type", "not a string")),
        None => return Err(at("type", "missing")),
    };
    let kwargs = match map.get("kwargs") {
        Some(Value::Object(kwargs)) => kwargs.clone(),
        Some(Value::Null) | None => Map::new(),
        Some(_) => {
            return Err(SuiteError::at(
                index,
                Some(&kind),
                "kwargs",
                "not a mapping",
            ));
        }
    };
    Ok(RawExpectation { kind, kwargs })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "MOSTLY").then(|| "0.9".to_owned())
    }

    #[test]
    fn variables_are_substituted_with_defaults_and_unset_ones_are_named() {
        assert_eq!(
            substitute("a: ${MOSTLY}\nb: ${NOPE:-x y}\nc: $${MOSTLY}", &env).unwrap(),
            "a: 0.9\nb: x y\nc: ${MOSTLY}"
        );
        let err = substitute("a: 1\nb: ${NOPE}\n", &env).unwrap_err();
        assert!(err.contains("line 2") && err.contains("NOPE"), "{err}");
        assert_eq!(substitute("r: ${ref:a.b}", &env).unwrap(), "r: ${ref:a.b}");
    }

    #[test]
    fn a_ge_suite_parses_with_references_and_numbers_from_the_environment() {
        let text = "name: batch\nsets:\n  currencies: [EUR, USD]\nexpectations:\n  \
                    - type: expect_column_values_to_be_in_set\n    kwargs: {column: c, \
                    value_set: '${ref:sets.currencies}', mostly: ${MOSTLY}}\n";
        let suite = parse(text, "s.yaml", &env).unwrap();
        assert_eq!(suite.name, "batch");
        let kwargs = &suite.expectations[0].kwargs;
        assert_eq!(kwargs["value_set"], serde_json::json!(["EUR", "USD"]));
        assert_eq!(kwargs["mostly"], serde_json::json!(0.9));
    }

    #[test]
    fn bad_documents_name_the_file_and_the_field() {
        let err = parse("expectations: [", "s.yaml", &env)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.yaml: not valid YAML"), "{err}");
        let err = parse("{\"expectations\": [{\"kwargs\": {}}]}", "s.json", &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("expectation 1") && err.contains("type"),
            "{err}"
        );
        let err = parse("x: '${ref:a.b}'\nexpectations: []", "s.yaml", &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.b"), "{err}");
    }
}
