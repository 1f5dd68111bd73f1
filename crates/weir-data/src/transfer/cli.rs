//! The `transfer` subcommand's flags, help and result, for the binary.

use serde::Serialize;
use weir_blob::{BlobUri, Options};

use super::{Config, Progress, Stores, Summary};
use crate::error::{Error, Result};
use crate::glob::Glob;

/// The text after the flags in `weir-data transfer --help`.
pub const HELP: &str = "\
Copies one object, or every object under a prefix, between s3://, gs:// and file:// in any
direction, streaming through this process (so any S3-compatible source works; no cloud
transfer service is involved). A URI whose key names an object is that object; otherwise
it is a directory: s3://b/events copies events/… to the same relative keys below --to.

Each object goes up as a multipart (S3) or resumable (GCS) upload that appears only when
complete, after the bytes read matched the source's size and checksum; the CRC32C of what
was sent is then compared with what the destination stored. Objects already at the
destination with the same size and checksum are skipped: a re-run after a failure or a kill
copies only the rest. Memory: about --concurrency × --part-size-mib, whatever the sizes.

Progress goes to stderr; the result is one JSON object on stdout (and the termination log):
  {\"from\":\"s3://…\",\"to\":\"gs://…\",\"objects\":200,\"copied\":120,\"skipped\":80,
   \"bytes_copied\":…,\"bytes_skipped\":…,\"checksums_verified\":120,
   \"source_checksums_verified\":120,\"seconds\":4.2,\"bytes_per_second\":…}

Examples:
  weir-data transfer --from s3://landing/events/2024-06-01/ --to gs://lake/raw/events/2024-06-01/
  weir-data transfer --from s3://landing/exports --to gs://lake/exports --include '**/*.parquet'
  weir-data transfer --from gs://lake/report.csv --to file:///tmp/out/
  weir-data --s3-endpoint http://minio:9000 --s3-path-style transfer --from s3://b/x/ --to gs://c/x/";

/// `weir-data transfer` flags.
#[derive(clap::Args, Debug)]
pub struct TransferArgs {
    /// What to copy: an object or a prefix (s3://, gs:// or file:///).
    #[arg(long)]
    from: String,
    /// Where to: a prefix (or, for one object, an object key).
    #[arg(long)]
    to: String,
    /// Only the keys below --from that match this glob (`*` within a segment, `**` across).
    #[arg(long)]
    include: Option<String>,
    /// Objects copied at once.
    #[arg(long, default_value_t = super::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// MiB per upload part (at least 5): memory is about one part per object in flight.
    #[arg(long, default_value_t = 8)]
    part_size_mib: usize,
    /// No progress lines (the summary line is still printed).
    #[arg(long)]
    quiet: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    from: String,
    to: String,
    #[serde(flatten)]
    summary: &'a Summary,
}

/// Runs the transfer; the result is the JSON for stdout and the termination log.
pub async fn run(args: TransferArgs, options: &Options) -> Result<String> {
    let from = BlobUri::parse(&args.from)?;
    let to = BlobUri::parse(&args.to)?;
    let include = args
        .include
        .as_deref()
        .map(Glob::new)
        .transpose()
        .map_err(Error::Usage)?;
    if args.part_size_mib < 5 {
        return Err(Error::Usage(
            "--part-size-mib must be at least 5 (the smallest part S3 accepts)".to_owned(),
        ));
    }
    if args.concurrency == 0 {
        return Err(Error::Usage("--concurrency must be at least 1".to_owned()));
    }
    let options = Options {
        part_size: args.part_size_mib.saturating_mul(1 << 20),
        ..options.clone()
    };
    let source = weir_blob::open(&from, &options).await?;
    let dest = weir_blob::open(&to, &options).await?;
    let config = Config {
        include,
        concurrency: args.concurrency,
    };
    let progress = Progress::new(args.quiet);
    let stores = Stores {
        source: source.as_ref(),
        dest: dest.as_ref(),
    };
    let summary = super::transfer(stores, &from, &to, &config, &progress).await?;
    eprintln!("{}", summary.line());
    let result = Report {
        from: from.to_string(),
        to: to.to_string(),
        summary: &summary,
    };
    serde_json::to_string(&result)
        .map_err(|e| Error::Usage(format!("cannot print the result: {e}")))
}
