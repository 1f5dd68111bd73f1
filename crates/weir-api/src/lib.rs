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
}

/// A CRD as the YAML document written to `crds/<plural>.yaml` (and printed by `weir crd`).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_saphyr::ser::Error> {
    serde_saphyr::to_string(crd)
}
