//! `weir backfill`: one run per interval of the pipeline's schedule, named and parameterised
//! as the schedule would have, never more than `--parallel` active at once, idempotent when
//! re-run, and a non-zero exit when a run fails.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use jiff::ToSpan;
use kube::ResourceExt;
use kube::api::ListParams;
use kube::runtime::watcher::{self, Event};
use weir_api::labels;
use weir_api::v1alpha1::{PipelineRun, RunPhase};
use weir_e2e::weir::{Controller, create_pipeline, weir_bin};
use weir_e2e::{TestNamespace, wait};

/// Daily at midnight in Berlin; suspended, so only the backfill starts runs. The step fails
/// on the day named by `failDay` and lasts a moment, so runs overlap when allowed to.
fn pipeline(fail_day: &str) -> String {
    format!(
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {{name: daily}}
spec:
  params: [{{name: day}}, {{name: failDay, default: "{fail_day}"}}]
  triggers:
    schedule:
      cron: "0 0 * * *"
      timeZone: Europe/Berlin
      suspend: true
      params: {{day: "{{{{ schedule.intervalStart[:10] }}}}"}}
  steps:
  - name: load
    job:
      image: example.invalid/x:1
      jobArgs:
        labels: {{weir.dev/test-fail: "{{{{ 'true' if params.day == params.failDay else 'false' }}}}"}}
        annotations: {{weir.dev/test-run-for: 1500ms}}
"#
    )
}

/// The days a backfill covers: four days ending two days ago (Berlin dates).
fn days() -> (String, String, Vec<String>) {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .date();
    let first = today.checked_sub(6.days()).unwrap();
    let days: Vec<String> = (0..4)
        .map(|i| first.checked_add(i.days()).unwrap().to_string())
        .collect();
    let to = first.checked_add(4.days()).unwrap().to_string();
    (first.to_string(), to, days)
}

/// Runs `weir backfill` and returns (success, stdout, stderr).
async fn backfill(
    ns: &TestNamespace,
    from: &str,
    to: &str,
    parallel: &str,
) -> (bool, String, String) {
    let out = tokio::process::Command::new(weir_bin())
        .args([
            "backfill",
            "daily",
            "--from",
            from,
            "--to",
            to,
            "--parallel",
            parallel,
        ])
        .args(["-n", ns.name()])
        .env("KUBECONFIG", weir_e2e::cluster::kubeconfig_path())
        .output()
        .await
        .unwrap_or_else(|e| panic!("weir backfill: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("{stdout}{stderr}");
    (out.status.success(), stdout, stderr)
}

/// The most runs unfinished at once, and every run seen finished.
type Seen = Arc<Mutex<(usize, BTreeSet<String>)>>;

/// Watches the namespace's runs in the API server's order and records the most that were
/// unfinished at once, and every run that finished.
fn record_active(ns: &TestNamespace) -> (Seen, tokio::task::JoinHandle<()>) {
    let state = Arc::new(Mutex::new((0usize, BTreeSet::new())));
    let api = ns.api::<PipelineRun>();
    let shared = state.clone();
    let task = tokio::spawn(async move {
        let mut active = BTreeSet::new();
        let mut events = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
        while let Ok(Some(event)) = events.try_next().await {
            let (Event::Apply(r) | Event::InitApply(r)) = event else {
                continue;
            };
            let finished = r.status.as_ref().is_some_and(|s| s.phase.is_finished());
            let mut s = shared.lock().unwrap();
            if finished {
                active.remove(&r.name_any());
                s.1.insert(r.name_any());
            } else {
                active.insert(r.name_any());
            }
            s.0 = s.0.max(active.len());
        }
    });
    (state, task)
}

#[tokio::test]
async fn backfill_starts_one_run_per_day_two_at_a_time_and_is_idempotent() {
    let ns = TestNamespace::create("backfill").await;
    let _ctl = Controller::start(&ns).await;
    create_pipeline(&ns, &pipeline("never")).await;
    let (from, to, days) = days();
    let (seen, task) = record_active(&ns);

    let (ok, out, _) = backfill(&ns, &from, &to, "2").await;
    assert!(ok, "{out}");
    assert!(out.contains("4 succeeded, 0 failed, 0 existed"), "{out}");

    let runs = ns
        .api::<PipelineRun>()
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(runs.items.len(), 4);
    let mut got_days: Vec<String> = runs
        .items
        .iter()
        .map(|r| r.spec.params["day"].clone())
        .collect();
    got_days.sort();
    assert_eq!(got_days, days, "one run per day, each with its day");
    for r in &runs.items {
        let a = r.annotations();
        assert_eq!(
            a.get(labels::STARTED_BY).map(String::as_str),
            Some("backfill")
        );
        let at: jiff::Timestamp = a[labels::SCHEDULED_AT].parse().unwrap();
        assert_eq!(r.name_any(), format!("daily-{}", at.strftime("%Y%m%d%H%M")));
        assert!(a.contains_key(labels::INTERVAL_START));
        assert_eq!(
            r.status.as_ref().map(|s| s.phase),
            Some(RunPhase::Succeeded)
        );
    }
    // The recorder has seen every run finish; never more than two ran at once.
    let names: BTreeSet<String> = runs.items.iter().map(ResourceExt::name_any).collect();
    wait::poll(
        Duration::from_secs(30),
        Duration::from_millis(200),
        "the recorder to see every run finish",
        || {
            let done = seen.lock().unwrap().1.is_superset(&names);
            async move { done.then_some(()) }
        },
    )
    .await;
    let max_active = seen.lock().unwrap().0;
    task.abort();
    assert!(
        (1..=2).contains(&max_active),
        "{max_active} runs were active at once"
    );

    // Again: every run exists, nothing is created.
    let (ok, out, _) = backfill(&ns, &from, &to, "2").await;
    assert!(ok, "{out}");
    assert!(out.contains("0 succeeded, 0 failed, 4 existed"), "{out}");
    assert_eq!(out.matches(" exists ").count(), 4, "{out}");
    let again = ns
        .api::<PipelineRun>()
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(again.items.len(), 4);
}

#[tokio::test]
async fn a_failed_backfill_run_makes_the_backfill_fail() {
    let ns = TestNamespace::create("backfill-fail").await;
    let _ctl = Controller::start(&ns).await;
    let (from, to, days) = days();
    create_pipeline(&ns, &pipeline(&days[1])).await;
    let (ok, out, _) = backfill(&ns, &from, &to, "4").await;
    assert!(!ok, "a run failed, yet the backfill succeeded: {out}");
    assert!(out.contains("3 succeeded, 1 failed, 0 existed"), "{out}");
    assert!(out.contains("failed"), "{out}");
}

#[tokio::test]
async fn backfill_refuses_a_pipeline_without_a_schedule() {
    let ns = TestNamespace::create("backfill-none").await;
    create_pipeline(
        &ns,
        "apiVersion: weir.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: daily}\nspec:\n  steps:\n  - {name: a, job: {image: example.invalid/x:1}}\n",
    )
    .await;
    let (ok, _, stderr) = backfill(&ns, "2026-01-01", "2026-01-03", "1").await;
    assert!(!ok);
    assert!(stderr.contains("has no spec.triggers.schedule"), "{stderr}");
}
