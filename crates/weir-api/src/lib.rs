//! weir's API: the custom resources of `weir.dev/v1alpha1` (`Pipeline`, `PipelineRun`,
//! `SparkJob`, `DbtRun`), the condition and label vocabulary shared by every other crate,
//! and nothing else.
//!
//! This crate must stay free of any client, runtime or async code: it is compiled into the
//! pure crates (planner, renderer) as well as the controller. The CRD schemas in `crds/` are
//! generated from these types (`weir crd`), so every field's doc comment is what a user reads
//! in `kubectl explain`.

pub mod conditions;
pub mod labels;
pub mod reason;
pub mod v1alpha1;

/// The API group of every weir resource.
pub const GROUP: &str = "weir.dev";
/// The only served version.
pub const VERSION: &str = "v1alpha1";
/// The field manager weir uses for every server-side apply.
pub const FIELD_MANAGER: &str = "weir.dev/controller";

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// Every CRD weir serves, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    use v1alpha1::{DbtRun, Pipeline, PipelineRun, SparkJob};
    vec![
        Pipeline::crd(),
        PipelineRun::crd(),
        SparkJob::crd(),
        DbtRun::crd(),
    ]
    .into_iter()
    .map(kubernetes_formats)
    .collect()
}

/// The integer formats the API server knows. schemars names Rust's unsigned types
/// (`uint32`, `uint16`, ...), which `kubectl apply` warns about (`unrecognized format`);
/// each becomes the signed format that holds all its values, with the upper bound kept
/// as a `maximum` (schemars already sets `minimum: 0`).
fn kubernetes_formats(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                let known = match map.get("format").and_then(|f| f.as_str()) {
                    Some("uint8") => Some(("int32", Some(u32::from(u8::MAX)))),
                    Some("uint16") => Some(("int32", Some(u32::from(u16::MAX)))),
                    Some("uint32") => Some(("int64", Some(u32::MAX))),
                    Some("uint64" | "uint") => Some(("int64", None)),
                    _ => None,
                };
                if let Some((format, max)) = known {
                    map.insert("format".into(), format.into());
                    if let Some(max) = max {
                        map.entry("maximum").or_insert_with(|| max.into());
                    }
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&crd) else {
        return crd;
    };
    walk(&mut value);
    // The walk only rewrites `format` strings and adds numeric `maximum`s, both fields of
    // the schema type: reading it back cannot fail, and the original is kept if it did.
    serde_json::from_value(value).unwrap_or(crd)
}

/// A CRD as the YAML document written to `crds/<plural>.yaml` (and printed by `weir crd`).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(crd)
}
