//! [`Keys`] and [`Starter`] through the API server: the pipeline's webhook trigger names a
//! Secret key, and each event covered by one of its bucket triggers becomes a PipelineRun
//! with a name derived from the trigger, the object's URI and its version, so the same
//! object written once starts one run however often it is notified.
//!
//! The only Secret read is the one `spec.triggers.webhook.secretKeyRef` names, read by name
//! (`get`), so RBAC can grant exactly that Secret (`resourceNames`) and nothing else.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use weir_api::v1alpha1::{BucketTrigger, Pipeline, PipelineRun};
use weir_core::bucket::{self, Listed};
use weir_glob::Glob;

use super::{HookKey, Keys, ObjectEvent, StartError, StartOutcome, Starter};

/// Pipelines, Secrets and runs through `client`.
#[derive(Clone)]
pub struct KubeHooks {
    client: Client,
    /// The controller's `--namespace`: hooks of other namespaces do not exist.
    namespace: Option<String>,
}

impl KubeHooks {
    /// Hooks of pipelines in `namespace` (every namespace when `None`).
    pub fn new(client: Client, namespace: Option<String>) -> Self {
        Self { client, namespace }
    }

    /// The pipeline, when it exists, is watched by this controller and has a webhook
    /// trigger.
    async fn pipeline(&self, ns: &str, name: &str) -> Result<Pipeline, StartError> {
        let missing = || StartError::NotFound(format!("no webhook for pipeline {ns}/{name}"));
        if self
            .namespace
            .as_deref()
            .is_some_and(|watched| watched != ns)
        {
            return Err(missing());
        }
        let api: Api<Pipeline> = Api::namespaced(self.client.clone(), ns);
        let pipeline = api
            .get_opt(name)
            .await
            .map_err(|e| StartError::Unavailable(format!("reading pipeline {ns}/{name}: {e}")))?
            .ok_or_else(missing)?;
        if pipeline.spec.triggers.webhook.is_none() {
            return Err(missing());
        }
        Ok(pipeline)
    }
}

#[async_trait::async_trait]
impl Keys for KubeHooks {
    async fn key(&self, ns: &str, pipeline: &str) -> Result<HookKey, StartError> {
        let p = self.pipeline(ns, pipeline).await?;
        let Some(hook) = p.spec.triggers.webhook else {
            return Err(StartError::NotFound(format!(
                "no webhook for pipeline {ns}/{pipeline}"
            )));
        };
        let r = &hook.secret_key_ref;
        let unavailable = |why: String| {
            StartError::Unavailable(format!(
                "pipeline {ns}/{pipeline}: spec.triggers.webhook.secretKeyRef: Secret {ns}/{}: {why}",
                r.name
            ))
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let secret = secrets
            .get_opt(&r.name)
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .ok_or_else(|| unavailable("not found".into()))?;
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&r.key))
            .ok_or_else(|| unavailable(format!("has no key {:?}", r.key)))?;
        let trimmed = value.0.trim_ascii();
        if trimmed.is_empty() {
            return Err(unavailable(format!("key {:?} is empty", r.key)));
        }
        Ok(HookKey {
            secret: trimmed.to_vec(),
            auth: hook.auth,
        })
    }
}

#[async_trait::async_trait]
impl Starter for KubeHooks {
    async fn start(
        &self,
        ns: &str,
        pipeline: &str,
        events: Vec<ObjectEvent>,
    ) -> Result<StartOutcome, StartError> {
        let p = self.pipeline(ns, pipeline).await?;
        let runs: Api<PipelineRun> = Api::namespaced(self.client.clone(), ns);
        let mut outcome = StartOutcome::default();
        for event in &events {
            let Some(trigger) = route(&p.spec.triggers.buckets, event) else {
                outcome.ignored += 1;
                continue;
            };
            let run = object_run(&p.name_any(), trigger, event);
            let name = run.name_any();
            match runs.create(&PostParams::default(), &run).await {
                Ok(_) => outcome.started.push(name),
                Err(kube::Error::Api(s)) if s.code == 409 => outcome.existing.push(name),
                Err(e) => {
                    return Err(StartError::Unavailable(format!(
                        "creating run {ns}/{name} for {}: {e}",
                        event.uri
                    )));
                }
            }
        }
        Ok(outcome)
    }
}

/// The bucket trigger that covers the event's object: same store and bucket, the key
/// under the trigger's prefix and matching its pattern. The first one wins.
pub(crate) fn route<'a>(
    triggers: &'a [BucketTrigger],
    event: &ObjectEvent,
) -> Option<&'a BucketTrigger> {
    triggers.iter().find(|t| {
        let Some((scheme, rest)) = t.uri.split_once("://") else {
            return false;
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let under = event
            .uri
            .strip_prefix(&format!("{scheme}://{bucket}/"))
            .and_then(|key| key.strip_prefix(prefix));
        match (under, &t.pattern) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(rel), Some(pattern)) => {
                Glob::new(pattern).is_ok_and(|g| g.matches_at_any_depth(rel))
            }
        }
    })
}

/// The run an object starts: the same as a bucket trigger's listing would start for it
/// (`weir_core::bucket::object_run`: one name, parameter and annotations), started by
/// `webhook`.
pub(crate) fn object_run(
    pipeline: &str,
    trigger: &BucketTrigger,
    event: &ObjectEvent,
) -> PipelineRun {
    let gcs = event.uri.starts_with("gs://");
    let object = Listed {
        key: event.key.clone(),
        size: event.size.unwrap_or_default(),
        etag: (!gcs).then(|| event.etag_or_generation.clone()),
        generation: gcs.then(|| event.etag_or_generation.clone()),
        content: event.content.clone(),
        modified: event.time.unwrap_or_else(jiff::Timestamp::now),
    };
    bucket::object_run(pipeline, trigger, &object, "webhook")
}

/// Confirms SNS subscriptions with an HTTPS GET of the `SubscribeURL`, only to
/// `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`), without redirects: an
/// authenticated sender still cannot make the controller fetch anything else.
#[derive(Clone)]
pub struct SnsConfirmer {
    http: reqwest::Client,
}

impl SnsConfirmer {
    /// A client with a 10 s timeout and no redirects.
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
        Ok(Self { http })
    }
}

#[async_trait::async_trait]
impl super::Confirmer for SnsConfirmer {
    async fn confirm(&self, subscribe_url: &str) -> Result<(), String> {
        let url = sns_url(subscribe_url)?;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET SubscribeURL: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("GET SubscribeURL: {}", response.status()))
        }
    }
}

/// `url` when it is an SNS endpoint over HTTPS; else why not.
pub(crate) fn sns_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("SubscribeURL {url:?}: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let region = host.strip_prefix("sns.").and_then(|h| {
        h.strip_suffix(".amazonaws.com")
            .or(h.strip_suffix(".amazonaws.com.cn"))
    });
    let ok = parsed.scheme() == "https"
        && parsed.port().is_none()
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && region.is_some_and(|r| {
            !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(parsed)
    } else {
        Err(format!(
            "SubscribeURL {url:?} is not https://sns.<region>.amazonaws.com/: not fetched"
        ))
    }
}

#[cfg(test)]
#[path = "kube_hooks_tests.rs"]
mod tests;
