//! `weir render`: the manifests the controller would create for a pipeline's steps (first
//! attempts), or for a standalone SparkJob / DbtRun, as multi-document YAML on stdout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;
use weir_api::reason::WeirReason;
use weir_api::v1alpha1::PipelineSpec;
use weir_core::Problem;
use weir_core::check::{PREVIEW_START_TIME, PREVIEW_UID, shared_renderer};
use weir_core::render::{RenderFailure, Renderable, RunRef};
use weir_core::standalone::{
    ItemsError, StandaloneInput, StepError, render_standalone, render_step,
};
use weir_core::validate::{resolve_params, validate_pipeline};
use weir_render::Renderer;

use super::check_cmd::{config_templates, read_sources};
use super::documents::{Finding, load};
use super::render::{standalone_input, to_yaml};
use super::resources::{Resource, Spec, read};
use super::schema::{Schemas, suggest};

/// Flags of `weir render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Files holding the Pipeline (or a PipelineRun with an inline pipeline, a SparkJob, a
    /// DbtRun) and the ConfigMaps its templates come from; a directory means its YAML files;
    /// `-` reads standard input.
    #[arg(short = 'f', long = "file", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// A parameter value, `KEY=VALUE` (repeatable); the pipeline's defaults fill the rest.
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Render only this step.
    #[arg(long)]
    pub step: Option<String>,
    /// The run the children are named after (default: a PipelineRun's own name, else
    /// `<pipeline>-render`).
    #[arg(long)]
    pub run_name: Option<String>,
    /// The result of an upstream step, `STEP=JSON`, for the steps that fan out over it
    /// (repeatable). Without it those steps are left out.
    #[arg(long = "result", value_name = "STEP=JSON")]
    pub results: Vec<String>,
}

/// What one render produced: YAML documents, and what went wrong.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The manifests, as multi-document YAML (`---` and a `# Source:` line before each).
    pub yaml: String,
    /// Lines for stderr about what did not render (`error: …`).
    pub errors: Vec<String>,
    /// Lines for stderr about what was left out, and why.
    pub notes: Vec<String>,
    /// Whether `--step` matched a step of some pipeline.
    step_found: bool,
    /// Step names seen, for suggestions.
    step_names: Vec<String>,
}

/// `weir render`.
pub fn run(args: &RenderArgs) -> ExitCode {
    match render_files(args) {
        Ok(out) => {
            for n in &out.notes {
                eprintln!("note: {n}");
            }
            for e in &out.errors {
                eprintln!("{e}");
            }
            print!("{}", out.yaml);
            if out.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Renders what `args` names; `Err` holds the lines to print when nothing could be
/// rendered at all (unreadable files, schema problems, bad flags).
pub fn render_files(args: &RenderArgs) -> Result<Rendered, Vec<String>> {
    let given = key_values(&args.params, "-p", "KEY=VALUE")?;
    let mut results = BTreeMap::new();
    for (step, text) in key_values(&args.results, "--result", "STEP=JSON")? {
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| vec![format!("error: --result {step}: not JSON: {e}")])?;
        results.insert(step, value);
    }
    let (sources, unreadable) = read_sources(&args.files);
    let (docs, findings) = load(&sources);
    let lines = |f: Vec<Finding>| f.iter().map(ToString::to_string).collect::<Vec<_>>();
    if !unreadable.is_empty() || !findings.is_empty() {
        return Err(lines(unreadable.into_iter().chain(findings).collect()));
    }
    let schemas = Schemas::get();
    let resources: Vec<Resource<'_>> = docs.iter().map(|d| read(d, schemas)).collect();
    let problems: Vec<Finding> = resources
        .iter()
        .flat_map(|r| {
            r.problems
                .iter()
                .map(|p| r.doc.finding(&p.path, &p.message))
        })
        .collect();
    if !problems.is_empty() {
        return Err(lines(problems));
    }
    let templates = config_templates(&resources);
    let env = RenderEnv {
        args,
        renderer: shared_renderer(),
        templates: &templates,
        given: &given,
        results: &results,
        resources: &resources,
    };
    let mut out = Rendered::default();
    let mut rendered_any = false;
    for r in &resources {
        rendered_any |= env.resource(r, &mut out);
    }
    if !rendered_any {
        return Err(vec![
            "error: nothing to render: the files hold no Pipeline, PipelineRun, SparkJob or DbtRun"
                .into(),
        ]);
    }
    if let Some(step) = &args.step
        && !out.step_found
        && out.errors.is_empty()
    {
        let known: Vec<&str> = out.step_names.iter().map(String::as_str).collect();
        let hint = suggest(step, &known)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(vec![format!(
            "error: --step {step}: no such step{hint}; steps: {}",
            known.join(", ")
        )]);
    }
    Ok(out)
}

struct RenderEnv<'a> {
    args: &'a RenderArgs,
    renderer: &'a Renderer,
    templates: &'a BTreeMap<(String, String), String>,
    given: &'a BTreeMap<String, String>,
    results: &'a BTreeMap<String, Value>,
    resources: &'a [Resource<'a>],
}

/// A pipeline spec to render as one run.
struct RunTarget<'a> {
    /// The resource rendered (a Pipeline or a PipelineRun).
    r: &'a Resource<'a>,
    /// The resource holding the pipeline spec (the run itself, or the Pipeline it names).
    holder: &'a Resource<'a>,
    spec: &'a PipelineSpec,
    /// Where the spec is in `holder`: `spec` or `spec.pipeline`.
    root: &'static str,
    /// The Pipeline's name (`inline` for inline runs).
    pipeline: &'a str,
    /// The run's name.
    run: String,
    /// Parameter values given (the run's, then `-p`).
    given: BTreeMap<String, String>,
    /// How output and errors name the resource.
    source: &'a str,
}

impl<'e> RenderEnv<'e> {
    /// Renders one resource into `out`; false when it is not something that renders.
    fn resource(&self, r: &'e Resource<'e>, out: &mut Rendered) -> bool {
        let source = format!("{}, {}", r.doc.file, r.title());
        match &r.spec {
            Some(Spec::Pipeline(spec)) => {
                let run = self.args.run_name.clone();
                self.pipeline(
                    RunTarget {
                        r,
                        holder: r,
                        spec,
                        root: "spec",
                        pipeline: r.name(),
                        run: run.unwrap_or_else(|| format!("{}-render", r.name())),
                        given: self.given.clone(),
                        source: &source,
                    },
                    out,
                );
            }
            Some(Spec::PipelineRun(run)) => {
                let mut given = run.params.clone();
                given.extend(self.given.clone());
                let name = self.args.run_name.clone().unwrap_or_else(|| {
                    match (&r.meta.name, &r.meta.generate_name) {
                        (Some(n), _) => n.clone(),
                        (None, g) => format!("{}render", g.as_deref().unwrap_or("run-")),
                    }
                });
                let (holder, spec, root, pipeline) = match (&run.pipeline, &run.pipeline_ref) {
                    (Some(inline), None) => (r, inline.as_ref(), "spec.pipeline", "inline"),
                    (None, Some(name)) => match self.find_pipeline(r.namespace(), name) {
                        Some((holder, spec)) => (holder, spec, "spec", name.as_str()),
                        None => {
                            out.errors.push(format!(
                                "error: {source}: refers to Pipeline {name}, which is not among the files (add it with -f)"
                            ));
                            return true;
                        }
                    },
                    _ => {
                        out.errors.push(format!(
                            "error: {source}: set exactly one of spec.pipelineRef and spec.pipeline"
                        ));
                        return true;
                    }
                };
                let target = RunTarget {
                    r,
                    holder,
                    spec,
                    root,
                    pipeline,
                    run: name,
                    given,
                    source: &source,
                };
                self.pipeline(target, out);
            }
            Some(Spec::SparkJob(_) | Spec::DbtRun(_)) => {
                if let Some(input) = standalone_input(r) {
                    self.standalone(&input, &source, out);
                }
            }
            Some(Spec::ConfigMap(_)) | None => return false,
        }
        true
    }

    /// The Pipeline `name` of `namespace` among the files, with the resource holding it.
    fn find_pipeline(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<(&'e Resource<'e>, &'e PipelineSpec)> {
        self.resources.iter().find_map(|r| match &r.spec {
            Some(Spec::Pipeline(spec)) if r.name() == name && r.namespace() == namespace => {
                Some((r, spec.as_ref()))
            }
            _ => None,
        })
    }

    fn pipeline(&self, t: RunTarget<'_>, out: &mut Rendered) {
        let RunTarget {
            r,
            holder,
            spec,
            root,
            pipeline,
            run,
            given,
            source,
        } = t;
        out.step_names
            .extend(spec.steps.iter().map(|s| s.name.clone()));
        // The controller refuses to start a run of an invalid pipeline; so does render.
        let mut errors: Vec<String> = validate_pipeline(spec, root)
            .iter()
            .map(|p| holder.doc.finding(&p.path, &p.message).to_string())
            .collect();
        let params = match resolve_params(spec, &given) {
            Ok(p) => p,
            Err(e) => {
                let in_pipeline = matches!(r.spec, Some(Spec::Pipeline(_)));
                errors.extend(e.into_iter().map(|p| {
                    let p = param_hint(p, spec, in_pipeline);
                    r.doc.finding(&p.path, &p.message).to_string()
                }));
                BTreeMap::new()
            }
        };
        if !errors.is_empty() {
            out.errors.extend(errors);
            return;
        }
        let trigger = weir_core::bucket::preview_context(spec);
        let renderable = Renderable {
            renderer: self.renderer,
            spec,
            run: RunRef {
                name: &run,
                uid: PREVIEW_UID,
                namespace: r.namespace(),
                pipeline,
                start_time: Some(PREVIEW_START_TIME),
                trigger: trigger.as_ref(),
            },
            params: &params,
            results: self.results.clone(),
            config_templates: self.templates,
        };
        for step in &spec.steps {
            if self.args.step.as_ref().is_some_and(|s| *s != step.name) {
                continue;
            }
            out.step_found = true;
            for child in render_step(&renderable, step, None, usize::MAX) {
                match child {
                    Ok(c) => {
                        let item = c.index.map(|i| format!(", item {i}")).unwrap_or_default();
                        let label = format!("{source}, step {}{item}", step.name);
                        push_yaml(out, &label, &c.manifest);
                    }
                    Err(StepError::Items(ItemsError::NeedsResult { from })) => out.notes.push(format!(
                        "{source}, step {}: fans out over the result of step {from}, which exists only at run time; \
                         pass --result {from}=JSON to render it",
                        step.name
                    )),
                    Err(StepError::Items(ItemsError::Invalid(msg))) => {
                        out.errors.push(format!("error: {source}, step {}: forEach: {msg}", step.name));
                    }
                    Err(StepError::Render { index, failure }) => {
                        let item = index.map(|i| format!(", item {i}")).unwrap_or_default();
                        out.errors.push(format!(
                            "error: {source}, step {}{item}: {}{}",
                            step.name,
                            failure,
                            not_found_hint(&failure)
                        ));
                    }
                }
            }
        }
    }

    fn standalone(&self, input: &StandaloneInput<'_>, source: &str, out: &mut Rendered) {
        match render_standalone(self.renderer, self.templates, input) {
            Ok(m) => push_yaml(out, source, &m),
            Err(f) => out
                .errors
                .push(format!("error: {source}: {}{}", f, not_found_hint(&f))),
        }
    }
}

fn push_yaml(out: &mut Rendered, label: &str, m: &weir_core::Manifest) {
    match to_yaml(m) {
        Ok(yaml) => {
            out.yaml.push_str("---\n# Source: ");
            out.yaml.push_str(label);
            out.yaml.push('\n');
            out.yaml.push_str(&yaml);
            if !yaml.ends_with('\n') {
                out.yaml.push('\n');
            }
        }
        Err(e) => out
            .errors
            .push(format!("error: {label}: cannot write YAML: {e}")),
    }
}

/// Templates from ConfigMaps come from the files given: say so when one is missing.
fn not_found_hint(failure: &RenderFailure) -> &'static str {
    if failure.reason() == WeirReason::TemplateNotFound {
        " (render reads ConfigMaps from the files given: add the one holding it with -f)"
    } else {
        ""
    }
}

/// `spec.params.uri: required parameter has no value…` gains how to give it one; in a
/// Pipeline, the path becomes the parameter's declaration (`spec.params[0]`).
fn param_hint(mut p: Problem, spec: &PipelineSpec, in_pipeline: bool) -> Problem {
    let Some(name) = p.path.strip_prefix("spec.params.").map(str::to_string) else {
        return p;
    };
    if p.message.starts_with("required") {
        p.message = format!("{} (set it with -p {name}=VALUE)", p.message);
    }
    if in_pipeline && let Some(i) = spec.params.iter().position(|d| d.name == name) {
        p.path = format!("spec.params[{i}]");
    }
    p
}

/// `KEY=VALUE` pairs of a repeatable flag.
fn key_values(
    items: &[String],
    flag: &str,
    form: &str,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for item in items {
        match item.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => errors.push(format!("error: {flag} {item}: expected {form}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
