//! Jobs on the local cluster behave the way weir's tests rely on: kwok's fake pods complete,
//! fail, keep running or report a termination message on request (tests/cluster/stages.yaml),
//! and the Job controller turns that into Job conditions.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::PostParams;
use tokio::time::Instant;
use weir_e2e::fake::{self, FakeJob};
use weir_e2e::{TestNamespace, wait};

/// Generous for a 2-core machine running the whole suite; a healthy cluster needs ~2 s.
const DEADLINE: Duration = Duration::from_secs(60);

async fn create(ns: &TestNamespace, job: &FakeJob) -> Job {
    ns.api::<Job>()
        .create(&PostParams::default(), &job.build())
        .await
        .unwrap()
}

#[tokio::test]
async fn job_completes() {
    let ns = TestNamespace::create("job-completes").await;
    create(&ns, &FakeJob::new("ok")).await;

    let job = wait::until(&ns.api(), "ok", DEADLINE, "Job ok to finish", |j| {
        fake::finished(j).is_some()
    })
    .await;

    assert_eq!(fake::finished(&job), Some("Complete"));
    let pods = fake::pods_of(&ns.api(), "ok").await;
    let exit = fake::terminated(&pods[0]).map(|t| t.exit_code);
    assert_eq!(exit, Some(0), "pod status: {:?}", pods[0].status);
}

#[tokio::test]
async fn failure_label_fails_the_job_with_the_pods_reason() {
    let ns = TestNamespace::create("job-fails").await;
    create(
        &ns,
        &FakeJob::new("boom").reason("OOMKilled").exit_code(137),
    )
    .await;

    let job = wait::until(&ns.api(), "boom", DEADLINE, "Job boom to finish", |j| {
        fake::finished(j).is_some()
    })
    .await;

    assert_eq!(fake::finished(&job), Some("Failed"));
    let pods = fake::pods_of(&ns.api(), "boom").await;
    assert_eq!(pods.len(), 1, "backoffLimit 0: one pod");
    let pod = &pods[0];
    assert_eq!(
        pod.status.as_ref().unwrap().phase.as_deref(),
        Some("Failed")
    );
    let terminated = fake::terminated(pod).expect("the container has terminated");
    assert_eq!(terminated.reason.as_deref(), Some("OOMKilled"));
    assert_eq!(terminated.exit_code, 137);
}

#[tokio::test]
async fn failure_label_defaults_to_exit_code_1_and_reason_error() {
    let ns = TestNamespace::create("job-fails-default").await;
    create(&ns, &FakeJob::new("boom").failing()).await;

    wait::until(&ns.api(), "boom", DEADLINE, "Job boom to fail", |j| {
        fake::finished(j) == Some("Failed")
    })
    .await;

    let pods = fake::pods_of(&ns.api(), "boom").await;
    let terminated = fake::terminated(&pods[0]).expect("the container has terminated");
    assert_eq!(
        (terminated.exit_code, terminated.reason.as_deref()),
        (1, Some("Error"))
    );
}

#[tokio::test]
async fn run_for_keeps_the_job_active_that_long() {
    const RUN_FOR: Duration = Duration::from_secs(5);
    let ns = TestNamespace::create("job-run-for").await;
    let created = Instant::now();
    create(&ns, &FakeJob::new("slow").run_for(RUN_FOR)).await;

    // The pod starts at once and then runs; the Job must stay unfinished the whole time.
    wait::until(
        &ns.api(),
        "slow",
        DEADLINE,
        "Job slow to be active",
        |j: &Job| j.status.as_ref().and_then(|s| s.active) == Some(1),
    )
    .await;
    let rest = RUN_FOR.saturating_sub(created.elapsed());
    wait::holds_for(
        &ns.api(),
        "slow",
        rest,
        "Job slow to stay active",
        |j: &Job| fake::finished(j).is_none(),
    )
    .await;

    let job = wait::until(&ns.api(), "slow", DEADLINE, "Job slow to finish", |j| {
        fake::finished(j).is_some()
    })
    .await;
    assert_eq!(fake::finished(&job), Some("Complete"));
    assert!(created.elapsed() >= RUN_FOR);
    // The API's own record agrees (timestamps have whole seconds).
    let status = job.status.unwrap();
    let ran = (status.completion_time.unwrap().0).duration_since(status.start_time.unwrap().0);
    assert!(
        ran.as_secs_f64() >= RUN_FOR.as_secs_f64() - 1.0,
        "ran for {ran:?}"
    );
}

#[tokio::test]
async fn termination_message_shows_up_in_the_pod_status() {
    let ns = TestNamespace::create("job-termination-message").await;
    // JSON as a step writes it, with quotes, non-ASCII and a newline to survive the trip.
    let message = "{\"rows\": 42, \"path\": \"s3://b/k\", \"note\": \"h\u{e9}llo\\n\"}\n";
    create(&ns, &FakeJob::new("msg").termination_message(message)).await;

    wait::until(&ns.api(), "msg", DEADLINE, "Job msg to complete", |j| {
        fake::finished(j) == Some("Complete")
    })
    .await;

    let pods = fake::pods_of(&ns.api(), "msg").await;
    let terminated = fake::terminated(&pods[0]).expect("the container has terminated");
    assert_eq!(terminated.message.as_deref(), Some(message));
    let parsed: serde_json::Value = serde_json::from_str(message).unwrap();
    assert_eq!(parsed["rows"], 42);
}

#[tokio::test]
async fn image_pull_backoff_label_keeps_the_pod_pending() {
    let ns = TestNamespace::create("job-image-pull").await;
    create(&ns, &FakeJob::new("pull").image_pull_backoff()).await;

    let pods = ns.api::<Pod>();
    let pod = wait::poll(
        DEADLINE,
        Duration::from_millis(200),
        "a pod of Job pull waiting in ImagePullBackOff",
        || async {
            fake::pods_of(&pods, "pull").await.into_iter().find(|p| {
                let waiting = p
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .and_then(|c| c.first())
                    .and_then(|c| c.state.as_ref())
                    .and_then(|s| s.waiting.as_ref());
                waiting.and_then(|w| w.reason.as_deref()) == Some("ImagePullBackOff")
            })
        },
    )
    .await;
    assert_eq!(pod.status.unwrap().phase.as_deref(), Some("Pending"));
}
