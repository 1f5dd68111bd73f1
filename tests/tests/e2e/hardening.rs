//! The run engine's invariants under edits, restarts and shutdowns (issue 9): a run never
//! mixes two Pipeline specs, a step's result survives a restart, SIGTERM flushes what was
//! deferred and exits promptly, and a restart rewrites nothing that is already right.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::ResourceExt;
use kube::api::ListParams;
use weir_api::v1alpha1::{Pipeline, PipelineRun, RunPhase, StepPhase};
use weir_e2e::weir::{Controller, create_pipeline, finished, start_run, steps};
use weir_e2e::{TestNamespace, wait};

const MINUTE: Duration = Duration::from_secs(60);

fn image(job: &Job) -> Option<String> {
    job.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}

/// Replaces the Pipeline `edited` with `yaml`.
async fn replace_pipeline(pipelines: &kube::Api<Pipeline>, yaml: &str) {
    let mut pl: Pipeline = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    let current = pipelines
        .get("edited")
        .await
        .unwrap_or_else(|e| panic!("get pipeline: {e}"));
    pl.metadata = current.metadata.clone();
    pipelines
        .replace("edited", &Default::default(), &pl)
        .await
        .unwrap_or_else(|e| panic!("replace pipeline: {e}"));
}

/// Regression (issue 9, item 1): admission was a deferred status change, so for up to a
/// batch period a run had Jobs but no `status.pipelineSpec`, and an edit of the Pipeline in
/// that window changed the run's remaining steps (or, edited into a cycle, failed the run
/// while its Job ran). The snapshot is now written before the first Job exists: whenever a
/// Job of the run can be seen, the snapshot can be read.
#[tokio::test]
async fn the_spec_snapshot_exists_before_the_first_job_and_edits_never_reach_the_run() {
    let ns = TestNamespace::create("snapshot").await;
    // A long batch period: without a durable admission write the window is this long.
    let _ctl = Controller::start_with(&ns, "controller", &["--status-batch-period", "30s"]).await;
    let spec = |b_image: &str, b_deps: &str, a_deps: &str| {
        format!(
            r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {{name: edited}}
spec:
  steps:
  - {{name: a, dependsOn: [{a_deps}], job: {{image: example.invalid/a:1, jobArgs: {{annotations: {{weir.dev/test-run-for: 2s}}}}}}}}
  - {{name: b, dependsOn: [{b_deps}], job: {{image: {b_image}}}}}
"#
        )
    };
    create_pipeline(&ns, &spec("example.invalid/b:1", "a", "")).await;
    let pipelines = ns.api::<Pipeline>();
    let jobs = ns.api::<Job>();
    let runs = ns.api::<PipelineRun>();

    for (run, edit) in [
        ("image", spec("example.invalid/b:EDITED", "a", "")),
        ("cycle", spec("example.invalid/b:1", "a", "b")),
    ] {
        start_run(&ns, "edited", run, &[]).await;
        wait::until_exists(&jobs, &format!("{run}-a-1"), MINUTE, "the first Job").await;
        let seen = runs
            .get(run)
            .await
            .unwrap_or_else(|e| panic!("get run {run}: {e}"));
        let snapshot = seen.status.as_ref().and_then(|s| s.pipeline_spec.as_ref());
        assert!(
            snapshot.is_some(),
            "run {run} has a Job but no spec snapshot in its status: {:?}",
            seen.status
        );
        replace_pipeline(&pipelines, &edit).await;

        let done = finished(&ns, run, MINUTE).await;
        let status = done.status.clone().unwrap_or_default();
        assert_eq!(status.phase, RunPhase::Succeeded, "{run}: {status:?}");
        let b = jobs
            .get(&format!("{run}-b-1"))
            .await
            .unwrap_or_else(|e| panic!("get job b: {e}"));
        assert_eq!(
            image(&b).as_deref(),
            Some("example.invalid/b:1"),
            "{run}: step b was rendered from the edited Pipeline"
        );
        // Back to the original spec for the next case.
        replace_pipeline(&pipelines, &spec("example.invalid/b:1", "a", "")).await;
    }
}

/// Regression (issue 9, item 2): after a restart, a reconcile could plan from a Job cache
/// that was listed before the Pod cache: `list`'s Job was complete, its pod not yet seen, so
/// the step succeeded without its result and the `forEach` over it failed with
/// `InvalidForEach: step list has no result`. Every `list` here completes while the
/// controller is down, so the restarted controller meets them all at once.
#[tokio::test]
async fn a_result_written_while_the_controller_was_down_reaches_the_for_each_after_a_restart() {
    const RUNS: usize = 8;
    let ns = TestNamespace::create("results").await;
    let mut ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: fan}
spec:
  steps:
  - name: list
    job:
      image: example.invalid/x:1
      jobArgs: {annotations: {weir.dev/test-run-for: 1500ms, weir.dev/test-termination-message: '["a", "b", "c"]'}}
  - {name: each, dependsOn: [list], forEach: {fromStep: list}, job: {image: example.invalid/x:1}}
"#,
    )
    .await;
    let jobs = ns.api::<Job>();
    // Whether the caches race is up to the restart: three restarts, three chances.
    for round in 0..3 {
        let names: Vec<String> = (0..RUNS).map(|i| format!("r{round}-{i:02}")).collect();
        for n in &names {
            start_run(&ns, "fan", n, &[]).await;
        }
        for n in &names {
            wait::until_exists(&jobs, &format!("{n}-list-1"), MINUTE, "the list Job").await;
        }
        ctl.kill();
        for n in &names {
            wait::until(
                &jobs,
                &format!("{n}-list-1"),
                MINUTE,
                "the list Job to complete while the controller is down",
                |j: &Job| weir_e2e::fake::finished(j) == Some("Complete"),
            )
            .await;
        }
        ctl.restart();
        for n in &names {
            let run = finished(&ns, n, MINUTE).await;
            let status = run.status.clone().unwrap_or_default();
            assert_eq!(status.phase, RunPhase::Succeeded, "{n}: {status:?}");
            let each = &steps(&run)["each"];
            assert_eq!(each.items.len(), 3, "{n}: {each:?}");
        }
    }
}

/// Issue 9, item 3: a SIGTERM while the controller is still starting (its caches not
/// synced) used to hang at "finishing running reconciles" until SIGKILL.
#[tokio::test]
async fn sigterm_while_starting_exits_within_seconds() {
    let ns = TestNamespace::create("term-start").await;
    let mut ctl = Controller::start(&ns).await;
    ctl.until_logged("weir controller starting", MINUTE).await;
    let took = ctl.terminate(Duration::from_secs(15)).await;
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(12)),
        "SIGTERM during start-up took {took:?}; log:\n{}",
        ctl.log()
    );
}

/// Issue 9, item 3: a controller stopped with SIGTERM writes the status changes it had
/// deferred (here: step `a` succeeded and `b` started, under a 5-minute batch period)
/// before it exits, instead of leaving them for the next controller.
#[tokio::test]
async fn sigterm_writes_deferred_status_before_exiting() {
    let ns = TestNamespace::create("term-flush").await;
    let mut ctl =
        Controller::start_with(&ns, "controller", &["--status-batch-period", "300s"]).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: slow}
spec:
  steps:
  - {name: a, job: {image: example.invalid/x:1}}
  - {name: b, dependsOn: [a], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 120s}}}}
"#,
    )
    .await;
    start_run(&ns, "slow", "f1", &[]).await;
    let jobs = ns.api::<Job>();
    // `b` exists only once the controller saw `a` succeed: both facts are in its memory.
    wait::until_exists(&jobs, "f1-b-1", MINUTE, "step b's Job").await;
    let before = ns
        .api::<PipelineRun>()
        .get("f1")
        .await
        .unwrap_or_else(|e| panic!("get run: {e}"));
    assert_eq!(
        steps(&before)["b"].phase,
        StepPhase::Pending,
        "the change was meant to be deferred (batch period 300 s): {:?}",
        before.status
    );
    let took = ctl.terminate(Duration::from_secs(15)).await;
    assert!(
        took.is_some(),
        "SIGTERM did not stop the controller; log:\n{}",
        ctl.log()
    );
    let after = ns
        .api::<PipelineRun>()
        .get("f1")
        .await
        .unwrap_or_else(|e| panic!("get run: {e}"));
    let s = steps(&after);
    assert_eq!(s["a"].phase, StepPhase::Succeeded, "{:?}", after.status);
    assert_eq!(s["b"].phase, StepPhase::Running, "{:?}", after.status);
    assert_eq!(s["b"].children, ["f1-b-1"]);
}

/// Issue 9, item 8: a controller started with empty memory on a namespace of finished runs
/// writes nothing and creates nothing. Every Pipeline's status used to be applied twice at
/// each start (from a half-filled cache, then again).
#[tokio::test]
async fn a_restart_on_finished_runs_writes_nothing() {
    let ns = TestNamespace::create("quiet-restart").await;
    let mut ctl = Controller::start(&ns).await;
    for p in ["p1", "p2", "p3"] {
        create_pipeline(
            &ns,
            &format!(
                r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {{name: {p}}}
spec:
  steps:
  - {{name: a, job: {{image: example.invalid/x:1}}}}
  - {{name: b, dependsOn: [a], forEach: {{items: [1, 2]}}, job: {{image: example.invalid/x:1}}}}
"#
            ),
        )
        .await;
        start_run(&ns, p, &format!("{p}-r"), &[]).await;
    }
    for p in ["p1", "p2", "p3"] {
        let run = finished(&ns, &format!("{p}-r"), MINUTE).await;
        assert_eq!(run.status.map(|s| s.phase), Some(RunPhase::Succeeded));
    }
    // The Pipelines' run counters are written at most once a batch period: wait for them.
    let pipelines = ns.api::<Pipeline>();
    for p in ["p1", "p2", "p3"] {
        wait::until(
            &pipelines,
            p,
            MINUTE,
            "the Pipeline to count no active run",
            |pl: &Pipeline| {
                pl.status
                    .as_ref()
                    .is_some_and(|s| s.active_runs == 0 && s.last_run.is_some())
            },
        )
        .await;
    }
    assert!(ctl.terminate(Duration::from_secs(15)).await.is_some());

    let versions = |ns: &TestNamespace| {
        let (p, r, j) = (
            ns.api::<Pipeline>(),
            ns.api::<PipelineRun>(),
            ns.api::<Job>(),
        );
        async move {
            let mut out = BTreeMap::new();
            let lp = ListParams::default();
            for o in p.list(&lp).await.unwrap_or_else(|e| panic!("{e}")).items {
                out.insert(format!("pipeline/{}", o.name_any()), o.resource_version());
            }
            for o in r.list(&lp).await.unwrap_or_else(|e| panic!("{e}")).items {
                out.insert(format!("run/{}", o.name_any()), o.resource_version());
            }
            for o in j.list(&lp).await.unwrap_or_else(|e| panic!("{e}")).items {
                out.insert(format!("job/{}", o.name_any()), o.resource_version());
            }
            out
        }
    };
    let before = versions(&ns).await;

    let port = weir_e2e::weir::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut ctl = Controller::start_with(&ns, "second", &["--metrics-addr", &addr]).await;
    // Every object reconciled at least once by the new controller (3 runs, 3 Pipelines).
    let text = weir_e2e::weir::until_reconciled(port, 3.0, 3.0).await;
    let writes: f64 = ["create", "update", "patch", "apply", "delete"]
        .iter()
        .filter_map(|v| {
            weir_e2e::weir::sample(&text, &format!("weir_kube_requests_total{{verb=\"{v}\"}}"))
        })
        .sum();
    assert_eq!(writes, 0.0, "the restarted controller wrote:\n{text}");
    assert!(ctl.terminate(Duration::from_secs(15)).await.is_some());
    let after = versions(&ns).await;
    assert_eq!(
        before, after,
        "objects changed by a restart with nothing to do"
    );
}
