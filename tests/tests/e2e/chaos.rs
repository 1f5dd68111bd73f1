//! A controller SIGKILLed at random moments throughout 40 runs (a DAG with failures, a
//! retrying step, a `forEach` over an upstream result under `maxParallelSteps`), until the
//! last run is terminal: every run and step ends in its expected phase, and every expected
//! Job is created exactly once — counted by a watch, by the API server's own metrics, and
//! by what is left. Then one more restart with nothing left to do writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use kube::ResourceExt;
use kube::api::ListParams;
use weir_api::v1alpha1::{Pipeline, PipelineRun, RunPhase, StepPhase};
use weir_e2e::cluster::apiserver_requests;
use weir_e2e::weir::{Controller, JobRecorder, create_pipeline, start_run, steps};
use weir_e2e::{TestNamespace, wait};

/// A small deterministic generator: the seed is printed, so a failing schedule can be replayed
/// with WEIR_CHAOS_SEED.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Steps run 1.5–2.5 s, longer than the controller's 1 s status batch period, so starts
/// and successes are deferred writes that kills can lose.
const PIPELINES: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: dag}
spec:
  params: [{name: fail, default: "false"}]
  steps:
  - {name: a, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 2s}}}}
  - name: b
    dependsOn: [a]
    job:
      image: example.invalid/x:1
      jobArgs:
        labels: {weir.dev/test-fail: "{{ params.fail }}"}
        annotations: {weir.dev/test-run-for: 1500ms}
  - {name: c, dependsOn: [b], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1500ms}}}}
  - {name: d, dependsOn: [a], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 2500ms}}}}
---
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: retry}
spec:
  steps:
  - name: flaky
    retries: {limit: 2, backoff: {initial: 1s}}
    job:
      image: example.invalid/x:1
      jobArgs:
        labels: {weir.dev/test-fail: "{{ 'true' if run.attempt == 1 else 'false' }}"}
        annotations: {weir.dev/test-run-for: 1500ms}
---
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: fan}
spec:
  concurrency: {maxParallelSteps: 2}
  steps:
  - name: list
    job:
      image: example.invalid/x:1
      jobArgs: {annotations: {weir.dev/test-run-for: 1500ms, weir.dev/test-termination-message: '["p", "q", "r", "s"]'}}
  - {name: each, dependsOn: [list], forEach: {fromStep: list}, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1500ms}}}}
  - {name: done, dependsOn: [each], job: {image: example.invalid/x:1}}
"#;

/// What one run must end as: its phase, each step's phase, and the Jobs it creates.
struct Expected {
    phase: RunPhase,
    steps: Vec<(&'static str, StepPhase)>,
    jobs: Vec<String>,
}

fn expected(run: &str, pipeline: &str, fail: bool) -> Expected {
    use StepPhase::{Failed, Succeeded, UpstreamFailed};
    let jobs = |names: &[&str]| names.iter().map(|n| format!("{run}-{n}")).collect();
    match (pipeline, fail) {
        ("dag", false) => Expected {
            phase: RunPhase::Succeeded,
            steps: vec![
                ("a", Succeeded),
                ("b", Succeeded),
                ("c", Succeeded),
                ("d", Succeeded),
            ],
            jobs: jobs(&["a-1", "b-1", "c-1", "d-1"]),
        },
        ("dag", true) => Expected {
            phase: RunPhase::Failed,
            steps: vec![
                ("a", Succeeded),
                ("b", Failed),
                ("c", UpstreamFailed),
                ("d", Succeeded),
            ],
            jobs: jobs(&["a-1", "b-1", "d-1"]),
        },
        ("retry", _) => Expected {
            phase: RunPhase::Succeeded,
            steps: vec![("flaky", Succeeded)],
            jobs: jobs(&["flaky-1", "flaky-2"]),
        },
        _ => Expected {
            phase: RunPhase::Succeeded,
            steps: vec![
                ("list", Succeeded),
                ("each", Succeeded),
                ("done", Succeeded),
            ],
            jobs: jobs(&[
                "list-1", "each-0-1", "each-1-1", "each-2-1", "each-3-1", "done-1",
            ]),
        },
    }
}

/// The API server's count of Job requests, cluster-wide (this test runs alone): creates
/// answered 201, creates whose client went away mid-request (SIGKILL) and were answered
/// 504 although the Job may have been stored, and deletes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct JobRequests {
    created: f64,
    aborted: f64,
    deleted: f64,
}

async fn job_requests(client: &kube::Client) -> JobRequests {
    let n = |code: &'static str| {
        let client = client.clone();
        async move {
            let mut n = 0.0;
            for verb in ["APPLY", "POST"] {
                n += apiserver_requests(
                    &client,
                    &[("resource", "jobs"), ("verb", verb), ("code", code)],
                )
                .await;
            }
            n
        }
    };
    JobRequests {
        created: n("201").await,
        aborted: n("504").await,
        deleted: apiserver_requests(
            client,
            &[
                ("resource", "jobs"),
                ("verb", "DELETE"),
                ("scope", "resource"),
            ],
        )
        .await,
    }
}

/// Writes by weir's verbs on weir's resources, cluster-wide.
async fn weir_writes(client: &kube::Client) -> f64 {
    let mut n = 0.0;
    for resource in ["pipelineruns", "pipelines", "jobs"] {
        for verb in ["APPLY", "POST", "PATCH", "PUT", "DELETE"] {
            n += apiserver_requests(client, &[("resource", resource), ("verb", verb)]).await;
        }
    }
    n
}

#[tokio::test]
#[ignore = "counts Job creations at the API server, which are cluster-wide; run alone by `make e2e`"]
async fn sigkills_throughout_lose_no_run_and_duplicate_no_job() {
    let ns = TestNamespace::create("chaos").await;
    let client = ns.client();
    // The API server's counts are cluster-wide: let earlier tests' namespaces finish
    // terminating (their Jobs are deleted one by one by the garbage collector) first.
    let namespaces = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone());
    wait::poll(
        Duration::from_secs(120),
        Duration::from_millis(500),
        "earlier test namespaces to be gone",
        || async {
            let list = namespaces
                .list(&ListParams::default().labels(weir_e2e::cluster::E2E_LABEL))
                .await
                .ok()?;
            let terminating = list
                .items
                .iter()
                .any(|n| n.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating"));
            (!terminating).then_some(())
        },
    )
    .await;
    let mut ctl = Controller::start_with(&ns, "controller", &["--status-batch-period", "1s"]).await;
    for doc in PIPELINES.split("\n---\n") {
        create_pipeline(&ns, doc).await;
    }
    let recorder = JobRecorder::start(&ns);
    let requests_before = job_requests(&client).await;

    let seed = std::env::var("WEIR_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        });
    println!("chaos seed {seed} (replay with WEIR_CHAOS_SEED={seed})");
    let mut rng = Lcg(seed);
    let mut want: BTreeMap<String, Expected> = BTreeMap::new();
    for i in 0..40 {
        let (pipeline, fail) = match i % 4 {
            0 | 1 => ("dag", i % 8 == 0),
            2 => ("retry", false),
            _ => ("fan", false),
        };
        let name = format!("{pipeline}-{i:02}");
        let fail_s = if fail { "true" } else { "false" };
        let params: &[(&str, &str)] = if pipeline == "dag" {
            &[("fail", fail_s)]
        } else {
            &[]
        };
        start_run(&ns, pipeline, &name, params).await;
        want.insert(name.clone(), expected(&name, pipeline, fail));
    }

    // Kill at random moments until every run is terminal.
    let runs = ns.api::<PipelineRun>();
    let started = Instant::now();
    let mut kills = 0;
    loop {
        let list = runs
            .list(&Default::default())
            .await
            .unwrap_or_else(|e| panic!("list runs: {e}"))
            .items;
        let done = list
            .iter()
            .filter(|r| r.status.as_ref().is_some_and(|s| s.phase.is_finished()))
            .count();
        if done == want.len() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "only {done}/{} runs finished after 5 minutes and {kills} kills; controller log:\n{}",
            want.len(),
            tail(&ctl.log())
        );
        // The schedule of kills is the point of the test, not a wait for a state.
        tokio::time::sleep(Duration::from_millis(300 + rng.next(2200))).await;
        ctl.restart();
        kills += 1;
    }
    assert!(kills >= 5, "the runs finished after only {kills} kills");

    let mut want_jobs = BTreeSet::new();
    for r in runs
        .list(&Default::default())
        .await
        .unwrap_or_else(|e| panic!("list runs: {e}"))
        .items
    {
        let name = r.name_any();
        let w = &want[&name];
        let phase = r.status.as_ref().map(|s| s.phase);
        assert_eq!(phase, Some(w.phase), "run {name}: {:?}", r.status);
        let s = steps(&r);
        for (step, p) in &w.steps {
            assert_eq!(s[*step].phase, *p, "run {name} step {step}: {:?}", s[*step]);
        }
        if let Some(each) = s.get("each") {
            assert_eq!(each.items.len(), 4, "run {name}: {each:?}");
        }
        want_jobs.extend(w.jobs.iter().cloned());
    }
    let present: BTreeSet<String> = ns
        .api::<Job>()
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("list jobs: {e}"))
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    let requests = job_requests(&client).await;
    let (created, aborted, deleted) = (
        requests.created - requests_before.created,
        requests.aborted - requests_before.aborted,
        requests.deleted - requests_before.deleted,
    );
    let seen = recorder.stop();
    let twice: Vec<_> = seen.iter().filter(|(_, uids)| uids.len() > 1).collect();
    assert!(twice.is_empty(), "Jobs created more than once: {twice:?}");
    let seen: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(seen, want_jobs, "Jobs seen by the watch");
    assert_eq!(present, want_jobs, "Jobs present");
    // Every expected Job was created by a request the API server counted: answered 201, or
    // cut off by a SIGKILL (504) after the Job was stored. No more creations than that.
    let expected = want_jobs.len() as f64;
    assert!(
        created <= expected && expected <= created + aborted,
        "the API server answered {created} Job creates with 201 and {aborted} with 504 \
         (client killed mid-request) for {expected} Jobs, after {kills} SIGKILLs"
    );
    assert_eq!(
        deleted, 0.0,
        "no Job is ever deleted here (delete policy Never)"
    );
    println!(
        "{kills} SIGKILLs; {expected} Jobs, each created once ({created} creates answered 201, \
         {aborted} cut off)"
    );

    // Let a controller write what the last kill left deferred (run counters, say), stop it
    // gracefully, then start one more with nothing to do: it writes nothing at all.
    ctl.restart();
    let pipelines = ns.api::<Pipeline>();
    for (p, last) in [("dag", "dag-37"), ("retry", "retry-38"), ("fan", "fan-39")] {
        wait::until(
            &pipelines,
            p,
            Duration::from_secs(60),
            "the Pipeline's final counters",
            move |pl: &Pipeline| {
                pl.status.as_ref().is_some_and(|s| {
                    s.active_runs == 0 && s.queued_runs == 0 && s.last_run.as_deref() == Some(last)
                })
            },
        )
        .await;
    }
    assert!(ctl.terminate(Duration::from_secs(15)).await.is_some());
    let writes_before = weir_writes(&client).await;
    let port = weir_e2e::weir::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut quiet = Controller::start_with(&ns, "quiet", &["--metrics-addr", &addr]).await;
    weir_e2e::weir::until_reconciled(port, 40.0, 3.0).await;
    assert!(quiet.terminate(Duration::from_secs(15)).await.is_some());
    let writes = weir_writes(&client).await - writes_before;
    assert_eq!(
        writes,
        0.0,
        "a restart with nothing to do wrote; log:\n{}",
        tail(&quiet.log())
    );
}

fn tail(log: &str) -> String {
    log.lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}
