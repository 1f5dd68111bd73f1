//! Bucket triggers: which listed objects are new, the bounded state that makes each of them
//! start exactly one run, and the run it starts.
//!
//! An object is identified by its key and its content (S3 ETag, GCS MD5, else generation),
//! so a re-upload of the same bytes is not new and one with new bytes is. The state kept in
//! the Pipeline's status is a time `floor` (objects last modified before it are accounted
//! for) and the hashes of the objects modified since that have started their run. The floor
//! trails the newest object by [`WINDOW`], so the state holds about one window of arrivals
//! (capped at [`MAX_SEEN`]), never one entry per object ever seen. A run's name is a function
//! of the pipeline, the trigger and the object, so a poll repeated after a crash (runs
//! created, state not yet written) finds them (AlreadyExists) instead of starting others.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use weir_api::labels;
use weir_api::v1alpha1::{BucketTrigger, BucketTriggerStatus, PipelineRun, PipelineRunSpec};

use crate::names::fnv1a;

/// How far the floor trails the newest object. An object that first appears with a
/// last-modified time older than the newest one by more than this is not picked up (S3
/// stamps a multipart upload with its start: uploads lasting longer need the webhook).
pub const WINDOW: Duration = Duration::from_secs(3600);
/// A new trigger starts runs for objects modified up to this long before it was first
/// polled (clock skew between the store and the controller).
pub const SKEW: Duration = Duration::from_secs(60);
/// At most this many hashes are kept (about 110 KB of status); beyond, the floor rises to
/// the oldest kept object and an Event says so.
pub const MAX_SEEN: usize = 10_000;

/// One object of a listing (already matched against the trigger's pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The key, relative to the bucket.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The store's etag, when it has one.
    pub etag: Option<String>,
    /// The store's generation (GCS) or version, when it has one.
    pub generation: Option<String>,
    /// What identifies the bytes: an MD5, else the etag, else the generation.
    pub content: String,
    /// When the object was last written.
    pub modified: Timestamp,
}

impl Listed {
    fn hash(&self) -> u64 {
        fnv1a(format!("{}\0{}", self.key, self.content).as_bytes())
    }
}

/// What a poll of one trigger decided.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketPlan<'a> {
    /// Objects that start a run, oldest first.
    pub new: Vec<&'a Listed>,
    /// The state to write once their runs exist.
    pub state: BucketTriggerStatus,
    /// More than [`MAX_SEEN`] objects arrived within [`WINDOW`]: the floor was raised, and
    /// an object appearing later with an older time would be missed.
    pub truncated: bool,
}

/// Decides which of `listing` start runs, given the recorded state of the trigger (`None`:
/// never polled, or its URI changed).
pub fn plan_bucket<'a>(
    trigger: &BucketTrigger,
    old: Option<&BucketTriggerStatus>,
    listing: &'a [Listed],
    now: Timestamp,
) -> BucketPlan<'a> {
    let old = old.filter(|s| s.uri == trigger.uri);
    let floor = old.map_or_else(|| sub(now, SKEW), |s| s.floor.0);
    let seen = old.map(|s| unpack(&s.seen)).unwrap_or_default();
    let mut new: Vec<&Listed> = listing
        .iter()
        .filter(|o| o.modified >= floor && !seen.contains(&o.hash()))
        .collect();
    new.sort_by(|a, b| (a.modified, &a.key).cmp(&(b.modified, &b.key)));

    // Every listed object at or after the floor has now started its run (before or now).
    let newest = listing.iter().map(|o| o.modified).max();
    let mut next_floor = newest.map_or(floor, |t| floor.max(sub(t, WINDOW)));
    let mut kept: Vec<&Listed> = listing
        .iter()
        .filter(|o| o.modified >= next_floor)
        .collect();
    let truncated = kept.len() > MAX_SEEN;
    if truncated {
        // Newest first; the floor goes just above the newest object that does not fit, so
        // objects sharing its time (ties) are all below it.
        kept.sort_by_key(|o| std::cmp::Reverse(o.modified));
        let dropped = kept[MAX_SEEN].modified;
        next_floor = dropped
            .checked_add(jiff::SignedDuration::from_nanos(1))
            .unwrap_or(dropped);
        kept.retain(|o| o.modified >= next_floor);
    }
    let hashes: BTreeSet<u64> = kept.iter().map(|o| o.hash()).collect();
    let state = BucketTriggerStatus {
        name: trigger.name.clone(),
        uri: trigger.uri.clone(),
        floor: Time(next_floor),
        seen: pack(&hashes),
        runs_started: old.map_or(0, |s| s.runs_started) + new.len() as u64,
        last_object: match new.last() {
            Some(last) => Some(object_uri(&trigger.uri, &last.key)),
            None => old.and_then(|s| s.last_object.clone()),
        },
        last_error: None,
    };
    BucketPlan {
        new,
        state,
        truncated,
    }
}

/// The URI of `key` in the bucket of `trigger_uri` (`s3://bucket/prefix/`).
pub fn object_uri(trigger_uri: &str, key: &str) -> String {
    let (scheme, rest) = trigger_uri.split_once("://").unwrap_or(("s3", trigger_uri));
    let bucket = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{bucket}/{key}")
}

/// The PipelineRun `object` starts: named after the pipeline, the trigger and the object,
/// with the object's URI in the trigger's parameter and what is known of it in annotations.
pub fn object_run(
    pipeline: &str,
    trigger: &BucketTrigger,
    object: &Listed,
    started_by: &str,
) -> PipelineRun {
    let uri = object_uri(&trigger.uri, &object.key);
    let param = trigger.param.clone().unwrap_or_else(|| "uri".to_owned());
    let mut run = PipelineRun::new(
        &run_name(pipeline, &trigger.name, &uri, &object.content),
        PipelineRunSpec {
            pipeline_ref: Some(pipeline.to_owned()),
            params: BTreeMap::from([(param, uri.clone())]),
            ..Default::default()
        },
    );
    run.metadata.labels = Some(BTreeMap::from([(
        labels::PIPELINE.to_owned(),
        pipeline.chars().take(63).collect(),
    )]));
    let mut notes = BTreeMap::from([
        (labels::STARTED_BY.to_owned(), started_by.to_owned()),
        (labels::TRIGGER.to_owned(), trigger.name.clone()),
        (labels::OBJECT_URI.to_owned(), uri),
        (labels::OBJECT_KEY.to_owned(), object.key.clone()),
        (labels::OBJECT_SIZE.to_owned(), object.size.to_string()),
        (labels::OBJECT_TIME.to_owned(), object.modified.to_string()),
        (labels::OBJECT_CONTENT.to_owned(), object.content.clone()),
    ]);
    if let Some(etag) = &object.etag {
        notes.insert(labels::OBJECT_ETAG.to_owned(), etag.clone());
    }
    if let Some(generation) = &object.generation {
        notes.insert(labels::OBJECT_GENERATION.to_owned(), generation.clone());
    }
    run.metadata.annotations = Some(notes);
    run
}

/// `{pipeline}-{16 hex digits}`: the same object (URI and content) of the same trigger
/// always gets the same name; 64 bits keep two objects from sharing one.
pub fn run_name(pipeline: &str, trigger: &str, uri: &str, content: &str) -> String {
    let hash = fnv1a(format!("{pipeline}\0{trigger}\0{uri}\0{content}").as_bytes());
    let prefix: String = pipeline.chars().take(40).collect();
    format!("{}-{hash:016x}", prefix.trim_end_matches('-'))
}

/// Whether a finished run may be deleted as far as its trigger's state goes: always, unless
/// it was started by an object (e.g. through the webhook) that the polling state of its
/// trigger in `states` does not account for yet. Deleting such a run before the next poll
/// records its object would let that poll start the object's run a second time. Bounded:
/// a run older than [`WINDOW`] (`created`) may go whatever the state says.
pub fn deletable(
    annotations: &BTreeMap<String, String>,
    states: &[BucketTriggerStatus],
    created: Timestamp,
    now: Timestamp,
) -> bool {
    let get = |k: &str| annotations.get(k);
    let (Some(trigger), Some(uri), Some(time), Some(content)) = (
        get(labels::TRIGGER),
        get(labels::OBJECT_URI),
        get(labels::OBJECT_TIME).and_then(|t| t.parse::<Timestamp>().ok()),
        get(labels::OBJECT_CONTENT),
    ) else {
        return true;
    };
    let Some(state) = states.iter().find(|s| &s.name == trigger) else {
        // The trigger does not poll (or is gone): nothing could start the object again.
        return true;
    };
    if sub(now, WINDOW) > created || time < state.floor.0 {
        return true;
    }
    let key = get(labels::OBJECT_KEY).cloned().unwrap_or_else(|| {
        uri.split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(_, key)| key.to_owned())
            .unwrap_or_default()
    });
    let hash = fnv1a(format!("{key}\0{content}").as_bytes());
    unpack(&state.seen).contains(&hash)
}

/// `run.trigger` of a run started by a new object, from the run's annotations; `None` for
/// runs started otherwise.
pub fn trigger_context(annotations: &BTreeMap<String, String>) -> Option<serde_json::Value> {
    let by = annotations.get(labels::STARTED_BY)?;
    let uri = annotations.get(labels::OBJECT_URI)?;
    let get = |k: &str| annotations.get(k).cloned();
    Some(serde_json::json!({
        "type": by,
        "name": get(labels::TRIGGER),
        "uri": uri,
        "key": get(labels::OBJECT_KEY),
        "size": get(labels::OBJECT_SIZE).and_then(|s| s.parse::<u64>().ok()),
        "etag": get(labels::OBJECT_ETAG),
        "generation": get(labels::OBJECT_GENERATION),
        "time": get(labels::OBJECT_TIME),
    }))
}

/// `run.trigger` for checking and previewing the templates of a pipeline with bucket
/// triggers: a sample object of its first trigger.
pub fn preview_context(spec: &weir_api::v1alpha1::PipelineSpec) -> Option<serde_json::Value> {
    let trigger = spec.triggers.buckets.first()?;
    let key = "preview/object.parquet";
    let uri = object_uri(&trigger.uri, key);
    let annotations = BTreeMap::from([
        (labels::STARTED_BY.to_owned(), "bucket".to_owned()),
        (labels::TRIGGER.to_owned(), trigger.name.clone()),
        (labels::OBJECT_URI.to_owned(), uri),
        (labels::OBJECT_KEY.to_owned(), key.to_owned()),
        (labels::OBJECT_SIZE.to_owned(), "1024".to_owned()),
        (
            labels::OBJECT_ETAG.to_owned(),
            "0123456789abcdef".to_owned(),
        ),
        (
            labels::OBJECT_TIME.to_owned(),
            "2026-01-01T00:00:00Z".to_owned(),
        ),
    ]);
    trigger_context(&annotations)
}

fn sub(t: Timestamp, d: Duration) -> Timestamp {
    let span = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::ZERO);
    t.checked_sub(span).unwrap_or(t)
}

fn pack(hashes: &BTreeSet<u64>) -> String {
    let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_be_bytes()).collect();
    B64.encode(bytes)
}

/// The hashes in `seen`; a value that does not decode (edited by hand) counts as empty,
/// which at worst starts runs the floor does not cover again; their names already exist.
fn unpack(seen: &str) -> BTreeSet<u64> {
    let bytes = B64.decode(seen).unwrap_or_default();
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_whose_object_the_state_does_not_account_for_is_kept() {
        let t = trigger();
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let old: Timestamp = "2026-01-01T11:59:00Z".parse().unwrap();
        let object = Listed {
            key: "landing/a.csv".into(),
            size: 1,
            etag: None,
            generation: None,
            content: "md5".into(),
            modified: old,
        };
        let run = object_run("p", &t, &object, "webhook");
        let notes = run.metadata.annotations.clone().unwrap_or_default();
        let empty = BucketTriggerStatus {
            name: t.name.clone(),
            uri: t.uri.clone(),
            floor: Time(sub(old, WINDOW)),
            seen: String::new(),
            runs_started: 0,
            last_object: None,
            last_error: None,
        };
        assert!(
            !deletable(&notes, std::slice::from_ref(&empty), now, now),
            "not polled since"
        );
        let polled = plan_bucket(&t, Some(&empty), std::slice::from_ref(&object), now).state;
        assert!(
            deletable(&notes, &[polled], now, now),
            "the poll recorded it"
        );
        assert!(
            deletable(&notes, &[], now, now),
            "no polling state: nothing to repeat"
        );
        let later = now + jiff::SignedDuration::from_secs(3601);
        assert!(
            deletable(&notes, &[empty], now, later),
            "bounded by the window"
        );
        assert!(
            deletable(&BTreeMap::new(), &[], now, now),
            "runs started otherwise"
        );
    }

    fn trigger() -> BucketTrigger {
        BucketTrigger {
            name: "landing".into(),
            uri: "s3://lake/in/".into(),
            ..Default::default()
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap_or_default()
    }

    fn obj(key: &str, content: &str, secs: i64) -> Listed {
        Listed {
            key: key.into(),
            size: 1,
            etag: Some(content.into()),
            generation: None,
            content: content.into(),
            modified: at(secs),
        }
    }

    fn keys(plan: &BucketPlan<'_>) -> Vec<String> {
        plan.new.iter().map(|o| o.key.clone()).collect()
    }

    #[test]
    fn a_new_trigger_starts_runs_only_for_objects_since_it_was_added() {
        let listing = vec![obj("in/old", "a", -3600), obj("in/new", "b", -10)];
        let plan = plan_bucket(&trigger(), None, &listing, at(0));
        assert_eq!(keys(&plan), ["in/new"]);
        assert_eq!(plan.state.runs_started, 1);
        assert_eq!(plan.state.last_object.as_deref(), Some("s3://lake/in/new"));
    }

    #[test]
    fn each_object_starts_one_run_across_repeated_polls() {
        let t = trigger();
        let listing = vec![obj("in/a", "1", 5)];
        let first = plan_bucket(&t, None, &listing, at(10));
        assert_eq!(keys(&first), ["in/a"]);
        let listing = vec![obj("in/a", "1", 5), obj("in/b", "2", 20)];
        let second = plan_bucket(&t, Some(&first.state), &listing, at(30));
        assert_eq!(keys(&second), ["in/b"]);
        let third = plan_bucket(&t, Some(&second.state), &listing, at(40));
        assert!(third.new.is_empty());
        assert_eq!(third.state, second.state, "an idle poll rewrites nothing");
    }

    #[test]
    fn same_bytes_again_are_not_new_and_new_bytes_are() {
        let t = trigger();
        let listing = vec![obj("in/a", "1", 5)];
        let first = plan_bucket(&t, None, &listing, at(10));
        let same = vec![obj("in/a", "1", 50)];
        assert!(
            plan_bucket(&t, Some(&first.state), &same, at(60))
                .new
                .is_empty()
        );
        let changed = vec![obj("in/a", "2", 50)];
        assert_eq!(
            keys(&plan_bucket(&t, Some(&first.state), &changed, at(60))),
            ["in/a"]
        );
    }

    #[test]
    fn the_state_trails_the_newest_object_by_the_window() {
        let t = trigger();
        let listing: Vec<Listed> = (0..100)
            .map(|i| obj(&format!("in/{i}"), "x", i * 600))
            .collect();
        let plan = plan_bucket(&t, None, &listing, at(0));
        assert_eq!(plan.new.len(), 100);
        let newest = at(99 * 600);
        assert_eq!(plan.state.floor.0, sub(newest, WINDOW));
        assert_eq!(unpack(&plan.state.seen).len(), 7, "one window of objects");
        // An old object appearing now (below the floor) starts nothing; one in the window does.
        let mut later = listing.clone();
        later.push(obj("in/late-old", "y", 10));
        later.push(obj("in/late-recent", "y", 99 * 600 - 60));
        let next = plan_bucket(&t, Some(&plan.state), &later, at(99 * 600));
        assert_eq!(keys(&next), ["in/late-recent"]);
    }

    #[test]
    fn a_burst_larger_than_the_cap_raises_the_floor_and_says_so() {
        let listing: Vec<Listed> = (0..(MAX_SEEN as i64 + 5))
            .map(|i| obj(&format!("in/{i}"), "x", i / 100))
            .collect();
        let plan = plan_bucket(&trigger(), None, &listing, at(0));
        assert!(plan.truncated);
        assert!(unpack(&plan.state.seen).len() <= MAX_SEEN);
        let again = plan_bucket(&trigger(), Some(&plan.state), &listing, at(1));
        assert!(again.new.is_empty(), "nothing runs twice after truncation");
    }

    #[test]
    fn a_changed_uri_starts_afresh_and_runs_are_named_by_object() {
        let t = trigger();
        let listing = vec![obj("in/a", "1", -5)];
        let first = plan_bucket(&t, None, &listing, at(0));
        let mut moved = trigger();
        moved.uri = "s3://lake/other/".into();
        assert_eq!(
            plan_bucket(&moved, Some(&first.state), &[], at(0))
                .state
                .uri,
            moved.uri
        );
        let run = object_run("events", &t, &listing[0], "bucket");
        assert_eq!(
            run.spec.params.get("uri").map(String::as_str),
            Some("s3://lake/in/a")
        );
        let again = object_run("events", &t, &listing[0], "bucket");
        assert_eq!(run.metadata, again.metadata);
        let other = object_run("events", &t, &obj("in/a", "2", 0), "bucket");
        assert_ne!(run.metadata.name, other.metadata.name);
        assert!(run.metadata.name.unwrap().len() <= 57);
    }
}
