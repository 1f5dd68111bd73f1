//! The `weir-data` binary: parses the command line, runs one subcommand, prints its JSON
//! result on stdout and in the termination log, and turns any failure into one line on
//! stderr and a non-zero exit code.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use weir_blob::{BlobUri, GcsCredentials, GcsOptions, Options, S3Options};
use weir_data::dbt_docs;
use weir_data::glob::Glob;
use weir_data::output::{self, ManifestDir};
use weir_data::schema_groups::{self, Config};
use weir_data::transfer;
use weir_data::validate;
use weir_data::{Error, Result};

/// weir's data-plane steps, run inside step pods.
#[derive(Parser, Debug)]
#[command(name = "weir-data", version)]
struct Cli {
    #[command(flatten)]
    stores: StoreArgs,
    /// Where Kubernetes reads the container's termination message; the result is written
    /// there too. The default is skipped when it cannot be written (outside a pod).
    #[arg(long, env = "WEIR_TERMINATION_LOG", global = true)]
    termination_log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// How to reach the object stores; unset values come from each cloud's default chain
/// (AWS_* variables and profiles; GOOGLE_APPLICATION_CREDENTIALS, STORAGE_EMULATOR_HOST).
#[derive(Args, Debug)]
struct StoreArgs {
    /// An S3-compatible endpoint, e.g. http://127.0.0.1:9000.
    #[arg(long, env = "WEIR_S3_ENDPOINT", global = true)]
    s3_endpoint: Option<String>,
    /// The S3 region.
    #[arg(long, env = "WEIR_S3_REGION", global = true)]
    s3_region: Option<String>,
    /// Path-style S3 addressing (endpoint/bucket/key), which most S3-compatible servers need.
    #[arg(long, env = "WEIR_S3_PATH_STYLE", global = true)]
    s3_path_style: bool,
    /// The GCS JSON API's base URL (an emulator).
    #[arg(long, env = "WEIR_GCS_ENDPOINT", global = true)]
    gcs_endpoint: Option<String>,
    /// A GCS service-account key file instead of the default credentials.
    #[arg(long, env = "WEIR_GCS_KEY_FILE", global = true)]
    gcs_key_file: Option<std::path::PathBuf>,
    /// No GCS credentials (public buckets, emulators).
    #[arg(long, env = "WEIR_GCS_ANONYMOUS", global = true)]
    gcs_anonymous: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Group Parquet files (under a prefix, or one object) by schema, reading only footers.
    #[command(after_help = SCHEMA_GROUPS_HELP)]
    SchemaGroups(SchemaGroupsArgs),
    /// Copy an object or a prefix between stores, streaming, checked and resumable.
    #[command(after_help = transfer::cli::HELP)]
    Transfer(transfer::cli::TransferArgs),
    /// Bundle dbt's docs into one index.html (manifest and catalog inlined) and upload it.
    #[command(after_help = dbt_docs::HELP)]
    DbtDocs(dbt_docs::Args),
    /// Run a Great Expectations suite over Parquet or CSV files; exit 3 below --threshold.
    #[command(after_help = validate::HELP)]
    Validate(validate::Args),
}

/// What a subcommand leaves: the result for stdout, the termination message, the exit code.
struct Done {
    stdout: String,
    termination: String,
    code: u8,
}

const SCHEMA_GROUPS_HELP: &str = "\
Prints a JSON array for a `forEach: {fromStep: …}` step (at most 1,000 items, 4 KiB):
  [{\"group\":0,\"schema\":\"3f2a9c01b2d4\",\"files\":[\"s3://b/in/a.parquet\"],\"count\":1}]
or, when the file lists do not fit, one manifest object per group under --manifest-dir:
  [{\"group\":0,\"schema\":\"3f2a9c01b2d4\",\"manifest\":\"s3://b/m/group-0.json\",\"count\":1}]
Files, read requests and bytes read go to stderr.

URI is a directory (prefix) unless it names an existing object: then that one file is
grouped, whatever the glob (a bucket trigger passes the new object's URI). The glob is matched
against the key below URI: `*` and `?` stay within one path segment (they do not cross `/`),
`**` crosses segments, and `**/` also matches no directory.

Exit code 0 with the result on stdout (and in the termination log); otherwise 1 and one
line on stderr naming the URI (bad URI, missing bucket, no permission, a file that is not
Parquet or is cut short).

Examples:
  weir-data schema-groups s3://landing/events/2024-06-01/
  weir-data schema-groups gs://lake/events --glob '**/*.parquet' --manifest-dir gs://lake/_weir/run-42
  weir-data schema-groups file:///data/events --glob 'part-*.parquet'
  weir-data schema-groups gs://lake/raw/2024/05/01/part-0.parquet";

#[derive(Args, Debug)]
struct SchemaGroupsArgs {
    /// The prefix (a directory) holding the Parquet files, or one Parquet object: s3://,
    /// gs:// or file:///.
    uri: String,
    /// Which keys below URI to read.
    #[arg(long, default_value = "*.parquet")]
    glob: String,
    /// Where to write one manifest per group when the file lists do not fit the result.
    #[arg(long)]
    manifest_dir: Option<String>,
    /// Footers read at once.
    #[arg(long, default_value_t = schema_groups::DEFAULT_CONCURRENCY)]
    concurrency: usize,
}

fn main() -> ExitCode {
    // The one TLS provider (a second one would panic at the first TLS call); installing it
    // fails only when one is already installed, which is then the same one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("weir-data: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (path, explicit) = match &cli.termination_log {
        Some(path) => (path.clone(), true),
        None => ("/dev/termination-log".to_owned(), false),
    };
    let done = match runtime.block_on(run(cli)) {
        Ok(done) => done,
        Err(Error::InvalidSuite(e)) => {
            // A suite that cannot run fails the same way every time: its own exit code and
            // reason, so a retry policy can tell it from a crash.
            eprintln!("weir-data: invalid suite: {e}");
            let message = serde_json::json!({
                "reason": validate::INVALID_SUITE,
                "message": e.to_string(),
            });
            let _ = output::write_termination_log(&path, explicit, &message.to_string());
            return ExitCode::from(validate::EXIT_INVALID_SUITE);
        }
        Err(e) => {
            eprintln!("weir-data: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", done.stdout);
    if let Err(e) = output::write_termination_log(&path, explicit, &done.termination) {
        eprintln!("weir-data: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::from(done.code)
}

async fn run(cli: Cli) -> Result<Done> {
    let options = cli.stores.options();
    let plain = |result: String| Done {
        termination: result.clone(),
        stdout: result,
        code: 0,
    };
    Ok(match cli.command {
        Command::SchemaGroups(args) => plain(schema_groups(args, &options).await?),
        Command::Transfer(args) => plain(transfer::cli::run(args, &options).await?),
        Command::DbtDocs(args) => plain(dbt_docs::run(&args, &options).await?),
        Command::Validate(args) => {
            let outcome = validate::run(&args, &options).await?;
            Done {
                stdout: outcome.json,
                termination: outcome.termination,
                code: if outcome.passed {
                    0
                } else {
                    validate::EXIT_VALIDATION_FAILED
                },
            }
        }
    })
}

async fn schema_groups(args: SchemaGroupsArgs, options: &Options) -> Result<String> {
    let uri = BlobUri::parse(&args.uri)?;
    let glob = Glob::new(&args.glob).map_err(Error::Usage)?;
    let manifest_uri = args
        .manifest_dir
        .as_deref()
        .map(BlobUri::parse)
        .transpose()?;
    let config = Config {
        glob,
        concurrency: args.concurrency,
        ..Config::default()
    };
    let store = weir_blob::open(&uri, options).await?;
    let grouping = schema_groups::group(store.as_ref(), &uri, &config).await?;
    eprintln!("{}", schema_groups::summary(&grouping));
    let manifest_store = match &manifest_uri {
        Some(m) => Some(weir_blob::open(m, options).await?),
        None => None,
    };
    let manifest_dir = manifest_uri
        .as_ref()
        .zip(manifest_store.as_deref())
        .map(|(uri, store)| ManifestDir { uri, store });
    output::render(&grouping.groups, manifest_dir).await
}

impl StoreArgs {
    fn options(&self) -> Options {
        let credentials = match (&self.gcs_key_file, self.gcs_anonymous) {
            (_, true) => GcsCredentials::Anonymous,
            (Some(path), false) => GcsCredentials::KeyFile(path.clone()),
            (None, false) => GcsCredentials::Default,
        };
        Options {
            s3: S3Options {
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
                path_style: self.s3_path_style,
                credentials: None,
            },
            gcs: GcsOptions {
                endpoint: self.gcs_endpoint.clone(),
                credentials,
            },
            ..Options::default()
        }
    }
}
