//! A controller SIGKILLed at random moments while 50 runs are in flight, and restarted:
//! every run reaches its correct final phase and no Job is ever created twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use weir_api::v1alpha1::{PipelineRun, RunPhase};
use weir_e2e::TestNamespace;
use weir_e2e::weir::{Controller, JobRecorder, create_pipeline, start_run};

const RUNS: usize = 50;

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

#[tokio::test]
async fn sigkilled_controller_restarts_lose_no_run_and_duplicate_no_job() {
    let ns = TestNamespace::create("chaos").await;
    let mut ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: chaos}
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
  - {name: c, dependsOn: [b], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1s}}}}
  - {name: d, dependsOn: [a], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1s}}}}
"#,
    )
    .await;
    // The steps run for seconds so that the runs are still in flight after several kills
    // (kills come every 0.2–2.5 s): with batched status writes a run of instant steps ends
    // in about as long as two kills take.

    // Every Job ever seen: name -> uids. A Job created twice (deleted and re-created, or a
    // second attempt that should not exist) shows up as a second uid or an unexpected name.
    let recorder = JobRecorder::start(&ns);

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
    let mut expected = BTreeMap::new();
    for i in 0..RUNS {
        let fail = i % 5 == 0;
        let name = format!("c{i:02}");
        start_run(
            &ns,
            "chaos",
            &name,
            &[("fail", if fail { "true" } else { "false" })],
        )
        .await;
        expected.insert(name, fail);
    }

    let runs = ns.api::<PipelineRun>();
    let started = Instant::now();
    let mut kills = 0;
    loop {
        let list = runs
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        let done = list
            .iter()
            .filter(|r| r.status.as_ref().is_some_and(|s| s.phase.is_finished()))
            .count();
        if done == RUNS {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "only {done}/{RUNS} runs finished after 4 minutes; controller log:\n{}",
            tail(&ctl.log())
        );
        if kills < 8 {
            tokio::time::sleep(Duration::from_millis(200 + rng.next(2300))).await;
            ctl.restart();
            kills += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    assert!(
        kills >= 3,
        "the runs finished before the controller was killed enough ({kills} kills)"
    );

    let list = runs
        .list(&Default::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let mut want_jobs = BTreeSet::new();
    for r in &list {
        let fail = expected[&r.name_any()];
        let phase = r.status.as_ref().map(|s| s.phase);
        let want = if fail {
            RunPhase::Failed
        } else {
            RunPhase::Succeeded
        };
        assert_eq!(
            phase,
            Some(want),
            "run {} (fail={fail}) ended {phase:?}",
            r.name_any()
        );
        let steps: &[&str] = if fail {
            &["a", "b", "d"]
        } else {
            &["a", "b", "c", "d"]
        };
        for s in steps {
            want_jobs.insert(format!("{}-{s}-1", r.name_any()));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = recorder.stop();
    let twice: Vec<_> = seen.iter().filter(|(_, uids)| uids.len() > 1).collect();
    assert!(twice.is_empty(), "Jobs created more than once: {twice:?}");
    let names: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(
        names, want_jobs,
        "exactly one Job per step that ran (no extra attempts) after {kills} SIGKILLs"
    );
    println!("{kills} SIGKILLs, {} Jobs each created once", names.len());
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
