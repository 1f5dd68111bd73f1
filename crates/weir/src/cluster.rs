//! Subcommands that talk to a cluster: `run`, `get`, `describe`, `retry`, `cancel`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use comfy_table::{Table, presets::NOTHING};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use weir_api::labels;
use weir_api::v1alpha1::{PipelineRun, PipelineRunSpec, PipelineRunStatus, RunPhase, StepStatus};

/// Output formats for commands that show objects.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// A table (or text) for people.
    Table,
    /// The object(s) as YAML.
    Yaml,
    /// The object(s) as JSON.
    Json,
}

/// Namespace selection shared by every cluster command.
#[derive(Debug, Args)]
pub struct Ns {
    /// The namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
}

/// Flags of `weir run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The Pipeline to run.
    pub pipeline: String,
    /// A parameter value, `KEY=VALUE` (repeatable).
    #[arg(short = 'p', long = "param")]
    pub params: Vec<String>,
    /// Wait for the run to finish, showing each step as it changes; exit 0 only on success.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    ns: Ns,
}

/// Flags of `weir get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to list: `runs`.
    #[arg(value_parser = ["runs", "run", "pipelineruns"])]
    pub what: String,
    /// Only runs of this Pipeline.
    #[arg(long)]
    pub pipeline: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    ns: Ns,
}

/// Flags of `weir describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// What to describe: `run`.
    #[arg(value_parser = ["run", "pipelinerun"])]
    pub what: String,
    /// The run's name.
    pub name: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    ns: Ns,
}

/// Flags of `weir retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The run.
    pub run: String,
    /// Re-run this step (repeatable) and everything downstream; default: every failed step.
    #[arg(long)]
    pub step: Vec<String>,
    #[command(flatten)]
    ns: Ns,
}

/// Flags of `weir cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The run.
    pub run: String,
    #[command(flatten)]
    ns: Ns,
}

async fn runs_api(ns: &Ns) -> Result<Api<PipelineRun>, String> {
    let client = Client::try_default()
        .await
        .map_err(|e| format!("cannot connect to the cluster: {e}"))?;
    Ok(match &ns.namespace {
        Some(n) => Api::namespaced(client, n),
        None => Api::default_namespaced(client),
    })
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::FAILURE
}

fn parse_params(raw: &[String]) -> Result<BTreeMap<String, String>, String> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("-p {p}: expected KEY=VALUE")),
        })
        .collect()
}

/// `weir run`.
pub async fn run(args: RunArgs) -> ExitCode {
    let params = match parse_params(&args.params) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let api = match runs_api(&args.ns).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let mut run = PipelineRun::new(
        "",
        PipelineRunSpec {
            pipeline_ref: Some(args.pipeline.clone()),
            params,
            ..Default::default()
        },
    );
    run.metadata.name = None;
    run.metadata.generate_name = Some(format!("{}-", trim_name(&args.pipeline)));
    run.metadata.labels = Some(BTreeMap::from([(
        labels::PIPELINE.to_string(),
        trim_name(&args.pipeline),
    )]));
    run.metadata.annotations = Some(BTreeMap::from([(
        labels::STARTED_BY.to_string(),
        "manual".to_string(),
    )]));
    let created = match api.create(&PostParams::default(), &run).await {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot create the run: {e}")),
    };
    let name = created.name_any();
    println!("pipelinerun/{name} created");
    if !args.wait {
        return ExitCode::SUCCESS;
    }
    wait(&api, &name).await
}

fn trim_name(n: &str) -> String {
    n.chars().take(50).collect()
}

/// Follows a run until it finishes, printing a line each time a step changes.
async fn wait(api: &Api<PipelineRun>, name: &str) -> ExitCode {
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher(api.clone(), cfg)
        .default_backoff()
        .applied_objects()
        .boxed();
    let mut seen: BTreeMap<String, (String, u32)> = BTreeMap::new();
    let started = std::time::Instant::now();
    loop {
        let run = match stream.try_next().await {
            Ok(Some(r)) => r,
            Ok(None) => return fail("the watch ended"),
            Err(e) => return fail(format!("watching {name}: {e}")),
        };
        let Some(status) = run.status else { continue };
        for s in &status.steps {
            let key = (s.phase.as_str().to_string(), s.attempt);
            if seen.get(&s.name) != Some(&key) {
                let detail = s
                    .reason
                    .as_ref()
                    .filter(|_| s.phase != weir_api::v1alpha1::StepPhase::Running)
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                println!(
                    "{:>6.1}s  {:<24} {:<15} attempt {}{}",
                    started.elapsed().as_secs_f32(),
                    s.name,
                    s.phase.as_str(),
                    s.attempt,
                    detail
                );
                seen.insert(s.name.clone(), key);
            }
        }
        if status.phase.is_finished() {
            println!(
                "run {name} {}{}",
                status.phase.as_str(),
                status.message.map(|m| format!(": {m}")).unwrap_or_default()
            );
            return if status.phase == RunPhase::Succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    }
}

/// `weir get runs`.
pub async fn get(args: GetArgs) -> ExitCode {
    let api = match runs_api(&args.ns).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let list = match api.list(&ListParams::default()).await {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot list runs: {e}")),
    };
    let mut runs: Vec<PipelineRun> = list
        .items
        .into_iter()
        .filter(|r| args.pipeline.is_none() || r.spec.pipeline_ref == args.pipeline)
        .collect();
    runs.sort_by_key(|r| r.metadata.creation_timestamp.clone());
    match args.output {
        Output::Yaml => print_yaml(&runs),
        Output::Json => print_json(&runs),
        Output::Table => {
            let mut t = table([
                "NAME", "PIPELINE", "PHASE", "PROGRESS", "STARTED", "DURATION",
            ]);
            let now = jiff::Timestamp::now();
            for r in &runs {
                let s = r.status.clone().unwrap_or_default();
                t.add_row([
                    r.name_any(),
                    r.spec
                        .pipeline_ref
                        .clone()
                        .unwrap_or_else(|| "(inline)".into()),
                    s.phase.as_str().to_string(),
                    s.progress.clone().unwrap_or_default(),
                    s.start_time
                        .as_ref()
                        .map(|t| t.0.to_string())
                        .unwrap_or_default(),
                    duration(
                        s.start_time.as_ref().map(|t| t.0),
                        s.completion_time.as_ref().map(|t| t.0),
                        now,
                    ),
                ]);
            }
            println!("{t}");
            ExitCode::SUCCESS
        }
    }
}

/// `weir describe run`.
pub async fn describe(args: DescribeArgs) -> ExitCode {
    let api = match runs_api(&args.ns).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let run = match api.get(&args.name).await {
        Ok(r) => r,
        Err(e) => return fail(format!("run {}: {e}", args.name)),
    };
    match args.output {
        Output::Yaml => print_yaml(&run),
        Output::Json => print_json(&run),
        Output::Table => {
            print!("{}", describe_text(&run, jiff::Timestamp::now()));
            ExitCode::SUCCESS
        }
    }
}

/// The text of `weir describe run`: a header, then one row per step.
pub fn describe_text(run: &PipelineRun, now: jiff::Timestamp) -> String {
    let s: PipelineRunStatus = run.status.clone().unwrap_or_default();
    let mut out = String::new();
    out.push_str(&format!("Name:      {}\n", run.name_any()));
    out.push_str(&format!(
        "Pipeline:  {}\n",
        run.spec.pipeline_ref.as_deref().unwrap_or("(inline)")
    ));
    out.push_str(&format!("Phase:     {}\n", s.phase.as_str()));
    if let Some(p) = &s.progress {
        out.push_str(&format!("Progress:  {p}\n"));
    }
    if let Some(t) = &s.start_time {
        out.push_str(&format!("Started:   {}\n", t.0));
    }
    if let Some(t) = &s.completion_time {
        out.push_str(&format!("Finished:  {}\n", t.0));
    }
    if let Some(m) = &s.message {
        out.push_str(&format!("Message:   {m}\n"));
    }
    if !s.params.is_empty() {
        let ps: Vec<String> = s.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("Params:    {}\n", ps.join(" ")));
    }
    let mut t = table(["STEP", "PHASE", "ATTEMPT", "DURATION", "REASON", "CHILDREN"]);
    for st in &s.steps {
        t.add_row(step_row(st, now));
    }
    out.push_str(&format!("\n{t}\n"));
    out
}

fn step_row(st: &StepStatus, now: jiff::Timestamp) -> [String; 6] {
    let reason = match (&st.reason, &st.message) {
        (Some(r), Some(m))
            if !st.phase.is_finished() || st.phase != weir_api::v1alpha1::StepPhase::Succeeded =>
        {
            let m: String = m.chars().take(60).collect();
            format!("{r}: {m}")
        }
        (Some(r), _) => r.to_string(),
        _ => String::new(),
    };
    [
        st.name.clone(),
        st.phase.as_str().to_string(),
        st.attempt.to_string(),
        duration(
            st.start_time.as_ref().map(|t| t.0),
            st.finish_time.as_ref().map(|t| t.0),
            now,
        ),
        reason,
        st.children.join(","),
    ]
}

fn duration(
    start: Option<jiff::Timestamp>,
    end: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> String {
    let Some(start) = start else {
        return String::new();
    };
    let secs = end.unwrap_or(now).duration_since(start).as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut t = Table::new();
    t.load_style(NOTHING);
    t.set_header(header);
    t
}

fn print_yaml<T: serde::Serialize>(v: &T) -> ExitCode {
    match serde_saphyr::to_string(v) {
        Ok(y) => {
            print!("{y}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> ExitCode {
    match serde_json::to_string_pretty(v) {
        Ok(j) => {
            println!("{j}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `weir retry`.
pub async fn retry(args: RetryArgs) -> ExitCode {
    let api = match runs_api(&args.ns).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let run = match api.get(&args.run).await {
        Ok(r) => r,
        Err(e) => return fail(format!("run {}: {e}", args.run)),
    };
    let steps: Vec<String> = run
        .status
        .as_ref()
        .map(|s| s.steps.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default();
    for s in &args.step {
        if !steps.contains(s) {
            return fail(format!(
                "run {} has no step {s} (steps: {})",
                args.run,
                steps.join(", ")
            ));
        }
    }
    let id = jiff::Timestamp::now().as_millisecond().to_string();
    // A cancelled run stays cancelled unless the re-run clears the cancel with it (the
    // controller refuses a re-run of a run that is still cancelled).
    let cancelled = run.spec.cancel;
    let patch = if cancelled {
        json!({ "spec": { "cancel": false, "rerun": { "id": id, "steps": args.step } } })
    } else {
        json!({ "spec": { "rerun": { "id": id, "steps": args.step } } })
    };
    match api
        .patch(&args.run, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            let what = if args.step.is_empty() {
                "every failed step".to_string()
            } else {
                args.step.join(", ")
            };
            let uncancel = if cancelled { " (cancel cleared)" } else { "" };
            println!(
                "pipelinerun/{} re-running {what} and everything downstream{uncancel}",
                args.run
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("cannot patch {}: {e}", args.run)),
    }
}

/// `weir cancel`.
pub async fn cancel(args: CancelArgs) -> ExitCode {
    let api = match runs_api(&args.ns).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let patch = json!({ "spec": { "cancel": true } });
    match api
        .patch(&args.run, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            println!("pipelinerun/{} cancelled", args.run);
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("cannot cancel {}: {e}", args.run)),
    }
}
