//! Checks beyond the OpenAPI schema: the DAG, durations, forEach sources, template names and
//! parameters. Every problem is reported at once, each with the field path it is about, so
//! `weir check` and the `Valid=False` condition point at the line to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use weir_api::v1alpha1::{DbtRunSpec, PipelineSpec, RetryPolicy, SparkJobSpec, Step, TemplateRef};
use weir_dag::{Graph, Problem as DagProblem};
use weir_render::Builtin;

use crate::duration::parse_duration;
use crate::graph::dag_nodes;

/// One problem, with the path of the field it is about (e.g. `spec.steps[2].dependsOn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, as a JSON-path-like string rooted at the resource.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every problem in a pipeline spec; `root` prefixes the paths (`spec` for a Pipeline,
/// `spec.pipeline` for an inline run).
pub fn validate_pipeline(spec: &PipelineSpec, root: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let step_path = |i: usize| format!("{root}.steps[{i}]");
    if spec.steps.is_empty() {
        out.push(Problem::new(
            format!("{root}.steps"),
            "a pipeline needs at least one step",
        ));
    }
    if let Err(invalid) = Graph::new(dag_nodes(spec)) {
        for p in invalid.problems {
            out.push(dag_problem(spec, root, &p));
        }
    }
    let mut seen_params = BTreeSet::new();
    for (i, p) in spec.params.iter().enumerate() {
        if !seen_params.insert(p.name.as_str()) {
            out.push(Problem::new(
                format!("{root}.params[{i}].name"),
                format!("parameter `{}` is declared twice", p.name),
            ));
        }
    }
    if let Some(t) = &spec.timeout {
        check_duration(&mut out, format!("{root}.timeout"), t);
    }
    if let Some(t) = &spec.defaults.template {
        check_template(&mut out, format!("{root}.defaults.template"), t);
    }
    for (i, step) in spec.steps.iter().enumerate() {
        check_step(&mut out, &step_path(i), step);
    }
    out
}

fn check_step(out: &mut Vec<Problem>, path: &str, step: &Step) {
    let kinds = [
        step.job.is_some(),
        step.spark.is_some(),
        step.dbt.is_some(),
        step.resource.is_some(),
    ];
    match kinds.iter().filter(|k| **k).count() {
        1 => {}
        0 => out.push(Problem::new(
            path,
            "set one of job, spark, dbt and resource",
        )),
        _ => out.push(Problem::new(
            path,
            "set only one of job, spark, dbt and resource",
        )),
    }
    if let Some(t) = &step.timeout {
        check_duration(out, format!("{path}.timeout"), t);
    }
    check_retries(out, &format!("{path}.retries"), step.retries.as_ref());
    // A step's attempts are the step's: the standalone kinds' own fields would be ignored.
    let own = [
        (
            "spark",
            step.spark.as_ref().map(|s| (&s.retries, &s.timeout)),
        ),
        ("dbt", step.dbt.as_ref().map(|d| (&d.retries, &d.timeout))),
    ];
    for (kind, fields) in own {
        if let Some((retries, timeout)) = fields {
            if retries.is_some() {
                out.push(Problem::new(
                    format!("{path}.{kind}.retries"),
                    "a step's attempts are set on the step: move retries up to the step",
                ));
            }
            if timeout.is_some() {
                out.push(Problem::new(
                    format!("{path}.{kind}.timeout"),
                    "a step's attempts are set on the step: move timeout up to the step",
                ));
            }
        }
    }
    if let Some(fe) = &step.for_each {
        match (&fe.items, &fe.from_step) {
            (Some(_), Some(_)) | (None, None) => {
                out.push(Problem::new(format!("{path}.forEach"), "set exactly one of items and fromStep"))
            }
            (None, Some(from)) if !step.depends_on.contains(from) => out.push(Problem::new(
                format!("{path}.forEach.fromStep"),
                format!("`{from}` must also be listed in dependsOn, so its result exists when this step starts"),
            )),
            _ => {}
        }
    }
    // A resource step's template is checked below, with its own rules.
    if step.resource.is_none()
        && let Some(t) = step.template()
    {
        check_template(out, format!("{path}.{}.template", step.kind()), t);
    }
    if let Some(r) = &step.resource {
        if r.template == TemplateRef::default() {
            out.push(Problem::new(
                format!("{path}.resource.template"),
                "a resource step needs a template (inline or configMapKeyRef)",
            ));
        }
        check_template(out, format!("{path}.resource.template"), &r.template);
    }
    if let Some(d) = &step.dbt {
        check_dbt_docs(out, &format!("{path}.dbt"), d);
    }
    if let Some(j) = &step.job {
        let has_image = j.image.is_some() || j.job_args.get("image").is_some();
        let custom = j.template.as_ref().is_some_and(|t| t.builtin.is_none());
        if !has_image && !custom {
            out.push(Problem::new(
                format!("{path}.job.image"),
                "the built-in job template needs an image (job.image or jobArgs.image)",
            ));
        }
    }
}

/// Every problem in a standalone SparkJob's spec short of rendering it.
pub fn validate_spark_job(spec: &SparkJobSpec, root: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    attempts(
        &mut out,
        root,
        spec.retries.as_ref(),
        spec.timeout.as_deref(),
    );
    if let Some(t) = &spec.template {
        check_template(&mut out, format!("{root}.template"), t);
    }
    out
}

/// Every problem in a standalone DbtRun's spec short of rendering it.
pub fn validate_dbt_run(spec: &DbtRunSpec, root: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    attempts(
        &mut out,
        root,
        spec.retries.as_ref(),
        spec.timeout.as_deref(),
    );
    if let Some(t) = &spec.template {
        check_template(&mut out, format!("{root}.template"), t);
    }
    check_dbt_docs(&mut out, root, spec);
    out
}

fn attempts(
    out: &mut Vec<Problem>,
    root: &str,
    retries: Option<&RetryPolicy>,
    timeout: Option<&str>,
) {
    if let Some(t) = timeout {
        check_duration(out, format!("{root}.timeout"), t);
    }
    check_retries(out, &format!("{root}.retries"), retries);
}

fn check_retries(out: &mut Vec<Problem>, path: &str, retries: Option<&RetryPolicy>) {
    if let Some(b) = retries.and_then(|r| r.backoff.as_ref()) {
        check_duration(out, format!("{path}.backoff.initial"), &b.initial);
        if let Some(m) = &b.max {
            check_duration(out, format!("{path}.backoff.max"), m);
        }
    }
}

/// Uploaded docs need docs generated, and the weir-data image that bundles them.
fn check_dbt_docs(out: &mut Vec<Problem>, path: &str, d: &DbtRunSpec) {
    if d.docs_destination.is_none() {
        return;
    }
    if !d.generate_docs {
        out.push(Problem::new(
            format!("{path}.docsDestination"),
            "docsDestination needs generateDocs: true (there are no docs to upload otherwise)",
        ));
    }
    if d.docs_image.is_none() {
        out.push(Problem::new(
            format!("{path}.docsImage"),
            "docsDestination needs docsImage (the weir-data image that bundles and uploads the docs)",
        ));
    }
}

fn check_template(out: &mut Vec<Problem>, path: String, t: &TemplateRef) {
    let set = [
        t.builtin.is_some(),
        t.config_map_key_ref.is_some(),
        t.inline.is_some(),
    ];
    if set.iter().filter(|s| **s).count() > 1 {
        out.push(Problem::new(
            path.clone(),
            "set at most one of builtin, configMapKeyRef and inline",
        ));
    }
    if let Some(name) = &t.builtin
        && name.parse::<Builtin>().is_err()
    {
        let known: Vec<&str> = Builtin::ALL.iter().map(|b| b.name()).collect();
        out.push(Problem::new(
            format!("{path}.builtin"),
            format!(
                "unknown built-in template `{name}` (known: {})",
                known.join(", ")
            ),
        ));
    }
}

fn check_duration(out: &mut Vec<Problem>, path: String, text: &str) {
    if let Err(e) = parse_duration(text) {
        out.push(Problem::new(path, e.to_string()));
    }
}

fn dag_problem(spec: &PipelineSpec, root: &str, p: &DagProblem) -> Problem {
    let index = |name: &str| spec.steps.iter().position(|s| s.name == name);
    let at = |name: &str, field: &str| match index(name) {
        Some(i) => format!("{root}.steps[{i}]{field}"),
        None => format!("{root}.steps"),
    };
    let path = match p {
        DagProblem::EmptyName { index } => format!("{root}.steps[{index}].name"),
        DagProblem::DuplicateName { indexes, .. } => {
            format!(
                "{root}.steps[{}].name",
                indexes.get(1).copied().unwrap_or_default()
            )
        }
        DagProblem::SelfDependency { step } => at(step, ".dependsOn"),
        // On the entry itself (`dependsOn[1]`), so `weir check` points at its line.
        DagProblem::UnknownDependency {
            step, dependency, ..
        } => match index(step) {
            Some(i) => match spec.steps[i]
                .depends_on
                .iter()
                .position(|d| d == dependency)
            {
                Some(k) => format!("{root}.steps[{i}].dependsOn[{k}]"),
                None => format!("{root}.steps[{i}].dependsOn"),
            },
            None => format!("{root}.steps"),
        },
        DagProblem::Cycle { steps } => at(
            steps.first().map(String::as_str).unwrap_or_default(),
            ".dependsOn",
        ),
    };
    Problem::new(path, p.to_string())
}

/// A run's parameter values: the run's own, then the pipeline's defaults. Unknown names and
/// missing required parameters are problems (paths under `spec.params`).
pub fn resolve_params(
    spec: &PipelineSpec,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<Problem>> {
    let mut problems = Vec::new();
    let declared: BTreeSet<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
    for name in given.keys() {
        if !declared.contains(name.as_str()) {
            let known = if declared.is_empty() {
                "the pipeline declares no parameters".to_string()
            } else {
                format!(
                    "declared: {}",
                    declared.iter().copied().collect::<Vec<_>>().join(", ")
                )
            };
            problems.push(Problem::new(
                format!("spec.params.{name}"),
                format!("unknown parameter ({known})"),
            ));
        }
    }
    let mut values = BTreeMap::new();
    for p in &spec.params {
        match given.get(&p.name).or(p.default.as_ref()) {
            Some(v) => {
                values.insert(p.name.clone(), v.clone());
            }
            None if p.required => problems.push(Problem::new(
                format!("spec.params.{}", p.name),
                "required parameter has no value and no default".to_string(),
            )),
            None => {
                values.insert(p.name.clone(), String::new());
            }
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}
