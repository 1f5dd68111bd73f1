//! Notification bodies → [`ObjectEvent`]s. Pure: no I/O, so every format is tested from
//! sample payloads.
//!
//! Formats, told apart by their top-level fields:
//! - `Records`: an S3 event notification; MinIO's webhook target sends the same with
//!   `EventName` and `Key` beside it. Keys are URL-encoded (`+` for a space).
//! - `Type`: an SNS envelope; `Notification` carries the S3 JSON as a string in `Message`,
//!   `SubscriptionConfirmation` a `SubscribeURL`.
//! - `message`: a Pub/Sub push of a GCS notification (`attributes.eventType`, and `data`,
//!   the base64 of the object's JSON resource unless the payload format is `NONE`).
//! - `Event: s3:TestEvent`: the test message S3 sends when notifications are configured.
//!
//! Only object-created (S3 `ObjectCreated:*`, GCS `OBJECT_FINALIZE`) events become
//! [`ObjectEvent`]s; other events are counted as ignored.

use base64::Engine;
use serde::Deserialize;

use super::ObjectEvent;

/// What a body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// Object-created events, and how many other events came with them.
    Objects {
        /// The object-created events.
        events: Vec<ObjectEvent>,
        /// Events of other kinds (deletes, metadata updates), ignored.
        ignored: usize,
    },
    /// SNS asks to confirm a subscription by fetching `subscribe_url`.
    SubscriptionConfirmation {
        /// The topic that wants to deliver here.
        topic_arn: String,
        /// Fetching this URL confirms the subscription.
        subscribe_url: String,
    },
    /// Nothing to do (S3's test event, SNS's unsubscribe confirmation); says what it was.
    Ignored(&'static str),
}

/// A body that is not a notification weir understands; one line naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

fn bad(what: impl std::fmt::Display) -> ParseError {
    ParseError(what.to_string())
}

/// Parses a notification body.
pub fn parse(body: &[u8]) -> Result<Notification, ParseError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(bad("body is not a JSON object"));
    };
    if object.contains_key("Records") {
        return s3(value);
    }
    if object.contains_key("Type") {
        return sns(value);
    }
    if object.contains_key("message") {
        return pubsub(value);
    }
    if object.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Notification::Ignored("s3:TestEvent"));
    }
    Err(bad(
        "not an S3, SNS or Pub/Sub notification (no Records, Type or message field)",
    ))
}

#[derive(Deserialize)]
struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Record {
    event_name: String,
    event_time: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Object {
    key: String,
    size: Option<u64>,
    e_tag: Option<String>,
    sequencer: Option<String>,
    version_id: Option<String>,
}

fn s3(value: serde_json::Value) -> Result<Notification, ParseError> {
    let n: S3Notification =
        serde_json::from_value(value).map_err(|e| bad(format!("S3 notification: {e}")))?;
    let mut events = Vec::new();
    let mut ignored = 0;
    for (i, r) in n.records.into_iter().enumerate() {
        // MinIO prefixes event names with `s3:`; AWS does not.
        let name = r.event_name.strip_prefix("s3:").unwrap_or(&r.event_name);
        if !name.starts_with("ObjectCreated:") {
            ignored += 1;
            continue;
        }
        events.push(s3_event(i, r)?);
    }
    Ok(Notification::Objects { events, ignored })
}

fn s3_event(i: usize, r: S3Record) -> Result<ObjectEvent, ParseError> {
    let field = |f: &str| format!("Records[{i}].{f}");
    let bucket = r.s3.bucket.name;
    if bucket.is_empty() {
        return Err(bad(format!("{}: empty", field("s3.bucket.name"))));
    }
    let key = decode_key(&r.s3.object.key).ok_or_else(|| {
        bad(format!(
            "{}: not valid URL-encoded UTF-8",
            field("s3.object.key")
        ))
    })?;
    if key.is_empty() {
        return Err(bad(format!("{}: empty", field("s3.object.key"))));
    }
    let o = r.s3.object;
    let version = o
        .e_tag
        .map(|e| e.trim_matches('"').to_string())
        .filter(|e| !e.is_empty())
        .or(o.version_id.clone())
        .or(o.sequencer.clone())
        .ok_or_else(|| bad(format!("{}: missing", field("s3.object.eTag"))))?;
    let time = r
        .event_time
        .map(|t| {
            t.parse::<jiff::Timestamp>()
                .map_err(|e| bad(format!("{}: {t:?}: {e}", field("eventTime"))))
        })
        .transpose()?;
    let occurrence = o
        .sequencer
        .or(o.version_id)
        .unwrap_or_else(|| version.clone());
    Ok(ObjectEvent {
        uri: format!("s3://{bucket}/{key}"),
        event_id: format!("s3://{bucket}/{key}@{occurrence}"),
        bucket,
        key,
        size: o.size,
        content: version.clone(),
        etag_or_generation: version,
        time,
    })
}

/// S3 notifications encode keys like an HTML form: `+` is a space, `%XX` a byte.
fn decode_key(raw: &str) -> Option<String> {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(|k| k.into_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsEnvelope {
    #[serde(rename = "Type")]
    kind: String,
    message: Option<String>,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    topic_arn: Option<String>,
}

fn sns(value: serde_json::Value) -> Result<Notification, ParseError> {
    let env: SnsEnvelope =
        serde_json::from_value(value).map_err(|e| bad(format!("SNS message: {e}")))?;
    match env.kind.as_str() {
        "Notification" => {
            let message = env
                .message
                .ok_or_else(|| bad("SNS Notification: Message: missing"))?;
            match parse(message.as_bytes()) {
                Ok(n @ (Notification::Objects { .. } | Notification::Ignored(_))) => Ok(n),
                Ok(Notification::SubscriptionConfirmation { .. }) => {
                    Err(bad("SNS Notification: Message: an SNS message inside SNS"))
                }
                Err(e) => Err(bad(format!("SNS Notification: Message: {e}"))),
            }
        }
        "SubscriptionConfirmation" => Ok(Notification::SubscriptionConfirmation {
            topic_arn: env.topic_arn.unwrap_or_default(),
            subscribe_url: env
                .subscribe_url
                .ok_or_else(|| bad("SNS SubscriptionConfirmation: SubscribeURL: missing"))?,
        }),
        "UnsubscribeConfirmation" => Ok(Notification::Ignored("SNS UnsubscribeConfirmation")),
        other => Err(bad(format!("SNS message: Type {other:?} is unknown"))),
    }
}

#[derive(Deserialize)]
struct PushEnvelope {
    message: PushMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PushMessage {
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
    data: Option<String>,
}

/// The fields of a GCS object resource (`JSON_API_V1` payload) weir uses. GCS sends the
/// numbers as strings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GcsObject {
    bucket: String,
    name: String,
    generation: String,
    md5_hash: Option<String>,
    size: Option<String>,
    time_created: Option<String>,
    updated: Option<String>,
}

fn pubsub(value: serde_json::Value) -> Result<Notification, ParseError> {
    let env: PushEnvelope =
        serde_json::from_value(value).map_err(|e| bad(format!("Pub/Sub push: {e}")))?;
    let m = env.message;
    let attr = |k: &str| m.attributes.get(k).cloned();
    let Some(kind) = attr("eventType") else {
        return Err(bad("Pub/Sub push: message.attributes.eventType: missing"));
    };
    if kind != "OBJECT_FINALIZE" {
        return Ok(Notification::Objects {
            events: vec![],
            ignored: 1,
        });
    }
    let resource = match m.data.as_deref().filter(|d| !d.is_empty()) {
        Some(data) => Some(gcs_object(data)?),
        None => None,
    };
    let field = |f: &str| format!("Pub/Sub push: message.attributes.{f}: missing");
    let (bucket, key, generation) = match &resource {
        Some(o) => (o.bucket.clone(), o.name.clone(), o.generation.clone()),
        None => (
            attr("bucketId").ok_or_else(|| bad(field("bucketId")))?,
            attr("objectId").ok_or_else(|| bad(field("objectId")))?,
            attr("objectGeneration").ok_or_else(|| bad(field("objectGeneration")))?,
        ),
    };
    if bucket.is_empty() || key.is_empty() || generation.is_empty() {
        return Err(bad("Pub/Sub push: empty bucket, object name or generation"));
    }
    let size = match resource.as_ref().and_then(|o| o.size.as_deref()) {
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| bad(format!("Pub/Sub push: message.data: size {s:?}")))?,
        ),
        None => None,
    };
    let time = resource
        .as_ref()
        .and_then(|o| o.updated.clone().or(o.time_created.clone()))
        .or(attr("eventTime"))
        .map(|t| {
            t.parse::<jiff::Timestamp>()
                .map_err(|e| bad(format!("Pub/Sub push: event time {t:?}: {e}")))
        })
        .transpose()?;
    // The generation identifies the write, so the replay cache keys on it rather than on
    // the messageId: the same write notified twice (two subscriptions) is still one.
    Ok(Notification::Objects {
        events: vec![ObjectEvent {
            uri: format!("gs://{bucket}/{key}"),
            event_id: format!("gs://{bucket}/{key}#{generation}"),
            bucket,
            key,
            size,
            content: resource
                .as_ref()
                .and_then(|o| o.md5_hash.as_deref())
                .and_then(md5_hex)
                .unwrap_or_else(|| generation.clone()),
            etag_or_generation: generation,
            time,
        }],
        ignored: 0,
    })
}

fn gcs_object(data: &str) -> Result<GcsObject, ParseError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| bad(format!("Pub/Sub push: message.data: not base64: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("Pub/Sub push: message.data: not a GCS object: {e}")))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
pub(super) mod tests;

/// A GCS `md5Hash` (base64 of 16 bytes) in lowercase hex, as listings report it.
fn md5_hex(b64: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    (bytes.len() == 16).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}
