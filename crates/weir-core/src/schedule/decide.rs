//! The decision the Pipeline controller acts on: which scheduled runs to start now, which due
//! times to skip (and say so in an Event), what `lastScheduleTime` becomes and when to look
//! again. Rules in [`crate::schedule`].

use jiff::{SignedDuration, Timestamp};

use super::{DataInterval, Schedule};

/// The most missed runs one decision starts besides the newest: more is a backfill's job
/// (`weir backfill`), not a reconcile's.
pub const MAX_CATCHUP: u32 = 100;

/// How many skipped times a decision lists (the newest ones).
pub const MAX_LISTED_SKIPS: usize = 10;

/// How many skipped times a decision counts: beyond this the count is a floor. A schedule
/// suspended for a year at one run a minute must not cost a reconcile 500,000 steps.
pub const MAX_COUNTED_SKIPS: usize = 1000;

/// Why a due time was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// More than `startingDeadlineSeconds` late.
    Deadline,
    /// Missed, and older than the `catchupLimit` most recent missed times.
    CatchupLimit,
}

impl SkipReason {
    /// A bounded word for Events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Deadline => "StartingDeadline",
            SkipReason::CatchupLimit => "CatchupLimit",
        }
    }
}

/// One due time not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip {
    /// The scheduled time.
    pub time: Timestamp,
    /// Why it was not started.
    pub reason: SkipReason,
}

/// What to do about a schedule now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDecision {
    /// Runs to create, oldest first, each with its data interval (name them with
    /// [`super::run_name`] of [`DataInterval::time`]).
    pub start: Vec<DataInterval>,
    /// Due times not started: the newest [`MAX_LISTED_SKIPS`], oldest first.
    pub skipped: Vec<Skip>,
    /// How many due times were skipped in all, counted up to [`MAX_COUNTED_SKIPS`].
    pub skipped_count: usize,
    /// The new `status.lastScheduleTime`: the newest due time (started or skipped), or the
    /// old value when nothing was due or the schedule is suspended. Write it only after the
    /// runs in `start` exist: a crash in between creates them again, by name, as no-ops.
    pub last_schedule_time: Option<Timestamp>,
    /// When the next scheduled time comes (requeue then); `None` when none ever does.
    pub next_check: Option<Timestamp>,
}

impl ScheduleDecision {
    /// The message of the Warning Event for the skipped times, if any were skipped:
    /// `skipped 3 scheduled runs (2026-11-02T03:00:00Z … 2026-11-04T03:00:00Z): CatchupLimit`.
    pub fn skipped_message(&self) -> Option<String> {
        let (first, last) = (self.skipped.first()?, self.skipped.last()?);
        let more = if self.skipped_count >= MAX_COUNTED_SKIPS {
            "at least "
        } else {
            ""
        };
        let mut reasons: Vec<&str> = self.skipped.iter().map(|s| s.reason.as_str()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        let earliest = if self.skipped_count > self.skipped.len() {
            "…"
        } else {
            ""
        };
        Some(format!(
            "skipped {more}{} scheduled runs ({earliest}{} … {}): {}",
            self.skipped_count,
            first.time,
            last.time,
            reasons.join(", ")
        ))
    }
}

impl Schedule {
    /// Decides what is due at `now`. `last` is `status.lastScheduleTime`, `created` the
    /// Pipeline's creation time: nothing scheduled at or before either is due.
    pub fn due(
        &self,
        last: Option<Timestamp>,
        created: Timestamp,
        now: Timestamp,
    ) -> ScheduleDecision {
        let lower = last.map_or(created, |l| l.max(created));
        let mut out = ScheduleDecision {
            start: Vec::new(),
            skipped: Vec::new(),
            skipped_count: 0,
            last_schedule_time: last,
            next_check: self.next_after(now.max(lower)),
        };
        if self.suspend {
            return out;
        }
        // The newest scheduled time at or before now.
        let newest = now
            .checked_add(SignedDuration::from_nanos(1))
            .ok()
            .and_then(|after_now| self.prev_before(after_now));
        let Some(newest) = newest.filter(|n| *n > lower) else {
            return out;
        };
        out.last_schedule_time = Some(newest);
        // The newest and the catchupLimit missed times before it, newest first.
        let mut due = vec![newest];
        let mut cursor = newest;
        while due.len() <= self.catchup_limit as usize {
            match self.prev_before(cursor).filter(|p| *p > lower) {
                Some(p) => {
                    due.push(p);
                    cursor = p;
                }
                None => break,
            }
        }
        let mut skipped = Vec::new();
        for t in due.iter().rev() {
            if self.too_late(*t, now) {
                skipped.push(Skip {
                    time: *t,
                    reason: SkipReason::Deadline,
                });
            } else {
                out.start.push(self.interval(*t));
            }
        }
        // Older missed times: beyond the catch-up limit (or the deadline).
        let mut older = Vec::new();
        while older.len() < MAX_COUNTED_SKIPS {
            match self.prev_before(cursor).filter(|p| *p > lower) {
                Some(p) => {
                    let reason = if self.too_late(p, now) {
                        SkipReason::Deadline
                    } else {
                        SkipReason::CatchupLimit
                    };
                    older.push(Skip { time: p, reason });
                    cursor = p;
                }
                None => break,
            }
        }
        out.skipped_count = older.len() + skipped.len();
        older.truncate(MAX_LISTED_SKIPS);
        older.reverse();
        older.extend(skipped);
        let excess = older.len().saturating_sub(MAX_LISTED_SKIPS);
        out.skipped = older.split_off(excess);
        out
    }

    /// Whether a run scheduled at `t` may no longer start at `now`.
    fn too_late(&self, t: Timestamp, now: Timestamp) -> bool {
        self.deadline.is_some_and(|d| now.duration_since(t) > d)
    }

    /// The data interval that ends at the scheduled time `t`: from the previous fire time
    /// (or `t` itself for a schedule with no earlier time, which only the calendar's start
    /// could cause).
    pub fn interval(&self, t: Timestamp) -> DataInterval {
        DataInterval {
            start: self.prev_before(t).unwrap_or(t),
            end: t,
        }
    }
}
