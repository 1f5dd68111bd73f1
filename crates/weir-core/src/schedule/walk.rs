//! From wall-clock matches to instants: the fire times of a [`Schedule`] before and after a
//! given instant, with the daylight-saving rules of [`crate::schedule`]:
//!
//! - a wall-clock time that does not exist (skipped by a spring-forward) fires at the
//!   instant the clocks jump (02:30 in Europe/Berlin on the switch day fires at 03:00 CEST);
//!   several such times fire once there, and once with a real match at that instant;
//! - a wall-clock time that happens twice (a fall-back) fires once, at its first occurrence.
//!
//! Both rules make the map from wall-clock matches to instants non-decreasing, which is what
//! lets the walks below go through the matches in wall-clock order and stop at the first
//! instant on the right side.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::AmbiguousOffset;

use super::Schedule;
use super::cron::bit;

/// How far a walk looks for a matching day: a February 29th that is also a given weekday
/// comes round within 28 years (and 2100 is no leap year).
const MAX_DAYS: u32 = 366 * 40;

impl Schedule {
    /// The first fire time strictly after `t`; `None` only beyond the calendar's end.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let start = self.tz.to_datetime(t);
        let mut found = None;
        self.walk_forward(start, |c| match self.instant(c) {
            Some(i) if i > t => {
                found = Some(i);
                true
            }
            _ => false,
        });
        found
    }

    /// The last fire time strictly before `t`; `None` only before the calendar's start.
    pub fn prev_before(&self, t: Timestamp) -> Option<Timestamp> {
        // In the second pass of a fall-back, matches later on the wall clock (the rest of
        // the first pass) happened before `t`: start where the first pass would put `t`.
        let civil = self.tz.to_datetime(t);
        let start = match self.tz.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Fold { before, .. } => before.to_datetime(t),
            _ => civil,
        };
        let mut found = None;
        self.walk_backward(start, |c| match self.instant(c) {
            Some(i) if i < t => {
                found = Some(i);
                true
            }
            _ => false,
        });
        found
    }

    /// The instant a wall-clock match fires at (the rules in the module header).
    fn instant(&self, c: DateTime) -> Option<Timestamp> {
        match self.tz.to_ambiguous_timestamp(c).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(c).ok(),
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(c).ok(),
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the later offset, a time in the gap lands just before the jump.
                let inside = after.to_timestamp(c).ok()?;
                self.tz.following(inside).next().map(|tr| tr.timestamp())
            }
        }
    }

    /// Calls `stop` on each wall-clock match at or after `start`'s minute, in order, until it
    /// returns true.
    fn walk_forward(&self, start: DateTime, mut stop: impl FnMut(DateTime) -> bool) {
        let mut date = start.date();
        for _ in 0..MAX_DAYS {
            let first = date == start.date();
            if self.fields.day_matches(date) {
                for h in (if first { start.hour() as u32 } else { 0 })..24 {
                    if !bit(self.fields.hours, h) {
                        continue;
                    }
                    let from = if first && h == start.hour() as u32 {
                        start.minute() as u32
                    } else {
                        0
                    };
                    for m in (from..60).filter(|m| bit(self.fields.minutes, *m)) {
                        if stop(at(date, h, m)) {
                            return;
                        }
                    }
                }
            }
            let Ok(next) = date.tomorrow() else { return };
            date = next;
        }
    }

    /// Calls `stop` on each wall-clock match at or before `start`'s minute, latest first,
    /// until it returns true.
    fn walk_backward(&self, start: DateTime, mut stop: impl FnMut(DateTime) -> bool) {
        let mut date = start.date();
        for _ in 0..MAX_DAYS {
            let first = date == start.date();
            if self.fields.day_matches(date) {
                let top = if first { start.hour() as u32 } else { 23 };
                for h in (0..=top).rev() {
                    if !bit(self.fields.hours, h) {
                        continue;
                    }
                    let to = if first && h == top {
                        start.minute() as u32
                    } else {
                        59
                    };
                    for m in (0..=to).rev().filter(|m| bit(self.fields.minutes, *m)) {
                        if stop(at(date, h, m)) {
                            return;
                        }
                    }
                }
            }
            let Ok(prev) = date.yesterday() else { return };
            date = prev;
        }
    }
}

/// `date` at `h:m`; the walks only pass hours below 24 and minutes below 60.
fn at(date: Date, h: u32, m: u32) -> DateTime {
    let time = Time::new(h as i8, m as i8, 0, 0).unwrap_or(Time::midnight());
    date.to_datetime(time)
}
