//! weir's run engine end to end: a `weir controller` process per test against the local
//! control plane; kwok's fake pods complete, fail or run for a while on the knobs of
//! tests/cluster/stages.yaml, which steps set through `jobArgs.labels`/`annotations`.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams};
use weir_api::v1alpha1::{PipelineRun, RunPhase, StepPhase};
use weir_e2e::weir::{Controller, create_pipeline, finished, start_run, steps};
use weir_e2e::{TestNamespace, wait};

const MINUTE: Duration = Duration::from_secs(60);

async fn jobs_of(ns: &TestNamespace, run: &str) -> Vec<Job> {
    ns.api::<Job>()
        .list(&ListParams::default().labels(&format!("weir.dev/run={run}")))
        .await
        .unwrap_or_else(|e| panic!("list jobs: {e}"))
        .items
}

fn names(jobs: &[Job]) -> BTreeSet<String> {
    jobs.iter().map(|j| j.name_any()).collect()
}

#[tokio::test]
async fn a_five_step_diamond_succeeds_in_dependency_order() {
    let ns = TestNamespace::create("diamond").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: diamond}
spec:
  steps:
  - {name: extract, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1500ms}}}}
  - {name: left, dependsOn: [extract], job: {image: example.invalid/x:1}}
  - {name: middle, dependsOn: [extract], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1500ms}}}}
  - {name: right, dependsOn: [extract], job: {image: example.invalid/x:1}}
  - {name: load, dependsOn: [left, middle, right], job: {image: example.invalid/x:1}}
"#,
    )
    .await;
    start_run(&ns, "diamond", "d1", &[]).await;
    let run = finished(&ns, "d1", MINUTE).await;
    let status = run.status.clone().unwrap_or_default();
    assert_eq!(status.phase, RunPhase::Succeeded, "{status:?}");
    assert_eq!(status.progress.as_deref(), Some("5/5"));
    let s = steps(&run);
    let start = |n: &str| s[n].start_time.clone().map(|t| t.0);
    let end = |n: &str| s[n].finish_time.clone().map(|t| t.0);
    for (down, up) in [
        ("left", "extract"),
        ("middle", "extract"),
        ("right", "extract"),
        ("load", "left"),
        ("load", "middle"),
        ("load", "right"),
    ] {
        assert!(
            start(down) >= end(up),
            "{down} started {:?} before {up} finished {:?}",
            start(down),
            end(up)
        );
    }
    // Jobs were created in dependency order too (their own creation timestamps).
    let jobs = jobs_of(&ns, "d1").await;
    let created = |n: &str| {
        jobs.iter()
            .find(|j| j.labels().get("weir.dev/step").map(String::as_str) == Some(n))
            .and_then(|j| j.metadata.creation_timestamp.clone())
            .map(|t| t.0)
    };
    assert!(
        created("load") > created("middle"),
        "load's Job must come after middle's"
    );
    assert_eq!(
        names(&jobs),
        [
            "d1-extract-1",
            "d1-left-1",
            "d1-middle-1",
            "d1-right-1",
            "d1-load-1"
        ]
        .map(String::from)
        .into()
    );
}

#[tokio::test]
async fn a_failing_step_fails_the_run_with_the_pods_reason_and_trigger_rules_hold() {
    let ns = TestNamespace::create("failure").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: failing}
spec:
  steps:
  - name: train
    job:
      image: example.invalid/x:1
      jobArgs:
        labels: {weir.dev/test-fail: "true"}
        annotations: {weir.dev/test-reason: OOMKilled, weir.dev/test-exit-code: "137"}
  - {name: publish, dependsOn: [train], job: {image: example.invalid/x:1}}
  - {name: report, dependsOn: [publish], job: {image: example.invalid/x:1}}
  - {name: cleanup, dependsOn: [train], triggerRule: allDone, job: {image: example.invalid/x:1}}
  - {name: alert, dependsOn: [train], triggerRule: oneFailed, job: {image: example.invalid/x:1}}
"#,
    )
    .await;
    start_run(&ns, "failing", "f1", &[]).await;
    let run = finished(&ns, "f1", MINUTE).await;
    let status = run.status.clone().unwrap_or_default();
    assert_eq!(status.phase, RunPhase::Failed, "{status:?}");
    let s = steps(&run);
    assert_eq!(s["train"].phase, StepPhase::Failed);
    assert_eq!(
        s["train"].reason.as_ref().map(|r| r.as_str()),
        Some("OOMKilled"),
        "the pod's reason reaches the step: {:?}",
        s["train"]
    );
    assert!(
        s["train"]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("137"),
        "{:?}",
        s["train"].message
    );
    assert_eq!(s["publish"].phase, StepPhase::UpstreamFailed);
    assert_eq!(s["report"].phase, StepPhase::UpstreamFailed);
    assert_eq!(
        s["cleanup"].phase,
        StepPhase::Succeeded,
        "allDone runs after a failure"
    );
    assert_eq!(
        s["alert"].phase,
        StepPhase::Succeeded,
        "oneFailed runs after a failure"
    );
    assert!(status.message.unwrap_or_default().contains("train"));
    let jobs = names(&jobs_of(&ns, "f1").await);
    assert!(
        !jobs.contains("f1-publish-1") && !jobs.contains("f1-report-1"),
        "upstream-failed steps create nothing: {jobs:?}"
    );
}

#[tokio::test]
async fn retries_with_backoff_end_in_success_and_a_step_timeout_fails_the_step() {
    let ns = TestNamespace::create("retries").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: flaky}
spec:
  steps:
  - name: flaky
    retries: {limit: 3, backoff: {initial: 2s, factor: 2}}
    job:
      image: example.invalid/x:1
      jobArgs:
        labels: {weir.dev/test-fail: "{{ 'true' if run.attempt < 3 else 'false' }}"}
  - name: slow
    timeout: 2s
    job:
      image: example.invalid/x:1
      jobArgs: {annotations: {weir.dev/test-run-for: 120000ms}}
"#,
    )
    .await;
    start_run(&ns, "flaky", "r1", &[]).await;
    let run = finished(&ns, "r1", MINUTE).await;
    let s = steps(&run);
    assert_eq!(s["flaky"].phase, StepPhase::Succeeded, "{:?}", s["flaky"]);
    assert_eq!(s["flaky"].attempt, 3);
    assert_eq!(s["flaky"].retries, 2);
    let jobs = jobs_of(&ns, "r1").await;
    let at = |n: &str| {
        jobs.iter()
            .find(|j| j.name_any() == n)
            .and_then(|j| j.metadata.creation_timestamp.clone())
            .map(|t| t.0)
            .unwrap_or_else(|| panic!("no job {n}"))
    };
    let gap1 = at("r1-flaky-2")
        .duration_since(at("r1-flaky-1"))
        .as_secs_f64();
    let gap2 = at("r1-flaky-3")
        .duration_since(at("r1-flaky-2"))
        .as_secs_f64();
    // Creation timestamps have one-second resolution.
    assert!(
        gap1 >= 1.0 && gap2 >= 3.0 && gap2 > gap1,
        "backoff 2s then 4s, got {gap1}s and {gap2}s"
    );
    assert_eq!(s["slow"].phase, StepPhase::Failed);
    assert_eq!(
        s["slow"].reason.as_ref().map(|r| r.as_str()),
        Some("Timeout")
    );
    // The timed-out attempt's Job is deleted so its pod stops.
    wait::poll(
        MINUTE,
        Duration::from_millis(300),
        "the timed-out Job to go",
        || async { (!names(&jobs_of(&ns, "r1").await).contains("r1-slow-1")).then_some(()) },
    )
    .await;
    assert_eq!(run.status.map(|s| s.phase), Some(RunPhase::Failed));
}

#[tokio::test]
async fn cancel_leaves_no_job_and_no_pod_behind() {
    let ns = TestNamespace::create("cancel").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: long}
spec:
  steps:
  - {name: a, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 300000ms}}}}
  - {name: b, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 300000ms}}}}
  - {name: c, dependsOn: [a], job: {image: example.invalid/x:1}}
"#,
    )
    .await;
    start_run(&ns, "long", "c1", &[]).await;
    let pods = ns.api::<Pod>();
    wait::poll(
        MINUTE,
        Duration::from_millis(300),
        "two running pods",
        || async {
            let l = pods
                .list(&ListParams::default().labels("weir.dev/run=c1"))
                .await
                .ok()?;
            (l.items
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .count()
                == 2)
                .then_some(())
        },
    )
    .await;
    ns.api::<PipelineRun>()
        .patch(
            "c1",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"cancel": true}})),
        )
        .await
        .unwrap_or_else(|e| panic!("cancel: {e}"));
    let run = finished(&ns, "c1", MINUTE).await;
    assert_eq!(
        run.status.as_ref().map(|s| s.phase),
        Some(RunPhase::Cancelled)
    );
    let s = steps(&run);
    assert!(
        ["a", "b", "c"]
            .iter()
            .all(|n| s[*n].phase == StepPhase::Cancelled),
        "{s:?}"
    );
    wait::poll(
        MINUTE,
        Duration::from_millis(300),
        "no Job and no Pod of the run",
        || async {
            let jobs = jobs_of(&ns, "c1").await;
            let p = pods
                .list(&ListParams::default().labels("weir.dev/run=c1"))
                .await
                .ok()?;
            (jobs.is_empty() && p.items.is_empty()).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn for_each_over_an_upstream_result_creates_one_child_per_item() {
    let ns = TestNamespace::create("foreach").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: fan}
spec:
  steps:
  - name: groups
    job:
      image: example.invalid/x:1
      jobArgs: {annotations: {weir.dev/test-termination-message: '{"groups": [["a.parquet"], ["b.parquet", "c.parquet"], ["d.parquet"]]}'}}
  - name: load
    dependsOn: [groups]
    forEach: {fromStep: groups, key: groups}
    job:
      image: example.invalid/x:1
      args: ["--files", "{{ item | join(',') }}", "--index", "{{ step.index }}"]
"#,
    )
    .await;
    start_run(&ns, "fan", "e1", &[]).await;
    let run = finished(&ns, "e1", MINUTE).await;
    assert_eq!(
        run.status.as_ref().map(|s| s.phase),
        Some(RunPhase::Succeeded),
        "{:?}",
        run.status
    );
    let s = steps(&run);
    assert_eq!(s["load"].items.len(), 3);
    assert_eq!(
        s["groups"].result,
        Some(
            serde_json::json!({"groups": [["a.parquet"], ["b.parquet", "c.parquet"], ["d.parquet"]]})
        )
    );
    let jobs = jobs_of(&ns, "e1").await;
    assert_eq!(
        names(&jobs),
        ["e1-groups-1", "e1-load-0-1", "e1-load-1-1", "e1-load-2-1"]
            .map(String::from)
            .into()
    );
    let args = |n: &str| {
        let j = jobs
            .iter()
            .find(|j| j.name_any() == n)
            .cloned()
            .unwrap_or_default();
        j.spec
            .and_then(|s| s.template.spec)
            .map(|p| p.containers[0].args.clone().unwrap_or_default())
            .unwrap_or_default()
    };
    assert_eq!(
        args("e1-load-1-1"),
        vec!["--files", "b.parquet,c.parquet", "--index", "1"]
    );
}

#[tokio::test]
async fn max_active_runs_is_respected() {
    let ns = TestNamespace::create("maxactive").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: serial}
spec:
  concurrency: {maxActiveRuns: 1}
  steps:
  - {name: a, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1500ms}}}}
"#,
    )
    .await;
    // Runs may show `Running` late or never (a start is batched into the status write
    // that ends a short step), so the bound is checked on what runs: the step's container.
    // weir calls a step done once its container has terminated, which can be before the
    // Job controller marks the Job Complete, so a pod counts as active until then. One
    // watch delivers a namespace's pods in order, so a container that ends before the next
    // pod is created is seen that way.
    let pods = ns.api::<Pod>();
    let watcher = tokio::spawn(async move {
        use futures::StreamExt;
        use kube::runtime::{WatchStreamExt, watcher};
        let mut most = 0usize;
        let mut active = std::collections::BTreeMap::new();
        let mut s = watcher(pods, watcher::Config::default())
            .applied_objects()
            .boxed();
        while let Some(Ok(p)) = s.next().await {
            active.insert(p.name_any(), weir_e2e::fake::terminated(&p).is_none());
            most = most.max(active.values().filter(|a| **a).count());
            if active.len() == 3 && active.values().all(|a| !*a) {
                break;
            }
        }
        most
    });
    for n in ["m1", "m2", "m3"] {
        start_run(&ns, "serial", n, &[]).await;
    }
    for n in ["m1", "m2", "m3"] {
        let r = finished(&ns, n, MINUTE).await;
        assert_eq!(r.status.map(|s| s.phase), Some(RunPhase::Succeeded));
    }
    let most = tokio::time::timeout(MINUTE, watcher)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(usize::MAX);
    assert_eq!(
        most, 1,
        "at most one run's step was running at any time (and the watch saw them)"
    );
}

#[tokio::test]
async fn retry_step_reruns_that_step_and_its_downstream_keeping_successes() {
    let ns = TestNamespace::create("rerun").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: chain}
spec:
  steps:
  - {name: a, job: {image: example.invalid/x:1}}
  - name: b
    dependsOn: [a]
    job:
      image: example.invalid/x:1
      jobArgs: {labels: {weir.dev/test-fail: "{{ 'true' if run.attempt == 1 else 'false' }}"}}
  - {name: c, dependsOn: [b], job: {image: example.invalid/x:1}}
  - {name: d, job: {image: example.invalid/x:1}}
"#,
    )
    .await;
    start_run(&ns, "chain", "x1", &[]).await;
    let run = finished(&ns, "x1", MINUTE).await;
    assert_eq!(run.status.as_ref().map(|s| s.phase), Some(RunPhase::Failed));
    let out = std::process::Command::new(weir_e2e::weir::weir_bin())
        .args(["retry", "x1", "--step", "b", "-n", ns.name()])
        .env("KUBECONFIG", weir_e2e::cluster::kubeconfig_path())
        .output()
        .unwrap_or_else(|e| panic!("weir retry: {e}"));
    assert!(
        out.status.success(),
        "weir retry failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = wait::until(
        &ns.api::<PipelineRun>(),
        "x1",
        MINUTE,
        "the re-run to succeed",
        |r: &PipelineRun| {
            r.status
                .as_ref()
                .is_some_and(|s| s.phase == RunPhase::Succeeded)
        },
    )
    .await;
    let s = steps(&run);
    assert_eq!(
        (
            s["a"].attempt,
            s["b"].attempt,
            s["c"].attempt,
            s["d"].attempt
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(
        names(&jobs_of(&ns, "x1").await),
        ["x1-a-1", "x1-b-1", "x1-b-2", "x1-c-1", "x1-d-1"]
            .map(String::from)
            .into(),
        "only b and its downstream ran again"
    );
}

/// Regression (issue 9, item 9): a run cancelled while `load` ran and `transform` had failed
/// (OOMKilled), then `weir retry --step transform`: the CLI said it re-ran, the run stayed
/// `Cancelled`, and `transform`'s OOMKilled record became `Cancelled`. `weir retry` now
/// clears the cancel with its request, and the run really re-runs.
#[tokio::test]
async fn retry_of_a_cancelled_run_clears_the_cancel_and_reruns() {
    let ns = TestNamespace::create("retry-cancelled").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: etl}
spec:
  steps:
  - name: transform
    job:
      image: example.invalid/x:1
      jobArgs:
        labels: {weir.dev/test-fail: "{{ 'true' if run.attempt == 1 else 'false' }}"}
        annotations: {weir.dev/test-reason: OOMKilled, weir.dev/test-exit-code: "137"}
  - {name: load, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 60s}}}}
"#,
    )
    .await;
    start_run(&ns, "etl", "c1", &[]).await;
    let runs = ns.api::<PipelineRun>();
    wait::until(
        &runs,
        "c1",
        MINUTE,
        "transform to fail while load runs",
        |r: &PipelineRun| {
            let s = steps(r);
            s.get("transform")
                .is_some_and(|t| t.phase == StepPhase::Failed)
                && s.get("load").is_some_and(|l| l.phase == StepPhase::Running)
        },
    )
    .await;
    let weir = |args: &[&str]| {
        let out = std::process::Command::new(weir_e2e::weir::weir_bin())
            .args(args)
            .args(["-n", ns.name()])
            .env("KUBECONFIG", weir_e2e::cluster::kubeconfig_path())
            .output()
            .unwrap_or_else(|e| panic!("weir {args:?}: {e}"));
        assert!(
            out.status.success(),
            "weir {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    weir(&["cancel", "c1"]);
    let cancelled = finished(&ns, "c1", MINUTE).await;
    assert_eq!(
        cancelled.status.as_ref().map(|s| s.phase),
        Some(RunPhase::Cancelled)
    );
    assert_eq!(
        steps(&cancelled)["transform"]
            .reason
            .as_ref()
            .map(|r| r.as_str()),
        Some("OOMKilled")
    );

    let said = weir(&["retry", "c1", "--step", "transform"]);
    assert!(said.contains("cancel cleared"), "{said}");
    let run = wait::until(
        &runs,
        "c1",
        MINUTE,
        "transform to succeed on its re-run",
        |r: &PipelineRun| {
            steps(r)
                .get("transform")
                .is_some_and(|t| t.phase == StepPhase::Succeeded)
        },
    )
    .await;
    assert!(!run.spec.cancel);
    let s = steps(&run);
    assert_eq!(s["transform"].attempt, 2);
    // `load` was cancelled, not failed, and is not downstream of transform: it keeps its
    // record; the run ends on it.
    assert_eq!(s["load"].phase, StepPhase::Cancelled);
}

/// Issue 9, item 7: a run deleted while its steps run leaves no child behind (they go with
/// it, through their ownerReferences) and no error loop in the controller.
#[tokio::test]
async fn a_run_deleted_mid_run_leaves_no_children_and_no_errors() {
    let ns = TestNamespace::create("deleted-run").await;
    let port = weir_e2e::weir::free_port();
    let addr = format!("127.0.0.1:{port}");
    let _ctl = Controller::start_with(&ns, "controller", &["--metrics-addr", &addr]).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: doomed}
spec:
  steps:
  - {name: a, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 60s}}}}
  - {name: b, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 60s}}}}
"#,
    )
    .await;
    start_run(&ns, "doomed", "gone", &[]).await;
    let jobs = ns.api::<Job>();
    wait::until_exists(&jobs, "gone-a-1", MINUTE, "the run's Job").await;
    ns.api::<PipelineRun>()
        .delete("gone", &Default::default())
        .await
        .unwrap_or_else(|e| panic!("delete run: {e}"));
    wait::poll(
        MINUTE,
        Duration::from_millis(200),
        "the run's Jobs to go",
        || async { jobs_of(&ns, "gone").await.is_empty().then_some(()) },
    )
    .await;
    // Another run goes through after it: the controller is not stuck on the deleted one.
    start_run(&ns, "doomed", "next", &[]).await;
    wait::until_exists(&jobs, "next-a-1", MINUTE, "the next run's Job").await;
    let text = weir_e2e::weir::scrape(port).await.unwrap_or_default();
    let errors: f64 = text
        .lines()
        .filter(|l| l.starts_with("weir_reconcile_errors_total{"))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, n)| n.parse::<f64>().ok()))
        .sum();
    assert_eq!(
        errors, 0.0,
        "reconcile errors after a run was deleted:\n{text}"
    );
}
