//! Whether a Pipeline's triggers are usable, each problem at its field
//! (`spec.triggers.schedule.cron`, `spec.triggers.buckets[0].pattern`), and the parsed
//! pieces the controller's trigger loops act on: the schedule ([`crate::schedule`]), a
//! bucket trigger's key pattern ([`bucket_pattern`]) and poll interval ([`poll_interval`]).
//! Part of [`crate::check::spec_problems`], so `weir check` and the `Valid` condition agree.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use weir_api::v1alpha1::{BucketTrigger, PipelineSpec, ScheduleTrigger};
use weir_glob::Glob;

use crate::check::shared_renderer;
use crate::duration::parse_duration;
use crate::schedule::{DataInterval, MAX_CATCHUP, Schedule, render_params};
use crate::validate::Problem;

/// A bucket trigger's poll interval when it sets none.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// The shortest poll interval: each poll lists the prefix.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The keys a bucket trigger starts runs for (below its URI's prefix), matched with
/// [`Glob::matches_at_any_depth`]: `*.parquet` matches nested keys. `None`: every key.
pub fn bucket_pattern(trigger: &BucketTrigger) -> Result<Option<Glob>, String> {
    trigger.pattern.as_deref().map(Glob::new).transpose()
}

/// How often a bucket trigger lists its prefix.
pub fn poll_interval(trigger: &BucketTrigger) -> Result<Duration, String> {
    let Some(text) = &trigger.poll_interval else {
        return Ok(DEFAULT_POLL_INTERVAL);
    };
    let d = parse_duration(text).map_err(|e| e.to_string())?;
    if d < MIN_POLL_INTERVAL {
        return Err(format!(
            "poll interval {text:?} is shorter than {}s",
            MIN_POLL_INTERVAL.as_secs()
        ));
    }
    Ok(d)
}

/// Checks `s3://bucket[/prefix]` or `gs://bucket[/prefix]`: bucket names of 3–63 lower-case
/// letters, digits, `-`, `.` and (GCS only) `_`, starting and ending with a letter or digit.
pub fn check_bucket_uri(uri: &str) -> Result<(), String> {
    let (gcs, rest) = if let Some(rest) = uri.strip_prefix("s3://") {
        (false, rest)
    } else if let Some(rest) = uri.strip_prefix("gs://") {
        (true, rest)
    } else {
        return Err(format!(
            "{uri:?}: expected s3://bucket/prefix or gs://bucket/prefix"
        ));
    };
    let bucket = rest.split('/').next().unwrap_or_default();
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.') || (gcs && c == '_')
    };
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let fine = (3..=63).contains(&bucket.len())
        && bucket.chars().all(allowed)
        && edge(bucket.chars().next())
        && edge(bucket.chars().last())
        && !bucket.contains("..");
    if !fine {
        return Err(format!(
            "{uri:?}: bucket {bucket:?} is not a valid name (3-63 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)"
        ));
    }
    Ok(())
}

/// Every problem with `spec.triggers`; `root` prefixes the paths.
pub fn trigger_problems(spec: &PipelineSpec, root: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let declared: BTreeSet<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
    let required: Vec<&str> = spec
        .params
        .iter()
        .filter(|p| p.required && p.default.is_none())
        .map(|p| p.name.as_str())
        .collect();
    let t = &spec.triggers;
    if let Some(s) = &t.schedule {
        schedule_problems(
            s,
            &format!("{root}.triggers.schedule"),
            &declared,
            &required,
            &mut out,
        );
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, b) in t.buckets.iter().enumerate() {
        let at = format!("{root}.triggers.buckets[{i}]");
        if let Some(first) = names.insert(b.name.as_str(), i) {
            out.push(problem(
                format!("{at}.name"),
                format!("trigger name `{}` is used by buckets[{first}] too", b.name),
            ));
        }
        if let Err(e) = check_bucket_uri(&b.uri) {
            out.push(problem(format!("{at}.uri"), e));
        }
        if let Err(e) = bucket_pattern(b) {
            out.push(problem(format!("{at}.pattern"), e));
        }
        if let Err(e) = poll_interval(b) {
            out.push(problem(format!("{at}.pollInterval"), e));
        }
        if let Some(e) = b
            .endpoint
            .as_deref()
            .filter(|e| !e.starts_with("http://") && !e.starts_with("https://"))
        {
            out.push(problem(
                format!("{at}.endpoint"),
                format!("{e:?}: expected an http:// or https:// URL"),
            ));
        }
        let param = b.param.as_deref().unwrap_or("uri");
        if !declared.contains(param) {
            let path = match b.param {
                Some(_) => format!("{at}.param"),
                None => at.clone(),
            };
            out.push(problem(
                path,
                format!("the trigger passes the new object's URI as parameter `{param}`, which the pipeline does not declare"),
            ));
        }
        for name in required.iter().filter(|n| **n != param) {
            out.push(problem(
                at.clone(),
                format!(
                    "runs it starts would be refused: required parameter `{name}` has no default"
                ),
            ));
        }
    }
    if t.webhook.is_some() && t.buckets.is_empty() {
        out.push(problem(
            format!("{root}.triggers.webhook"),
            "the webhook starts runs only for objects a bucket trigger covers, and there is none: add one to triggers.buckets",
        ));
    }
    out
}

fn schedule_problems(
    s: &ScheduleTrigger,
    at: &str,
    declared: &BTreeSet<&str>,
    required: &[&str],
    out: &mut Vec<Problem>,
) {
    let parsed = match Schedule::new(s) {
        Ok(p) => Some(p),
        Err(e) => {
            out.push(problem(format!("{at}.{}", e.field()), e.to_string()));
            None
        }
    };
    if s.catchup_limit.is_some_and(|n| n > MAX_CATCHUP) {
        out.push(problem(
            format!("{at}.catchupLimit"),
            format!(
                "at most {MAX_CATCHUP} missed runs are caught up; use `weir backfill` for more"
            ),
        ));
    }
    let mut undeclared = false;
    for key in s.params.keys().filter(|k| !declared.contains(k.as_str())) {
        undeclared = true;
        out.push(problem(
            format!("{at}.params.{key}"),
            format!("`{key}` is not a parameter of this pipeline"),
        ));
    }
    for name in required.iter().filter(|n| !s.params.contains_key(**n)) {
        out.push(problem(
            at,
            format!("scheduled runs would be refused: required parameter `{name}` has no default and the schedule does not set it"),
        ));
    }
    // Render the params for one interval, as the controller will for every run.
    if let Some(parsed) = parsed.filter(|_| !undeclared) {
        let epoch = jiff::Timestamp::UNIX_EPOCH;
        let ctx = DataInterval {
            start: epoch,
            end: epoch,
        }
        .context(parsed.time_zone());
        if let Err(e) = render_params(shared_renderer(), s, &ctx) {
            out.push(problem(
                format!("{at}.params.{}", e.key),
                e.error.to_string(),
            ));
        }
    }
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_api::v1alpha1::{JobStep, ParamSpec, Step, Triggers};

    fn spec(triggers: Triggers) -> PipelineSpec {
        PipelineSpec {
            params: vec![ParamSpec {
                name: "uri".into(),
                ..Default::default()
            }],
            steps: vec![Step {
                name: "a".into(),
                job: Some(JobStep::default()),
                ..Default::default()
            }],
            triggers,
            ..Default::default()
        }
    }

    fn bucket(name: &str, uri: &str) -> BucketTrigger {
        BucketTrigger {
            name: name.into(),
            uri: uri.into(),
            ..Default::default()
        }
    }

    fn said(triggers: Triggers) -> Vec<String> {
        trigger_problems(&spec(triggers), "spec")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn each_bad_trigger_is_named_by_its_field() {
        let sched = |cron: &str, tz: Option<&str>| Triggers {
            schedule: Some(ScheduleTrigger {
                cron: cron.into(),
                time_zone: tz.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        };
        let cases: Vec<(Triggers, &str)> = vec![
            (
                sched("61 * * * *", None),
                "spec.triggers.schedule.cron: minute field \"61\"",
            ),
            (
                sched("0 3 * * *", Some("Europe/Berln")),
                "spec.triggers.schedule.timeZone: unknown time zone \"Europe/Berln\"",
            ),
            (
                Triggers {
                    schedule: Some(ScheduleTrigger {
                        cron: "@daily".into(),
                        params: BTreeMap::from([("uri".into(), "{{ schedule.tim }}".into())]),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "spec.triggers.schedule.params.uri: ",
            ),
            (
                Triggers {
                    schedule: Some(ScheduleTrigger {
                        cron: "@daily".into(),
                        catchup_limit: Some(500),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "spec.triggers.schedule.catchupLimit: at most 100",
            ),
            (
                Triggers {
                    buckets: vec![BucketTrigger {
                        pattern: Some("[ab].csv".into()),
                        ..bucket("t", "s3://landing/in/")
                    }],
                    ..Default::default()
                },
                "spec.triggers.buckets[0].pattern: glob \"[ab].csv\"",
            ),
            (
                Triggers {
                    buckets: vec![bucket("t", "s3://ab/in/")],
                    ..Default::default()
                },
                "spec.triggers.buckets[0].uri: \"s3://ab/in/\": bucket \"ab\"",
            ),
            (
                Triggers {
                    buckets: vec![bucket("t", "https://x/y")],
                    ..Default::default()
                },
                "spec.triggers.buckets[0].uri: \"https://x/y\": expected s3://",
            ),
            (
                Triggers {
                    buckets: vec![bucket("t", "gs://a_b_c/"), bucket("t", "s3://landing/")],
                    ..Default::default()
                },
                "spec.triggers.buckets[1].name: trigger name `t` is used by buckets[0] too",
            ),
            (
                Triggers {
                    buckets: vec![BucketTrigger {
                        poll_interval: Some("500ms".into()),
                        ..bucket("t", "s3://landing/")
                    }],
                    ..Default::default()
                },
                "spec.triggers.buckets[0].pollInterval: poll interval \"500ms\" is shorter than 1s",
            ),
            (
                Triggers {
                    buckets: vec![BucketTrigger {
                        param: Some("file".into()),
                        ..bucket("t", "s3://landing/")
                    }],
                    ..Default::default()
                },
                "spec.triggers.buckets[0].param: the trigger passes the new object's URI as parameter `file`",
            ),
        ];
        for (triggers, want) in cases {
            let got = said(triggers);
            assert!(
                got.iter().any(|p| p.starts_with(want)),
                "want {want:?}, got {got:?}"
            );
        }
    }

    #[test]
    fn good_triggers_have_no_problems() {
        let triggers = Triggers {
            schedule: Some(ScheduleTrigger {
                cron: "0 3 * * MON-FRI".into(),
                time_zone: Some("Europe/Berlin".into()),
                params: BTreeMap::from([(
                    "uri".into(),
                    "s3://b/{{ schedule.intervalStart[:10] }}/".into(),
                )]),
                catchup_limit: Some(3),
                ..Default::default()
            }),
            buckets: vec![BucketTrigger {
                pattern: Some("*.parquet".into()),
                poll_interval: Some("5s".into()),
                endpoint: Some("http://127.0.0.1:9000".into()),
                ..bucket("landing", "s3://landing-zone/in/")
            }],
            ..Default::default()
        };
        assert_eq!(said(triggers), Vec::<String>::new());
    }
}
