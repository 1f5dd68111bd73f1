//! `weir cancel`: stop a run; its children are deleted.

use std::process::ExitCode;

use clap::Args;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::client::{Ns, runs_api};
use crate::error::fail;

/// Flags of `weir cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The run.
    pub run: String,
    #[command(flatten)]
    ns: Ns,
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
