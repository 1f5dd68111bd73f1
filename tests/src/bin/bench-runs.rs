#![expect(
    clippy::expect_used,
    reason = "a benchmark harness: a failed setup step aborts it with its message"
)]

//! The run engine's benchmark on the local cluster (issue 4): 1,000 single-step runs, 100 runs
//! of a 10-step DAG, and 1,000 runs active at once. Reports runs per minute, run creation →
//! first Job (p50/p99), API requests per step by verb (the controller's own counter, checked
//! against kube-apiserver's `apiserver_request_total`), and the controller's peak RSS and
//! CPU seconds. Run by `bench/controller.sh` (which starts the cluster and builds a release
//! controller); prints a Markdown table for BENCHMARKS.md.

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use weir_api::v1alpha1::{Pipeline, PipelineRun, PipelineRunSpec, StepPhase};
use weir_e2e::TestNamespace;
use weir_e2e::cluster::kubeconfig_path;
use weir_e2e::weir::{create_pipeline, install_crds, sample, scrape, weir_bin};

const SINGLE: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: single}
spec:
  steps:
  - {name: only, job: {image: example.invalid/x:1}}
"#;

/// A 10-step DAG (fan-out 3, joins, a tail) named `name`, with `defaults` for its steps.
fn dag10(name: &str, defaults: &str) -> String {
    let steps = [
        ("s0", ""),
        ("s1", "s0"),
        ("s2", "s0"),
        ("s3", "s0"),
        ("s4", "s1, s2"),
        ("s5", "s2, s3"),
        ("s6", "s4"),
        ("s7", "s5"),
        ("s8", "s6, s7"),
        ("s9", "s8"),
    ];
    let mut yaml = format!(
        "apiVersion: weir.dev/v1alpha1\nkind: Pipeline\nmetadata: {{name: {name}}}\nspec:\n  defaults: {{{defaults}}}\n  steps:\n"
    );
    for (step, deps) in steps {
        yaml.push_str(&format!(
            "  - {{name: {step}, dependsOn: [{deps}], job: {{image: example.invalid/x:1}}}}\n"
        ));
    }
    yaml
}

const LONG: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: long}
spec:
  steps:
  - {name: only, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 600000ms}}}}
"#;

struct Controller {
    child: Child,
    metrics: String,
}

impl Controller {
    fn start(ns: &str, port: u16) -> Self {
        let log = std::fs::File::create(format!("/tmp/weir-bench-{ns}.log")).expect("log");
        let child = Command::new(weir_bin())
            .args([
                "controller",
                "--namespace",
                ns,
                "--metrics-addr",
                &format!("127.0.0.1:{port}"),
                "--log",
                "warn",
            ])
            .args(
                std::env::var("WEIR_BENCH_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .env("KUBECONFIG", kubeconfig_path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the controller");
        Self {
            child,
            metrics: format!("http://127.0.0.1:{port}/metrics"),
        }
    }

    /// Peak resident memory (KiB) and CPU seconds so far.
    fn usage(&self) -> (u64, f64) {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let hwm = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may contain spaces) start after ')'.
        let rest: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let ticks: f64 = rest
            .get(11)
            .and_then(|u| u.parse::<f64>().ok())
            .unwrap_or(0.0)
            + rest
                .get(12)
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0);
        (hwm, ticks / 100.0)
    }

    /// Waits until `/readyz` answers 200 (caches synced).
    async fn until_ready(&self) {
        let url = self.metrics.replace("/metrics", "/readyz");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the controller never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn requests(&self) -> BTreeMap<String, f64> {
        let text = reqwest::get(&self.metrics)
            .await
            .expect("scrape weir")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .filter_map(|l| l.strip_prefix("weir_kube_requests_total{verb=\""))
            .filter_map(|l| l.split_once("\"} "))
            .map(|(verb, n)| (verb.to_string(), n.trim().parse().unwrap_or(0.0)))
            .collect()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// kube-apiserver's own count of mutating requests on the resources only weir writes.
async fn apiserver_writes(client: &Client) -> f64 {
    let req = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("request");
    let text = client.request_text(req).await.expect("apiserver /metrics");
    text.lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
        .filter(|l| {
            // weir writes only with server-side apply (Jobs, run and pipeline status) and
            // deletes Jobs; other clients (the Job controller, kwok) use other verbs.
            let apply = l.contains("verb=\"APPLY\"")
                && [
                    "\"jobs\"",
                    "\"pipelineruns\"",
                    "\"pipelines\"",
                    "\"sparkapplications\"",
                ]
                .iter()
                .any(|r| l.contains(&format!("resource={r}")));
            let delete = l.contains("verb=\"DELETE\"") && l.contains("resource=\"jobs\"");
            apply || delete
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, n)| n.parse::<f64>().ok()))
        .sum()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Result_ {
    name: String,
    runs: usize,
    steps: usize,
    runs_per_min: f64,
    p50_ms: f64,
    p99_ms: f64,
    by_verb: BTreeMap<String, f64>,
    writes_per_step: f64,
    apiserver_writes_per_step: f64,
    apiserver_writes_per_run: f64,
    /// Runs whose first Job the watch never saw.
    missing: usize,
    rss_mib: f64,
    cpu_s: f64,
}

async fn scenario(
    name: &str,
    pipeline_yaml: &str,
    pipeline: &str,
    runs: usize,
    steps_per_run: usize,
    port: u16,
) -> Result_ {
    scenario_paced(
        name,
        pipeline_yaml,
        pipeline,
        runs,
        steps_per_run,
        port,
        None,
    )
    .await
}

/// Like [`scenario`]; with `every`, runs are created one at a time at that interval (a load
/// far from saturating the API server) instead of 16 at a time as fast as possible.
async fn scenario_paced(
    name: &str,
    pipeline_yaml: &str,
    pipeline: &str,
    runs: usize,
    steps_per_run: usize,
    port: u16,
    every: Option<Duration>,
) -> Result_ {
    let ns = TestNamespace::create(&format!("bench-{name}")).await;
    let client = ns.client();
    install_crds(&client).await;
    create_pipeline(&ns, pipeline_yaml).await;
    let ctl = Controller::start(ns.name(), port);
    ctl.until_ready().await;
    let before = ctl.requests().await;
    let api_before = apiserver_writes(&client).await;

    // First Job seen per run, by the run label.
    let first_job: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watch = {
        let first_job = first_job.clone();
        let jobs: Api<Job> = ns.api();
        tokio::spawn(async move {
            let mut s = watcher(jobs, watcher::Config::default())
                .applied_objects()
                .boxed();
            while let Ok(Some(j)) = s.try_next().await {
                if let Some(run) = j.labels().get("weir.dev/run") {
                    first_job
                        .lock()
                        .expect("lock")
                        .entry(run.clone())
                        .or_insert_with(Instant::now);
                }
            }
        })
    };
    let runs_api: Api<PipelineRun> = ns.api();
    let start = Instant::now();
    let make = |i: usize| {
        let api = runs_api.clone();
        let pipeline = pipeline.to_string();
        async move {
            let name = format!("{pipeline}-{i:04}");
            let spec = PipelineRunSpec {
                pipeline_ref: Some(pipeline),
                ..Default::default()
            };
            api.create(&PostParams::default(), &PipelineRun::new(&name, spec))
                .await
                .expect("create run");
            (name, Instant::now())
        }
    };
    let created: Vec<(String, Instant)> = match every {
        Some(d) => {
            let mut v = Vec::with_capacity(runs);
            for i in 0..runs {
                tokio::time::sleep(d).await;
                v.push(make(i).await);
            }
            v
        }
        None => {
            stream::iter(0..runs)
                .map(make)
                .buffer_unordered(16)
                .collect()
                .await
        }
    };
    // All finished?
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let list = runs_api
            .list(&Default::default())
            .await
            .expect("list runs")
            .items;
        let done = list
            .iter()
            .filter(|r| r.status.as_ref().is_some_and(|s| s.phase.is_finished()))
            .count();
        if done == runs {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: only {done}/{runs} runs finished in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let elapsed = start.elapsed();
    // The Pipeline's run counters are the last write: wait until they show no active run.
    let pipelines: Api<Pipeline> = ns.api();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !pipelines
        .get(pipeline)
        .await
        .ok()
        .and_then(|p| p.status)
        .is_some_and(|st| st.active_runs == 0 && st.queued_runs == 0 && st.last_run.is_some())
    {
        assert!(
            Instant::now() < deadline,
            "{name}: the Pipeline's counters never settled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = ctl.requests().await;
    let api_after = apiserver_writes(&client).await;
    let (rss, cpu) = ctl.usage();
    watch.abort();
    let firsts = first_job.lock().expect("lock").clone();
    let mut lat: Vec<f64> = created
        .iter()
        .filter_map(|(n, t)| {
            firsts
                .get(n)
                .map(|f| f.saturating_duration_since(*t).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    // A run whose Job was never seen is a failure of the measurement, not a dropped sample.
    let missing = runs - lat.len();
    let steps = runs * steps_per_run;
    let by_verb: BTreeMap<String, f64> = after
        .iter()
        .map(|(v, n)| {
            (
                v.clone(),
                (n - before.get(v).copied().unwrap_or(0.0)) / steps as f64,
            )
        })
        .collect();
    let writes: f64 = ["apply", "patch", "create", "update", "delete"]
        .iter()
        .map(|v| by_verb.get(*v).copied().unwrap_or(0.0))
        .sum();
    Result_ {
        name: name.into(),
        runs,
        steps,
        runs_per_min: runs as f64 / elapsed.as_secs_f64() * 60.0,
        p50_ms: pct(&lat, 0.5),
        p99_ms: pct(&lat, 0.99),
        by_verb,
        writes_per_step: writes,
        apiserver_writes_per_step: (api_after - api_before) / steps as f64,
        apiserver_writes_per_run: (api_after - api_before) / runs as f64,
        missing,
        rss_mib: rss as f64 / 1024.0,
        cpu_s: cpu,
    }
}

/// 1,000 runs whose step runs for ten minutes: all active at once; peak RSS when they are.
async fn active(runs: usize, port: u16) -> (usize, f64, f64) {
    let ns = TestNamespace::create("bench-active").await;
    install_crds(&ns.client()).await;
    create_pipeline(&ns, LONG).await;
    let ctl = Controller::start(ns.name(), port);
    let api: Api<PipelineRun> = ns.api();
    stream::iter(0..runs)
        .for_each_concurrent(16, |i| {
            let api = api.clone();
            async move {
                let run = PipelineRun::new(
                    &format!("long-{i:04}"),
                    PipelineRunSpec {
                        pipeline_ref: Some("long".into()),
                        ..Default::default()
                    },
                );
                api.create(&PostParams::default(), &run)
                    .await
                    .expect("create run");
            }
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(900);
    let running = loop {
        let list = api.list(&Default::default()).await.expect("list").items;
        let running = list
            .iter()
            .filter(|r| {
                r.status
                    .as_ref()
                    .is_some_and(|s| s.steps.iter().any(|st| !st.children.is_empty()))
            })
            .count();
        if running == runs || Instant::now() > deadline {
            break running;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    // Read the peak in steady state, observed rather than waited for: every run's step is
    // recorded Running (its pod started and the batched status written) and the controller
    // has nothing queued.
    let settle = Instant::now() + Duration::from_secs(300);
    loop {
        let list = api.list(&Default::default()).await.expect("list").items;
        let recorded = list
            .iter()
            .filter(|r| {
                r.status.as_ref().is_some_and(|s| {
                    !s.steps.is_empty() && s.steps.iter().all(|st| st.phase == StepPhase::Running)
                })
            })
            .count();
        let text = scrape(port).await.unwrap_or_default();
        let queued = sample(&text, "weir_queue_depth{controller=\"pipelinerun\"}");
        if (recorded == runs && queued == Some(0.0)) || Instant::now() > settle {
            if recorded < runs {
                eprintln!("active: only {recorded} of {runs} runs recorded Running after 300 s");
            }
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (rss, cpu) = ctl.usage();
    let _ = api
        .delete_collection(&DeleteParams::background(), &Default::default())
        .await;
    (running, rss as f64 / 1024.0, cpu)
}

#[tokio::main]
async fn main() {
    weir_e2e::cluster::install_crypto_provider();
    let scale: usize = std::env::var("WEIR_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let bin = weir_bin();
    println!("controller binary: {}", bin.display());
    let paced = scenario_paced(
        "single, paced 5/s",
        SINGLE,
        "single",
        (scale / 5).max(1),
        1,
        18184,
        Some(Duration::from_millis(200)),
    )
    .await;
    let single = scenario("single", SINGLE, "single", scale, 1, 18181).await;
    let dag = scenario(
        "dag10",
        &dag10("dag10", ""),
        "dag10",
        (scale / 10).max(1),
        10,
        18182,
    )
    .await;
    let slow = scenario(
        "dag10, 8 s steps",
        // Steps longer than the controller's 5 s status batch period: each step's start and
        // end then cost writes of their own, as real steps do.
        &dag10("dag10slow", "annotations: {weir.dev/test-run-for: 8000ms}"),
        "dag10slow",
        (scale / 50).max(2),
        10,
        18185,
    )
    .await;
    let (active_runs, active_rss, active_cpu) = active(scale, 18183).await;
    println!();
    println!(
        "| scenario | runs | steps | runs/min | create→first Job p50 | p99 | samples (missing) | writes/step (weir) | writes/step (apiserver) | writes/run (apiserver) | requests/step by verb | peak RSS | CPU s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in [&paced, &single, &dag, &slow] {
        let verbs: Vec<String> = r
            .by_verb
            .iter()
            .filter(|(_, n)| **n > 0.0)
            .map(|(v, n)| format!("{v} {n:.2}"))
            .collect();
        println!(
            "| {} | {} | {} | {:.0} | {:.0} ms | {:.0} ms | {} ({}) | {:.2} | {:.2} | {:.2} | {} | {:.1} MiB | {:.1} |",
            r.name,
            r.runs,
            r.steps,
            r.runs_per_min,
            r.p50_ms,
            r.p99_ms,
            r.runs - r.missing,
            r.missing,
            r.writes_per_step,
            r.apiserver_writes_per_step,
            r.apiserver_writes_per_run,
            verbs.join(", "),
            r.rss_mib,
            r.cpu_s
        );
    }
    println!(
        "| {active_runs} runs active at once | {active_runs} | {active_runs} | – | – | – | – | – | – | – | – | {active_rss:.1} MiB | {active_cpu:.1} |"
    );
}
