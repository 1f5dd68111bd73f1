//! Bucket triggers, a phase of the Pipeline reconcile: when a trigger's poll is due, list its
//! bucket (weir-blob), let `weir_core::bucket` decide which objects are new, create their
//! runs, and put the trigger's new state into the Pipeline's planned status, which the
//! reconcile writes after the runs exist.
//!
//! One poll lists every key under the prefix: its cost grows with the bucket (one request
//! per 1,000 keys). At scale, event notifications through the webhook replace polling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use weir_api::reason::EventReason;
use weir_api::v1alpha1::{BucketTrigger, BucketTriggerStatus, Pipeline, PipelineRun};
use weir_blob::{BlobUri, Options, Store};
use weir_core::Event;
use weir_core::bucket::{self, Listed};
use weir_core::pipeline::PipelinePlan;

use crate::error::Error;
use crate::trigger_metrics::TriggerMetrics;

/// What the bucket triggers keep between reconciles: when each trigger last polled and
/// the stores they opened (an S3 client loads its configuration once).
#[derive(Default)]
pub(crate) struct Buckets {
    polled: Mutex<HashMap<(String, String), Instant>>,
    stores: Mutex<HashMap<StoreKey, Arc<dyn Store>>>,
    secrets: Mutex<HashMap<String, Arc<SecretRead>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct StoreKey {
    bucket: String,
    endpoint: Option<String>,
    region: Option<String>,
    path_style: bool,
    /// The credentials Secret (namespace/name@resourceVersion): a rotated key reopens.
    secret: Option<String>,
}

/// How long a credentials Secret read is reused before it is read again (rotation).
const SECRET_TTL: Duration = Duration::from_secs(60);

/// Keys of a credentials Secret: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` for S3,
/// `key.json` (a service-account key) for GCS.
const AWS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
const AWS_SECRET: &str = "AWS_SECRET_ACCESS_KEY";
const GCS_KEY: &str = "key.json";

/// A credentials Secret as read, kept for [`SECRET_TTL`].
struct SecretRead {
    at: Instant,
    version: String,
    data: std::collections::BTreeMap<String, weir_blob::SecretText>,
}

/// What one reconcile needs from its controller.
pub(crate) struct PollCtx<'a> {
    pub client: &'a kube::Client,
    pub fence: &'a crate::fence::Fence,
    pub metrics: &'a TriggerMetrics,
    pub buckets: &'a Buckets,
}

/// What [`poll`] did: when the next poll is due, and which triggers polled (to mark with
/// [`Buckets::mark`] once the status holding their state is written).
#[derive(Debug, Default)]
pub(crate) struct Polled {
    pub next: Option<Duration>,
    keys: Vec<(String, String)>,
}

/// Polls the triggers of `pipeline` that are due, creates the runs of new objects and
/// records each trigger's state in `plan`. A trigger whose bucket cannot be listed keeps
/// its state, says why in its status and an Event, and is polled again at its interval;
/// the other triggers and the reconcile go on.
pub(crate) async fn poll(
    cx: &PollCtx<'_>,
    pipeline: &Pipeline,
    ns: &str,
    plan: &mut PipelinePlan,
) -> Result<Polled, Error> {
    let triggers = &pipeline.spec.triggers.buckets;
    let old = std::mem::take(&mut plan.status.buckets);
    let mut polled = Polled::default();
    if triggers.is_empty() || !valid(plan) {
        // Nothing to poll; an invalid spec keeps its state until it is fixed.
        plan.status.buckets = if triggers.is_empty() { Vec::new() } else { old };
        return Ok(polled);
    }
    let uid = pipeline.uid().unwrap_or_default();
    let next = &mut polled.next;
    for trigger in triggers {
        let prev = old.iter().find(|s| s.name == trigger.name);
        let interval = weir_core::triggers::poll_interval(trigger)
            .unwrap_or(weir_core::triggers::DEFAULT_POLL_INTERVAL);
        let key = (uid.clone(), trigger.name.clone());
        let since = cx.buckets.last_poll(&key);
        if let Some(wait) = since.and_then(|t| interval.checked_sub(t.elapsed())) {
            *next = Some(next.map_or(wait, |n| n.min(wait)));
            if let Some(prev) = prev {
                plan.status.buckets.push(prev.clone());
            }
            continue;
        }
        let state = poll_one(cx, pipeline, ns, trigger, prev, plan).await?;
        polled.keys.push(key);
        *next = Some(next.map_or(interval, |n| n.min(interval)));
        plan.status.buckets.push(state);
    }
    if plan.status.buckets != old {
        // Written at once: history limits must not delete a run whose object the recorded
        // state does not yet account for.
        plan.urgent = true;
    }
    Ok(polled)
}

/// Whether the planned status says the spec is valid (triggers act only then).
pub(crate) fn valid(plan: &PipelinePlan) -> bool {
    plan.status
        .conditions
        .iter()
        .any(|c| c.type_ == weir_api::conditions::VALID && c.status == "True")
}

/// One poll of one trigger: its new state (with `last_error` when the listing failed).
async fn poll_one(
    cx: &PollCtx<'_>,
    pipeline: &Pipeline,
    ns: &str,
    trigger: &BucketTrigger,
    prev: Option<&BucketTriggerStatus>,
    plan: &mut PipelinePlan,
) -> Result<BucketTriggerStatus, Error> {
    let started = Instant::now();
    let listing = list(cx, ns, trigger).await;
    cx.metrics
        .polled(trigger_store(trigger), started.elapsed(), listing.is_ok());
    let listing = match listing {
        Ok(listing) => listing,
        Err(message) => return Ok(failed(trigger, prev, message, plan)),
    };
    let now = jiff::Timestamp::now();
    let decided = bucket::plan_bucket(trigger, prev, &listing, now);
    let api: Api<PipelineRun> = Api::namespaced(cx.client.clone(), ns);
    let name = pipeline.name_any();
    for object in &decided.new {
        cx.fence.check()?;
        let run = bucket::object_run(&name, trigger, object, "bucket");
        let run_name = run.name_any();
        match api.create(&PostParams::default(), &run).await {
            Ok(_) => {
                cx.metrics
                    .started("bucket", object.modified, jiff::Timestamp::now());
                tracing::info!(pipeline = %name, trigger = %trigger.name, run = %run_name, key = %object.key, "new object: run created");
            }
            // Created by an earlier poll whose state was not written (a crash, a conflict).
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!(run = %run_name, "the object's run exists already");
            }
            Err(source) => {
                return Err(Error::CreateRun {
                    name: run_name,
                    source,
                });
            }
        }
    }
    cx.metrics.objects_new(decided.new.len() as u64);
    if decided.truncated {
        plan.events.push(Event {
            warning: true,
            reason: EventReason::TriggerTruncated,
            message: format!(
                "trigger {}: more than {} objects within {} s; the state keeps the newest, so an object that appears later with an older time would not start a run (use the webhook at this rate)",
                trigger.name,
                bucket::MAX_SEEN,
                bucket::WINDOW.as_secs()
            ),
        });
    }
    Ok(decided.state)
}

/// The state after a failed listing: unchanged, with the error (an Event when it is new).
fn failed(
    trigger: &BucketTrigger,
    prev: Option<&BucketTriggerStatus>,
    message: String,
    plan: &mut PipelinePlan,
) -> BucketTriggerStatus {
    tracing::warn!(trigger = %trigger.name, error = %message, "bucket trigger poll failed");
    let mut state = match prev.filter(|s| s.uri == trigger.uri) {
        Some(prev) => prev.clone(),
        // Never polled: the floor is set when a listing first succeeds.
        None => return placeholder(trigger, message),
    };
    if state.last_error.as_deref() != Some(message.as_str()) {
        plan.events.push(Event {
            warning: true,
            reason: EventReason::TriggerFailed,
            message: format!("trigger {}: {message}", trigger.name),
        });
    }
    state.last_error = Some(message);
    state
}

/// The status of a trigger that has never listed its bucket: its floor is now, so the
/// first successful poll starts runs for objects since the trigger was added.
fn placeholder(trigger: &BucketTrigger, message: String) -> BucketTriggerStatus {
    let plan = bucket::plan_bucket(trigger, None, &[], jiff::Timestamp::now());
    BucketTriggerStatus {
        last_error: Some(message),
        ..plan.state
    }
}

/// The objects under the trigger's prefix that match its pattern. The error is one line
/// naming the URI (no credential ever appears in it: weir-blob's errors carry none).
async fn list(cx: &PollCtx<'_>, ns: &str, trigger: &BucketTrigger) -> Result<Vec<Listed>, String> {
    let uri = BlobUri::parse(&trigger.uri).map_err(|e| e.to_string())?;
    let glob = weir_core::triggers::bucket_pattern(trigger).map_err(|e| format!("pattern: {e}"))?;
    let secret = match &trigger.credentials_secret {
        Some(name) => Some(cx.buckets.secret(cx.client, ns, name).await?),
        None => None,
    };
    let store = cx.buckets.store(trigger, &uri, secret.as_deref()).await?;
    let prefix = uri.key().to_owned();
    let objects: Vec<_> = store
        .list(&prefix, None)
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(objects
        .into_iter()
        .filter(|o| {
            let below = o.key.strip_prefix(&prefix).unwrap_or(&o.key);
            glob.as_ref().is_none_or(|g| g.matches_at_any_depth(below))
        })
        .map(|o| Listed {
            content: content_id(&o),
            modified: o.last_modified.unwrap_or_default(),
            key: o.key,
            size: o.size,
            etag: o.etag,
            generation: o.generation,
        })
        .collect())
}

/// What identifies an object's bytes: its MD5 when the store keeps one (S3 single-part
/// ETags, GCS md5Hash), else its etag (S3 multipart), else its generation.
fn content_id(o: &weir_blob::ObjectMeta) -> String {
    if let Some(md5) = o.checksums.md5 {
        return md5.iter().map(|b| format!("{b:02x}")).collect();
    }
    o.etag
        .clone()
        .or_else(|| o.generation.clone())
        .unwrap_or_else(|| format!("{}@{:?}", o.size, o.last_modified))
}

fn trigger_store(trigger: &BucketTrigger) -> &'static str {
    if trigger.uri.starts_with("gs://") {
        "gs"
    } else {
        "s3"
    }
}

impl Buckets {
    fn last_poll(&self, key: &(String, String)) -> Option<Instant> {
        self.polled.lock().ok().and_then(|m| m.get(key).copied())
    }

    /// Records the polls of `polled` once their state is written: until then, every
    /// reconcile polls again (and finds the runs it created), so a run is never deleted by
    /// the history limits before the state accounting for its object is recorded.
    pub(crate) fn mark(&self, polled: &Polled) {
        if let Ok(mut m) = self.polled.lock() {
            for key in &polled.keys {
                m.insert(key.clone(), Instant::now());
            }
        }
    }

    /// The credentials Secret `name` of namespace `ns`, read by name (the only Secrets the
    /// controller reads: those a trigger names) at most once a [`SECRET_TTL`]. Errors name
    /// the Secret and the missing key, never a value.
    async fn secret(
        &self,
        client: &kube::Client,
        ns: &str,
        name: &str,
    ) -> Result<Arc<SecretRead>, String> {
        let id = format!("{ns}/{name}");
        let cached = self.secrets.lock().ok().and_then(|m| m.get(&id).cloned());
        if let Some(read) = cached.filter(|r| r.at.elapsed() < SECRET_TTL) {
            return Ok(read);
        }
        let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
        let secret = api.get(name).await.map_err(|e| match e {
            kube::Error::Api(s) => format!("credentials Secret {id}: {}", s.message),
            _ => format!("credentials Secret {id}: cannot read it"),
        })?;
        let data = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| {
                let text = String::from_utf8(v.0).ok()?;
                Some((k, weir_blob::SecretText::new(text)))
            })
            .collect();
        let read = Arc::new(SecretRead {
            at: Instant::now(),
            version: format!(
                "{id}@{}",
                secret.metadata.resource_version.unwrap_or_default()
            ),
            data,
        });
        if let Ok(mut m) = self.secrets.lock() {
            m.insert(id, read.clone());
        }
        Ok(read)
    }

    /// The store of the trigger's bucket, opened once per bucket, settings and credentials.
    /// Credentials come from the Secret the trigger names, else the default chain (workload
    /// identity on GKE, IRSA on EKS, the environment): then no Secret is read at all.
    async fn store(
        &self,
        trigger: &BucketTrigger,
        uri: &BlobUri,
        secret: Option<&SecretRead>,
    ) -> Result<Arc<dyn Store>, String> {
        let path_style = trigger.path_style.unwrap_or(trigger.endpoint.is_some());
        let key = StoreKey {
            bucket: format!("{}{}", uri.scheme().prefix(), uri.bucket()),
            endpoint: trigger.endpoint.clone(),
            region: trigger.region.clone(),
            path_style,
            secret: secret.map(|s| s.version.clone()),
        };
        if let Some(store) = self.stores.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(store);
        }
        let mut options = Options::default();
        options.s3.endpoint.clone_from(&trigger.endpoint);
        options.s3.region.clone_from(&trigger.region);
        options.s3.path_style = path_style;
        options.gcs.endpoint.clone_from(&trigger.endpoint);
        if let Some(secret) = secret {
            let get = |k: &str| {
                secret.data.get(k).cloned().ok_or_else(|| {
                    let id = secret.version.split('@').next().unwrap_or_default();
                    format!("credentials Secret {id}: no key {k}")
                })
            };
            match uri.scheme() {
                weir_blob::Scheme::Gcs => {
                    options.gcs.credentials = weir_blob::GcsCredentials::KeyJson(get(GCS_KEY)?);
                }
                _ => {
                    options.s3.credentials = Some(weir_blob::StaticCredentials {
                        access_key_id: get(AWS_KEY_ID)?.expose().to_owned(),
                        secret_access_key: get(AWS_SECRET)?.expose().to_owned(),
                    });
                }
            }
        }
        let store: Arc<dyn Store> = Arc::from(
            weir_blob::open(uri, &options)
                .await
                .map_err(|e| e.to_string())?,
        );
        if let Ok(mut m) = self.stores.lock() {
            m.insert(key, store.clone());
        }
        Ok(store)
    }
}
