//! Whether a pipeline spec is valid: one answer for the Pipeline controller's `Valid`
//! condition and for `weir check`. Beyond [`crate::validate`] (the DAG, durations, template
//! names), it checks triggers against the parameters and renders every step's template the
//! way a run would, so a template using an undeclared parameter or a misspelt field fails
//! here, not in a run.
//!
//! Templates kept in ConfigMaps are checked only when their texts are given: a step whose
//! ConfigMap is not among [`CheckInputs::config_templates`] is left unchecked, with a note.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jiff::Timestamp;
use serde_json::Value;
use weir_api::reason::WeirReason;
use weir_api::v1alpha1::{PipelineSpec, Step};
use weir_render::Renderer;

use crate::render::{RenderFailure, Renderable, RunRef};
use crate::standalone::{
    ItemsError, Standalone, StandaloneInput, StepError, render_standalone, render_step,
};
use crate::triggers::trigger_problems;
use crate::validate::{Problem, validate_pipeline};

/// The uid a rendered child's ownerReference points at when there is no run (a check, or
/// `weir render`).
pub const PREVIEW_UID: &str = "00000000-0000-0000-0000-000000000000";

/// The run start time templates see when there is no run: fixed, so renders are
/// reproducible.
pub const PREVIEW_START_TIME: Timestamp = Timestamp::UNIX_EPOCH;

/// How many forEach items of a step are rendered: enough to catch item-dependent template
/// errors, few enough that a thousand-item list does not make a check slow.
const CHECKED_ITEMS: usize = 20;

/// What a check can know besides the spec.
#[derive(Debug, Clone, Copy)]
pub struct CheckInputs<'a> {
    /// The renderer (compiled built-ins).
    pub renderer: &'a Renderer,
    /// Template texts of the ConfigMaps known, by (ConfigMap, key). A ConfigMap absent
    /// here is "not checked here", not missing; a key absent from a ConfigMap present
    /// here is a problem.
    pub config_templates: &'a BTreeMap<(String, String), String>,
}

/// A renderer shared by the callers that have none of their own (the Pipeline planner):
/// compiling the built-in templates once per process is enough.
pub fn shared_renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

/// A step's template that failed to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFailure {
    /// The step's index in `spec.steps`; `None` for a standalone resource.
    pub step: Option<usize>,
    /// weir-render's structured error, for callers pointing at a line.
    pub failure: RenderFailure,
}

/// One problem, and the render failure behind it when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where and what: `spec.steps[2].job: template "job" line 3 col 9: undefined value …`.
    pub problem: Problem,
    /// The template failure, if this is one.
    pub template: Option<TemplateFailure>,
}

impl From<Problem> for Found {
    fn from(problem: Problem) -> Self {
        Found {
            problem,
            template: None,
        }
    }
}

/// The answer of a check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Things to fix; none means valid.
    pub problems: Vec<Found>,
    /// What was left unchecked, and why (a ConfigMap template not given).
    pub notes: Vec<Problem>,
}

impl Checked {
    /// Whether nothing needs fixing.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a Pipeline's spec: what `weir check` reports for it and what sets the Pipeline's
/// `Valid` condition. Templates render with the parameters' defaults (empty text where a
/// parameter has none), as a run named after the Pipeline.
pub fn check_pipeline(
    name: &str,
    namespace: &str,
    spec: &PipelineSpec,
    inputs: &CheckInputs<'_>,
) -> Checked {
    let mut out = Checked {
        problems: spec_problems(spec, "spec")
            .into_iter()
            .map(Found::from)
            .collect(),
        notes: Vec::new(),
    };
    let params = default_params(spec);
    let trigger = crate::bucket::preview_context(spec);
    let run = RunRef {
        name,
        uid: PREVIEW_UID,
        namespace,
        pipeline: name,
        start_time: Some(PREVIEW_START_TIME),
        trigger: trigger.as_ref(),
    };
    check_templates(spec, "spec", run, &params, inputs, &mut out);
    out
}

/// The spec's problems short of rendering: [`validate_pipeline`], and the triggers
/// ([`trigger_problems`]: cron, time zone, bucket URIs and patterns, parameters). `root` prefixes the paths (`spec`, or `spec.pipeline` for an inline run).
pub fn spec_problems(spec: &PipelineSpec, root: &str) -> Vec<Problem> {
    let mut out = validate_pipeline(spec, root);
    out.extend(trigger_problems(spec, root));
    out
}

/// Parameter values for checking templates: defaults, and empty text where there is none
/// (a Pipeline need not default its required parameters; its runs set them).
pub fn default_params(spec: &PipelineSpec) -> BTreeMap<String, String> {
    spec.params
        .iter()
        .map(|p| (p.name.clone(), p.default.clone().unwrap_or_default()))
        .collect()
}

/// Renders every step's children (first attempts, at most a few items each) as `run` with
/// `params`, and adds their failures to `out`. Steps with a problem already in `out` are
/// skipped: they would only fail again, less clearly. A failure that depends on values only
/// a run has (an item fanned out from a result, an upstream result) is not a problem.
pub fn check_templates(
    spec: &PipelineSpec,
    root: &str,
    run: RunRef<'_>,
    params: &BTreeMap<String, String>,
    inputs: &CheckInputs<'_>,
    out: &mut Checked,
) {
    let renderable = Renderable {
        renderer: inputs.renderer,
        spec,
        run,
        params,
        results: BTreeMap::new(),
        config_templates: inputs.config_templates,
    };
    // Stands in for items that only exist at run time; permissive for loops, joins, tojson.
    let placeholder = Value::Array(Vec::new());
    for (i, step) in spec.steps.iter().enumerate() {
        let at = format!("{root}.steps[{i}]");
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
            let failure = match child {
                Ok(_) | Err(StepError::Items(ItemsError::NeedsResult { .. })) => continue,
                Err(StepError::Items(ItemsError::Invalid(msg))) => {
                    out.problems
                        .push(problem(format!("{at}.forEach"), msg).into());
                    continue;
                }
                Err(StepError::Render { failure, .. }) => failure,
            };
            let not_found = failure.reason() == WeirReason::TemplateNotFound;
            if not_found && let Some(cm) = unknown_config_map(inputs, step) {
                out.notes.push(problem(
                    format!("{at}.{}.template", step.kind()),
                    format!("template not checked: ConfigMap {cm} is not among the checked files (add it with -f)"),
                ));
                continue;
            }
            if (runtime_items || mentions_results(&failure)) && !is_definite(&failure) {
                continue;
            }
            let path = if not_found && step.template().is_some() {
                format!("{at}.{}.template", step.kind())
            } else {
                failure_path(&at, step, &failure)
            };
            let found = Found {
                problem: problem(path, failure.to_string()),
                template: Some(TemplateFailure {
                    step: Some(i),
                    failure,
                }),
            };
            if !out.problems.contains(&found) {
                out.problems.push(found);
            }
        }
    }
}

/// Checks a standalone SparkJob or DbtRun by rendering it: a problem at `spec.template`
/// (or `spec` when it names none), or a note when its ConfigMap template was not given.
pub fn check_standalone(input: &StandaloneInput<'_>, inputs: &CheckInputs<'_>) -> Checked {
    let mut out = Checked {
        problems: standalone_problems(input)
            .into_iter()
            .map(Found::from)
            .collect(),
        notes: Vec::new(),
    };
    let Err(failure) = render_standalone(inputs.renderer, inputs.config_templates, input) else {
        return out;
    };
    let path = if input.template.is_some() {
        "spec.template"
    } else {
        "spec"
    };
    if failure.reason() == WeirReason::TemplateNotFound
        && let Some(r) = input.template.and_then(|t| t.config_map_key_ref.as_ref())
        && !inputs.config_templates.keys().any(|(cm, _)| *cm == r.name)
    {
        out.notes.push(problem(
            path,
            format!("template not checked: ConfigMap {} is not among the checked files (add it with -f)", r.name),
        ));
        return out;
    }
    out.problems.push(Found {
        problem: problem(path, failure.to_string()),
        template: Some(TemplateFailure {
            step: None,
            failure,
        }),
    });
    out
}

/// A standalone spec's problems short of rendering (durations, retries, dbt docs).
fn standalone_problems(input: &StandaloneInput<'_>) -> Vec<Problem> {
    let spec = input.spec.clone();
    match input.kind {
        Standalone::SparkJob => serde_json::from_value(spec)
            .map(|s| crate::validate::validate_spark_job(&s, "spec"))
            .unwrap_or_default(),
        Standalone::DbtRun => serde_json::from_value(spec)
            .map(|s| crate::validate::validate_dbt_run(&s, "spec"))
            .unwrap_or_default(),
    }
}

/// The ConfigMap a step's template names, when its texts were not given.
fn unknown_config_map(inputs: &CheckInputs<'_>, step: &Step) -> Option<String> {
    let name = &step.template()?.config_map_key_ref.as_ref()?.name;
    let known = inputs.config_templates.keys().any(|(cm, _)| cm == name);
    (!known).then(|| name.clone())
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
/// `env.RUN_DATE`) or the template text (`template.inline`) when the step has it, else the
/// step's kind. Worked out from the typed step, so `weir check` and the `Valid` condition
/// name the same field.
fn failure_path(at: &str, step: &Step, failure: &RenderFailure) -> String {
    let kind = step.kind();
    let base = format!("{at}.{kind}");
    let RenderFailure::Render(err) = failure else {
        return base;
    };
    let Some(name) = err.template() else {
        return base;
    };
    let body = serde_json::to_value(step)
        .ok()
        .and_then(|v| v.get(kind).cloned())
        .unwrap_or_default();
    let candidates = if name == "inline" || name.starts_with("configmap/") {
        vec!["template.inline".to_string(), "template".to_string()]
    } else {
        vec![
            name.to_string(),
            format!("jobArgs.{name}"),
            format!("env.{name}"),
        ]
    };
    candidates
        .into_iter()
        .find(|rel| has_path(&body, rel))
        .map_or(base.clone(), |rel| format!("{base}.{rel}"))
}

/// Whether `value` holds a non-null value at `path` (`a.b`, `args[1]`).
fn has_path(value: &Value, path: &str) -> bool {
    let mut at = value;
    for segment in path.split('.') {
        let (key, index) = match segment.split_once('[') {
            Some((key, rest)) => (
                key,
                rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()),
            ),
            None => (segment, None),
        };
        let Some(next) = at.get(key) else {
            return false;
        };
        at = match index {
            Some(i) => match next.get(i) {
                Some(v) => v,
                None => return false,
            },
            None => next,
        };
    }
    !at.is_null()
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::v1alpha1::{BucketTrigger, SecretKeyRef, WebhookTrigger};

    #[test]
    fn a_webhook_needs_a_bucket_trigger_to_route_objects_to() {
        let mut spec = PipelineSpec::default();
        spec.params.push(weir_api::v1alpha1::ParamSpec {
            name: "uri".into(),
            ..Default::default()
        });
        spec.triggers.webhook = Some(WebhookTrigger {
            secret_key_ref: SecretKeyRef {
                name: "hook".into(),
                key: "secret".into(),
            },
            ..Default::default()
        });
        let paths = |spec: &PipelineSpec| -> Vec<String> {
            trigger_problems(spec, "spec")
                .into_iter()
                .map(|p| p.path)
                .collect()
        };
        assert_eq!(paths(&spec), ["spec.triggers.webhook"]);
        spec.triggers.buckets.push(BucketTrigger {
            name: "landing".into(),
            uri: "s3://landing/in/".into(),
            ..Default::default()
        });
        assert!(paths(&spec).is_empty(), "{:?}", paths(&spec));
    }
}
