//! `weir check`: every document of every file read, checked, and each problem printed on a
//! line of its own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::check::{Env, Found, check};
use weir_core::Problem;
use weir_core::check::{CheckInputs, shared_renderer};

use super::documents::{Document, Finding, Source, load};
use super::resources::{Resource, Spec, read};
use super::schema::Schemas;

/// Flags of `weir check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to check (multi-document YAML), or directories to search for `*.yaml` / `*.yml`
    /// files; `-` reads standard input. ConfigMaps among them provide the templates steps
    /// name with `configMapKeyRef`.
    #[arg(short = 'f', long = "file", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
}

/// What `weir check` found.
#[derive(Debug, Default)]
pub struct Report {
    /// Problems, in file order, then line order.
    pub findings: Vec<Finding>,
    /// What could not be checked offline, and why.
    pub notes: Vec<Finding>,
    /// How many resources (non-empty documents) were read.
    pub resources: usize,
}

/// Checks the resources in `sources`: YAML, kinds, schemas, the DAG, parameters and
/// templates. Never panics, whatever the bytes.
pub fn check_sources(sources: &[Source]) -> Report {
    let (docs, mut findings) = load(sources);
    let schemas = Schemas::get();
    let resources: Vec<Resource<'_>> = docs.iter().map(|d| read(d, schemas)).collect();
    let templates = config_templates(&resources);
    let mut env = Env {
        inputs: CheckInputs {
            renderer: shared_renderer(),
            config_templates: &templates,
        },
        pipelines: BTreeMap::new(),
    };
    for r in &resources {
        if let Some(Spec::Pipeline(spec)) = &r.spec {
            env.pipelines.insert(
                (r.namespace().to_string(), r.name().to_string()),
                spec.as_ref(),
            );
        }
    }
    let mut notes = Vec::new();
    for r in &resources {
        let outcome = check(&env, r);
        let problems: Vec<Found> = r
            .problems
            .iter()
            .cloned()
            .map(Found::from)
            .chain(outcome.problems)
            .collect();
        findings.extend(dedup(problems).iter().map(|p| locate(r.doc, p)));
        notes.extend(
            outcome
                .notes
                .into_iter()
                .map(|p| locate(r.doc, &Found::from(p))),
        );
    }
    let order = |f: &Finding| {
        let file = sources.iter().position(|s| s.name == f.file);
        (file, f.line)
    };
    findings.sort_by_key(order);
    notes.sort_by_key(order);
    Report {
        findings,
        notes,
        resources: docs.len(),
    }
}

/// A problem as a finding on the best line known: inside an inline template, the line the
/// template error names; else the field's own line.
fn locate(doc: &Document, found: &Found) -> Finding {
    let p = &found.problem;
    if p.path.ends_with(".template.inline")
        && let Some(n) = found.template_line
        && let Some(line) = doc.block_line(&p.path, n)
    {
        return doc.finding_at(line, &p.path, &p.message);
    }
    doc.finding(&p.path, &p.message)
}

/// A pattern mismatch says less than weir-core's own problem about the same field (a bad
/// duration names the units), so it is dropped when there is one.
fn dedup(problems: Vec<Found>) -> Vec<Found> {
    let pattern = |p: &Problem| p.message.contains("does not match the pattern");
    let keep: Vec<bool> = problems
        .iter()
        .map(|f| &f.problem)
        .map(|p| {
            !pattern(p)
                || !problems
                    .iter()
                    .any(|q| q.problem.path == p.path && !pattern(&q.problem))
        })
        .collect();
    problems
        .into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

/// The texts of every ConfigMap key among the resources, by (ConfigMap, key).
pub(crate) fn config_templates(resources: &[Resource<'_>]) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for r in resources {
        if let Some(Spec::ConfigMap(data)) = &r.spec {
            for (k, v) in data {
                out.insert((r.name().to_string(), k.clone()), v.clone());
            }
        }
    }
    out
}

/// Reads each file (`-` is standard input; a directory means its YAML files, recursively, in
/// name order). A file that cannot be read is a finding.
pub(crate) fn read_sources(files: &[PathBuf]) -> (Vec<Source>, Vec<Finding>) {
    let mut sources = Vec::new();
    let mut findings = Vec::new();
    let mut expanded = Vec::new();
    for f in files {
        if f.is_dir() {
            yaml_files(f, &mut expanded, 0);
        } else {
            expanded.push(f.clone());
        }
    }
    for f in &expanded {
        let name = f.display().to_string();
        let bytes = if name == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
        } else {
            std::fs::read(f)
        };
        match bytes {
            Ok(bytes) => sources.push(Source { name, bytes }),
            Err(e) => findings.push(Finding {
                file: name,
                line: None,
                column: None,
                path: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    (sources, findings)
}

fn yaml_files(dir: &std::path::Path, out: &mut Vec<PathBuf>, depth: usize) {
    // Deep enough for any real tree, shallow enough to stop at a symlink loop.
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(dir.to_path_buf());
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            yaml_files(&p, out, depth + 1);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

/// `weir check`: problems on stderr, one per line; a summary on stdout when there are none.
pub fn run(args: &CheckArgs) -> ExitCode {
    let (sources, unreadable) = read_sources(&args.files);
    let report = check_sources(&sources);
    for f in &report.notes {
        eprintln!("note: {f}");
    }
    let findings: Vec<&Finding> = unreadable.iter().chain(&report.findings).collect();
    for f in &findings {
        eprintln!("{f}");
    }
    if !findings.is_empty() {
        return ExitCode::FAILURE;
    }
    let n = report.resources;
    println!("{n} resource{} OK", if n == 1 { "" } else { "s" });
    ExitCode::SUCCESS
}
