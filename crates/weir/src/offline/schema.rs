//! A resource checked against its CRD's OpenAPI schema, the way the API server would read it:
//! fields the schema does not know (the server silently prunes them, so a typo such as
//! `stepps` would just vanish), and the bounds, lengths and patterns it enforces.
//!
//! Types, enums and required fields are left to deserialization into the Rust types, which
//! names them just as well; CEL rules are left to weir-core's validation.

use std::collections::HashMap;
use std::sync::OnceLock;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use regex::Regex;
use serde_json::Value;
use weir_core::Problem;

/// The schemas of weir's kinds, read from the CRDs weir generates, with their patterns
/// compiled. Built once per process: generating the CRDs is the costliest part of a check.
pub(crate) struct Schemas {
    by_kind: HashMap<String, JSONSchemaProps>,
    patterns: HashMap<String, Regex>,
}

impl Schemas {
    /// Every served kind's schema.
    pub fn get() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(|| Schemas::from_crds(weir_api::crds()))
    }

    fn from_crds(crds: Vec<CustomResourceDefinition>) -> Self {
        let mut by_kind = HashMap::new();
        for crd in crds {
            let kind = crd.spec.names.kind.clone();
            let schema = crd
                .spec
                .versions
                .into_iter()
                .find(|v| v.name == weir_api::VERSION)
                .and_then(|v| v.schema)
                .and_then(|s| s.open_api_v3_schema);
            if let Some(schema) = schema {
                by_kind.insert(kind, schema);
            }
        }
        let mut patterns = HashMap::new();
        for schema in by_kind.values() {
            collect_patterns(schema, &mut patterns, 0);
        }
        Schemas { by_kind, patterns }
    }

    /// Problems of `value` (a whole resource) against the schema of `kind`.
    pub fn check(&self, kind: &str, value: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        let (Some(schema), Value::Object(root)) = (self.by_kind.get(kind), value) else {
            return out;
        };
        let mut walk = Walk {
            patterns: &self.patterns,
            out: &mut out,
        };
        // The generated schemas leave out what every object has.
        let common = ["apiVersion", "kind", "metadata"];
        let rest: serde_json::Map<String, Value> = root
            .iter()
            .filter(|(k, _)| !common.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        walk.object(&rest, schema, "", 0);
        out
    }
}

/// Compiles every `pattern` of a schema. One Rust's regex cannot compile is left to the API
/// server to judge.
fn collect_patterns(s: &JSONSchemaProps, out: &mut HashMap<String, Regex>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(p) = &s.pattern
        && !out.contains_key(p)
        && let Ok(re) = Regex::new(p)
    {
        out.insert(p.clone(), re);
    }
    let children = s
        .properties
        .iter()
        .flat_map(|m| m.values())
        .chain(match &s.items {
            Some(JSONSchemaPropsOrArray::Schema(i)) => Some(i.as_ref()),
            _ => None,
        })
        .chain(match &s.additional_properties {
            Some(JSONSchemaPropsOrBool::Schema(a)) => Some(a.as_ref()),
            _ => None,
        });
    for child in children {
        collect_patterns(child, out, depth + 1);
    }
}

/// Deeper than this the walk stops; serde-saphyr refuses deeper YAML anyway.
const MAX_DEPTH: usize = 100;

struct Walk<'a> {
    patterns: &'a HashMap<String, Regex>,
    out: &'a mut Vec<Problem>,
}

impl Walk<'_> {
    fn problem(&mut self, path: &str, message: String) {
        self.out.push(Problem {
            path: path.to_string(),
            message,
        });
    }

    fn value(&mut self, value: &Value, schema: &JSONSchemaProps, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(map) => self.object(map, schema, path, depth),
            Value::Array(items) => {
                self.bounds(
                    path,
                    items.len(),
                    schema.min_items,
                    schema.max_items,
                    "items",
                );
                if let Some(JSONSchemaPropsOrArray::Schema(item)) = &schema.items {
                    for (i, v) in items.iter().enumerate() {
                        self.value(v, item, &format!("{path}[{i}]"), depth + 1);
                    }
                }
            }
            Value::Number(n) => {
                let Some(x) = n.as_f64() else { return };
                if let Some(min) = schema.minimum
                    && x < min
                {
                    self.problem(path, format!("{n} is less than the minimum {min}"));
                }
                if let Some(max) = schema.maximum
                    && x > max
                {
                    self.problem(path, format!("{n} is more than the maximum {max}"));
                }
            }
            Value::String(s) => {
                let len = s.chars().count();
                self.bounds(
                    path,
                    len,
                    schema.min_length,
                    schema.max_length,
                    "characters",
                );
                if let Some(pattern) = &schema.pattern
                    && !self.matches(pattern, s)
                {
                    self.problem(path, format!("{s:?} does not match the pattern {pattern}"));
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn object(
        &mut self,
        map: &serde_json::Map<String, Value>,
        schema: &JSONSchemaProps,
        path: &str,
        depth: usize,
    ) {
        let open = schema.x_kubernetes_preserve_unknown_fields == Some(true);
        let extra = match &schema.additional_properties {
            Some(JSONSchemaPropsOrBool::Schema(s)) => Some(s.as_ref()),
            _ => None,
        };
        let Some(props) = &schema.properties else {
            if let Some(extra) = extra {
                for (k, v) in map {
                    self.value(v, extra, &join(path, k), depth + 1);
                }
            }
            return;
        };
        for (k, v) in map {
            let child = join(path, k);
            match props.get(k).or(extra) {
                Some(s) => self.value(v, s, &child, depth + 1),
                None if open => {}
                None => {
                    let known: Vec<&str> = props.keys().map(String::as_str).collect();
                    let hint = match suggest(k, &known) {
                        Some(s) => format!("; did you mean `{s}`?"),
                        None if known.len() <= 12 => {
                            format!("; known fields: {}", known.join(", "))
                        }
                        None => String::new(),
                    };
                    self.problem(
                        &child,
                        format!("unknown field `{k}` (the API server would drop it{hint})"),
                    );
                }
            }
        }
    }

    fn bounds(&mut self, path: &str, n: usize, min: Option<i64>, max: Option<i64>, what: &str) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if let Some(min) = min
            && n < min
        {
            self.problem(
                path,
                format!("has {n} {what}, fewer than the minimum {min}"),
            );
        }
        if let Some(max) = max
            && n > max
        {
            self.problem(path, format!("has {n} {what}, more than the maximum {max}"));
        }
    }

    fn matches(&self, pattern: &str, text: &str) -> bool {
        self.patterns
            .get(pattern)
            .is_none_or(|re| re.is_match(text))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A known name close to `name`: same letters in another case, or a small edit distance.
pub(crate) fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let d = distance(&lower, &k.to_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    let (d, k) = best?;
    let limit = (name.chars().count() / 3).max(1);
    (d <= limit).then_some(k)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(value: Value) -> Vec<String> {
        Schemas::get()
            .check("Pipeline", &value)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn unknown_fields_are_named_with_a_suggestion() {
        let p = problems(json!({
            "apiVersion": "weir.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": "x"},
            "spec": {"stepps": [], "steps": [{"name": "a", "dependson": ["b"], "job": {"image": "i", "jobArgs": {"anything": 1}}}]}
        }));
        assert_eq!(
            p,
            [
                "spec.stepps: unknown field `stepps` (the API server would drop it; did you mean `steps`?)",
                "spec.steps[0].dependson: unknown field `dependson` (the API server would drop it; did you mean `dependsOn`?)",
            ]
        );
    }

    #[test]
    fn bounds_and_patterns_are_checked() {
        let p = problems(json!({
            "spec": {"steps": [{"name": "Bad_Name", "retries": {"limit": 1000}, "job": {"image": "i"}}]}
        }));
        assert_eq!(
            p,
            [
                "spec.steps[0].name: \"Bad_Name\" does not match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                "spec.steps[0].retries.limit: 1000 is more than the maximum 100",
            ]
        );
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("stepps", "steps"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(suggest("trnsfer", &["transfer", "train"]), Some("transfer"));
        assert_eq!(suggest("zzz", &["transfer"]), None);
    }
}
