//! What a template sees: the variables weir hands to every render.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything a template can read, one top-level name per field.
///
/// weir-core builds it from the CRD types; templates are strict about undefined
/// names, so a key missing here fails the render with the name spelled out
/// instead of rendering an empty string into a manifest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenderContext {
    /// The step's `jobArgs` merged with its typed fields (image, name, command,
    /// args, env, envFrom, volumes, gitsync, resources, …), or for the `spark` and
    /// `dbt` built-ins the SparkJob / DbtRun spec in camelCase. Kept as JSON
    /// because `jobArgs` is free-form, like the seed's `jinja_job_args`.
    pub job: serde_json::Value,
    /// The run's parameters (the seed's `dag_run.conf`).
    pub params: BTreeMap<String, String>,
    /// The run this render belongs to.
    pub run: RunInfo,
    /// The step this render belongs to.
    pub step: StepInfo,
    /// The current `forEach` item, or `null` outside a fan-out.
    pub item: Option<serde_json::Value>,
    /// Environment variables for every container of the step (the seed's KJO
    /// `envs`); the built-ins also read `GITSYNC_REPO` / `GITSYNC_REF` here when
    /// `gitsync` is `true`.
    pub envs: BTreeMap<String, String>,
    /// Results of finished upstream steps, by step name.
    pub results: BTreeMap<String, serde_json::Value>,
}

/// The `run` variable: which PipelineRun is rendering.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// The PipelineRun's name.
    pub name: String,
    /// The PipelineRun's uid.
    pub uid: String,
    /// The Pipeline the run was started from.
    pub pipeline: String,
    /// The namespace everything is created in.
    pub namespace: String,
    /// Which attempt of the step this is, starting at 1.
    pub attempt: u32,
    /// When the run started, RFC 3339; a string so this crate needs no time library.
    pub start_time: Option<String>,
    /// What started the run when a bucket trigger or a webhook did: `{type, name, uri, key,
    /// size, etag, generation, time}` (`{{ run.trigger.key }}`); `null` otherwise.
    pub trigger: Option<serde_json::Value>,
}

/// The `step` variable: which step of the pipeline is rendering.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepInfo {
    /// The step's name in the Pipeline.
    pub name: String,
    /// The `forEach` index, or `null` outside a fan-out.
    pub index: Option<usize>,
}

/// A context converted once into the template engine's values, for rendering
/// several templates (a step's command, args, env and manifest) with it.
///
/// Every render call accepts it wherever it accepts a [`RenderContext`]: it
/// serializes as the already-converted value, which the engine takes back
/// without copying.
#[derive(Debug, Clone)]
pub struct PreparedContext(minijinja::Value);

impl PreparedContext {
    /// Converts `ctx` (usually a [`RenderContext`]) once.
    pub fn new<C: Serialize>(ctx: &C) -> Self {
        PreparedContext(minijinja::Value::from(minijinja::value::Serde(ctx)))
    }
}

impl Serialize for PreparedContext {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}
