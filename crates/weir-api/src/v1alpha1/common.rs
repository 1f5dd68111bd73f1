//! Small types shared by several kinds: template references, env and volume shorthands,
//! delete policies, and the schema helpers that keep the generated CRDs structural.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A duration such as `90s`, `10m`, `1h30m` or `500ms` (Go's `time.ParseDuration` units,
/// without fractions). The pattern is enforced by the API server.
pub const DURATION_PATTERN: &str = r"^([0-9]+(ms|s|m|h))+$";

/// Where a template comes from. At most one source may be set; none means the kind's
/// built-in template (`job` for job steps, `spark` for Spark, `dbt` for dbt).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "(has(self.builtin) ? 1 : 0) + (has(self.configMapKeyRef) ? 1 : 0) + (has(self.inline) ? 1 : 0) <= 1"
).message("set at most one of builtin, configMapKeyRef and inline"))]
pub struct TemplateRef {
    /// A template shipped with weir: `job`, `spark` or `dbt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    /// A key of a ConfigMap in the run's namespace whose value is the template text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeyRef>,
    /// The template text itself (minijinja, Jinja2 syntax, strict about undefined names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

/// A key in a ConfigMap of the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeyRef {
    /// The ConfigMap's name.
    pub name: String,
    /// The key holding the template text.
    pub key: String,
}

/// What an `envFrom` entry points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EnvFromType {
    /// Every key of a ConfigMap becomes an environment variable.
    ConfigMapRef,
    /// Every key of a Secret becomes an environment variable.
    SecretRef,
}

/// The seed platform's `envFrom` shorthand: `{type: configMapRef, name: pipeline-env}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromRef {
    /// Whether `name` is a ConfigMap or a Secret.
    #[serde(rename = "type")]
    pub kind: EnvFromType,
    /// The ConfigMap's or Secret's name.
    pub name: String,
    /// Start the container even when the object does not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// The kind of a volume in the seed's `volumes` shorthand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum VolumeType {
    /// A Secret, named by `reference`.
    Secret,
    /// A ConfigMap, named by `reference`.
    ConfigMap,
    /// A PersistentVolumeClaim, named by `reference`.
    PersistentVolumeClaim,
    /// A scratch directory that lives as long as the pod; `reference` is unused.
    EmptyDir,
}

/// The seed platform's volume shorthand: one volume and where the main container mounts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type == 'emptyDir' || has(self.reference)")
    .message("reference is required unless type is emptyDir"))]
pub struct VolumeRef {
    /// The volume's name, unique within the pod.
    pub name: String,
    /// What backs the volume.
    #[serde(rename = "type")]
    pub kind: VolumeType,
    /// The Secret, ConfigMap or PersistentVolumeClaim name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where the main container mounts it.
    pub mount_path: String,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// What happens to a step's children once the step is finished, like the
/// KubernetesJobOperator's `delete_policy`. Deleting a run always deletes its children.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletePolicy {
    /// Keep every child until the run is deleted.
    #[default]
    Never,
    /// Delete the children as soon as the step finishes.
    Always,
    /// Delete the children of steps that succeeded; keep failures for inspection.
    IfSucceeded,
    /// Delete the children of steps that failed.
    IfFailed,
}

/// Schema for a free-form JSON object (`x-kubernetes-preserve-unknown-fields`).
pub fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema for any JSON value (`x-kubernetes-preserve-unknown-fields`, no type).
pub fn any_value(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema for an optional JSON value that may be any type.
pub fn optional_any_value(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "nullable": true, "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema for a list of free-form JSON values.
pub fn any_value_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": { "x-kubernetes-preserve-unknown-fields": true } })
}

/// Schema for `conditions`: a list keyed by `type`, as the API conventions ask.
pub fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Vec<Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    schema
}
