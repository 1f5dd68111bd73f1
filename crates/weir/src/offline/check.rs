//! What `weir check` finds beyond reading a resource: weir-core's check, the very one that
//! sets a Pipeline's `Valid` condition (the DAG, durations, templates named, triggers, every
//! template rendered), plus a run's parameters against its pipeline. What is added here is
//! the template line a render failure names, for pointing at the file's own line.

use std::collections::BTreeMap;

use weir_api::v1alpha1::{PipelineRunSpec, PipelineSpec};
use weir_core::Problem;
use weir_core::check::{
    CheckInputs, Checked, PREVIEW_START_TIME, PREVIEW_UID, check_pipeline, check_standalone,
    check_templates, default_params, spec_problems,
};
use weir_core::render::RunRef;
use weir_core::validate::resolve_params;

use super::render::standalone_input;
use super::resources::{Resource, Spec};

/// What every resource's checks share.
pub(crate) struct Env<'a> {
    /// The renderer and the ConfigMap templates among the checked files.
    pub inputs: CheckInputs<'a>,
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
    let checked = match &r.spec {
        Some(Spec::Pipeline(spec)) => check_pipeline(r.name(), r.namespace(), spec, &env.inputs),
        Some(Spec::PipelineRun(run)) => check_run(env, r, run),
        Some(Spec::SparkJob(_) | Spec::DbtRun(_)) => match standalone_input(r) {
            Some(input) => check_standalone(&input, &env.inputs),
            None => Checked::default(),
        },
        Some(Spec::ConfigMap(_)) | None => Checked::default(),
    };
    Outcome {
        problems: checked.problems.into_iter().map(pointed).collect(),
        notes: checked.notes,
    }
}

fn check_run(env: &Env<'_>, r: &Resource<'_>, run: &PipelineRunSpec) -> Checked {
    let mut out = Checked::default();
    let pipeline = match (&run.pipeline, &run.pipeline_ref) {
        (Some(_), Some(_)) | (None, None) => {
            out.problems
                .push(problem("spec", "set exactly one of pipelineRef and pipeline").into());
            return out;
        }
        (Some(inline), None) => {
            let problems = spec_problems(inline, "spec.pipeline");
            out.problems.extend(problems.into_iter().map(Into::into));
            inline.as_ref()
        }
        (None, Some(name)) => {
            match env
                .pipelines
                .get(&(r.namespace().to_string(), name.clone()))
            {
                Some(spec) => spec,
                // The Pipeline lives in the cluster: its parameters cannot be checked here.
                None => return out,
            }
        }
    };
    let params = match resolve_params(pipeline, &run.params) {
        Ok(p) => p,
        Err(problems) => {
            out.problems.extend(problems.into_iter().map(Into::into));
            let mut p = default_params(pipeline);
            p.extend(run.params.clone());
            p
        }
    };
    if run.pipeline.is_some() {
        let name = run_name(r);
        let run = RunRef {
            name: &name,
            uid: PREVIEW_UID,
            namespace: r.namespace(),
            pipeline: "inline",
            start_time: Some(PREVIEW_START_TIME),
            trigger: None,
        };
        check_templates(
            pipeline,
            "spec.pipeline",
            run,
            &params,
            &env.inputs,
            &mut out,
        );
    }
    out
}

/// The run's name as the controller would see it; `generateName` runs get a stand-in.
fn run_name(r: &Resource<'_>) -> String {
    match (&r.meta.name, &r.meta.generate_name) {
        (Some(n), _) => n.clone(),
        (None, Some(g)) => format!("{g}xxxxx"),
        (None, None) => "run".into(),
    }
}

/// A problem of weir-core's, pointed at the field of the document it is best read at: a
/// step's template failure at the templated value's own field (`args[1]`, `env.RUN_DATE`)
/// or the template, and at the template's line when the template is inline.
fn pointed(found: weir_core::check::Found) -> Found {
    let template_line = found
        .template
        .as_ref()
        .and_then(|t| t.failure.template_error())
        .and_then(|e| e.line);
    Found {
        problem: found.problem,
        template_line,
    }
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}
