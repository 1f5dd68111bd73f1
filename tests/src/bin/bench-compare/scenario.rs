//! One scenario: install the system, start its controller, warm it up with one tiny run,
//! then create the runs 16 at a time as fast as possible and measure until every run is
//! finished and the API server's write counters have settled.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use weir_e2e::TestNamespace;

use crate::measure::{self, Writes};
use crate::specs::{self, Workload};
use crate::systems::{self, Controller};
use crate::{Args, executor};

/// When each run was first seen finished, and its phase.
type Done = Arc<Mutex<HashMap<String, (Instant, String)>>>;
/// When each run's first pod was first seen.
type FirstPod = Arc<Mutex<HashMap<String, Instant>>>;

const WARMUP: &str = "warmup";

pub async fn run(args: &Args) {
    let argo = args.system.starts_with("argo");
    let bare_pods = args.system == "weir-pod";
    let ns = TestNamespace::create(&format!("cmp-{}", args.system)).await;
    let client = ns.client();
    let (runs_gvp, def_gvp) = if argo {
        let dir = args
            .argo_crds
            .as_deref()
            .expect("--argo-crds is required for Argo");
        systems::install_argo(&ns, dir).await;
        (systems::RUNS_ARGO, systems::DEF_ARGO)
    } else {
        systems::install_weir(&client).await;
        (systems::RUNS_WEIR, systems::DEF_WEIR)
    };
    let runs_api = systems::dynamic(&client, ns.name(), runs_gvp);
    let defs = systems::dynamic(&client, ns.name(), def_gvp);
    let (definition, warmup) = if argo {
        (
            specs::workflow_template(args.workload, args.run_ms),
            specs::workflow_template(Workload::Single, 0),
        )
    } else {
        (
            specs::pipeline(args.workload, args.run_ms, bare_pods),
            specs::pipeline(Workload::Single, 0, bare_pods),
        )
    };
    systems::apply_yaml(&defs, &definition).await;
    let warmup = warmup.replacen(
        &format!("name: {}", specs::DEFINITION),
        &format!("name: {WARMUP}"),
        1,
    );
    systems::apply_yaml(&defs, &warmup).await;

    let log = std::env::temp_dir().join(format!("bench-compare-{}.log", ns.name()));
    let mut ctl = match args.system.as_str() {
        "weir" | "weir-pod" => {
            Controller::weir(ns.name(), free_port(), &args.qps, &args.burst, &log)
        }
        _ => {
            let bin = args
                .argo_bin
                .as_deref()
                .expect("--argo-bin is required for Argo");
            Controller::argo(bin, ns.name(), &args.qps, &args.burst, &log)
        }
    };
    ctl.until_ready().await;

    let done: Done = Arc::default();
    let first_pod: FirstPod = Arc::default();
    let watches = [
        tokio::spawn(watch_runs(runs_api.clone(), done.clone())),
        tokio::spawn(watch_pods(
            &ns,
            first_pod.clone(),
            (args.system == "argo-exec").then(|| Duration::from_millis(args.run_ms)),
        )),
    ];

    // Warm-up: one tiny run through the whole path, then quiet counters.
    let warm = specs::run(argo, WARMUP).replace(
        &format!(
            "{}: {}",
            if argo { "name" } else { "pipelineRef" },
            specs::DEFINITION
        ),
        &format!("{}: {WARMUP}", if argo { "name" } else { "pipelineRef" }),
    );
    systems::create_yaml(&runs_api, &warm).await;
    until_done(&done, 1, Duration::from_secs(300), "the warm-up run").await;
    let before = measure::settle(&client, Duration::from_secs(3), Duration::from_secs(60)).await;
    let etcd_before = measure::etcd_wal_bytes(args.etcd_metrics.as_deref()).await;
    let (_, cpu_before) = measure::usage(ctl.pid());
    let load_before = loadavg();

    let start = Instant::now();
    let created: Vec<(String, Instant)> = stream::iter(0..args.runs)
        .map(|i| {
            let api = runs_api.clone();
            async move {
                let name = format!("r-{i:04}");
                systems::create_yaml(&api, &specs::run(argo, &name)).await;
                (name, Instant::now())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let limit = Duration::from_secs(3600);
    let last = until_done(&done, args.runs + 1, limit, "the runs").await;
    let wall = last.saturating_duration_since(start).as_secs_f64();
    let (rss, cpu_after) = measure::usage(ctl.pid());
    let after = measure::settle(&client, Duration::from_secs(8), Duration::from_secs(180)).await;
    let (rss_settled, cpu_settled) = measure::usage(ctl.pid());
    let etcd_after = measure::etcd_wal_bytes(args.etcd_metrics.as_deref()).await;
    let load_after = loadavg();
    for w in watches {
        w.abort();
    }

    let firsts = first_pod.lock().expect("lock").clone();
    let mut lat: Vec<f64> = created
        .iter()
        .filter_map(|(n, t)| firsts.get(n).map(|f| ms(f.saturating_duration_since(*t))))
        .collect();
    lat.sort_by(f64::total_cmp);
    let phases = done.lock().expect("lock").clone();
    let failed = phases
        .iter()
        .filter(|(n, (_, p))| n.as_str() != WARMUP && p != "Succeeded")
        .count();
    let steps = args.runs * args.workload.steps();
    let writes: Writes = measure::diff(&before, &after);
    let per_step = |v: f64| v / steps as f64;
    let events: f64 = writes
        .iter()
        .filter(|(k, _)| measure::is_event(k))
        .map(|(_, v)| v)
        .sum();
    let line = json!({
        "system": args.system,
        "workload": args.workload.name(),
        "describe": args.workload.describe(),
        "runs": args.runs,
        "steps": steps,
        "run_ms": args.run_ms,
        "qps": args.qps,
        "burst": args.burst,
        "wall_s": wall,
        "runs_per_min": args.runs as f64 / wall * 60.0,
        "steps_per_min": steps as f64 / wall * 60.0,
        "first_pod_p50_ms": measure::pct(&lat, 0.5),
        "first_pod_p99_ms": measure::pct(&lat, 0.99),
        "missing_first_pod": args.runs - lat.len(),
        "failed": failed,
        "writes_per_step": per_step(measure::charged(&writes)),
        "events_per_step": per_step(events),
        "writes": writes,
        "etcd_wal_bytes_per_step": etcd_before.zip(etcd_after).map(|(b, a)| per_step(a - b)),
        "rss_mib": rss.max(rss_settled),
        "cpu_s": cpu_after - cpu_before,
        "cpu_s_settled": cpu_settled - cpu_before,
        "load": [load_before, load_after],
        "at": jiff::Timestamp::now().to_string(),
    });
    println!("{line}");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.out)
        .expect("results file");
    writeln!(f, "{line}").expect("write result");
    // The namespace is deleted when `ns` drops; compare.sh gives each scenario a fresh
    // cluster, so its pods' deletions never fall into another scenario's counters.
    drop(ctl);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn free_port() -> u16 {
    weir_e2e::weir::free_port()
}

/// The 1-minute load average.
fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Records each run's finish (phase Succeeded, Failed, Error or Cancelled) as seen.
async fn watch_runs(api: Api<DynamicObject>, done: Done) {
    let mut s = watcher(api, watcher::Config::default())
        .applied_objects()
        .boxed();
    while let Ok(Some(obj)) = s.try_next().await {
        let phase = obj.data["status"]["phase"].as_str().unwrap_or_default();
        if ["Succeeded", "Failed", "Error", "Cancelled"].contains(&phase) {
            done.lock()
                .expect("lock")
                .entry(obj.name_any())
                .or_insert_with(|| (Instant::now(), phase.to_string()));
        }
    }
}

/// Records each run's first pod; with `executor`, plays Argo's executor for every pod.
fn watch_pods(
    ns: &TestNamespace,
    first: FirstPod,
    executor: Option<Duration>,
) -> impl std::future::Future<Output = ()> + use<> {
    let pods: Api<Pod> = ns.api();
    let results = systems::dynamic(&ns.client(), ns.name(), systems::TASK_RESULTS);
    async move {
        let mut reported: HashSet<String> = HashSet::new();
        let mut s = watcher(pods, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Ok(Some(pod)) = s.try_next().await {
            let labels = pod.labels();
            let run = labels
                .get("weir.dev/run")
                .or_else(|| labels.get("workflows.argoproj.io/workflow"));
            if let Some(run) = run {
                first
                    .lock()
                    .expect("lock")
                    .entry(run.clone())
                    .or_insert_with(Instant::now);
            }
            if let Some(run_for) = executor
                && executor::wants(&pod)
                && reported.insert(pod.name_any())
            {
                let run_for =
                    if labels.get("workflows.argoproj.io/workflow") == Some(&WARMUP.to_string()) {
                        Duration::ZERO
                    } else {
                        run_for
                    };
                tokio::spawn(executor::report(
                    results.clone(),
                    pod,
                    Instant::now(),
                    run_for,
                ));
            }
        }
    }
}

/// Waits until `n` runs are recorded finished; returns when the last one was.
async fn until_done(done: &Done, n: usize, limit: Duration, what: &str) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        {
            let d = done.lock().expect("lock");
            if d.len() >= n {
                return d.values().map(|(t, _)| *t).max().expect("n >= 1");
            }
            assert!(
                Instant::now() < deadline,
                "{what}: only {} of {n} finished in {limit:?}",
                d.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
