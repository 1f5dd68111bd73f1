//! Cron schedules of Pipelines (`spec.triggers.schedule`): when a scheduled run is due, which
//! data interval it covers, what it is called and which parameters it gets. Pure: the
//! controller passes the time in and creates the runs [`Schedule::due`] asks for; `weir
//! backfill` enumerates [`Schedule::intervals`] with the same names and parameters.
//!
//! # Semantics
//!
//! - **Expression**: 5 fields, Vixie cron's day-of-month/day-of-week OR ([`cron`]), read in
//!   `timeZone` (IANA, default UTC) from the tz database bundled into weir, so every weir
//!   binary (the controller in a scratch image, `weir check` on a laptop) agrees.
//! - **Daylight saving**: a wall-clock time skipped by a spring-forward runs once at the
//!   jump (`30 2 * * *` in Europe/Berlin runs at 03:00 CEST on the switch day — never
//!   silently skipped); a time that happens twice in a fall-back runs once, at its first
//!   occurrence (01:30 EDT in America/New_York). Sub-hourly schedules thus skip the repeated
//!   hour's second pass; their data interval across it is an hour longer.
//! - **Due times**: scheduled times after the Pipeline's creation (never before it existed)
//!   and after `status.lastScheduleTime`, up to now. The newest is started (as a CronJob
//!   would); older ones were missed while the controller was down or the schedule was
//!   suspended, and `catchupLimit` (default 0, at most [`MAX_CATCHUP`]) of them — the most
//!   recent — are started too, oldest first. The rest are skipped.
//! - **Deadline**: a due time more than `startingDeadlineSeconds` in the past is skipped.
//! - **Suspend**: starts nothing and leaves `lastScheduleTime` alone, so resuming applies
//!   the rules above to what was missed (set a deadline to resume without catching up).
//! - **Data interval**: a run scheduled at `t` covers `[previous fire time, t)`, Airflow's
//!   data interval; templates of `params` see `schedule.time`, `schedule.intervalStart` and
//!   `schedule.intervalEnd` ([`ScheduleContext`]).
//! - **Names**: a scheduled run is `<pipeline>-<yyyymmddhhmm>` (UTC), shortened to fit
//!   ([`run_name`]), so creating it twice is `AlreadyExists`, never a second run.

pub mod cron;
mod decide;
mod interval;
mod run;
mod walk;

#[cfg(test)]
mod tests;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use weir_api::v1alpha1::ScheduleTrigger;

pub use cron::CronError;
pub use decide::{
    MAX_CATCHUP, MAX_COUNTED_SKIPS, MAX_LISTED_SKIPS, ScheduleDecision, Skip, SkipReason,
};
pub use interval::{
    DataInterval, ParamError, ScheduleContext, TooManyIntervals, render_params, run_name,
};
pub use run::{StartedBy, scheduled_run};

use cron::Fields;

/// Why a schedule does not parse; the field it names is where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// `cron` is wrong.
    #[error(transparent)]
    Cron(#[from] CronError),
    /// `timeZone` names no zone of the tz database.
    #[error("unknown time zone {0:?} (an IANA name such as Europe/Berlin or UTC)")]
    TimeZone(String),
}

impl ScheduleError {
    /// The field of `spec.triggers.schedule` the error is about (`cron`, `timeZone`).
    pub fn field(&self) -> &'static str {
        match self {
            ScheduleError::Cron(_) => "cron",
            ScheduleError::TimeZone(_) => "timeZone",
        }
    }
}

/// A parsed schedule: the expression, its time zone and the catch-up rules.
#[derive(Debug, Clone)]
pub struct Schedule {
    fields: Fields,
    tz: TimeZone,
    catchup_limit: u32,
    deadline: Option<jiff::SignedDuration>,
    suspend: bool,
}

impl Schedule {
    /// Parses a Pipeline's schedule trigger. `catchupLimit` above [`MAX_CATCHUP`] is cut to
    /// it (the check reports it).
    pub fn new(spec: &ScheduleTrigger) -> Result<Self, ScheduleError> {
        let fields = Fields::parse(&spec.cron)?;
        let tz = time_zone(spec.time_zone.as_deref())?;
        Ok(Schedule {
            fields,
            tz,
            catchup_limit: spec.catchup_limit.unwrap_or(0).min(MAX_CATCHUP),
            deadline: spec
                .starting_deadline_seconds
                .map(|s| jiff::SignedDuration::from_secs(i64::from(s))),
            suspend: spec.suspend,
        })
    }

    /// The schedule's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }
}

/// The zone named `name` (UTC when none) from the tz database compiled into weir.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, ScheduleError> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZoneDatabase::bundled()
            .get(name)
            .map_err(|_| ScheduleError::TimeZone(name.to_string())),
    }
}
