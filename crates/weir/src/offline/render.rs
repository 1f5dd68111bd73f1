//! The manifests the controller would create, rendered offline: each step of a pipeline
//! (first attempt, one child per forEach item) through weir-core's `Renderable::child` — the
//! very function the planner calls — and standalone SparkJobs and DbtRuns through the same
//! built-in templates.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Value, json};
use weir_api::labels;
use weir_api::v1alpha1::{Step, TemplateRef};
use weir_core::Manifest;
use weir_core::render::{ChildSpec, RenderFailure, Renderable};
use weir_dag::fanout::{DEFAULT_MAX_ITEMS, items_from_literal, items_from_result};
use weir_render::{Builtin, Identity, RenderContext, Renderer, RunInfo, StepInfo, TemplateSource};

/// One renderer per process: compiling the built-in templates is not free, and the renderer
/// is made to be shared (the controller shares one too).
pub(crate) fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

/// The uid rendered children's ownerReference points at: there is no run yet.
pub(crate) const FAKE_UID: &str = "00000000-0000-0000-0000-000000000000";

/// The run's start time as templates see it (`run.startTime`): fixed, so that renders are
/// reproducible.
pub(crate) fn fixed_start_time() -> Timestamp {
    Timestamp::UNIX_EPOCH
}

/// One rendered child.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    /// The forEach index, if any.
    pub index: Option<u32>,
    /// The manifest, stamped.
    pub manifest: Manifest,
}

/// Why (part of) a step could not be rendered.
#[derive(Debug, Clone)]
pub(crate) enum StepError {
    /// The step fans out over an upstream step's result, which only exists at run time.
    NeedsResult {
        /// The upstream step.
        from: String,
    },
    /// The items could not be had (too many, or a result that is not a list).
    Items(String),
    /// The template failed for one child.
    Render {
        /// The forEach index, if any.
        index: Option<u32>,
        /// What went wrong.
        failure: RenderFailure,
    },
}

/// Renders the first attempt of the children of `step`, at most `limit` of them. A step
/// fanning out over an upstream result with no result given renders once per `placeholder`
/// item if one is given (for `weir check`), else not at all.
pub(crate) fn render_step(
    r: &Renderable<'_>,
    step: &Step,
    placeholder: Option<&Value>,
    limit: usize,
) -> Vec<Result<Child, StepError>> {
    let items = match items(r, step) {
        Ok(items) => items,
        Err(StepError::NeedsResult { .. }) if placeholder.is_some() => {
            Some(placeholder.into_iter().cloned().collect())
        }
        Err(e) => return vec![Err(e)],
    };
    let one = |index: Option<u32>, item: Option<&Value>| {
        let spec = ChildSpec {
            step,
            index,
            item,
            attempt: 1,
        };
        r.child(&spec)
            .map(|manifest| Child { index, manifest })
            .map_err(|failure| StepError::Render { index, failure })
    };
    match items {
        None => vec![one(None, None)],
        Some(items) => items
            .iter()
            .zip(0u32..)
            .take(limit)
            .map(|(item, i)| one(Some(i), Some(item)))
            .collect(),
    }
}

/// The step's forEach items, read as the planner reads them; `None` without forEach.
fn items(r: &Renderable<'_>, step: &Step) -> Result<Option<Vec<Value>>, StepError> {
    let Some(fe) = &step.for_each else {
        return Ok(None);
    };
    if let Some(items) = &fe.items {
        return items_from_literal(items.clone(), DEFAULT_MAX_ITEMS)
            .map(Some)
            .map_err(|e| StepError::Items(e.to_string()));
    }
    let from = fe.from_step.clone().unwrap_or_default();
    let text = match r.results.get(&from) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => return Err(StepError::NeedsResult { from }),
    };
    items_from_result(&text, fe.key.as_deref(), DEFAULT_MAX_ITEMS)
        .map(Some)
        .map_err(|e| StepError::Items(format!("result of step {from}: {e}")))
}

/// A standalone SparkJob or DbtRun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standalone {
    /// Rendered into a SparkApplication.
    SparkJob,
    /// Rendered into a Job.
    DbtRun,
}

/// What a standalone resource is rendered from.
pub(crate) struct StandaloneInput<'a> {
    /// Its kind.
    pub kind: Standalone,
    /// Its name (the child gets the same name).
    pub name: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// Its spec, as JSON (templates see it as `job`).
    pub spec: Value,
    /// Its template, if it names one.
    pub template: Option<&'a TemplateRef>,
}

/// Renders a standalone SparkJob or DbtRun the way a step with the same spec renders: the
/// spec is `job`, templated strings in it are rendered first, the child is named after the
/// resource and owned by it.
pub(crate) fn render_standalone(
    renderer: &Renderer,
    templates: &BTreeMap<(String, String), String>,
    input: &StandaloneInput<'_>,
) -> Result<Manifest, RenderFailure> {
    let fail = RenderFailure::Render;
    let (kind, builtin) = match input.kind {
        Standalone::SparkJob => ("SparkJob", Builtin::Spark),
        Standalone::DbtRun => ("DbtRun", Builtin::Dbt),
    };
    let mut job = input.spec.clone();
    if let Value::Object(m) = &mut job {
        m.entry("name").or_insert_with(|| json!(input.name));
    }
    let mut ctx = RenderContext {
        job: Value::Null,
        run: RunInfo {
            name: input.name.to_string(),
            uid: FAKE_UID.to_string(),
            pipeline: String::new(),
            namespace: input.namespace.to_string(),
            attempt: 1,
            start_time: Some(fixed_start_time().to_string()),
        },
        step: StepInfo {
            name: input.name.to_string(),
            index: None,
        },
        ..RenderContext::default()
    };
    ctx.job = renderer.render_value(&job, &ctx).map_err(fail)?;
    let source = template_source(input.template, builtin, templates)?;
    let identity = Identity {
        name: input.name.to_string(),
        namespace: input.namespace.to_string(),
        labels: BTreeMap::from([(labels::MANAGED_BY.to_string(), "weir".to_string())]),
        annotations: BTreeMap::new(),
        owner: OwnerReference {
            api_version: format!("{}/{}", weir_api::GROUP, weir_api::VERSION),
            kind: kind.to_string(),
            name: input.name.to_string(),
            uid: FAKE_UID.to_string(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        },
    };
    let makes_job = match &source {
        TemplateSource::Builtin(b) => *b != Builtin::Spark,
        TemplateSource::Inline { .. } => input.kind == Standalone::DbtRun,
    };
    if makes_job {
        let mut job = renderer.render_job(&source, &ctx).map_err(fail)?;
        weir_render::stamp_job(&mut job, &identity);
        Ok(Manifest::Job(Box::new(job)))
    } else {
        let mut obj = renderer.render_manifest(&source, &ctx).map_err(fail)?;
        weir_render::stamp_manifest(&mut obj, &identity).map_err(fail)?;
        Ok(Manifest::Object(obj))
    }
}

/// Where a template's text comes from, as weir-core resolves it for steps.
fn template_source(
    t: Option<&TemplateRef>,
    default: Builtin,
    templates: &BTreeMap<(String, String), String>,
) -> Result<TemplateSource, RenderFailure> {
    let Some(t) = t else {
        return Ok(TemplateSource::Builtin(default));
    };
    if let Some(text) = &t.inline {
        return Ok(TemplateSource::Inline {
            name: "inline".into(),
            text: text.clone(),
        });
    }
    if let Some(r) = &t.config_map_key_ref {
        return match templates.get(&(r.name.clone(), r.key.clone())) {
            Some(text) => Ok(TemplateSource::config_map(&r.name, &r.key, text.clone())),
            None => Err(RenderFailure::MissingConfigMapKey {
                config_map: r.name.clone(),
                key: r.key.clone(),
            }),
        };
    }
    match &t.builtin {
        None => Ok(TemplateSource::Builtin(default)),
        Some(name) => name
            .parse::<Builtin>()
            .map(TemplateSource::Builtin)
            .map_err(RenderFailure::Render),
    }
}

/// A manifest as one YAML document (without the `---` separator).
pub(crate) fn to_yaml(m: &Manifest) -> Result<String, String> {
    let text = match m {
        Manifest::Job(job) => serde_saphyr::to_string(job.as_ref()),
        Manifest::Object(v) => serde_saphyr::to_string(v),
    };
    text.map_err(|e| e.to_string())
}
