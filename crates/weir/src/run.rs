//! `weir run`: start a run of a Pipeline (like `airflow dags trigger --conf`), and with
//! `--wait` follow it to its end.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use futures::{StreamExt, TryStreamExt};
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use weir_api::labels;
use weir_api::v1alpha1::{PipelineRun, PipelineRunSpec, RunPhase};

use crate::client::{Ns, parse_params, runs_api};
use crate::error::fail;

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

pub(crate) fn trim_name(n: &str) -> String {
    n.chars().take(50).collect()
}

/// Follows a run until it finishes, printing a line each time a step changes.
pub(crate) async fn wait(api: &Api<PipelineRun>, name: &str) -> ExitCode {
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
