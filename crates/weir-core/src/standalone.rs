//! Manifests rendered outside a reconcile, by the very functions a reconcile uses: the first
//! attempt of a pipeline step's children (one per forEach item), and the child of a
//! standalone SparkJob or DbtRun. `weir render` prints these and `weir check` renders them
//! to find template errors, so what they show is what the controller applies.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};
use weir_api::labels;
use weir_api::v1alpha1::{Step, TemplateRef};
use weir_dag::fanout::{DEFAULT_MAX_ITEMS, items_from_literal, items_from_result};
use weir_render::{Builtin, Identity, RenderContext, Renderer, RunInfo, StepInfo};

use crate::observe::Manifest;
use crate::render::{
    ChildSpec, RenderFailure, Renderable, owner_reference, render_stamped, template_source,
};

/// Why a forEach step's items could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemsError {
    /// The step fans out over an upstream step's result, and there is none (yet).
    NeedsResult {
        /// The upstream step.
        from: String,
    },
    /// Too many items, or a result that is not a list; the message says which.
    Invalid(String),
}

/// A step's forEach items, read from its literal list or from the result of the step it
/// names in `results` (by step name); `None` for a step without forEach. The planner and
/// `weir render` read items only through this.
pub fn for_each_items(
    step: &Step,
    results: &BTreeMap<String, Value>,
) -> Result<Option<Vec<Value>>, ItemsError> {
    let Some(fe) = &step.for_each else {
        return Ok(None);
    };
    if let Some(items) = &fe.items {
        return items_from_literal(items.clone(), DEFAULT_MAX_ITEMS)
            .map(Some)
            .map_err(|e| ItemsError::Invalid(e.to_string()));
    }
    let from = fe.from_step.clone().unwrap_or_default();
    let text = match results.get(&from) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => return Err(ItemsError::NeedsResult { from }),
    };
    items_from_result(&text, fe.key.as_deref(), DEFAULT_MAX_ITEMS)
        .map(Some)
        .map_err(|e| ItemsError::Invalid(format!("result of step {from}: {e}")))
}

/// One rendered child of a step.
#[derive(Debug, Clone)]
pub struct Child {
    /// The forEach index, if any.
    pub index: Option<u32>,
    /// The manifest, stamped.
    pub manifest: Manifest,
}

/// Why (part of) a step could not be rendered.
#[derive(Debug, Clone)]
pub enum StepError {
    /// The step's items could not be had.
    Items(ItemsError),
    /// The template failed for one child.
    Render {
        /// The forEach index, if any.
        index: Option<u32>,
        /// What went wrong.
        failure: RenderFailure,
    },
}

/// Renders the first attempt of the children of `step`, at most `limit` of them, with the
/// results in `r`. A step fanning out over an upstream result that `r` lacks renders once
/// per `placeholder` item if one is given (a check of its template), else not at all.
pub fn render_step(
    r: &Renderable<'_>,
    step: &Step,
    placeholder: Option<&Value>,
    limit: usize,
) -> Vec<Result<Child, StepError>> {
    let items = match for_each_items(step, &r.results) {
        Ok(items) => items,
        Err(ItemsError::NeedsResult { .. }) if placeholder.is_some() => {
            Some(placeholder.into_iter().cloned().collect())
        }
        Err(e) => return vec![Err(StepError::Items(e))],
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

/// A weir resource that is rendered into one child of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standalone {
    /// Rendered into a SparkApplication (built-in `spark`).
    SparkJob,
    /// Rendered into a Job (built-in `dbt`).
    DbtRun,
}

/// What a standalone resource is rendered from.
#[derive(Debug, Clone)]
pub struct StandaloneInput<'a> {
    /// Its kind.
    pub kind: Standalone,
    /// Its name; the attempt's child is `{name}-{attempt}` ([`attempt_child_name`]).
    pub name: &'a str,
    /// The attempt rendered (1 for the first), as templates see it (`run.attempt`).
    pub attempt: u32,
    /// Its namespace.
    pub namespace: &'a str,
    /// Its uid (the child's ownerReference).
    pub uid: &'a str,
    /// When it started, as templates see it (`run.startTime`).
    pub start_time: Option<Timestamp>,
    /// Its spec, as JSON (templates see it as `job`).
    pub spec: Value,
    /// Its template, if it names one.
    pub template: Option<&'a TemplateRef>,
}

/// The name of a standalone resource's child for `attempt`: a new name per attempt, so a
/// retry never meets its predecessor and one attempt is never submitted twice.
pub fn attempt_child_name(name: &str, attempt: u32) -> String {
    crate::names::fit_name(name, &attempt.to_string())
}

/// Renders a standalone SparkJob or DbtRun the way a step with the same spec renders: the
/// spec is `job`, templated strings in it are rendered first, the child is named
/// `{name}-{attempt}`, labelled with its attempt and owned by the resource.
pub fn render_standalone(
    renderer: &Renderer,
    config_templates: &BTreeMap<(String, String), String>,
    input: &StandaloneInput<'_>,
) -> Result<Manifest, RenderFailure> {
    let (kind, builtin) = match input.kind {
        Standalone::SparkJob => ("SparkJob", Builtin::Spark),
        Standalone::DbtRun => ("DbtRun", Builtin::Dbt),
    };
    let child = attempt_child_name(input.name, input.attempt);
    let mut job = input.spec.clone();
    if let Value::Object(m) = &mut job {
        m.entry("name").or_insert_with(|| json!(child));
    }
    let mut ctx = RenderContext {
        job: Value::Null,
        run: RunInfo {
            name: input.name.to_string(),
            uid: input.uid.to_string(),
            pipeline: String::new(),
            namespace: input.namespace.to_string(),
            attempt: input.attempt,
            start_time: input.start_time.map(|t| t.to_string()),
            trigger: None,
        },
        step: StepInfo {
            name: input.name.to_string(),
            index: None,
        },
        ..RenderContext::default()
    };
    ctx.job = renderer.render_value(&job, &ctx)?;
    let source = template_source(input.template, builtin, config_templates)?;
    let identity = Identity {
        name: child,
        namespace: input.namespace.to_string(),
        labels: BTreeMap::from([
            (labels::MANAGED_BY.to_string(), "weir".to_string()),
            (labels::ATTEMPT.to_string(), input.attempt.to_string()),
        ]),
        annotations: BTreeMap::new(),
        owner: owner_reference(kind, input.name, input.uid),
    };
    render_stamped(
        renderer,
        &source,
        &ctx,
        &identity,
        input.kind == Standalone::DbtRun,
    )
}
