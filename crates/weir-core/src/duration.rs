//! Durations as written in specs (`90s`, `10m`, `1h30m`, `500ms`) and retry backoff.

use std::time::Duration;

use weir_api::v1alpha1::Backoff;

/// A duration string that does not parse; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDuration {
    /// Not `<digits><unit>…`.
    #[error("invalid duration {0:?}: expected digits and units, e.g. 90s, 10m, 1h30m, 500ms")]
    Syntax(String),
    /// Well formed, but longer than any timer can hold.
    #[error("duration {0:?} is too long")]
    TooLong(String),
}

/// Parses `1h30m`, `90s`, `500ms`: one or more `<digits><unit>` with units `h`, `m`, `s`,
/// `ms`. Overflow is an error, not a wrap.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidDuration> {
    let bad = || InvalidDuration::Syntax(text.to_string());
    let long = || InvalidDuration::TooLong(text.to_string());
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let n: u64 = text[start..i].parse().map_err(|_| long())?;
        let unit_ms: u64 = if text[i..].starts_with("ms") {
            i += 2;
            1
        } else {
            let unit = match bytes.get(i) {
                Some(b'h') => 3_600_000,
                Some(b'm') => 60_000,
                Some(b's') => 1_000,
                _ => return Err(bad()),
            };
            i += 1;
            unit
        };
        let ms = n.checked_mul(unit_ms).ok_or_else(bad)?;
        total = total
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// The wait before attempt `next_attempt` (2 = the first retry): `initial * factor^(n-2)`,
/// capped at `max`. No backoff means no wait.
pub fn backoff_delay(
    backoff: Option<&Backoff>,
    next_attempt: u32,
) -> Result<Duration, InvalidDuration> {
    let Some(b) = backoff else {
        return Ok(Duration::ZERO);
    };
    let initial = parse_duration(&b.initial)?;
    let cap = match &b.max {
        Some(m) => parse_duration(m)?,
        None => Duration::from_secs(24 * 3600),
    };
    let factor = u64::from(b.factor.unwrap_or(2).max(1));
    let exp = next_attempt.saturating_sub(2).min(62);
    let mult = factor.checked_pow(exp).unwrap_or(u64::MAX);
    let ms = u64::try_from(initial.as_millis())
        .unwrap_or(u64::MAX)
        .saturating_mul(mult);
    Ok(Duration::from_millis(ms).min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_style_durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_duration("1m30s250ms"),
            Ok(Duration::from_millis(90_250))
        );
        for bad in [
            "",
            "10",
            "m",
            "1d",
            "1.5h",
            "-1s",
            "1h 2m",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff {
            initial: "10s".into(),
            factor: Some(3),
            max: Some("1m".into()),
        };
        let d: Vec<u64> = (2..=6)
            .map(|n| backoff_delay(Some(&b), n).map(|d| d.as_secs()).unwrap_or(0))
            .collect();
        assert_eq!(d, vec![10, 30, 60, 60, 60]);
        assert_eq!(backoff_delay(None, 5), Ok(Duration::ZERO));
        let huge = Backoff {
            initial: "1h".into(),
            factor: Some(10),
            max: None,
        };
        assert_eq!(
            backoff_delay(Some(&huge), 1000),
            Ok(Duration::from_secs(24 * 3600))
        );
    }
}
