//! `weir get runs`: list runs, as a table or as YAML / JSON.

use std::process::ExitCode;

use clap::Args;
use kube::ResourceExt;
use kube::api::ListParams;
use weir_api::v1alpha1::PipelineRun;

use crate::client::{Ns, runs_api};
use crate::error::fail;
use crate::output::{Output, duration, print_json, print_yaml, table};

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
