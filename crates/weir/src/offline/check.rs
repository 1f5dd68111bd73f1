//! What `weir check` finds beyond reading a resource: weir-core's validation of the DAG,
//! durations and templates named; parameters against their pipeline; triggers against the
//! parameters; and every template rendered, the way the controller would, so undefined names
//! are found before a run fails on them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use weir_api::reason::WeirReason;
use weir_api::v1alpha1::{PipelineRunSpec, PipelineSpec, Step};
use weir_core::Problem;
use weir_core::render::{RenderFailure, Renderable, RunRef};
use weir_core::validate::{resolve_params, validate_pipeline};
use weir_render::Renderer;

use super::render::{
    FAKE_UID, Standalone, StandaloneInput, StepError, fixed_start_time, render_standalone,
    render_step,
};
use super::resources::{Resource, Spec};

/// How many forEach items of a step `weir check` renders: enough to catch item-dependent
/// template errors, few enough that a thousand-item list does not make a check slow.
const CHECKED_ITEMS: usize = 20;

/// What every resource's checks share.
pub(crate) struct Env<'a> {
    /// The renderer.
    pub renderer: &'a Renderer,
    /// Template texts of the ConfigMaps among the checked files, by (ConfigMap, key).
    pub templates: &'a BTreeMap<(String, String), String>,
    /// Pipelines among the checked files, by (namespace, name), for runs that refer to them.
    pub pipelines: BTreeMap<(String, String), &'a PipelineSpec>,
}

/// A problem, and where inside an inline template it is when a template failed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The problem.
    pub problem: Problem,
    /// The line of the template the render failure names, 1-based.
    pub template_line: Option<usize>,
}

impl From<Problem> for Found {
    fn from(problem: Problem) -> Self {
        Found {
            problem,
            template_line: None,
        }
    }
}

/// Problems, and notes about what could not be checked.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Things to fix.
    pub problems: Vec<Found>,
    /// Things left unchecked, and why.
    pub notes: Vec<Problem>,
}

/// Every check of one resource that read without problems.
pub(crate) fn check(env: &Env<'_>, r: &Resource<'_>) -> Outcome {
    let mut out = Outcome::default();
    match &r.spec {
        Some(Spec::Pipeline(spec)) => {
            let problems = pinpoint(spec, "spec", validate_pipeline(spec, "spec"));
            out.problems.extend(problems.into_iter().map(Found::from));
            out.problems
                .extend(triggers(spec).into_iter().map(Found::from));
            let params = default_params(spec);
            templates(env, r, spec, "spec", r.name(), &params, &mut out);
        }
        Some(Spec::PipelineRun(run)) => check_run(env, r, run, &mut out),
        Some(Spec::SparkJob(spec)) => {
            let input = StandaloneInput {
                kind: Standalone::SparkJob,
                name: r.name(),
                namespace: r.namespace(),
                spec: serde_json::to_value(spec).unwrap_or_default(),
                template: spec.template.as_ref(),
            };
            standalone(env, &input, &mut out);
        }
        Some(Spec::DbtRun(spec)) => {
            let input = StandaloneInput {
                kind: Standalone::DbtRun,
                name: r.name(),
                namespace: r.namespace(),
                spec: serde_json::to_value(spec).unwrap_or_default(),
                template: spec.template.as_ref(),
            };
            standalone(env, &input, &mut out);
        }
        Some(Spec::ConfigMap(_)) | None => {}
    }
    out
}

fn check_run(env: &Env<'_>, r: &Resource<'_>, run: &PipelineRunSpec, out: &mut Outcome) {
    let pipeline = match (&run.pipeline, &run.pipeline_ref) {
        (Some(_), Some(_)) | (None, None) => {
            out.problems
                .push(problem("spec", "set exactly one of pipelineRef and pipeline").into());
            return;
        }
        (Some(inline), None) => {
            let problems = validate_pipeline(inline, "spec.pipeline");
            out.problems.extend(
                pinpoint(inline, "spec.pipeline", problems)
                    .into_iter()
                    .map(Found::from),
            );
            out.problems
                .extend(triggers(inline).into_iter().map(|mut p| {
                    p.path = p.path.replacen("spec.", "spec.pipeline.", 1);
                    Found::from(p)
                }));
            inline.as_ref()
        }
        (None, Some(name)) => {
            match env
                .pipelines
                .get(&(r.namespace().to_string(), name.clone()))
            {
                Some(spec) => spec,
                // The Pipeline lives in the cluster: its parameters cannot be checked here.
                None => return,
            }
        }
    };
    let params = match resolve_params(pipeline, &run.params) {
        Ok(p) => p,
        Err(problems) => {
            out.problems.extend(problems.into_iter().map(Found::from));
            let mut p = default_params(pipeline);
            p.extend(run.params.clone());
            p
        }
    };
    if run.pipeline.is_some() {
        let name = run_name(r);
        templates(env, r, pipeline, "spec.pipeline", &name, &params, out);
    }
}

/// The run's name as the controller would see it; `generateName` runs get a stand-in.
fn run_name(r: &Resource<'_>) -> String {
    match (&r.meta.name, &r.meta.generate_name) {
        (Some(n), _) => n.clone(),
        (None, Some(g)) => format!("{g}xxxxx"),
        (None, None) => "run".into(),
    }
}

/// Parameter values for checking templates: defaults, and empty text where there is none
/// (a Pipeline need not default its required parameters; its runs set them).
fn default_params(spec: &PipelineSpec) -> BTreeMap<String, String> {
    spec.params
        .iter()
        .map(|p| (p.name.clone(), p.default.clone().unwrap_or_default()))
        .collect()
}

/// An unknown dependency is reported on its own `dependsOn` entry, not the whole list.
fn pinpoint(spec: &PipelineSpec, root: &str, problems: Vec<Problem>) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|mut p| {
            let entry = spec.steps.iter().enumerate().find_map(|(i, step)| {
                let at = format!("{root}.steps[{i}].dependsOn");
                if p.path != at {
                    return None;
                }
                let (_, rest) = p.message.split_once("depends on `")?;
                let (dep, rest) = rest.split_once('`')?;
                if !rest.starts_with(", which is not a step") {
                    return None;
                }
                let k = step.depends_on.iter().position(|d| d == dep)?;
                Some(format!("{at}[{k}]"))
            });
            if let Some(path) = entry {
                p.path = path;
            }
            p
        })
        .collect()
}

/// Triggers start runs with parameters: those must exist, and required ones must be set.
fn triggers(spec: &PipelineSpec) -> Vec<Problem> {
    let mut out = Vec::new();
    let declared: BTreeSet<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
    let required: Vec<&str> = spec
        .params
        .iter()
        .filter(|p| p.required && p.default.is_none())
        .map(|p| p.name.as_str())
        .collect();
    let t = &spec.triggers;
    if let Some(s) = &t.schedule {
        let fields = s.cron.split_whitespace().count();
        if fields != 5 {
            out.push(problem(
                "spec.triggers.schedule.cron",
                format!("{:?} has {fields} fields; a cron expression has 5 (minute hour day month weekday)", s.cron),
            ));
        }
        for key in s.params.keys().filter(|k| !declared.contains(k.as_str())) {
            out.push(problem(
                format!("spec.triggers.schedule.params.{key}"),
                format!("`{key}` is not a parameter of this pipeline"),
            ));
        }
        for name in required.iter().filter(|n| !s.params.contains_key(**n)) {
            out.push(problem(
                "spec.triggers.schedule",
                format!("scheduled runs would be refused: required parameter `{name}` has no default and the schedule does not set it"),
            ));
        }
    }
    for (i, b) in t.buckets.iter().enumerate() {
        let param = b.param.as_deref().unwrap_or("uri");
        if !declared.contains(param) {
            let path = match b.param {
                Some(_) => format!("spec.triggers.buckets[{i}].param"),
                None => format!("spec.triggers.buckets[{i}]"),
            };
            out.push(problem(
                path,
                format!("the trigger passes the new object's URI as parameter `{param}`, which the pipeline does not declare"),
            ));
        }
        for name in required.iter().filter(|n| **n != param) {
            out.push(problem(
                format!("spec.triggers.buckets[{i}]"),
                format!(
                    "runs it starts would be refused: required parameter `{name}` has no default"
                ),
            ));
        }
    }
    out
}

/// Renders every step's children; reports template failures at the step.
fn templates(
    env: &Env<'_>,
    r: &Resource<'_>,
    spec: &PipelineSpec,
    root: &str,
    run: &str,
    params: &BTreeMap<String, String>,
    out: &mut Outcome,
) {
    let renderable = Renderable {
        renderer: env.renderer,
        spec,
        run: RunRef {
            name: run,
            uid: FAKE_UID,
            namespace: r.namespace(),
            pipeline: if root == "spec" { r.name() } else { "inline" },
            start_time: Some(fixed_start_time()),
        },
        params,
        results: BTreeMap::new(),
        config_templates: env.templates,
    };
    // Stands in for items that only exist at run time; permissive for loops, joins, tojson.
    let placeholder = Value::Array(Vec::new());
    for (i, step) in spec.steps.iter().enumerate() {
        let at = format!("{root}.steps[{i}]");
        // A step weir-core already found wrong would only fail again, less clearly.
        let flawed = out.problems.iter().any(|f| {
            f.problem.path.strip_prefix(&at).is_some_and(|rest| {
                (rest.is_empty() || rest.starts_with('.')) && !rest.starts_with(".dependsOn")
            })
        });
        if flawed {
            continue;
        }
        let runtime_items = step
            .for_each
            .as_ref()
            .is_some_and(|f| f.from_step.is_some());
        for child in render_step(&renderable, step, Some(&placeholder), CHECKED_ITEMS) {
            let Err(e) = child else { continue };
            let failure = match e {
                StepError::Render { failure, .. } => failure,
                StepError::Items(msg) => {
                    out.problems
                        .push(problem(format!("{at}.forEach"), msg).into());
                    continue;
                }
                StepError::NeedsResult { .. } => continue,
            };
            let not_found = failure.reason() == WeirReason::TemplateNotFound;
            if not_found && let Some(cm) = missing_config_map(env, step) {
                out.notes.push(problem(
                    format!("{at}.{}.template", step.kind()),
                    format!("template not checked: ConfigMap {cm} is not among the checked files (add it with -f)"),
                ));
                continue;
            }
            if (runtime_items || mentions_results(&failure)) && !is_definite(&failure) {
                // It depends on values only a run has (an item, an upstream result).
                continue;
            }
            let path = if not_found {
                let t = format!("{at}.{}.template", step.kind());
                if r.doc.has(&t) {
                    t
                } else {
                    format!("{at}.{}", step.kind())
                }
            } else {
                failure_path(r, &at, step, &failure)
            };
            let found = Found {
                problem: problem(path, failure.to_string()),
                template_line: failure.template_error().and_then(|t| t.line),
            };
            if !out.problems.contains(&found) {
                out.problems.push(found);
            }
        }
    }
}

fn standalone(env: &Env<'_>, input: &StandaloneInput<'_>, out: &mut Outcome) {
    if let Err(f) = render_standalone(env.renderer, env.templates, input) {
        let path = if input.template.is_some() {
            "spec.template"
        } else {
            "spec"
        };
        if f.reason() == WeirReason::TemplateNotFound
            && let Some(r) = input.template.and_then(|t| t.config_map_key_ref.as_ref())
            && !env.templates.keys().any(|(cm, _)| *cm == r.name)
        {
            out.notes.push(problem(
                path,
                format!("template not checked: ConfigMap {} is not among the checked files (add it with -f)", r.name),
            ));
            return;
        }
        out.problems.push(problem(path, f.to_string()).into());
    }
}

/// The ConfigMap a step's template names, when no checked file holds it.
fn missing_config_map(env: &Env<'_>, step: &Step) -> Option<String> {
    let name = &step.template()?.config_map_key_ref.as_ref()?.name;
    (!env.templates.keys().any(|(cm, _)| cm == name)).then(|| name.clone())
}

/// The undefined expression of a render failure (`item.files`), if any.
fn undefined(failure: &RenderFailure) -> Option<&str> {
    failure
        .template_error()
        .and_then(|t| t.undefined.as_deref())
        .map(str::trim)
}

/// A failure that does not depend on run-time values: a syntax error, or an undefined name
/// other than `item` and `results`.
fn is_definite(failure: &RenderFailure) -> bool {
    if failure.template_error().is_some_and(|t| t.syntax) {
        return true;
    }
    undefined(failure).is_some_and(|e| !e.starts_with("item") && !e.starts_with("results"))
}

fn mentions_results(failure: &RenderFailure) -> bool {
    undefined(failure).is_some_and(|e| e.starts_with("results"))
}

/// Where a render failure is best reported: a templated value's own field (`args[1]`,
/// `env.RUN_DATE`) when the document has it, else the step's kind.
fn failure_path(r: &Resource<'_>, at: &str, step: &Step, failure: &RenderFailure) -> String {
    let kind = step.kind();
    let base = format!("{at}.{kind}");
    let RenderFailure::Render(err) = failure else {
        return base;
    };
    let Some(name) = err.template() else {
        return base;
    };
    if name == "inline" || name.starts_with("configmap/") {
        let t = format!("{base}.template");
        let inline = format!("{t}.inline");
        return [inline, t]
            .into_iter()
            .find(|p| r.doc.has(p))
            .unwrap_or(base);
    }
    let candidates = [
        format!("{base}.{name}"),
        format!("{base}.jobArgs.{name}"),
        format!("{base}.env.{name}"),
    ];
    candidates
        .into_iter()
        .find(|p| r.doc.has(p))
        .unwrap_or(base)
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}
