//! The five fields of a cron expression (minute hour day-of-month month day-of-week), parsed
//! into bit sets: lists (`1,15`), ranges (`MON-FRI`), steps (`*/15`, `0-30/10`, `5/20` =
//! `5-max/20`), names (`JAN`–`DEC`, `SUN`–`SAT`, any case), `7` for Sunday, and the macros
//! `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`.
//!
//! Days follow Vixie cron: when both day fields are restricted (neither starts with `*`), a
//! day matches if *either* does (`0 0 1 * MON` runs on the 1st and on every Monday);
//! otherwise both must match.

use jiff::civil::Date;

/// Why a cron expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// Not five fields (nor a macro).
    #[error(
        "{text:?} has {count} fields; a cron expression has 5 (minute hour day-of-month month day-of-week)"
    )]
    FieldCount {
        /// The expression.
        text: String,
        /// How many fields it has.
        count: usize,
    },
    /// One field is wrong.
    #[error("{field} field {value:?}: {why}")]
    Field {
        /// Which field (`minute`, `hour`, `day-of-month`, `month`, `day-of-week`).
        field: &'static str,
        /// The field's text.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// Well formed, but no date has such a day (`0 0 30 2 *`).
    #[error("{0:?} never runs: no month has the days it names")]
    NeverMatches(String),
    /// A macro weir does not know (`@reboot` has no meaning here).
    #[error("unknown macro {0:?} (use @yearly, @monthly, @weekly, @daily or @hourly)")]
    Macro(String),
}

/// A parsed cron expression: which minutes, hours, days, months and weekdays match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fields {
    /// Bit n: minute n (0–59).
    pub minutes: u64,
    /// Bit n: hour n (0–23).
    pub hours: u64,
    /// Bit n: day of month n (1–31).
    days: u64,
    /// Bit n: month n (1–12).
    months: u64,
    /// Bit n: weekday n, Sunday = 0.
    weekdays: u64,
    /// Day and weekday combine with OR (both restricted) or AND (either starts with `*`).
    days_or: bool,
}

/// One field's bounds and names.
struct Spec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, … (months from 1, weekdays from 0).
    names: &'static [&'static str],
}

const MINUTE: Spec = Spec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Spec = Spec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: Spec = Spec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Spec = Spec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
/// 0–7: both 0 and 7 are Sunday.
const WEEKDAY: Spec = Spec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};

/// The longest a month can be, by month (February counts its leap day).
const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl Fields {
    /// Parses a 5-field expression or a macro.
    pub fn parse(text: &str) -> Result<Self, CronError> {
        let trimmed = text.trim();
        let expanded = match trimmed {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            m if m.starts_with('@') => return Err(CronError::Macro(m.to_string())),
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = parts[..] else {
            return Err(CronError::FieldCount {
                text: text.to_string(),
                count: parts.len(),
            });
        };
        let weekdays = parse_field(weekday, &WEEKDAY)?;
        // 7 is Sunday too.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        let fields = Fields {
            minutes: parse_field(minute, &MINUTE)?,
            hours: parse_field(hour, &HOUR)?,
            days: parse_field(day, &DAY)?,
            months: parse_field(month, &MONTH)?,
            weekdays,
            days_or: !day.starts_with('*') && !weekday.starts_with('*'),
        };
        if !fields.can_match() {
            return Err(CronError::NeverMatches(text.to_string()));
        }
        Ok(fields)
    }

    /// Whether the expression runs on `date` (month and day fields).
    pub fn day_matches(&self, date: Date) -> bool {
        if !bit(self.months, date.month() as u32) {
            return false;
        }
        let day = bit(self.days, date.day() as u32);
        let weekday = bit(
            self.weekdays,
            u32::from(date.weekday().to_sunday_zero_offset().unsigned_abs()),
        );
        if self.days_or {
            day || weekday
        } else {
            day && weekday
        }
    }

    /// Whether some date matches. With OR, every month has each weekday; with AND, a
    /// day-of-month that exists in an allowed month meets every weekday within 28 years.
    fn can_match(&self) -> bool {
        self.days_or
            || (1..=12u32).any(|m| {
                bit(self.months, m) && (1..=MONTH_DAYS[m as usize - 1]).any(|d| bit(self.days, d))
            })
    }
}

/// Whether bit `n` of `set` is on.
pub(crate) fn bit(set: u64, n: u32) -> bool {
    n < 64 && set & (1 << n) != 0
}

fn parse_field(text: &str, spec: &Spec) -> Result<u64, CronError> {
    let err = |why: String| CronError::Field {
        field: spec.name,
        value: text.to_string(),
        why,
    };
    let mut set = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(err("an empty list item".to_string()));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| err(format!("step {step:?} is not a number")))?;
                if step == 0 || step > spec.max {
                    return Err(err(format!("step {step} is out of 1-{}", spec.max)));
                }
                (range, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, spec).map_err(&err)?, value(b, spec).map_err(&err)?)
        } else {
            let v = value(range, spec).map_err(&err)?;
            (v, if step.is_some() { spec.max } else { v })
        };
        if lo > hi {
            return Err(err(format!(
                "range {range:?} runs backwards (write it as two ranges)"
            )));
        }
        for v in (lo..=hi).step_by(step.unwrap_or(1) as usize) {
            set |= 1 << v;
        }
    }
    Ok(set)
}

/// A number or a name within the field's bounds.
fn value(text: &str, spec: &Spec) -> Result<u32, String> {
    let v = match text.parse::<u32>() {
        Ok(v) => v,
        Err(_) => spec
            .names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(text))
            .map(|i| spec.min + i as u32)
            .ok_or_else(|| match spec.names {
                [] => format!("{text:?} is not a number"),
                names => format!(
                    "{text:?} is neither a number nor one of {}",
                    names.join(" ")
                ),
            })?,
    };
    if v < spec.min || v > spec.max {
        return Err(format!("{v} is out of {}-{}", spec.min, spec.max));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn set(values: &[u32]) -> u64 {
        values.iter().fold(0, |s, v| s | 1 << v)
    }

    #[test]
    fn fields_parse_lists_ranges_steps_and_names() {
        let f = Fields::parse("*/15 3 1,15 JAN-mar MON-FRI").unwrap();
        assert_eq!(f.minutes, set(&[0, 15, 30, 45]));
        assert_eq!(f.hours, set(&[3]));
        assert_eq!(f.days, set(&[1, 15]));
        assert_eq!(f.months, set(&[1, 2, 3]));
        assert_eq!(f.weekdays, set(&[1, 2, 3, 4, 5]));
        assert!(f.days_or);
        let f = Fields::parse("5/20 0-6/3 * * 7").unwrap();
        assert_eq!(f.minutes, set(&[5, 25, 45]));
        assert_eq!(f.hours, set(&[0, 3, 6]));
        assert_eq!(f.weekdays, set(&[0]), "7 is Sunday");
        assert!(!f.days_or);
        assert_eq!(
            Fields::parse("@daily").unwrap(),
            Fields::parse("0 0 * * *").unwrap()
        );
    }

    #[test]
    fn bad_fields_name_the_field() {
        let cases = [
            ("0 0 * *", "has 4 fields"),
            ("0 0 0 0 0 0", "has 6 fields"),
            ("60 * * * *", "minute field \"60\": 60 is out of 0-59"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day-of-month field"),
            ("* * * FOO *", "month field \"FOO\": \"FOO\" is neither"),
            ("* * * * MON-SUN", "runs backwards"),
            ("*/0 * * * *", "step 0"),
            ("1,,2 * * * *", "empty list item"),
            ("x * * * *", "\"x\" is not a number"),
            ("0 0 30 2 *", "never runs"),
            ("@reboot", "unknown macro"),
        ];
        for (text, want) in cases {
            let got = Fields::parse(text).unwrap_err().to_string();
            assert!(got.contains(want), "{text}: {got}");
        }
        assert!(Fields::parse("0 0 29 2 *").is_ok(), "leap days exist");
        assert!(Fields::parse("0 0 30 2 MON").is_ok(), "OR: every Monday");
    }

    #[test]
    fn day_and_weekday_combine_like_vixie_cron() {
        // 2026-06-01 is a Monday, 2026-06-02 a Tuesday, 2026-06-08 a Monday.
        let or = Fields::parse("0 0 2 * MON").unwrap();
        assert!(or.day_matches(date(2026, 6, 1)), "a Monday");
        assert!(or.day_matches(date(2026, 6, 2)), "the 2nd");
        assert!(!or.day_matches(date(2026, 6, 3)));
        let and = Fields::parse("0 0 */2 * MON").unwrap();
        assert!(!and.day_matches(date(2026, 6, 8)), "Monday but even day");
        assert!(and.day_matches(date(2026, 6, 1)), "Monday and odd day");
        assert!(!and.day_matches(date(2026, 6, 3)), "odd day but Wednesday");
    }
}
