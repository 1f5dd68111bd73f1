//! From a step of the run's pipeline snapshot to the manifest of one child: the template
//! context (the seed's `jinja_job_args`, params, run, step, item, upstream results), the
//! template's text, the render, and the fields weir owns stamped on top.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Map, Value, json};
use weir_api::labels;
use weir_api::reason::WeirReason;
use weir_api::v1alpha1::{PipelineSpec, Step, TemplateRef};
use weir_render::{Builtin, Identity, RenderContext, Renderer, RunInfo, StepInfo, TemplateSource};

use crate::names::child_name;
use crate::observe::Manifest;

/// The run a child belongs to.
#[derive(Debug, Clone)]
pub struct RunRef<'a> {
    /// The run's name.
    pub name: &'a str,
    /// The run's uid (for the ownerReference).
    pub uid: &'a str,
    /// The run's namespace.
    pub namespace: &'a str,
    /// The Pipeline's name (`inline` for runs with an inline spec).
    pub pipeline: &'a str,
    /// When the run started.
    pub start_time: Option<Timestamp>,
    /// What started the run, for `run.trigger` (see [`crate::bucket::trigger_context`]).
    pub trigger: Option<&'a Value>,
}

/// One child to render: a step, an item and an attempt.
#[derive(Debug, Clone)]
pub struct ChildSpec<'a> {
    /// The step.
    pub step: &'a Step,
    /// The forEach index, if any.
    pub index: Option<u32>,
    /// The forEach item, if any.
    pub item: Option<&'a Value>,
    /// The attempt (1-based).
    pub attempt: u32,
}

/// Why a child could not be rendered. Not retried: the same inputs fail the same way.
///
/// It keeps weir-render's structured error, so a caller that needs the template, line,
/// column or undefined name (`weir check`) reads them instead of parsing the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderFailure {
    /// A template from a ConfigMap that was not provided (it, or its key, does not exist).
    #[error("ConfigMap {config_map} has no key {key}")]
    MissingConfigMapKey {
        /// The ConfigMap named.
        config_map: String,
        /// The key named.
        key: String,
    },
    /// weir-render refused: an unknown built-in, a template error, a bad manifest.
    #[error("{0}")]
    Render(#[from] weir_render::RenderError),
}

impl RenderFailure {
    /// The step reason it gives: `TemplateNotFound` for a template that does not exist,
    /// `TemplateError` for one that does not render.
    pub fn reason(&self) -> WeirReason {
        match self {
            RenderFailure::MissingConfigMapKey { .. }
            | RenderFailure::Render(weir_render::RenderError::UnknownBuiltin(_)) => {
                WeirReason::TemplateNotFound
            }
            RenderFailure::Render(_) => WeirReason::TemplateError,
        }
    }

    /// The template error, when the template itself failed (syntax or rendering).
    pub fn template_error(&self) -> Option<&weir_render::TemplateError> {
        match self {
            RenderFailure::Render(weir_render::RenderError::Template(t)) => Some(t),
            _ => None,
        }
    }
}

/// Inputs shared by every child of one reconcile.
#[derive(Debug, Clone)]
pub struct Renderable<'a> {
    /// The renderer (compiled built-ins, cached user templates).
    pub renderer: &'a Renderer,
    /// The pipeline snapshot.
    pub spec: &'a PipelineSpec,
    /// The run.
    pub run: RunRef<'a>,
    /// The run's parameter values.
    pub params: &'a BTreeMap<String, String>,
    /// Results of finished steps.
    pub results: BTreeMap<String, Value>,
    /// ConfigMap template texts by (ConfigMap, key).
    pub config_templates: &'a BTreeMap<(String, String), String>,
}

impl Renderable<'_> {
    /// Renders and stamps the child for `child`, named deterministically.
    pub fn child(&self, child: &ChildSpec<'_>) -> Result<Manifest, RenderFailure> {
        let step = child.step;
        let name = child_name(self.run.name, &step.name, child.index, child.attempt);
        let mut ctx = RenderContext {
            job: Value::Null,
            params: self.params.clone(),
            run: RunInfo {
                name: self.run.name.to_string(),
                uid: self.run.uid.to_string(),
                pipeline: self.run.pipeline.to_string(),
                namespace: self.run.namespace.to_string(),
                attempt: child.attempt,
                start_time: self.run.start_time.map(|t| t.to_string()),
                trigger: self.run.trigger.cloned(),
            },
            step: StepInfo {
                name: step.name.clone(),
                index: child.index.map(|i| i as usize),
            },
            item: child.item.cloned(),
            envs: BTreeMap::new(),
            results: self.results.clone(),
        };
        let (raw_job, envs, template) = self.job_values(step, &name);
        let fail = RenderFailure::Render;
        // Templated strings (command, args, env values, jobArgs) render against the context
        // without `job`, like the seed's KubernetesJobOperator template_fields.
        ctx.job = self.renderer.render_value(&raw_job, &ctx).map_err(fail)?;
        let envs = self
            .renderer
            .render_value(&serde_json::to_value(envs).unwrap_or_default(), &ctx)
            .map_err(fail)?;
        ctx.envs = serde_json::from_value(envs).unwrap_or_default();
        let source = template_source(Some(&template), Builtin::Job, self.config_templates)?;
        let identity = self.identity(&name, step, child);
        let inline_job = step.job.is_some() || step.dbt.is_some();
        render_stamped(self.renderer, &source, &ctx, &identity, inline_job)
    }

    /// The `job` value, the `envs` map and the template reference for a step.
    fn job_values(
        &self,
        step: &Step,
        child: &str,
    ) -> (Value, BTreeMap<String, String>, TemplateRef) {
        let d = &self.spec.defaults;
        let mut job = Map::new();
        let mut envs = BTreeMap::new();
        let template;
        if let Some(j) = &step.job {
            job = j.job_args.clone();
            put(&mut job, "image", j.image.as_ref().map(|v| json!(v)));
            put_list(&mut job, "command", &j.command);
            put_list(&mut job, "args", &j.args);
            // jobArgs may carry the seed's own `volumes`/`envFrom` lists: keep them and add
            // the typed ones (and the pipeline defaults) instead of replacing them.
            let volumes = merged(job.get("volumes"), &[], &j.volumes);
            put_list(&mut job, "volumes", &volumes);
            put(
                &mut job,
                "resources",
                j.resources.as_ref().or(d.resources.as_ref()).map(to_json),
            );
            let env_from = merged(job.get("envFrom"), &d.env_from, &j.env_from);
            put_list(&mut job, "envFrom", &env_from);
            envs = j.env.clone();
            template = j
                .template
                .clone()
                .or_else(|| d.template.clone())
                .unwrap_or_else(|| builtin("job"));
        } else if let Some(s) = &step.spark {
            if let Value::Object(m) = to_json(s) {
                job = m;
            }
            template = s.template.clone().unwrap_or_else(|| builtin("spark"));
        } else if let Some(dbt) = &step.dbt {
            if let Value::Object(m) = to_json(dbt) {
                job = m;
            }
            let env_from: Vec<Value> = d
                .env_from
                .iter()
                .chain(&dbt.env_from)
                .map(to_json)
                .collect();
            put_list(&mut job, "envFrom", &env_from);
            template = dbt.template.clone().unwrap_or_else(|| builtin("dbt"));
        } else if let Some(r) = &step.resource {
            job = r.job_args.clone();
            template = r.template.clone();
        } else {
            template = builtin("job");
        }
        job.entry("name").or_insert_with(|| json!(child));
        put(
            &mut job,
            "serviceAccountName",
            d.service_account_name.as_ref().map(|v| json!(v)),
        );
        put_map(&mut job, "labels", &d.labels);
        put_map(&mut job, "annotations", &d.annotations);
        put_map(&mut job, "nodeSelector", &d.node_selector);
        put_list(&mut job, "tolerations", &d.tolerations);
        put(&mut job, "affinity", d.affinity.as_ref().map(to_json));
        let pull: Vec<Value> = d.image_pull_secrets.iter().map(|n| json!(n)).collect();
        put_list(&mut job, "imagePullSecrets", &pull);
        (Value::Object(job), envs, template)
    }

    fn identity(&self, name: &str, step: &Step, child: &ChildSpec<'_>) -> Identity {
        let mut l = BTreeMap::new();
        l.insert(labels::PIPELINE.to_string(), label_value(self.run.pipeline));
        l.insert(labels::RUN.to_string(), label_value(self.run.name));
        l.insert(labels::STEP.to_string(), step.name.clone());
        l.insert(labels::ATTEMPT.to_string(), child.attempt.to_string());
        l.insert(labels::MANAGED_BY.to_string(), "weir".to_string());
        if let Some(i) = child.index {
            l.insert(labels::INDEX.to_string(), i.to_string());
        }
        Identity {
            name: name.to_string(),
            namespace: self.run.namespace.to_string(),
            labels: l,
            annotations: BTreeMap::new(),
            owner: owner_reference("PipelineRun", self.run.name, self.run.uid),
        }
    }
}

/// The controller ownerReference every child carries, pointing at the weir resource of
/// `kind` that made it (a PipelineRun, a SparkJob, a DbtRun): deleting it deletes them.
pub fn owner_reference(kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: format!("{}/{}", weir_api::GROUP, weir_api::VERSION),
        kind: kind.into(),
        name: name.to_string(),
        uid: uid.to_string(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Where a template's text comes from: inline text, a ConfigMap key among `config_templates`
/// (missing: [`RenderFailure::MissingConfigMapKey`]), or a built-in (`default` when `t`
/// names none).
pub(crate) fn template_source(
    t: Option<&TemplateRef>,
    default: Builtin,
    config_templates: &BTreeMap<(String, String), String>,
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
        return match config_templates.get(&(r.name.clone(), r.key.clone())) {
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

/// Renders `source` and stamps weir's fields on the result: a typed Job for the built-in
/// `job` and `dbt` templates, and for user templates when `user_template_makes_job` (job
/// and dbt steps, DbtRuns); any other kind as JSON.
pub(crate) fn render_stamped(
    renderer: &Renderer,
    source: &TemplateSource,
    ctx: &RenderContext,
    identity: &Identity,
    user_template_makes_job: bool,
) -> Result<Manifest, RenderFailure> {
    let makes_job = match source {
        TemplateSource::Builtin(b) => *b != Builtin::Spark,
        TemplateSource::Inline { .. } => user_template_makes_job,
    };
    if makes_job {
        let mut job = renderer.render_job(source, ctx)?;
        weir_render::stamp_job(&mut job, identity);
        Ok(Manifest::Job(Box::new(job)))
    } else {
        let mut obj = renderer.render_manifest(source, ctx)?;
        weir_render::stamp_manifest(&mut obj, identity)?;
        Ok(Manifest::Object(obj))
    }
}

/// Label values are at most 63 characters; run and pipeline names can be longer (253).
pub(crate) fn label_value(v: &str) -> String {
    v.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches(['-', '.', '_'])
        .to_string()
}

/// `defaults`, then a jobArgs list (if it is one), then the step's typed entries.
fn merged<T: serde::Serialize>(
    from_args: Option<&Value>,
    defaults: &[T],
    typed: &[T],
) -> Vec<Value> {
    let mut out: Vec<Value> = defaults.iter().map(to_json).collect();
    if let Some(Value::Array(a)) = from_args {
        out.extend(a.iter().cloned());
    }
    out.extend(typed.iter().map(to_json));
    out
}

fn builtin(name: &str) -> TemplateRef {
    TemplateRef {
        builtin: Some(name.into()),
        ..TemplateRef::default()
    }
}

fn to_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// Typed fields win over `jobArgs` of the same name, but only when set: the built-in
/// templates test keys with `is defined`, so an empty field must stay absent.
fn put(job: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        job.insert(key.to_string(), v);
    }
}

fn put_list<T: serde::Serialize>(job: &mut Map<String, Value>, key: &str, items: &[T]) {
    if !items.is_empty() {
        job.insert(key.to_string(), to_json(items));
    }
}

fn put_map(job: &mut Map<String, Value>, key: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        return;
    }
    let entry = job
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = entry {
        for (k, v) in map {
            m.entry(k.clone()).or_insert_with(|| json!(v));
        }
    }
}
