//! The schedule's rules with an injected clock: every time below is passed in.

use std::collections::BTreeMap;

use jiff::Timestamp;
use weir_api::v1alpha1::ScheduleTrigger;
use weir_render::Renderer;

use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn sched(cron: &str, tz: Option<&str>) -> Schedule {
    Schedule::new(&trigger(cron, tz)).unwrap()
}

fn trigger(cron: &str, tz: Option<&str>) -> ScheduleTrigger {
    ScheduleTrigger {
        cron: cron.into(),
        time_zone: tz.map(str::to_string),
        ..Default::default()
    }
}

/// The first `n` fire times after `from`.
fn fires(s: &Schedule, from: &str, n: usize) -> Vec<String> {
    let mut t = ts(from);
    (0..n)
        .map(|_| {
            t = s.next_after(t).unwrap();
            t.to_string()
        })
        .collect()
}

#[test]
fn every_fifteen_minutes() {
    let s = sched("*/15 * * * *", None);
    assert_eq!(
        fires(&s, "2026-11-29T23:40:00Z", 3),
        [
            "2026-11-29T23:45:00Z",
            "2026-11-30T00:00:00Z",
            "2026-11-30T00:15:00Z"
        ]
    );
    assert_eq!(
        s.prev_before(ts("2026-11-30T00:00:00Z")),
        Some(ts("2026-11-29T23:45:00Z")),
        "strictly before"
    );
}

#[test]
fn weekdays_at_three_skip_the_weekend() {
    // 2026-11-27 is a Friday.
    let s = sched("0 3 * * MON-FRI", None);
    assert_eq!(
        fires(&s, "2026-11-27T03:00:00Z", 2),
        ["2026-11-30T03:00:00Z", "2026-12-01T03:00:00Z"]
    );
}

#[test]
fn day_of_month_or_day_of_week() {
    // The 13th, and every Friday: 2026-11-13 is a Friday, then Fridays 20 and 27, then
    // Friday 2026-12-04, then Sunday 2026-12-13.
    let s = sched("0 0 13 * FRI", None);
    assert_eq!(
        fires(&s, "2026-11-12T00:00:00Z", 5),
        [
            "2026-11-13T00:00:00Z",
            "2026-11-20T00:00:00Z",
            "2026-11-27T00:00:00Z",
            "2026-12-04T00:00:00Z",
            "2026-12-11T00:00:00Z",
        ]
    );
    assert_eq!(
        fires(&s, "2026-12-11T00:00:00Z", 1),
        ["2026-12-13T00:00:00Z"]
    );
}

#[test]
fn spring_forward_runs_a_skipped_time_once_at_the_jump() {
    // Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    let s = sched("30 2 * * *", Some("Europe/Berlin"));
    assert_eq!(
        fires(&s, "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T01:30:00Z", // 02:30 CET
            "2026-03-29T01:00:00Z", // 03:00 CEST: 02:30 does not exist
            "2026-03-30T00:30:00Z", // 02:30 CEST
        ]
    );
    assert_eq!(
        s.prev_before(ts("2026-03-30T00:30:00Z")),
        Some(ts("2026-03-29T01:00:00Z"))
    );
    // Half-hourly: 02:00 and 02:30 fold onto 03:00, which also matches itself: one run.
    let s = sched("0,30 * * * *", Some("Europe/Berlin"));
    assert_eq!(
        fires(&s, "2026-03-29T00:00:00Z", 3),
        [
            "2026-03-29T00:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:30:00Z"
        ]
    );
}

#[test]
fn fall_back_runs_a_repeated_time_once() {
    // America/New_York, 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00 UTC), so 01:30
    // happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    let s = sched("30 1 * * *", Some("America/New_York"));
    assert_eq!(
        fires(&s, "2026-10-31T12:00:00Z", 2),
        ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
    let last = ts("2026-10-31T05:30:00Z");
    let created = ts("2026-01-01T00:00:00Z");
    let first = s.due(Some(last), created, ts("2026-11-01T05:30:10Z"));
    assert_eq!(first.start.len(), 1);
    assert_eq!(first.start[0].time(), ts("2026-11-01T05:30:00Z"));
    // After the second 01:30 nothing more is due.
    let second = s.due(
        first.last_schedule_time,
        created,
        ts("2026-11-01T06:30:10Z"),
    );
    assert!(second.start.is_empty(), "{second:?}");
    assert_eq!(second.next_check, Some(ts("2026-11-02T06:30:00Z")));
    // Hourly: the repeated 01:30 runs once; the walk back from the second pass finds it.
    let s = sched("30 * * * *", Some("America/New_York"));
    assert_eq!(
        fires(&s, "2026-11-01T05:00:00Z", 2),
        ["2026-11-01T05:30:00Z", "2026-11-01T07:30:00Z"]
    );
    assert_eq!(
        s.prev_before(ts("2026-11-01T07:00:00Z")),
        Some(ts("2026-11-01T05:30:00Z"))
    );
    // From 01:15 EST (second pass), the latest 01:30 before it is the EDT one, later on the
    // wall clock than 01:15.
    assert_eq!(
        s.prev_before(ts("2026-11-01T06:15:00Z")),
        Some(ts("2026-11-01T05:30:00Z"))
    );
}

/// Daily at 03:00 UTC; the controller last started the run of day 1 and comes back on day 5.
fn daily(catchup: Option<u32>, deadline: Option<u32>) -> Schedule {
    Schedule::new(&ScheduleTrigger {
        catchup_limit: catchup,
        starting_deadline_seconds: deadline,
        ..trigger("0 3 * * *", None)
    })
    .unwrap()
}

const CREATED: &str = "2026-01-01T00:00:00Z";
const DAY1: &str = "2026-11-01T03:00:00Z";

fn started(d: &ScheduleDecision) -> Vec<String> {
    d.start.iter().map(|i| i.time().to_string()).collect()
}

#[test]
fn after_downtime_the_newest_starts_and_catchup_limit_bounds_the_missed() {
    let now = ts("2026-11-05T04:00:00Z");
    let d = daily(None, None).due(Some(ts(DAY1)), ts(CREATED), now);
    assert_eq!(started(&d), ["2026-11-05T03:00:00Z"], "like a CronJob");
    assert_eq!(d.skipped_count, 3);
    assert!(
        d.skipped
            .iter()
            .all(|s| s.reason == SkipReason::CatchupLimit)
    );
    assert_eq!(
        d.skipped[0].time,
        ts("2026-11-02T03:00:00Z"),
        "oldest first"
    );
    assert_eq!(d.last_schedule_time, Some(ts("2026-11-05T03:00:00Z")));
    assert_eq!(d.next_check, Some(ts("2026-11-06T03:00:00Z")));
    assert_eq!(
        d.skipped_message().as_deref(),
        Some(
            "skipped 3 scheduled runs (2026-11-02T03:00:00Z … 2026-11-04T03:00:00Z): CatchupLimit"
        )
    );

    let d = daily(Some(2), None).due(Some(ts(DAY1)), ts(CREATED), now);
    assert_eq!(
        started(&d),
        [
            "2026-11-03T03:00:00Z",
            "2026-11-04T03:00:00Z",
            "2026-11-05T03:00:00Z"
        ]
    );
    assert_eq!(d.skipped.len(), 1);
    // Each started run covers the day before its time.
    assert_eq!(d.start[0].start, ts("2026-11-02T03:00:00Z"));

    let d = daily(Some(50), None).due(Some(ts(DAY1)), ts(CREATED), now);
    assert_eq!(d.start.len(), 4);
    assert_eq!(d.skipped_count, 0);

    // Deciding again with the new lastScheduleTime starts nothing twice.
    let again = daily(Some(2), None).due(d.last_schedule_time, ts(CREATED), now);
    assert!(again.start.is_empty() && again.skipped.is_empty());
}

#[test]
fn starting_deadline_skips_runs_too_late() {
    let d = daily(Some(2), Some(600)).due(Some(ts(DAY1)), ts(CREATED), ts("2026-11-05T03:20:00Z"));
    assert!(d.start.is_empty());
    assert_eq!(d.skipped_count, 4);
    assert!(d.skipped.iter().all(|s| s.reason == SkipReason::Deadline));
    assert_eq!(d.last_schedule_time, Some(ts("2026-11-05T03:00:00Z")));

    let d = daily(Some(2), Some(600)).due(Some(ts(DAY1)), ts(CREATED), ts("2026-11-05T03:05:00Z"));
    assert_eq!(started(&d), ["2026-11-05T03:00:00Z"]);
    assert_eq!(d.skipped_count, 3);
}

#[test]
fn suspended_starts_nothing_and_keeps_last_schedule_time() {
    let s = Schedule::new(&ScheduleTrigger {
        suspend: true,
        ..trigger("0 3 * * *", None)
    })
    .unwrap();
    let d = s.due(Some(ts(DAY1)), ts(CREATED), ts("2026-11-05T04:00:00Z"));
    assert!(d.start.is_empty() && d.skipped.is_empty());
    assert_eq!(d.last_schedule_time, Some(ts(DAY1)));
    assert_eq!(d.next_check, Some(ts("2026-11-06T03:00:00Z")));
}

#[test]
fn nothing_before_the_pipeline_existed() {
    let created = ts("2026-11-01T12:00:00Z");
    let d = daily(Some(10), None).due(None, created, ts("2026-11-03T04:00:00Z"));
    assert_eq!(
        started(&d),
        ["2026-11-02T03:00:00Z", "2026-11-03T03:00:00Z"],
        "not day 1, before creation"
    );
    // Created right at a scheduled time: that time is not due.
    let d = daily(None, None).due(None, ts(DAY1), ts("2026-11-01T03:00:30Z"));
    assert!(d.start.is_empty());
    assert_eq!(d.next_check, Some(ts("2026-11-02T03:00:00Z")));
    // Before the first time: nothing, wake at it.
    let d = daily(None, None).due(None, created, ts("2026-11-01T13:00:00Z"));
    assert!(d.start.is_empty() && d.last_schedule_time.is_none());
    assert_eq!(d.next_check, Some(ts("2026-11-02T03:00:00Z")));
}

#[test]
fn on_time_runs_start_at_their_second() {
    let d = daily(None, None).due(Some(ts(DAY1)), ts(CREATED), ts("2026-11-02T03:00:00Z"));
    assert_eq!(started(&d), ["2026-11-02T03:00:00Z"]);
}

#[test]
fn long_suspensions_are_counted_up_to_a_bound() {
    let s = sched("* * * * *", None);
    let d = s.due(
        Some(ts("2025-11-01T00:00:00Z")),
        ts("2025-01-01T00:00:00Z"),
        ts("2026-11-01T00:00:30Z"),
    );
    assert_eq!(started(&d), ["2026-11-01T00:00:00Z"]);
    assert_eq!(d.skipped_count, MAX_COUNTED_SKIPS);
    assert_eq!(d.skipped.len(), MAX_LISTED_SKIPS);
    assert_eq!(
        d.skipped[MAX_LISTED_SKIPS - 1].time,
        ts("2026-10-31T23:59:00Z")
    );
}

#[test]
fn backfill_intervals_lie_within_the_range() {
    // Midnight in Berlin; the day of the spring-forward is 23 hours long.
    let s = sched("0 0 * * *", Some("Europe/Berlin"));
    let from = ts("2026-03-27T23:00:00Z"); // 2026-03-28 00:00 CET
    let to = ts("2026-03-30T22:00:00Z"); // 2026-03-31 00:00 CEST
    let got = s.intervals(from, to, 100).unwrap();
    let days: Vec<(String, String)> = got
        .iter()
        .map(|i| (i.start.to_string(), i.end.to_string()))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-27T23:00:00Z".into(), "2026-03-28T23:00:00Z".into()),
            ("2026-03-28T23:00:00Z".into(), "2026-03-29T22:00:00Z".into()),
            ("2026-03-29T22:00:00Z".into(), "2026-03-30T22:00:00Z".into()),
        ]
    );
    assert_eq!(
        got[1].context(s.time_zone()),
        ScheduleContext {
            time: "2026-03-30T00:00:00+02:00".into(),
            interval_start: "2026-03-29T00:00:00+01:00".into(),
            interval_end: "2026-03-30T00:00:00+02:00".into(),
        }
    );
    // A range shorter than one interval holds none; a limit is enforced.
    assert!(
        s.intervals(from, ts("2026-03-28T12:00:00Z"), 100)
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.intervals(from, to, 2), Err(TooManyIntervals(2)));
    // Each backfilled interval is the one the controller would give that time.
    for i in &got {
        assert_eq!(s.interval(i.time()), *i);
    }
}

#[test]
fn run_names_are_deterministic_and_fit() {
    assert_eq!(
        run_name("nightly", ts("2026-11-29T03:00:00Z")),
        "nightly-202611290300"
    );
    let long_a = "a".repeat(60);
    let long_b = format!("{}b", "a".repeat(59));
    let t = ts("2026-11-29T03:00:00Z");
    let (a, b) = (run_name(&long_a, t), run_name(&long_b, t));
    assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
    assert_ne!(a, b);
    assert!(a.ends_with("-202611290300"));
    assert_eq!(a, run_name(&long_a, t));
}

#[test]
fn params_render_with_the_schedule() {
    let spec = ScheduleTrigger {
        params: BTreeMap::from([
            (
                "day".to_string(),
                "{{ schedule.intervalStart[:10] }}".to_string(),
            ),
            ("mode".to_string(), "incremental".to_string()),
        ]),
        ..trigger("0 0 * * *", Some("Europe/Berlin"))
    };
    let s = Schedule::new(&spec).unwrap();
    let ctx = s
        .interval(ts("2026-11-28T23:00:00Z"))
        .context(s.time_zone());
    let got = render_params(&Renderer::new(), &spec, &ctx).unwrap();
    assert_eq!(
        got["day"], "2026-11-28",
        "the local day the interval covers"
    );
    assert_eq!(got["mode"], "incremental");

    let bad = ScheduleTrigger {
        params: BTreeMap::from([("day".to_string(), "{{ schedule.date }}".to_string())]),
        ..spec
    };
    let err = render_params(&Renderer::new(), &bad, &ctx).unwrap_err();
    assert_eq!(err.key, "day");
    assert!(err.to_string().contains("schedule.date"), "{err}");
}

#[test]
fn time_zones_come_from_the_bundled_database() {
    // The bundled copy answers with no system tz database (a scratch image).
    assert!(
        jiff::tz::TimeZoneDatabase::bundled()
            .get("Europe/Berlin")
            .is_ok()
    );
    assert!(time_zone(Some("America/New_York")).is_ok());
    assert_eq!(
        time_zone(Some("Mars/Olympus")).unwrap_err().field(),
        "timeZone"
    );
    let err = Schedule::new(&trigger("0 3 * *", None)).unwrap_err();
    assert_eq!(err.field(), "cron");
}

#[test]
fn a_scheduled_run_carries_its_time_interval_and_params() {
    let spec = ScheduleTrigger {
        params: BTreeMap::from([(
            "day".to_string(),
            "{{ schedule.intervalStart[:10] }}".to_string(),
        )]),
        ..trigger("0 3 * * *", None)
    };
    let s = Schedule::new(&spec).unwrap();
    let interval = s.interval(ts("2026-11-02T03:00:00Z"));
    let run = scheduled_run("nightly", &s, &spec, interval, StartedBy::Schedule).unwrap();
    assert_eq!(run.metadata.name.as_deref(), Some("nightly-202611020300"));
    assert_eq!(run.spec.pipeline_ref.as_deref(), Some("nightly"));
    assert_eq!(run.spec.params["day"], "2026-11-01");
    let a = run.metadata.annotations.unwrap_or_default();
    assert_eq!(a[weir_api::labels::STARTED_BY], "schedule");
    assert_eq!(a[weir_api::labels::SCHEDULED_AT], "2026-11-02T03:00:00Z");
    assert_eq!(a[weir_api::labels::INTERVAL_START], "2026-11-01T03:00:00Z");
    let backfilled = scheduled_run("nightly", &s, &spec, interval, StartedBy::Backfill).unwrap();
    assert_eq!(
        backfilled.metadata.name,
        Some("nightly-202611020300".into()),
        "the same run"
    );
}
