//! The command line: flags parsed with clap and each subcommand handed to its verb.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::runtime::block_on;

/// weir runs data pipelines (DAGs of Jobs, Spark and dbt steps) on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about)]
pub struct Cli {
    #[command(subcommand)]
    /// The verb.
    pub command: Command,
}

/// One subcommand per verb.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controllers (kubeconfig or in-cluster config).
    Controller(crate::controller::ControllerArgs),
    /// Print every CRD as YAML, or write them into a directory.
    Crd {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Print, with no cluster, the manifests the controller would create for each step.
    Render(crate::render::RenderArgs),
    /// Check resources offline: schema, DAG, params, templates. One line per problem.
    Check(crate::check::CheckArgs),
    /// Start a run of a Pipeline (like `airflow dags trigger --conf`).
    Run(crate::run::RunArgs),
    /// List runs.
    Get(crate::get::GetArgs),
    /// Show a run's steps.
    Describe(crate::describe::DescribeArgs),
    /// Re-run failed steps (or one step) of a run and everything downstream, keeping successes.
    Retry(crate::retry::RetryArgs),
    /// Cancel a run: its children are deleted.
    Cancel(crate::cancel::CancelArgs),
    /// Start one run per interval of a Pipeline's schedule in a past range (idempotent).
    Backfill(crate::backfill::BackfillArgs),
}

/// Parses the command line and runs the verb it names: all of `weir`'s `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd { write } => crate::crd::run(write.as_deref()),
        Command::Render(args) => crate::render::run(&args),
        Command::Check(args) => crate::check::run(&args),
        Command::Controller(args) => block_on(crate::controller::controller(args)),
        Command::Run(args) => block_on(crate::run::run(args)),
        Command::Get(args) => block_on(crate::get::get(args)),
        Command::Describe(args) => block_on(crate::describe::describe(args)),
        Command::Retry(args) => block_on(crate::retry::retry(args)),
        Command::Cancel(args) => block_on(crate::cancel::cancel(args)),
        Command::Backfill(args) => block_on(crate::backfill::backfill(args)),
    }
}
