//! What starts runs of a Pipeline besides `weir run`: a cron schedule, new objects in a
//! bucket, object notifications to the webhook; and the bounded state a bucket trigger keeps
//! in the Pipeline's status.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What starts runs of the pipeline automatically.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Triggers {
    /// Start runs on a cron schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleTrigger>,
    /// Start a run for each new object in a bucket (what the seed's AWS Lambda did).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub buckets: Vec<BucketTrigger>,
    /// Also start the bucket triggers' runs from object notifications POSTed to the
    /// controller's webhook (`/hooks/{namespace}/{name}`) instead of waiting for a listing.
    /// Off unless set: the Secret it names is the only one the webhook ever reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookTrigger>,
}

impl Triggers {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// A cron schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleTrigger {
    /// A 5-field cron expression, e.g. `0 3 * * *`.
    pub cron: String,
    /// IANA time zone of the expression (default UTC), e.g. `Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// After downtime, start at most this many missed runs (oldest first); 0 starts none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catchup_limit: Option<u32>,
    /// A scheduled run not started within this many seconds of its time is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<u32>,
    /// Parameters for scheduled runs (templated: `{{ schedule.time }}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// Stop starting scheduled runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

/// Start a run for each new object under a bucket prefix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketTrigger {
    /// The trigger's name, unique within the pipeline.
    pub name: String,
    /// `s3://bucket/prefix/` or `gs://bucket/prefix/`.
    #[schemars(regex(pattern = r"^(s3|gs)://[a-z0-9][a-z0-9._-]{1,62}(/.*)?$"))]
    pub uri: String,
    /// Only keys matching this glob (e.g. `*.parquet`) start runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The parameter that receives the new object's URI (default `uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// How often to list the bucket (default `60s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    pub poll_interval: Option<String>,
    /// A custom endpoint (S3-compatible stores, emulators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The S3 region (default: the AWS default chain's, else `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// S3 path-style addressing (`endpoint/bucket/key`); default: on when `endpoint` is set,
    /// as most S3-compatible servers need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// A Secret in the pipeline's namespace holding the store's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
}

/// How senders of object notifications authenticate to the controller's webhook.
///
/// An event starts a run only when its object falls under one of the pipeline's bucket
/// triggers (URI prefix and pattern); the run is the one that trigger's listing would have
/// started, under the same name, so a notification and a listing never start two runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTrigger {
    /// The Secret (in the pipeline's namespace) and key holding the shared secret. The
    /// controller needs `get` on this Secret by name (the chart's `rbac.secrets`).
    pub secret_key_ref: SecretKeyRef,
    /// What a request must carry: `Signature` (default), the hex HMAC-SHA256 of the body
    /// keyed with the secret in `X-Weir-Signature: sha256=<hex>`; or `Token`, the secret
    /// itself as `Authorization: Bearer`, as the password of `Authorization: Basic` (SNS
    /// subscription URLs) or as the `token` query parameter (Pub/Sub push endpoints).
    #[serde(default, skip_serializing_if = "WebhookAuth::is_default")]
    pub auth: WebhookAuth,
}

/// A key of a Secret in the object's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key within the Secret's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// How a webhook request proves it knows the secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WebhookAuth {
    /// HMAC-SHA256 of the raw body in `X-Weir-Signature: sha256=<hex>`; the secret never
    /// travels with the request.
    #[default]
    Signature,
    /// The secret itself, as a bearer token, a Basic password or a `token` query parameter,
    /// for senders that cannot sign (SNS, Pub/Sub push, MinIO's `auth_token`).
    Token,
}

impl WebhookAuth {
    fn is_default(&self) -> bool {
        *self == Self::Signature
    }
}

/// The bounded state of one bucket trigger. Objects last modified before `floor` are
/// accounted for; those at or after it that have started their run are in `seen`. Written
/// only after the runs it accounts for exist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BucketTriggerStatus {
    /// The trigger's name.
    pub name: String,
    /// The URI this state is about; a trigger whose URI changes starts afresh.
    pub uri: String,
    /// Objects last modified before this time are accounted for.
    pub floor: Time,
    /// The objects modified at or after `floor` that have started their run: 64-bit
    /// hashes of (key, content), packed and base64-encoded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub seen: String,
    /// Runs this trigger has started.
    #[serde(default)]
    pub runs_started: u64,
    /// The newest object that started a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_object: Option<String>,
    /// Why the last poll failed; absent once a poll succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
