#![expect(
    clippy::expect_used,
    reason = "a benchmark harness: a failed setup step aborts it with its message"
)]

//! weir side by side with Argo Workflows on the same local cluster (issue 13). One
//! invocation runs one scenario against a fresh cluster and appends one JSON line:
//!
//!   bench-compare run --system weir|weir-pod|argo|argo-exec --workload single|chain|fanout
//!       --runs N --run-ms MS [--qps 50 --burst 100] [--argo-bin B --argo-crds DIR]
//!       [--etcd-metrics URL] --out results.jsonl
//!   bench-compare table results.jsonl            (the Markdown tables for BENCHMARKS.md)
//!
//! `argo-exec` is Argo with the harness playing its executor (executor.rs); `weir-pod` is
//! weir creating bare Pods through `resource:` steps (a prototype, specs.rs). Measured: runs
//! per minute from the first create to the last run finished; create → first pod of the
//! run (p50/p99); every write kube-apiserver took in the window, by resource and verb
//! (its `apiserver_request_total`); etcd WAL bytes; the controller's peak RSS and CPU.
//! `bench/compare.sh` runs the matrix.

mod executor;
mod measure;
mod scenario;
mod specs;
mod systems;
mod table;

use std::collections::HashMap;
use std::path::PathBuf;

use specs::Workload;

/// The command line of `run`.
pub struct Args {
    /// `weir`, `weir-pod`, `argo` or `argo-exec`.
    pub system: String,
    /// The DAG of every run.
    pub workload: Workload,
    /// Runs created in the burst.
    pub runs: usize,
    /// How long each step pod runs (kwok's `weir.dev/test-run-for`).
    pub run_ms: u64,
    /// The controller's client QPS.
    pub qps: String,
    /// The controller's client burst.
    pub burst: String,
    /// Argo's workflow-controller binary.
    pub argo_bin: Option<PathBuf>,
    /// Argo's CRD directory (`manifests/base/crds/minimal` of its module).
    pub argo_crds: Option<PathBuf>,
    /// etcd's metrics URL, for WAL bytes.
    pub etcd_metrics: Option<String>,
    /// The JSON-lines file a result is appended to.
    pub out: PathBuf,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut m: HashMap<&str, &str> = HashMap::new();
    let mut it = args.iter();
    while let Some(k) = it.next() {
        let key = k
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {k:?}"))?;
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        m.insert(key, v);
    }
    let get = |k: &str| {
        m.get(k)
            .copied()
            .ok_or_else(|| format!("--{k} is required"))
    };
    let system = get("system")?.to_string();
    if !["weir", "weir-pod", "argo", "argo-exec"].contains(&system.as_str()) {
        return Err(format!(
            "--system {system:?}: weir, weir-pod, argo or argo-exec"
        ));
    }
    let workload = get("workload")?;
    let workload = Workload::parse(workload)
        .ok_or_else(|| format!("--workload {workload:?}: single, chain or fanout"))?;
    let num = |k: &str| -> Result<u64, String> {
        get(k)?
            .parse()
            .map_err(|e| format!("--{k}: not a number: {e}"))
    };
    Ok(Args {
        system,
        workload,
        runs: num("runs")? as usize,
        run_ms: num("run-ms")?,
        qps: m.get("qps").unwrap_or(&"50").to_string(),
        burst: m.get("burst").unwrap_or(&"100").to_string(),
        argo_bin: m.get("argo-bin").map(PathBuf::from),
        argo_crds: m.get("argo-crds").map(PathBuf::from),
        etcd_metrics: m.get("etcd-metrics").map(|s| s.to_string()),
        out: PathBuf::from(get("out")?),
    })
}

#[tokio::main]
async fn main() {
    weir_e2e::cluster::install_crypto_provider();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.first().map(String::as_str) {
        Some("run") => match parse(&argv[1..]) {
            Ok(args) => scenario::run(&args).await,
            Err(e) => {
                eprintln!("bench-compare: {e}");
                std::process::exit(2);
            }
        },
        Some("table") if argv.len() == 2 => {
            if let Err(e) = table::print(&PathBuf::from(&argv[1])) {
                eprintln!("bench-compare: {e}");
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: bench-compare run --system … | bench-compare table FILE");
            std::process::exit(2);
        }
    }
}
