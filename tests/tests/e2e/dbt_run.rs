//! DbtRuns on the real cluster (kwok completes or fails their pods): success with the docs
//! step's `{"uri": …}` result as `status.docsUri`, failure with the pod's reason, a retry
//! under a new Job name, and an invalid spec refused with `Valid=False` and a Warning
//! Event naming the field; then the examples' SparkJob and DbtRun run to their end.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, ServiceAccount};
use kube::api::{ListParams, PostParams};
use weir_api::v1alpha1::{DbtRun, SparkJob};
use weir_e2e::weir::Controller;
use weir_e2e::{TestNamespace, wait};

use super::spark::{apps, install_spark_crd, set_state};

const MINUTE: Duration = Duration::from_secs(60);

fn dbt_run(name: &str, extra: &str) -> DbtRun {
    let yaml = format!(
        r#"
apiVersion: weir.dev/v1alpha1
kind: DbtRun
metadata: {{name: {name}}}
spec:
  image: dbt:1.8.2
  project: {{path: /app}}
  target: prod
  commands: [dbt run, dbt test]
{extra}
"#
    );
    serde_saphyr::from_str(&yaml).unwrap()
}

async fn create(ns: &TestNamespace, run: &DbtRun) {
    ns.api::<DbtRun>()
        .create(&PostParams::default(), run)
        .await
        .unwrap();
}

fn phase(r: &DbtRun) -> Option<&str> {
    r.status.as_ref()?.phase.as_deref()
}

#[tokio::test]
async fn a_dbt_run_succeeds_with_its_docs_uri_and_fails_with_its_reason() {
    let ns = TestNamespace::create("dbt-run").await;
    let _ctl = Controller::start(&ns).await;
    let runs = ns.api::<DbtRun>();
    create(
        &ns,
        &dbt_run(
            "docs",
            r#"  generateDocs: true
  docsDestination: gs://docs/dbt
  docsImage: weir-data:1
  annotations: {weir.dev/test-termination-message: '{"uri": "gs://docs/dbt/index.html"}'}"#,
        ),
    )
    .await;
    create(
        &ns,
        &dbt_run(
            "broken",
            r#"  labels: {weir.dev/test-fail: "true"}
  retries: {limit: 1}"#,
        ),
    )
    .await;
    let done = wait::until(&runs, "docs", MINUTE, "success", |r| {
        phase(r) == Some("Succeeded")
    })
    .await;
    let s = done.status.unwrap();
    assert_eq!(s.docs_uri.as_deref(), Some("gs://docs/dbt/index.html"));
    assert_eq!(s.job_name.as_deref(), Some("docs-1"));
    let job = ns.api::<Job>().get("docs-1").await.unwrap();
    let pod = job.spec.unwrap().template.spec.unwrap();
    let main = pod.containers.iter().find(|c| c.name == "main").unwrap();
    assert_eq!(main.args.as_ref().unwrap()[0], "dbt-docs");
    let script = &pod.init_containers.unwrap()[0].command.clone().unwrap()[2];
    assert!(script.contains("dbt run --target 'prod'"), "{script}");

    let failed = wait::until(&runs, "broken", MINUTE, "failure", |r| {
        phase(r) == Some("Failed")
    })
    .await;
    let s = failed.status.unwrap();
    assert_eq!(
        (s.attempt, s.retries),
        (2, 1),
        "retried once, under a new Job"
    );
    assert_eq!(s.job_name.as_deref(), Some("broken-2"));
    assert!(s.reason.is_some(), "{s:?}");
    let ok = s
        .conditions
        .iter()
        .find(|c| c.type_ == "Succeeded")
        .unwrap();
    assert_eq!(ok.status, "False");
}

#[tokio::test]
async fn an_invalid_dbt_run_is_refused_naming_the_field() {
    let ns = TestNamespace::create("dbt-invalid").await;
    let _ctl = Controller::start(&ns).await;
    // The API server refuses docsDestination without generateDocs (the CRD's rule).
    let err = ns
        .api::<DbtRun>()
        .create(
            &PostParams::default(),
            &dbt_run(
                "nodocs",
                "  docsDestination: gs://docs/dbt\n  docsImage: weir-data:1",
            ),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("docsDestination needs generateDocs: true"),
        "{err}"
    );
    // What only weir checks: Valid=False, a Warning Event naming the field, nothing runs.
    create(
        &ns,
        &dbt_run(
            "noimage",
            "  generateDocs: true\n  docsDestination: gs://docs/dbt",
        ),
    )
    .await;
    let r = wait::until(&ns.api::<DbtRun>(), "noimage", MINUTE, "Valid=False", |r| {
        r.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Valid" && c.status == "False")
        })
    })
    .await;
    let s = r.status.unwrap();
    let valid = s.conditions.iter().find(|c| c.type_ == "Valid").unwrap();
    assert!(valid.message.contains("spec.docsImage"), "{valid:?}");
    assert_eq!(
        (s.phase.as_deref(), s.reason.as_deref()),
        (Some("Failed"), Some("InvalidSpec"))
    );
    assert_eq!(s.job_name, None, "nothing runs");
    assert!(
        ns.api::<Job>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    wait::poll(
        MINUTE,
        Duration::from_millis(200),
        "a Warning Event naming the field",
        || async {
            let events = ns
                .api::<Event>()
                .list(&ListParams::default())
                .await
                .unwrap();
            events
                .items
                .iter()
                .any(|e| {
                    e.type_.as_deref() == Some("Warning")
                        && e.message
                            .as_deref()
                            .is_some_and(|m| m.contains("spec.docsImage"))
                })
                .then_some(())
        },
    )
    .await;
}

/// The documented examples, applied as they are (in the test's namespace): the SparkJob
/// runs to its end once its application completes, the DbtRun once kwok completes its pod.
#[tokio::test]
async fn the_spark_job_and_dbt_run_examples_run_to_the_end() {
    let ns = TestNamespace::create("standalone-examples").await;
    install_spark_crd(&ns.client()).await;
    let _ctl = Controller::start(&ns).await;
    // The example's pod runs as this ServiceAccount (admission refuses pods without it).
    let sa: ServiceAccount = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "weir-steps"}
    }))
    .unwrap();
    ns.api::<ServiceAccount>()
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let read = |file: &str| std::fs::read_to_string(root.join(file)).unwrap();
    let mut spark: SparkJob = serde_saphyr::from_str(&read("spark-job.yaml")).unwrap();
    let mut dbt: DbtRun = serde_saphyr::from_str(&read("dbt-run.yaml")).unwrap();
    spark.metadata.namespace = None;
    dbt.metadata.namespace = None;
    ns.api::<SparkJob>()
        .create(&PostParams::default(), &spark)
        .await
        .unwrap();
    ns.api::<DbtRun>()
        .create(&PostParams::default(), &dbt)
        .await
        .unwrap();
    let apps = apps(&ns);
    wait::until_exists(&apps, "initial-load-1", MINUTE, "the example's application").await;
    for state in ["SUBMITTED", "RUNNING", "COMPLETED"] {
        set_state(&apps, "initial-load-1", state).await;
    }
    wait::until(
        &ns.api::<SparkJob>(),
        "initial-load",
        MINUTE,
        "the SparkJob's end",
        |j| j.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded"),
    )
    .await;
    wait::until(
        &ns.api::<DbtRun>(),
        "dbt-test-docs",
        MINUTE,
        "the DbtRun's end",
        |r| phase(r) == Some("Succeeded"),
    )
    .await;
}
