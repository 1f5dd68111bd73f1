//! Documents → weir's API types: which kind each document is, its metadata, and its spec
//! deserialized the way the controller will read it, with every problem on the way (unknown
//! kind, unknown fields, values of the wrong type) named by its field path.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::Value;
use weir_api::v1alpha1::{DbtRunSpec, PipelineRunSpec, PipelineSpec, SparkJobSpec};
use weir_core::Problem;

use super::documents::Document;
use super::schema::Schemas;

/// What a document holds, once it deserialized.
#[derive(Debug, Clone)]
pub(crate) enum Spec {
    /// A Pipeline.
    Pipeline(Box<PipelineSpec>),
    /// A PipelineRun.
    PipelineRun(Box<PipelineRunSpec>),
    /// A standalone SparkJob.
    SparkJob(Box<SparkJobSpec>),
    /// A standalone DbtRun.
    DbtRun(Box<DbtRunSpec>),
    /// A ConfigMap: the keys of `data`, which templates may come from.
    ConfigMap(BTreeMap<String, String>),
}

/// One document read as a resource.
#[derive(Debug, Clone)]
pub(crate) struct Resource<'d> {
    /// The document.
    pub doc: &'d Document,
    /// `kind`, or empty when missing.
    pub kind: String,
    /// `metadata`, default when missing or unreadable.
    pub meta: ObjectMeta,
    /// The spec, when it deserialized.
    pub spec: Option<Spec>,
    /// Everything wrong found while reading it.
    pub problems: Vec<Problem>,
}

impl Resource<'_> {
    /// `metadata.name`, or empty.
    pub fn name(&self) -> &str {
        self.meta.name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, or `default` as kubectl would use.
    pub fn namespace(&self) -> &str {
        self.meta.namespace.as_deref().unwrap_or("default")
    }

    /// `Kind/name` for messages (`Kind/prefix-*` for a generated name).
    pub fn title(&self) -> String {
        match (&self.meta.name, &self.meta.generate_name) {
            (None, Some(prefix)) => format!("{}/{prefix}*", self.kind),
            _ => format!("{}/{}", self.kind, self.name()),
        }
    }
}

const WEIR_KINDS: [&str; 4] = ["Pipeline", "PipelineRun", "SparkJob", "DbtRun"];

/// Reads one document.
pub(crate) fn read<'d>(doc: &'d Document, schemas: &Schemas) -> Resource<'d> {
    let mut r = Resource {
        doc,
        kind: String::new(),
        meta: ObjectMeta::default(),
        spec: None,
        problems: Vec::new(),
    };
    let Value::Object(map) = &doc.value else {
        r.problem(
            "",
            "a resource must be a YAML mapping with apiVersion, kind, metadata and spec",
        );
        return r;
    };
    let api_version = string_field(&mut r, map, "apiVersion");
    let kind = string_field(&mut r, map, "kind");
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return r;
    };
    r.kind = kind.clone();
    let group_version = format!("{}/{}", weir_api::GROUP, weir_api::VERSION);
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap") => {
            read_meta(&mut r, map, false);
            r.spec = Some(Spec::ConfigMap(config_map_data(&mut r, map)));
        }
        (v, k) if WEIR_KINDS.contains(&k) && v == group_version => {
            r.problems.extend(schemas.check(k, &doc.value));
            read_meta(&mut r, map, k == "PipelineRun");
            r.spec = read_spec(&mut r, map, k);
        }
        (_, k) if WEIR_KINDS.contains(&k) => {
            r.problem(
                "apiVersion",
                format!("{k} is served as {group_version}, not {api_version}"),
            );
        }
        _ => r.problem(
            "kind",
            format!(
                "unknown kind {kind} ({api_version}): weir reads Pipeline, PipelineRun, SparkJob and \
                 DbtRun ({group_version}), and ConfigMaps holding templates"
            ),
        ),
    }
    r
}

impl Resource<'_> {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }
}

fn string_field(
    r: &mut Resource<'_>,
    map: &serde_json::Map<String, Value>,
    key: &str,
) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) | None => {
            r.problem(key, format!("missing {key}"));
            None
        }
        Some(other) => {
            r.problem(
                key,
                format!("{key} must be a string, not {}", describe(other)),
            );
            None
        }
    }
}

fn read_meta(r: &mut Resource<'_>, map: &serde_json::Map<String, Value>, generate_ok: bool) {
    let Some(meta) = map.get("metadata") else {
        r.problem(
            "metadata",
            "missing metadata (a resource needs metadata.name)",
        );
        return;
    };
    match deserialize::<ObjectMeta>(meta, "metadata") {
        Ok(m) => r.meta = m,
        Err(p) => {
            r.problems.push(p);
            return;
        }
    }
    match (&r.meta.name, &r.meta.generate_name) {
        (Some(name), _) => {
            if let Some(why) = invalid_name(name) {
                r.problem(
                    "metadata.name",
                    format!("{name:?} is not a valid name: {why}"),
                );
            }
        }
        (None, Some(_)) if generate_ok => {}
        (None, Some(_)) => r.problem(
            "metadata.name",
            "missing metadata.name (generateName only suits resources created with kubectl create)",
        ),
        (None, None) => r.problem("metadata.name", "missing metadata.name"),
    }
}

fn read_spec(
    r: &mut Resource<'_>,
    map: &serde_json::Map<String, Value>,
    kind: &str,
) -> Option<Spec> {
    let Some(spec) = map.get("spec") else {
        r.problem("spec", format!("missing spec (a {kind} needs one)"));
        return None;
    };
    let result = match kind {
        "Pipeline" => deserialize(spec, "spec").map(|s| Spec::Pipeline(Box::new(s))),
        "PipelineRun" => deserialize(spec, "spec").map(|s| Spec::PipelineRun(Box::new(s))),
        "SparkJob" => deserialize(spec, "spec").map(|s| Spec::SparkJob(Box::new(s))),
        _ => deserialize(spec, "spec").map(|s| Spec::DbtRun(Box::new(s))),
    };
    match result {
        Ok(s) => Some(s),
        Err(p) => {
            // One line per problem: the schema check may have named this field already
            // (a number past its maximum is also one its Rust type cannot hold).
            if !r.problems.iter().any(|q| q.path == p.path) {
                r.problems.push(p);
            }
            None
        }
    }
}

fn config_map_data(
    r: &mut Resource<'_>,
    map: &serde_json::Map<String, Value>,
) -> BTreeMap<String, String> {
    match map.get("data") {
        None => BTreeMap::new(),
        Some(data) => deserialize(data, "data").unwrap_or_else(|p| {
            r.problems.push(p);
            BTreeMap::new()
        }),
    }
}

/// Deserializes `value` into `T`, naming the failing field's path under `root`.
fn deserialize<T: DeserializeOwned>(value: &Value, root: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." {
            root.to_string()
        } else {
            format!("{root}.{inner}")
        };
        Problem {
            path,
            message: e.into_inner().to_string(),
        }
    })
}

/// Why `name` is not a valid object name (a DNS-1123 subdomain), if it is not.
fn invalid_name(name: &str) -> Option<&'static str> {
    if name.len() > 253 {
        return Some("longer than 253 characters");
    }
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !name.chars().all(|c| ok(c) || c == '-' || c == '.') {
        return Some("use only lowercase letters, digits, '-' and '.'");
    }
    if !name.starts_with(ok) || !name.ends_with(ok) {
        return Some("start and end with a lowercase letter or digit");
    }
    None
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::documents::{Source, load};

    fn read_all(text: &str) -> Vec<(String, Vec<String>)> {
        let (docs, findings) = load(&[Source {
            name: "f.yaml".into(),
            bytes: text.as_bytes().to_vec(),
        }]);
        assert!(findings.is_empty(), "{findings:?}");
        let schemas = Schemas::get();
        docs.iter()
            .map(|d| {
                let r = read(d, schemas);
                (
                    r.title(),
                    r.problems.iter().map(ToString::to_string).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn kinds_and_their_problems() {
        let got = read_all(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n\
             apiVersion: weir.dev/v1\nkind: Pipeline\n---\n\
             kind: Pipeline\n---\n\
             apiVersion: weir.dev/v1alpha1\nkind: SparkJob\nmetadata: {name: Bad}\nspec: {image: i}\n---\n\
             apiVersion: weir.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: p}\nspec: {steps: [{name: a, retries: {limit: -1}}]}\n",
        );
        assert_eq!(
            got[0].1,
            [
                "kind: unknown kind Service (v1): weir reads Pipeline, PipelineRun, SparkJob and DbtRun (weir.dev/v1alpha1), and ConfigMaps holding templates"
            ]
        );
        assert_eq!(
            got[1].1,
            ["apiVersion: Pipeline is served as weir.dev/v1alpha1, not weir.dev/v1"]
        );
        assert_eq!(got[2].1, ["apiVersion: missing apiVersion"]);
        assert_eq!(
            got[3].1,
            [
                "metadata.name: \"Bad\" is not a valid name: use only lowercase letters, digits, '-' and '.'",
                "spec: missing field `mainApplicationFile`",
            ]
        );
        assert_eq!(
            got[4].1,
            ["spec.steps[0].retries.limit: -1 is less than the minimum 0",]
        );
    }

    #[test]
    fn names() {
        assert_eq!(invalid_name("batch-2024.05"), None);
        assert!(invalid_name("-x").is_some());
        assert!(invalid_name("a_b").is_some());
    }
}
