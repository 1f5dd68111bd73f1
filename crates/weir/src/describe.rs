//! `weir describe run`: a run's steps, as text or as YAML / JSON.

use std::process::ExitCode;

use clap::Args;

use crate::client::{Ns, runs_api};
use crate::error::fail;
use crate::output::{Output, describe_text, print_json, print_yaml};

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
