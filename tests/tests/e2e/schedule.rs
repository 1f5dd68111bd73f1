//! A cron schedule in real time on the cluster (the decisions themselves are unit-tested
//! with an injected clock in weir-core).

use std::time::Duration;

use weir_api::labels;
use weir_api::v1alpha1::{Pipeline, PipelineRun};
use weir_e2e::weir::{Controller, Recorder, create_pipeline};
use weir_e2e::{TestNamespace, wait};

/// A real-time schedule: every minute. The first scheduled time after the Pipeline's
/// creation starts one run, named after that minute, with `lastScheduleTime` recorded; a
/// controller SIGKILLed and restarted right after starts no second run for it.
#[tokio::test]
async fn a_cron_schedule_starts_its_run_on_time_once() {
    let ns = TestNamespace::create("schedule").await;
    let mut controller = Controller::start(&ns).await;
    let recorder = Recorder::<PipelineRun>::start(&ns);
    let yaml = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: nightly}
spec:
  params: [{name: day}]
  triggers:
    schedule: {cron: '* * * * *', params: {day: '{{ schedule.intervalStart[:10] }}'}}
  steps:
  - {name: load, job: {image: example.invalid/x:1, args: ['{{ params.day }}']}}
"#;
    create_pipeline(&ns, yaml).await;
    let p = wait::until(
        &ns.api::<Pipeline>(),
        "nightly",
        Duration::from_secs(90),
        "the schedule to fire once",
        |p: &Pipeline| {
            p.status
                .as_ref()
                .is_some_and(|s| s.last_schedule_time.is_some())
        },
    )
    .await;
    let at = p.status.unwrap_or_default().last_schedule_time.unwrap().0;
    let minute = at.strftime("%Y%m%d%H%M").to_string();
    controller.kill();
    let _controller = Controller::start(&ns).await;
    let (seen, runs) = recorder.snapshot();
    let run = runs
        .values()
        .find(|r| {
            r.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with(&minute))
        })
        .unwrap_or_else(|| panic!("no run named after {minute}: {:?}", runs.keys()));
    let notes = run.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(notes[labels::STARTED_BY], "schedule");
    assert_eq!(run.spec.params["day"].len(), 10, "{:?}", run.spec.params);
    // The restarted controller settles (a reconcile after its caches sync) without a
    // second run for that minute: every name seen is one uid.
    wait::until(
        &ns.api::<PipelineRun>(),
        run.metadata.name.as_deref().unwrap_or_default(),
        Duration::from_secs(60),
        "the scheduled run to finish",
        |r: &PipelineRun| r.status.as_ref().is_some_and(|s| s.phase.is_finished()),
    )
    .await;
    let (seen_after, _) = recorder.snapshot();
    assert!(
        seen_after.values().all(|uids| uids.len() == 1),
        "{seen_after:?}"
    );
    assert!(seen.len() <= seen_after.len());
    recorder.stop();
}
