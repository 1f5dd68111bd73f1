//! SparkJobs and pipeline `spark` steps on the real cluster, with a SparkApplication CRD
//! written for the tests (spark-operator itself is not served here) and the test playing
//! spark-operator: it patches each application's status through the sequences the operator
//! goes through, and the SparkJob (or the step) follows each, woken by the change itself.
//! An attempt is submitted at most once: not when its application is deleted, not when the
//! controller is SIGKILLed mid-job.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use weir_api::v1alpha1::{PipelineRun, RunPhase, SparkJob};
use weir_e2e::weir::{Controller, create_pipeline, start_run, steps};
use weir_e2e::{TestNamespace, wait};

const WAKE: Duration = Duration::from_secs(15);
const MINUTE: Duration = Duration::from_secs(60);

pub(super) async fn install_spark_crd(client: &kube::Client) {
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        // A *.k8s.io group needs this annotation; spark-operator's own CRD carries it too.
        "metadata": {"name": "sparkapplications.sparkoperator.k8s.io",
                     "annotations": {"api-approved.kubernetes.io": "unapproved, weir's e2e tests only"}},
        "spec": {
            "group": "sparkoperator.k8s.io",
            "scope": "Namespaced",
            "names": {"plural": "sparkapplications", "singular": "sparkapplication",
                      "kind": "SparkApplication", "shortNames": ["sparkapp"]},
            "versions": [{
                "name": "v1beta2", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }}
            }]
        }
    }))
    .unwrap();
    weir_e2e::weir::apply_crd(client, &crd).await;
}

pub(super) fn apps(ns: &TestNamespace) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("sparkoperator.k8s.io", "v1beta2", "SparkApplication");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "sparkapplications");
    Api::namespaced_with(ns.client(), ns.name(), &ar)
}

/// Plays spark-operator: sets the application's state (and what the operator reports with
/// it: driver, executors, attempts).
pub(super) async fn set_state(apps: &Api<DynamicObject>, name: &str, state: &str) {
    let running = matches!(state, "RUNNING" | "SUCCEEDING" | "FAILING" | "COMPLETED");
    let status = json!({"status": {
        "applicationState": {"state": state, "errorMessage": if state == "FAILED" {
            "driver container failed with ExitCode: 1, Reason: Error" } else { "" }},
        "sparkApplicationId": format!("spark-{name}"),
        "driverInfo": {"podName": format!("{name}-driver")},
        "executorState": if running { json!({"e1": "RUNNING", "e2": "RUNNING"}) } else { json!({}) },
        "submissionAttempts": 1,
        "executionAttempts": 1,
        "lastSubmissionAttemptTime": "2026-01-01T00:00:00Z",
    }});
    apps.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap_or_else(|e| panic!("patching {name} to {state}: {e}"));
}

/// Every SparkApplication created in the namespace: name → uids.
pub(super) struct Created(
    Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>,
    tokio::task::JoinHandle<()>,
);

impl Created {
    pub(super) fn start(ns: &TestNamespace) -> Self {
        let seen: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>> = Arc::default();
        let (record, api) = (seen.clone(), apps(ns));
        let task = tokio::spawn(async move {
            let mut s = watcher(api, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .boxed();
            while let Some(item) = s.next().await {
                if let Ok(o) = item {
                    let mut m = record.lock().unwrap();
                    m.entry(o.name_any())
                        .or_default()
                        .insert(o.uid().unwrap_or_default());
                }
            }
        });
        Created(seen, task)
    }

    pub(super) fn get(&self) -> BTreeMap<String, BTreeSet<String>> {
        assert!(
            !self.1.is_finished(),
            "the watch of SparkApplications ended"
        );
        self.0.lock().unwrap().clone()
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        self.1.abort();
    }
}

fn spark_job(name: &str, extra: &str) -> SparkJob {
    let yaml = format!(
        r#"
apiVersion: weir.dev/v1alpha1
kind: SparkJob
metadata: {{name: {name}}}
spec:
  type: Python
  image: spark:3.5.1
  sparkVersion: 3.5.1
  mainApplicationFile: local:///opt/app.py
  arguments: ['{{{{ run.name }}}}', 'attempt {{{{ run.attempt }}}}']
  monitoring: {{jmxExporterJar: /prometheus/jmx.jar, exposeExecutorMetrics: false}}
{extra}
"#
    );
    serde_saphyr::from_str(&yaml).unwrap()
}

async fn create_job(ns: &TestNamespace, job: &SparkJob) {
    ns.api::<SparkJob>()
        .create(&PostParams::default(), job)
        .await
        .unwrap();
}

fn job_state(j: &SparkJob) -> Option<&str> {
    j.status.as_ref()?.application_state.as_deref()
}

fn job_phase(j: &SparkJob) -> Option<&str> {
    j.status.as_ref()?.phase.as_deref()
}

/// The sequences spark-operator goes through, and the SparkJob's phase at their end.
const SEQUENCES: [(&str, &[&str], &str); 4] = [
    (
        "happy",
        &["SUBMITTED", "RUNNING", "SUCCEEDING", "COMPLETED"],
        "Succeeded",
    ),
    (
        "resubmitted",
        &["SUBMISSION_FAILED", "RUNNING", "COMPLETED"],
        "Succeeded",
    ),
    ("failing", &["RUNNING", "FAILING", "FAILED"], "Failed"),
    (
        "rerun",
        &["RUNNING", "PENDING_RERUN", "RUNNING", "COMPLETED"],
        "Succeeded",
    ),
];

#[tokio::test]
async fn a_spark_job_follows_each_sequence_of_its_application() {
    let ns = TestNamespace::create("spark-job").await;
    install_spark_crd(&ns.client()).await;
    let _ctl = Controller::start(&ns).await;
    let (apps, jobs, created) = (apps(&ns), ns.api::<SparkJob>(), Created::start(&ns));
    for (name, states, end) in SEQUENCES {
        create_job(&ns, &spark_job(name, "")).await;
        let app_name = format!("{name}-1");
        let app =
            wait::until_exists(&apps, &app_name, MINUTE, "the attempt's SparkApplication").await;
        // Rendered by the built-in template, with the attempt, the monitoring flags, owned.
        let spec = serde_json::to_value(&app).unwrap()["spec"].clone();
        assert_eq!(spec["arguments"], json!([name, "attempt 1"]), "{spec}");
        assert_eq!(spec["monitoring"]["exposeDriverMetrics"], true);
        assert_eq!(spec["monitoring"]["exposeExecutorMetrics"], false);
        assert_eq!(app.owner_references()[0].kind, "SparkJob");
        for state in states {
            set_state(&apps, &app_name, state).await;
            let want = state.to_string();
            wait::until(
                &jobs,
                name,
                WAKE,
                &format!("{name} to follow {state}"),
                move |j| job_state(j) == Some(want.as_str()),
            )
            .await;
        }
        let want = end.to_string();
        let done = wait::until(
            &jobs,
            name,
            WAKE,
            &format!("{name} to end {end}"),
            move |j| job_phase(j) == Some(want.as_str()),
        )
        .await;
        let s = done.status.unwrap();
        assert_eq!(
            (s.attempt, s.application_name.as_deref()),
            (1, Some(app_name.as_str()))
        );
        assert_eq!(s.driver_pod_name, Some(format!("{app_name}-driver")));
        assert_eq!(s.submission_attempts, Some(1));
        assert!(s.completion_time.is_some() && s.start_time.is_some());
        let succeeded = s
            .conditions
            .iter()
            .find(|c| c.type_ == "Succeeded")
            .unwrap();
        assert_eq!(
            succeeded.status == "True",
            end == "Succeeded",
            "{succeeded:?}"
        );
        if end == "Failed" {
            assert_eq!(s.reason.as_deref(), Some("Failed"));
            assert!(s.message.unwrap_or_default().contains("ExitCode: 1"));
        }
    }
    let created = created.get();
    assert!(created.values().all(|uids| uids.len() == 1), "{created:?}");
    assert_eq!(
        created.len(),
        SEQUENCES.len(),
        "one application per job: {created:?}"
    );
}

#[tokio::test]
async fn a_spark_job_stuck_in_unknown_times_out_and_its_application_is_deleted() {
    let ns = TestNamespace::create("spark-unknown").await;
    install_spark_crd(&ns.client()).await;
    let _ctl = Controller::start(&ns).await;
    let (apps, jobs) = (apps(&ns), ns.api::<SparkJob>());
    create_job(&ns, &spark_job("stuck", "  timeout: 4s")).await;
    wait::until_exists(&apps, "stuck-1", MINUTE, "the SparkApplication").await;
    set_state(&apps, "stuck-1", "UNKNOWN").await;
    let done = wait::until(&jobs, "stuck", MINUTE, "the timeout", |j| {
        job_phase(j) == Some("Failed")
    })
    .await;
    assert_eq!(done.status.unwrap().reason.as_deref(), Some("Timeout"));
    wait::poll(
        MINUTE,
        Duration::from_millis(200),
        "the application to be deleted",
        || async {
            apps.get_opt("stuck-1")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn deleting_a_running_attempts_application_never_resubmits_that_attempt() {
    let ns = TestNamespace::create("spark-deleted").await;
    install_spark_crd(&ns.client()).await;
    let _ctl = Controller::start(&ns).await;
    let (apps, jobs, created) = (apps(&ns), ns.api::<SparkJob>(), Created::start(&ns));
    create_job(&ns, &spark_job("gone", "  retries: {limit: 1}")).await;
    wait::until_exists(&apps, "gone-1", MINUTE, "the first attempt").await;
    set_state(&apps, "gone-1", "RUNNING").await;
    wait::until(&jobs, "gone", WAKE, "RUNNING to be recorded", |j| {
        job_state(j) == Some("RUNNING")
    })
    .await;
    apps.delete("gone-1", &DeleteParams::default())
        .await
        .unwrap();
    // The next attempt gets a new name; the deleted one is never created again.
    wait::until_exists(&apps, "gone-2", WAKE, "the second attempt").await;
    let j = jobs.get("gone").await.unwrap().status.unwrap();
    assert_eq!((j.attempt, j.retries), (2, 1));
    assert_eq!(
        j.application_state, None,
        "the new attempt starts with no state"
    );
    set_state(&apps, "gone-2", "COMPLETED").await;
    wait::until(&jobs, "gone", WAKE, "success", |j| {
        job_phase(j) == Some("Succeeded")
    })
    .await;
    assert!(apps.get_opt("gone-1").await.unwrap().is_none());
    let created = created.get();
    assert_eq!(created.len(), 2, "{created:?}");
    assert!(created.values().all(|uids| uids.len() == 1), "{created:?}");
}

/// The current attempt's application of SparkJob `job`, once it exists.
async fn current_app(ns: &TestNamespace, job: &str) -> String {
    let (jobs, apps) = (ns.api::<SparkJob>(), apps(ns));
    wait::poll(
        2 * MINUTE,
        Duration::from_millis(100),
        "the current attempt's application",
        || {
            let (jobs, apps) = (jobs.clone(), apps.clone());
            async move {
                let j = jobs.get(job).await.ok()?;
                let name = j.status?.application_name?;
                apps.get_opt(&name).await.ok()??;
                Some(name)
            }
        },
    )
    .await
}

/// SIGKILLs while three SparkJobs are created and while they run. A kill between the
/// status write that records an attempt and the create of its application costs that
/// attempt (it is failed as missing, and the next one gets a new name): the one thing that
/// never happens is an application created twice.
#[tokio::test]
async fn a_sigkill_mid_spark_job_submits_nothing_twice() {
    let ns = TestNamespace::create("spark-kill").await;
    install_spark_crd(&ns.client()).await;
    let mut ctl = Controller::start(&ns).await;
    let (apps, jobs, created) = (apps(&ns), ns.api::<SparkJob>(), Created::start(&ns));
    for i in 0..3 {
        create_job(&ns, &spark_job(&format!("k{i}"), "  retries: {limit: 2}")).await;
    }
    wait::until_exists(&apps, "k0-1", MINUTE, "k0's application").await;
    ctl.kill();
    ctl.restart();
    for i in 0..3 {
        let app = current_app(&ns, &format!("k{i}")).await;
        set_state(&apps, &app, "RUNNING").await;
    }
    let k1 = current_app(&ns, "k1").await;
    wait::until(&jobs, "k1", WAKE, "k1 to see RUNNING", |j| {
        job_state(j) == Some("RUNNING")
    })
    .await;
    ctl.kill();
    ctl.restart();
    let mut finals = Vec::new();
    for i in 0..3 {
        let app = current_app(&ns, &format!("k{i}")).await;
        set_state(&apps, &app, "COMPLETED").await;
        finals.push(app);
    }
    assert_eq!(
        finals[1], k1,
        "a running application is never replaced by a restart"
    );
    for i in 0..3 {
        wait::until(&jobs, &format!("k{i}"), 2 * MINUTE, "success", |j| {
            job_phase(j) == Some("Succeeded")
        })
        .await;
    }
    let created = created.get();
    assert!(
        created.values().all(|uids| uids.len() == 1),
        "created twice: {created:?}"
    );
    for (i, app) in finals.iter().enumerate() {
        let job = format!("k{i}-");
        let mine: Vec<&String> = created.keys().filter(|n| n.starts_with(&job)).collect();
        assert_eq!(
            mine.last(),
            Some(&app),
            "nothing after the attempt that succeeded"
        );
    }
}

#[tokio::test]
async fn a_pipeline_spark_step_follows_the_same_sequences() {
    let ns = TestNamespace::create("spark-step").await;
    install_spark_crd(&ns.client()).await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: spark}
spec:
  steps:
  - name: load
    spark:
      type: Python
      image: spark:3.5.1
      sparkVersion: 3.5.1
      mainApplicationFile: local:///opt/app.py
      arguments: ['{{ run.name }}']
"#,
    )
    .await;
    let (apps, runs) = (apps(&ns), ns.api::<PipelineRun>());
    for (name, states, end) in SEQUENCES {
        start_run(&ns, "spark", name, &[]).await;
        let app = format!("{name}-load-1");
        wait::until_exists(&apps, &app, MINUTE, "the step's SparkApplication").await;
        for state in states {
            set_state(&apps, &app, state).await;
            let reason = camel(state);
            wait::until(
                &runs,
                name,
                WAKE,
                &format!("the step to follow {state}"),
                move |r| {
                    steps(r)
                        .get("load")
                        .and_then(|s| s.reason.as_ref())
                        .is_some_and(|x| x.as_str() == reason)
                },
            )
            .await;
        }
        let want = if end == "Succeeded" {
            RunPhase::Succeeded
        } else {
            RunPhase::Failed
        };
        wait::until(&runs, name, WAKE, "the run's end", move |r| {
            r.status.as_ref().is_some_and(|s| s.phase == want)
        })
        .await;
    }
}

/// `SUBMISSION_FAILED` → `SubmissionFailed`, as the state parser words a reason.
fn camel(state: &str) -> String {
    state
        .split('_')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
