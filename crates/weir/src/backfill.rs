//! `weir backfill PIPELINE --from DATE --to DATE [--parallel N]`: one run per interval of
//! the pipeline's schedule within `[from, to)`, named, labelled and parameterised exactly as
//! the controller's schedule would have (`weir_core::schedule::scheduled_run`), so running
//! the same backfill again creates nothing twice (a run that exists is counted as done).
//!
//! At most `--parallel` runs are active at once: a run is created when a slot is free, and
//! its slot frees when a watch on the pipeline's runs shows it finished (or deleted). The
//! exit code is 1 when any run created here did not succeed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::ExitCode;

use clap::Args;
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use weir_api::labels;
use weir_api::v1alpha1::{PipelineRun, RunPhase};
use weir_core::schedule::{DataInterval, Schedule, StartedBy, scheduled_run};

use crate::client::{Ns, pipelines_and_runs};
use crate::error::fail;

/// The most runs one backfill creates: a longer range is split by the user.
pub const MAX_RUNS: usize = 10_000;

/// Flags of `weir backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// The Pipeline; it must have `spec.triggers.schedule`.
    pub pipeline: String,
    /// Start of the range: a date (midnight in the schedule's time zone) or an RFC 3339 time.
    #[arg(long)]
    pub from: String,
    /// End of the range (exclusive), as `--from`; not in the future.
    #[arg(long)]
    pub to: String,
    /// The most runs active at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallel: u32,
    #[command(flatten)]
    ns: Ns,
}

/// `weir backfill`.
pub async fn backfill(args: BackfillArgs) -> ExitCode {
    match run(&args).await {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

async fn run(args: &BackfillArgs) -> Result<ExitCode, String> {
    let (pipelines, runs) = pipelines_and_runs(&args.ns).await?;
    let pipeline = pipelines
        .get(&args.pipeline)
        .await
        .map_err(|e| format!("pipeline {}: {e}", args.pipeline))?;
    let spec = pipeline.spec.triggers.schedule.as_ref().ok_or_else(|| {
        format!(
            "pipeline {} has no spec.triggers.schedule to backfill",
            args.pipeline
        )
    })?;
    let schedule =
        Schedule::new(spec).map_err(|e| format!("spec.triggers.schedule.{}: {e}", e.field()))?;
    let intervals = plan(&schedule, &args.from, &args.to, Timestamp::now())?;
    let mut todo = VecDeque::new();
    for interval in intervals {
        let run = scheduled_run(
            &args.pipeline,
            &schedule,
            spec,
            interval,
            StartedBy::Backfill,
        )
        .map_err(|e| format!("spec.triggers.schedule.params.{}: {}", e.key, e.error))?;
        todo.push_back((interval, run));
    }
    println!(
        "backfill {}: {} runs from {} to {}, at most {} at once",
        args.pipeline,
        todo.len(),
        args.from,
        args.to,
        args.parallel
    );
    let tally = drive(&runs, &args.pipeline, todo, args.parallel as usize).await?;
    println!(
        "backfill {}: {} succeeded, {} failed, {} existed",
        args.pipeline, tally.succeeded, tally.failed, tally.existed
    );
    Ok(if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The intervals of `[from, to)`, checked: the range is not empty and not in the future.
pub fn plan(
    schedule: &Schedule,
    from: &str,
    to: &str,
    now: Timestamp,
) -> Result<Vec<DataInterval>, String> {
    let tz = schedule.time_zone();
    let (start, end) = (
        bound(from, tz).map_err(|e| format!("--from: {e}"))?,
        bound(to, tz).map_err(|e| format!("--to: {e}"))?,
    );
    if start >= end {
        return Err(format!("--from {from} is not before --to {to}"));
    }
    if end > now {
        return Err(format!(
            "--to {to} is in the future; the schedule starts those runs itself"
        ));
    }
    schedule
        .intervals(start, end, MAX_RUNS)
        .map_err(|e| e.to_string())
}

/// `2026-11-01` (midnight in `tz`) or an RFC 3339 time.
pub fn bound(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let date: Date = text.parse().map_err(|_| {
        format!(
            "{text:?} is neither a date (2026-11-01) nor an RFC 3339 time (2026-11-01T03:00:00Z)"
        )
    })?;
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| format!("{text:?}: {e}"))
}

/// How the runs of a backfill ended.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    succeeded: usize,
    failed: usize,
    existed: usize,
}

/// Creates the runs, at most `parallel` unfinished at once, and waits for each to finish.
async fn drive(
    api: &Api<PipelineRun>,
    pipeline: &str,
    mut todo: VecDeque<(DataInterval, PipelineRun)>,
    parallel: usize,
) -> Result<Tally, String> {
    let total = todo.len();
    let mut tally = Tally::default();
    let mut active: BTreeMap<String, Timestamp> = BTreeMap::new();
    // Watch before creating, so no run can finish unseen.
    let selector = format!(
        "{}={}",
        labels::PIPELINE,
        todo.front()
            .and_then(|(_, r)| r.labels().get(labels::PIPELINE).cloned())
            .unwrap_or_default()
    );
    let mut events = watcher::watcher(api.clone(), watcher::Config::default().labels(&selector))
        .default_backoff()
        .boxed();
    let mut listed: BTreeSet<String> = BTreeSet::new();
    let mut done = 0;
    loop {
        while active.len() < parallel
            && let Some((interval, run)) = todo.pop_front()
        {
            let name = run.name_any();
            match api.create(&PostParams::default(), &run).await {
                Ok(_) => {
                    println!(
                        "[{}/{total}] created {name} ({})",
                        done + active.len() + 1,
                        interval.time()
                    );
                    active.insert(name, interval.time());
                }
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    done += 1;
                    tally.existed += 1;
                    println!("[{done}/{total}] exists  {name} ({})", interval.time());
                }
                Err(e) => return Err(format!("cannot create {name} for {pipeline}: {e}")),
            }
        }
        if active.is_empty() {
            return Ok(tally);
        }
        let event = events
            .try_next()
            .await
            .map_err(|e| format!("watching the runs of {pipeline}: {e}"))?
            .ok_or("the watch of the runs ended")?;
        let finished: Vec<(String, Option<RunPhase>, Option<String>)> = match event {
            Event::Apply(r) | Event::InitApply(r) => {
                listed.insert(r.name_any());
                let status = r.status.as_ref();
                match status.filter(|s| s.phase.is_finished()) {
                    Some(s) => vec![(r.name_any(), Some(s.phase), s.message.clone())],
                    None => Vec::new(),
                }
            }
            Event::Delete(r) => vec![(r.name_any(), None, None)],
            Event::Init => {
                listed.clear();
                Vec::new()
            }
            // After a re-list, an active run not listed was deleted while the watch was down.
            Event::InitDone => active
                .keys()
                .filter(|n| !listed.contains(*n))
                .map(|n| (n.clone(), None, None))
                .collect(),
        };
        for (name, phase, message) in finished {
            if active.remove(&name).is_none() {
                continue;
            }
            done += 1;
            let how = match phase {
                Some(RunPhase::Succeeded) => {
                    tally.succeeded += 1;
                    "succeeded".to_string()
                }
                Some(p) => {
                    tally.failed += 1;
                    let why = message.map(|m| format!(": {m}")).unwrap_or_default();
                    format!("{}{why}", p.as_str().to_lowercase())
                }
                None => {
                    tally.failed += 1;
                    "deleted before it finished".to_string()
                }
            };
            println!("[{done}/{total}] {how:<9} {name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::v1alpha1::ScheduleTrigger;

    fn daily(tz: &str) -> Schedule {
        Schedule::new(&ScheduleTrigger {
            cron: "0 0 * * *".into(),
            time_zone: Some(tz.into()),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn dates_are_midnight_in_the_schedule_time_zone() {
        let s = daily("Europe/Berlin");
        assert_eq!(
            bound("2026-11-01", s.time_zone()).unwrap().to_string(),
            "2026-10-31T23:00:00Z"
        );
        assert_eq!(
            bound("2026-11-01T03:00:00Z", s.time_zone())
                .unwrap()
                .to_string(),
            "2026-11-01T03:00:00Z"
        );
        assert!(
            bound("yesterday", s.time_zone())
                .unwrap_err()
                .contains("neither a date")
        );
    }

    #[test]
    fn a_range_of_days_is_one_run_per_day() {
        let s = daily("Europe/Berlin");
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let got = plan(&s, "2026-11-01", "2026-11-04", now).unwrap();
        let ends: Vec<String> = got.iter().map(|i| i.time().to_string()).collect();
        assert_eq!(
            ends,
            [
                "2026-11-01T23:00:00Z",
                "2026-11-02T23:00:00Z",
                "2026-11-03T23:00:00Z"
            ],
            "the runs for the days of 1, 2 and 3 November"
        );
        assert!(
            plan(&s, "2026-11-04", "2026-11-01", now)
                .unwrap_err()
                .contains("not before")
        );
        assert!(
            plan(&s, "2026-11-01", "2026-12-01", now)
                .unwrap_err()
                .contains("in the future")
        );
        assert!(
            plan(&s, "1990-01-01", "2026-11-01", now)
                .unwrap_err()
                .contains("more than")
        );
    }
}
