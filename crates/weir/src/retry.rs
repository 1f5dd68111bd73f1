//! `weir retry`: re-run a run's failed steps (or one step) and everything downstream.

use std::process::ExitCode;

use clap::Args;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::client::{Ns, runs_api};
use crate::error::fail;

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
