//! `weir-data validate`: a Great Expectations suite run over Parquet or CSV files with
//! polars, in one process, with GE's result shape and an HTML report (the seed's GE-on-Spark
//! checkpoint and its data docs).
//!
//! The suite ([`suite`]) is read, its expectations typed ([`expect`]) and checked against
//! the data's schema before a row is read, so a bad suite fails in milliseconds with one
//! line naming the expectation and field. The files ([`data`]) are scanned lazily; every
//! count comes from one streaming pass ([`eval`]). The verdict ([`result`]) is the share of
//! expectations that succeeded against `--threshold`: below it the command exits
//! [`EXIT_VALIDATION_FAILED`] with `reason: ValidationFailed`, a bad suite exits
//! [`EXIT_INVALID_SUITE`], anything else (a store, a broken file) exits 1 — so a step's
//! `retryOn` can retry a crash and never a data-quality failure.

pub mod batches;
pub mod data;
pub mod eval;
pub mod expect;
pub mod kwargs;
pub mod report;
pub mod result;
pub mod schema;
pub mod suite;
pub mod values;

use std::fmt;
use std::time::Instant;

use polars::prelude::*;
use weir_blob::{BlobUri, Options};

use crate::error::{Error, Result};

/// Exit code below the threshold.
pub const EXIT_VALIDATION_FAILED: u8 = 3;
/// Exit code of a suite that cannot run (bad YAML, unset variable, unknown expectation,
/// unknown column, wrong parameter).
pub const EXIT_INVALID_SUITE: u8 = 4;
/// The termination-message reason of a bad suite.
pub const INVALID_SUITE: &str = "InvalidSuite";

/// The command line of `weir-data validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The expectation suite: YAML or JSON in Great Expectations' shape.
    #[arg(long)]
    pub suite: String,
    /// The data: one object, a prefix (every .parquet / .csv below it) or a glob
    /// (`s3://b/staging/**/*.parquet`); s3://, gs:// or file:///.
    #[arg(long)]
    pub data: String,
    /// The share of expectations that must succeed (0 to 1).
    #[arg(long, default_value_t = 1.0)]
    pub threshold: f64,
    /// Where to write the HTML report: an object or a directory (gets index.html).
    #[arg(long)]
    pub report: Option<String>,
    /// Read the files as this format whatever their names (parquet or csv).
    #[arg(long, value_parser = ["parquet", "csv"])]
    pub format: Option<String>,
    /// Where objects from s3:// and gs:// are spooled before scanning (default: TMPDIR).
    #[arg(long)]
    pub spool_dir: Option<std::path::PathBuf>,
}

/// Examples and output for `weir-data validate --help`.
pub const HELP: &str = "\
Runs a Great Expectations suite (YAML or JSON, GE's own shape) over Parquet or CSV files:
  expectations:
    - type: expect_column_values_to_not_be_null
      kwargs: {column: amount, mostly: 0.95}
${VAR} and ${VAR:-default} are taken from the environment; ${ref:a.b.c} is the value at
that path of the same file. Supported: expect_column_to_exist, _values_to_be_of_type,
_values_to_be_in_type_list, _values_to_(not_)be_null, _values_to_be_unique,
_values_to_be_between, _values_to_(not_)be_in_set, _values_to_(not_)match_regex,
_value_lengths_to_be_between / _to_equal, _mean/_min/_max/_median/_stdev_to_be_between,
expect_table_row_count_to_be_between / _to_equal, expect_table_columns_to_match_ordered_list,
_to_match_set, expect_column_pair_values_a_to_be_greater_than_b, _pair_values_to_be_equal,
expect_compound_columns_to_be_unique.

Prints GE's result JSON (also the termination message, cut to 4 KiB):
  {\"success\":false,\"threshold_met\":true,\"success_fraction\":0.9,\"threshold\":0.9,
   \"statistics\":{…},\"results\":[{\"success\":…,\"expectation_config\":{\"type\":…,\"kwargs\":…},
   \"result\":{\"observed_value\":…,\"unexpected_count\":…,\"unexpected_percent\":…,
   \"partial_unexpected_list\":[…]}}]}
Exit 0 at or above --threshold; 3 below it (reason ValidationFailed); 4 for a suite that
cannot run (one line naming the expectation and field); 1 for anything else.

Examples:
  weir-data validate --suite batch.yaml --data gs://lake/staging/ --threshold 0.9
  weir-data validate --suite s.json --data 's3://b/in/**/*.parquet' --report gs://docs/ge/
  weir-data validate --suite s.yaml --data file:///data/x.csv";

/// A suite that cannot run: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteError {
    /// The suite file, once known.
    pub path: Option<String>,
    /// `expectation N (type): field`, when the error is about one.
    pub at: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl SuiteError {
    /// An error about the file as a whole.
    pub fn file(path: &str, reason: &str) -> Self {
        SuiteError {
            path: Some(path.to_owned()),
            at: None,
            reason: reason.to_owned(),
        }
    }

    /// An error about `field` of expectation `index` (0-based; shown 1-based).
    pub fn at(index: usize, kind: Option<&str>, field: &str, reason: &str) -> Self {
        let mut at = format!("expectation {}", index + 1);
        if let Some(kind) = kind {
            at.push_str(&format!(" ({kind})"));
        }
        if !field.is_empty() {
            at.push_str(&format!(": {field}"));
        }
        SuiteError {
            path: None,
            at: Some(at),
            reason: reason.to_owned(),
        }
    }

    fn in_file(mut self, path: &str) -> Self {
        self.path.get_or_insert_with(|| path.to_owned());
        self
    }
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        if let Some(at) = &self.at {
            write!(f, "{at}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// A finished validation: the result, and whether it met the threshold.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The full result (stdout).
    pub json: String,
    /// The bounded termination message.
    pub termination: String,
    /// Whether the threshold was met.
    pub passed: bool,
}

/// Runs the command.
pub async fn run(args: &Args, options: &Options) -> Result<Outcome> {
    let started = Instant::now();
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(Error::Usage(format!(
            "--threshold {} is not between 0 and 1",
            args.threshold
        )));
    }
    let suite = suite::load(&args.suite).map_err(Error::InvalidSuite)?;
    let expectations = suite
        .expectations
        .iter()
        .enumerate()
        .map(|(i, raw)| expect::parse(i, raw))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidSuite(e.in_file(&args.suite)))?;
    let report_uri = args.report.as_deref().map(BlobUri::parse).transpose()?;
    let format = args.format.as_deref().map(|f| match f {
        "csv" => data::Format::Csv,
        _ => data::Format::Parquet,
    });
    let files = data::resolve(&args.data, format, options, args.spool_dir.as_deref()).await?;
    let spooled = files.downloaded;
    let (file_count, format_name) = (files.paths.len(), files.format.name());
    let data_uri = args.data.clone();
    let suite_path = args.suite.clone();
    let (results, rows) = tokio::task::spawn_blocking(move || {
        let checked = run_checks(&files, &expectations, &suite_path, &data_uri);
        drop(files);
        checked.map(|(obs, schema)| {
            let rows = obs.first().map_or(0, |o| o.element_count);
            let results: Vec<_> = expectations
                .iter()
                .zip(&obs)
                .map(|(e, o)| result::expectation_result(e, o, &schema))
                .collect();
            (results, rows)
        })
    })
    .await
    .map_err(|e| Error::Data {
        uri: args.data.clone(),
        reason: format!("the validation stopped: {e}"),
    })??;
    let info = result::DataInfo {
        uri: args.data.clone(),
        files: file_count,
        format: format_name.to_owned(),
        rows,
        seconds: 0.0,
    };
    let mut validation = result::Validation::new(suite.name, info, results, args.threshold);
    validation.data.seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    if let Some(uri) = &report_uri {
        validation.report = Some(report::upload(&validation, uri, options).await?);
    }
    eprintln!("{}", summary(&validation, spooled));
    Ok(Outcome {
        json: validation.to_json(),
        termination: validation.termination_message(),
        passed: validation.threshold_met,
    })
}

/// Scans the files, checks the suite against their schema and evaluates it.
fn run_checks(
    files: &data::Files,
    expectations: &[expect::Expectation],
    suite_path: &str,
    data_uri: &str,
) -> Result<(Vec<eval::Observed>, Schema)> {
    let data_err = |e: PolarsError| Error::Data {
        uri: data_uri.to_owned(),
        reason: e.to_string().lines().next().unwrap_or_default().to_owned(),
    };
    let mut lf = scan(files).map_err(data_err)?;
    let schema = lf.collect_schema().map_err(data_err)?;
    for (i, e) in expectations.iter().enumerate() {
        schema::check(i, e, &schema).map_err(|err| Error::InvalidSuite(err.in_file(suite_path)))?;
    }
    // polars reports some internal failures by panicking; one must not take the process
    // down without a line naming the data.
    // Slices of a Parquet scan read only their row groups; a CSV slice would re-read what
    // comes before it, so CSV is counted in one piece.
    let batch_rows = match files.format {
        data::Format::Parquet => batches::BATCH_ROWS,
        data::Format::Csv => 0,
    };
    let observed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eval::evaluate(
            &lf,
            &schema,
            expectations,
            batch_rows,
            eval::UNIQUE_PASS_ROWS,
        )
    }))
    .map_err(|_| Error::Data {
        uri: data_uri.to_owned(),
        reason: "polars failed while reading the data".to_owned(),
    })?
    .map_err(data_err)?;
    Ok((observed, (*schema).clone()))
}

/// The lazy scan of all the files (one schema across them).
fn scan(files: &data::Files) -> PolarsResult<LazyFrame> {
    let paths: std::sync::Arc<[std::path::PathBuf]> = files.paths.clone().into();
    match files.format {
        data::Format::Parquet => LazyFrame::scan_parquet_files(paths, ScanArgsParquet::default()),
        data::Format::Csv => LazyCsvReader::new_paths(paths)
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .finish(),
    }
}

/// One line for stderr.
fn summary(v: &result::Validation, spooled: u64) -> String {
    let failed: Vec<&str> = v
        .results
        .iter()
        .filter(|r| !r.success)
        .map(|r| r.expectation_config.kind.as_str())
        .collect();
    format!(
        "validate: {} of {} expectations succeeded ({:.1}%, threshold {:.1}%) over {} rows of \
         {} {} file(s){} in {:.2}s{}{}",
        v.statistics.successful_expectations,
        v.statistics.evaluated_expectations,
        v.success_fraction * 100.0,
        v.threshold * 100.0,
        v.data.rows,
        v.data.files,
        v.data.format,
        if spooled > 0 {
            format!(" ({spooled} bytes spooled)")
        } else {
            String::new()
        },
        v.data.seconds,
        if failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {}", failed.join(", "))
        },
        v.report
            .as_ref()
            .map(|r| format!("; report {r}"))
            .unwrap_or_default()
    )
}
