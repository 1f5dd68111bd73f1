//! What a scheduled run is: its data interval, its name, its rendered parameters; and the
//! intervals a backfill covers.

use std::collections::BTreeMap;
use std::fmt;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use weir_api::v1alpha1::ScheduleTrigger;
use weir_render::{RenderError, Renderer, is_templated};

use super::Schedule;
use crate::names::fit_name;

/// The data a scheduled run covers: `[start, end)`, where `end` is the scheduled time and
/// `start` the fire time before it (Airflow's data interval; its logical date is `start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataInterval {
    /// The previous fire time.
    pub start: Timestamp,
    /// The scheduled time of the run.
    pub end: Timestamp,
}

impl DataInterval {
    /// The scheduled time (the interval's end).
    pub fn time(&self) -> Timestamp {
        self.end
    }

    /// What templates see as `schedule`, with times in `tz`'s offset (RFC 3339), so
    /// `schedule.intervalStart[:10]` is the local date of a `0 0 * * *` schedule's day.
    pub fn context(&self, tz: &TimeZone) -> ScheduleContext {
        let show = |t: Timestamp| t.display_with_offset(tz.to_offset(t)).to_string();
        ScheduleContext {
            time: show(self.end),
            interval_start: show(self.start),
            interval_end: show(self.end),
        }
    }
}

/// The `schedule` variable of a scheduled run's `params` templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleContext {
    /// The scheduled time, RFC 3339 in the schedule's time zone.
    pub time: String,
    /// The data interval's start (the previous scheduled time).
    pub interval_start: String,
    /// The data interval's end (the scheduled time).
    pub interval_end: String,
}

/// The name of the run scheduled at `time`: `<pipeline>-<yyyymmddhhmm>` in UTC, shortened
/// with a hash to fit 63 characters (run names go into label values). The controller and
/// `weir backfill` both name runs with it, so either creating one twice is `AlreadyExists`.
pub fn run_name(pipeline: &str, time: Timestamp) -> String {
    fit_name(pipeline, &time.strftime("%Y%m%d%H%M").to_string())
}

/// A schedule parameter whose template does not render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name (`spec.triggers.schedule.params.<key>`).
    pub key: String,
    /// weir-render's error.
    pub error: RenderError,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter `{}`: {}", self.key, self.error)
    }
}

impl std::error::Error for ParamError {}

/// The schedule's `params` for one run: values holding `{{`/`{%` are rendered with
/// `schedule` ([`ScheduleContext`]) as their only variable; others are kept as written.
pub fn render_params(
    renderer: &Renderer,
    spec: &ScheduleTrigger,
    schedule: &ScheduleContext,
) -> Result<BTreeMap<String, String>, ParamError> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        schedule: &'a ScheduleContext,
    }
    let ctx = Ctx { schedule };
    spec.params
        .iter()
        .map(|(key, text)| {
            if !is_templated(text) {
                return Ok((key.clone(), text.clone()));
            }
            renderer
                .render_str(&format!("schedule.params.{key}"), text, &ctx)
                .map(|v| (key.clone(), v))
                .map_err(|error| ParamError {
                    key: key.clone(),
                    error,
                })
        })
        .collect()
}

/// A backfill over more intervals than [`Schedule::intervals`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the range holds more than {0} scheduled intervals; backfill a shorter range at a time")]
pub struct TooManyIntervals(pub usize);

impl Schedule {
    /// Every data interval within `[from, to)` (start at or after `from`, end at or before
    /// `to`), oldest first, at most `limit` of them: the runs a backfill of that range
    /// creates.
    pub fn intervals(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<DataInterval>, TooManyIntervals> {
        let mut out = Vec::new();
        let first = from
            .checked_sub(SignedDuration::from_nanos(1))
            .ok()
            .and_then(|before| self.next_after(before));
        let Some(mut start) = first else {
            return Ok(out);
        };
        while let Some(end) = self.next_after(start).filter(|e| *e <= to) {
            if out.len() == limit {
                return Err(TooManyIntervals(limit));
            }
            out.push(DataInterval { start, end });
            start = end;
        }
        Ok(out)
    }
}
