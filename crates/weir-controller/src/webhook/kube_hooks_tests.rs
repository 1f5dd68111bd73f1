use super::*;
use weir_api::labels;

fn event(uri: &str, version: &str) -> ObjectEvent {
    let (bucket, key) = uri
        .split_once("://")
        .and_then(|(_, r)| r.split_once('/'))
        .unwrap();
    ObjectEvent {
        uri: uri.into(),
        bucket: bucket.into(),
        key: key.into(),
        size: Some(7),
        etag_or_generation: version.into(),
        content: version.into(),
        time: Some("2026-11-29T21:04:05Z".parse().unwrap()),
        event_id: format!("{uri}@1"),
    }
}

fn trigger(name: &str, uri: &str, pattern: Option<&str>) -> BucketTrigger {
    BucketTrigger {
        name: name.into(),
        uri: uri.into(),
        pattern: pattern.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn events_go_to_the_bucket_trigger_that_covers_them() {
    let triggers = vec![
        trigger("csv", "s3://landing/incoming/", Some("*.csv")),
        trigger("raw", "s3://landing/raw/", None),
        trigger("gcs", "gs://landing/raw/", Some("day=*/part-?.parquet")),
    ];
    let name = |uri: &str| route(&triggers, &event(uri, "e")).map(|t| t.name.as_str());
    assert_eq!(name("s3://landing/incoming/a b.csv"), Some("csv"));
    assert_eq!(
        name("s3://landing/incoming/nested/deep.csv"),
        Some("csv"),
        "* crosses /"
    );
    assert_eq!(
        name("s3://landing/incoming/a.json"),
        None,
        "outside the pattern"
    );
    assert_eq!(name("s3://landing/raw/x/y.bin"), Some("raw"));
    assert_eq!(name("s3://landing/rawx"), None, "not under the prefix");
    assert_eq!(name("s3://other/raw/x"), None, "another bucket");
    assert_eq!(name("gs://landing/raw/day=1/part-0.parquet"), Some("gcs"));
    assert_eq!(name("gs://landing/raw/day=1/part-10.parquet"), None);
    assert_eq!(
        name("gs://landing/incoming/a.csv"),
        None,
        "s3 and gs are different stores"
    );
}

#[test]
fn an_object_run_carries_the_uri_in_its_param_and_the_object_in_annotations() {
    let mut t = trigger("landing", "s3://b/", None);
    t.param = Some("file".into());
    let run = object_run("ingest", &t, &event("s3://b/k.csv", "etag1"));
    assert_eq!(
        run.metadata.name.as_deref(),
        Some(weir_core::bucket::run_name("ingest", "landing", "s3://b/k.csv", "etag1").as_str())
    );
    assert_eq!(run.spec.pipeline_ref.as_deref(), Some("ingest"));
    assert_eq!(
        run.spec.params.get("file").map(String::as_str),
        Some("s3://b/k.csv")
    );
    let a = run.metadata.annotations.unwrap();
    assert_eq!(a[labels::STARTED_BY], "webhook");
    assert_eq!(a[labels::TRIGGER], "landing");
    assert_eq!(a[labels::OBJECT_KEY], "k.csv");
    assert_eq!(a[labels::OBJECT_SIZE], "7");
    assert_eq!(a[labels::OBJECT_ETAG], "etag1");
    assert_eq!(a[labels::OBJECT_URI], "s3://b/k.csv");
    assert_eq!(a[labels::OBJECT_TIME], "2026-11-29T21:04:05Z");
    let default = object_run(
        "ingest",
        &trigger("t", "s3://b/", None),
        &event("s3://b/k", "e"),
    );
    assert!(default.spec.params.contains_key("uri"));
}

#[test]
fn only_sns_endpoints_are_fetched_to_confirm() {
    for ok in [
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
        "https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription",
    ] {
        assert!(sns_url(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.eu-west-1.amazonaws.com.evil.example/",
        "https://evil.example/sns.eu-west-1.amazonaws.com/",
        "https://sns.eu-west-1.amazonaws.com:8443/",
        "https://user:pw@sns.eu-west-1.amazonaws.com/",
        "https://sns..amazonaws.com/",
        "https://sns.a.b.amazonaws.com/",
        "https://127.0.0.1/",
        "not a url",
    ] {
        let err = sns_url(bad).unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }
}
