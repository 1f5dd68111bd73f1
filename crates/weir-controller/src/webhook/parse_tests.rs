//! Every format from a sample payload, written after the providers' documented shapes.

use base64::Engine;

use super::*;

/// An AWS S3 event notification: a `Put` of a key with a space and a non-ASCII character,
/// URL-encoded as S3 encodes keys, and a delete beside it.
pub(crate) const S3_PUT: &str = r#"{
  "Records": [
    {
      "eventVersion": "2.1",
      "eventSource": "aws:s3",
      "awsRegion": "eu-west-1",
      "eventTime": "2026-11-29T21:04:05.123Z",
      "eventName": "ObjectCreated:Put",
      "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
      "requestParameters": {"sourceIPAddress": "203.0.113.10"},
      "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
      "s3": {
        "s3SchemaVersion": "1.0",
        "configurationId": "weir-landing",
        "bucket": {"name": "landing", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::landing"},
        "object": {
          "key": "raw/2026-11-29/sales+report+%C3%A9t%C3%A9.parquet",
          "size": 1048576,
          "eTag": "d41d8cd98f00b204e9800998ecf8427e",
          "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
          "sequencer": "0055AED6DCD90281E5"
        }
      }
    },
    {
      "eventVersion": "2.1",
      "eventSource": "aws:s3",
      "awsRegion": "eu-west-1",
      "eventTime": "2026-11-29T21:04:06.000Z",
      "eventName": "ObjectRemoved:Delete",
      "s3": {
        "bucket": {"name": "landing"},
        "object": {"key": "raw/old.parquet", "sequencer": "0055AED6DCD90281F0"}
      }
    }
  ]
}"#;

/// What MinIO's webhook target posts: S3's records, `s3:`-prefixed event names, and the
/// top-level `EventName` and `Key` (bucket/key, not encoded).
pub(crate) const MINIO_PUT: &str = r#"{
  "EventName": "s3:ObjectCreated:Put",
  "Key": "landing/incoming/a b.csv",
  "Records": [
    {
      "eventVersion": "2.0",
      "eventSource": "minio:s3",
      "awsRegion": "",
      "eventTime": "2026-11-29T21:10:00.456Z",
      "eventName": "s3:ObjectCreated:Put",
      "userIdentity": {"principalId": "minioadmin"},
      "requestParameters": {"principalId": "minioadmin", "region": "", "sourceIPAddress": "127.0.0.1"},
      "responseElements": {"x-amz-id-2": "dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8", "x-amz-request-id": "187C3F0B4B7B4A6E", "x-minio-deployment-id": "0c6b3ac0-5bd6-4d2e-8d4b-0a8a8b8a3c2d", "x-minio-origin-endpoint": "http://127.0.0.1:9000"},
      "s3": {
        "s3SchemaVersion": "1.0",
        "configurationId": "Config",
        "bucket": {"name": "landing", "ownerIdentity": {"principalId": "minioadmin"}, "arn": "arn:aws:s3:::landing"},
        "object": {
          "key": "incoming%2Fa+b.csv",
          "size": 42,
          "eTag": "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"",
          "contentType": "text/csv",
          "userMetadata": {"content-type": "text/csv"},
          "sequencer": "187C3F0B4C2D1A90"
        }
      },
      "source": {"host": "127.0.0.1", "port": "", "userAgent": "MinIO (linux; amd64) minio-go/v7.0.70"}
    }
  ]
}"#;

/// The test event S3 sends when a notification is configured.
pub(crate) const S3_TEST_EVENT: &str = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-29T21:00:00.000Z","Bucket":"landing","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;

/// An SNS envelope around [`S3_PUT`].
pub(crate) fn sns_notification(s3: &str) -> String {
    serde_json::json!({
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:landing-events",
        "Subject": "Amazon S3 Notification",
        "Message": s3,
        "Timestamp": "2026-11-29T21:04:05.500Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:landing-events:c9135db0"
    })
    .to_string()
}

/// SNS asking the endpoint to confirm a new subscription.
pub(crate) const SNS_CONFIRMATION: &str = r#"{
  "Type": "SubscriptionConfirmation",
  "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
  "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
  "TopicArn": "arn:aws:sns:eu-west-1:123456789012:landing-events",
  "Message": "You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:123456789012:landing-events.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
  "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:landing-events&Token=2336412f37fb687f",
  "Timestamp": "2026-11-29T20:59:00.000Z",
  "SignatureVersion": "1",
  "Signature": "EXAMPLE",
  "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
}"#;

/// The object resource a GCS notification carries (`JSON_API_V1`).
pub(crate) const GCS_OBJECT: &str = r#"{
  "kind": "storage#object",
  "id": "landing-gcs/raw/day=2026-11-29/part-0.parquet/1764450245123456",
  "selfLink": "https://www.googleapis.com/storage/v1/b/landing-gcs/o/raw%2Fday=2026-11-29%2Fpart-0.parquet",
  "name": "raw/day=2026-11-29/part-0.parquet",
  "bucket": "landing-gcs",
  "generation": "1764450245123456",
  "metageneration": "1",
  "contentType": "application/octet-stream",
  "timeCreated": "2026-11-29T21:04:05.123Z",
  "updated": "2026-11-29T21:04:05.123Z",
  "storageClass": "STANDARD",
  "size": "2048",
  "md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg==",
  "crc32c": "AAAAAA==",
  "etag": "CIDk7pCg6JEDEAE="
}"#;

/// A Pub/Sub push of a GCS notification.
pub(crate) fn pubsub_push(event_type: &str, data: Option<&str>) -> String {
    let mut message = serde_json::json!({
        "attributes": {
            "bucketId": "landing-gcs",
            "objectId": "raw/day=2026-11-29/part-0.parquet",
            "objectGeneration": "1764450245123456",
            "eventTime": "2026-11-29T21:04:05.200Z",
            "eventType": event_type,
            "notificationConfig": "projects/_/buckets/landing-gcs/notificationConfigs/1",
            "payloadFormat": if data.is_some() { "JSON_API_V1" } else { "NONE" }
        },
        "messageId": "9876543210123",
        "message_id": "9876543210123",
        "publishTime": "2026-11-29T21:04:05.300Z",
        "publish_time": "2026-11-29T21:04:05.300Z"
    });
    if let Some(d) = data {
        message["data"] = base64::engine::general_purpose::STANDARD.encode(d).into();
    }
    serde_json::json!({
        "message": message,
        "subscription": "projects/demo/subscriptions/weir-landing"
    })
    .to_string()
}

fn objects(n: Notification) -> (Vec<ObjectEvent>, usize) {
    match n {
        Notification::Objects { events, ignored } => (events, ignored),
        other => panic!("expected objects, got {other:?}"),
    }
}

#[test]
fn s3_records_give_created_objects_with_decoded_keys() {
    let (events, ignored) = objects(parse(S3_PUT.as_bytes()).unwrap());
    assert_eq!(ignored, 1, "the delete is ignored");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.key, "raw/2026-11-29/sales report été.parquet");
    assert_eq!(
        e.uri,
        "s3://landing/raw/2026-11-29/sales report été.parquet"
    );
    assert_eq!(e.bucket, "landing");
    assert_eq!(e.size, Some(1_048_576));
    assert_eq!(e.etag_or_generation, "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        e.time,
        Some(
            "2026-11-29T21:04:05.123Z"
                .parse::<jiff::Timestamp>()
                .unwrap()
        )
    );
    assert!(
        e.event_id.ends_with("@0055AED6DCD90281E5"),
        "{}",
        e.event_id
    );
}

#[test]
fn minio_notifications_are_s3_records_with_prefixed_names() {
    let (events, ignored) = objects(parse(MINIO_PUT.as_bytes()).unwrap());
    assert_eq!(ignored, 0);
    let e = &events[0];
    assert_eq!(e.uri, "s3://landing/incoming/a b.csv");
    assert_eq!(
        e.etag_or_generation, "5eb63bbbe01eeed093cb22bb8f5acdc3",
        "quotes dropped"
    );
    assert_eq!(e.size, Some(42));
}

#[test]
fn sns_envelopes_carry_s3_notifications_and_confirmations() {
    let (events, _) = objects(parse(sns_notification(S3_PUT).as_bytes()).unwrap());
    assert_eq!(events, objects(parse(S3_PUT.as_bytes()).unwrap()).0);
    match parse(SNS_CONFIRMATION.as_bytes()).unwrap() {
        Notification::SubscriptionConfirmation {
            topic_arn,
            subscribe_url,
        } => {
            assert_eq!(
                topic_arn,
                "arn:aws:sns:eu-west-1:123456789012:landing-events"
            );
            assert!(
                subscribe_url
                    .starts_with("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription")
            );
        }
        other => panic!("{other:?}"),
    }
    // SNS forwards S3's test event too.
    assert_eq!(
        parse(sns_notification(S3_TEST_EVENT).as_bytes()).unwrap(),
        Notification::Ignored("s3:TestEvent")
    );
}

#[test]
fn pubsub_pushes_of_gcs_finalize_give_the_object_and_its_generation() {
    let with_data =
        objects(parse(pubsub_push("OBJECT_FINALIZE", Some(GCS_OBJECT)).as_bytes()).unwrap()).0;
    let e = &with_data[0];
    assert_eq!(e.uri, "gs://landing-gcs/raw/day=2026-11-29/part-0.parquet");
    assert_eq!(e.etag_or_generation, "1764450245123456");
    assert_eq!(e.size, Some(2048));
    assert_eq!(
        e.event_id,
        "gs://landing-gcs/raw/day=2026-11-29/part-0.parquet#1764450245123456"
    );
    // Payload format NONE: the attributes alone.
    let bare = objects(parse(pubsub_push("OBJECT_FINALIZE", None).as_bytes()).unwrap()).0;
    assert_eq!(bare[0].uri, e.uri);
    assert_eq!(bare[0].size, None);
    assert_eq!(bare[0].event_id, e.event_id);
    // Deletes and metadata updates start nothing.
    for kind in ["OBJECT_DELETE", "OBJECT_METADATA_UPDATE", "OBJECT_ARCHIVE"] {
        let (events, ignored) =
            objects(parse(pubsub_push(kind, Some(GCS_OBJECT)).as_bytes()).unwrap());
        assert!(events.is_empty() && ignored == 1, "{kind}");
    }
}

#[test]
fn malformed_bodies_name_what_is_wrong() {
    let cases: &[(&str, &str)] = &[
        ("not json", "body is not JSON"),
        ("[1, 2]", "not a JSON object"),
        (r#"{"hello": 1}"#, "not an S3, SNS or Pub/Sub notification"),
        (r#"{"Records": 3}"#, "S3 notification"),
        (
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k%FF"}}}]}"#,
            "Records[0].s3.object.key",
        ),
        (
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#,
            "Records[0].s3.object.eTag: missing",
        ),
        (
            r#"{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"yesterday","s3":{"bucket":{"name":"b"},"object":{"key":"k","eTag":"e"}}}]}"#,
            "Records[0].eventTime",
        ),
        (r#"{"Type":"Notification"}"#, "Message: missing"),
        (
            r#"{"Type":"Notification","Message":"{}"}"#,
            "SNS Notification: Message: not an S3",
        ),
        (r#"{"Type":"Bogus"}"#, "Type \"Bogus\" is unknown"),
        (
            r#"{"Type":"SubscriptionConfirmation"}"#,
            "SubscribeURL: missing",
        ),
        (r#"{"message":{"attributes":{}}}"#, "eventType: missing"),
        (
            r#"{"message":{"attributes":{"eventType":"OBJECT_FINALIZE"},"data":"!!"}}"#,
            "message.data: not base64",
        ),
        (
            r#"{"message":{"attributes":{"eventType":"OBJECT_FINALIZE","bucketId":"b"}}}"#,
            "objectId: missing",
        ),
    ];
    for (body, want) in cases {
        let err = parse(body.as_bytes()).expect_err(body).to_string();
        assert!(err.contains(want), "{body}: {err:?} lacks {want:?}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
}
