//! The webhook over real HTTP: a server on 127.0.0.1:0, a real client, and fakes behind
//! [`Keys`], [`Starter`] and [`Confirmer`] that record what reached them.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;

use super::parse::tests::{
    GCS_OBJECT, MINIO_PUT, S3_PUT, SNS_CONFIRMATION, pubsub_push, sns_notification,
};
use super::*;
use crate::metrics::Metrics;

const SECRET: &[u8] = b"hook-secret";

/// Knows `ns/signed` (signature) and `ns/token` (token); every other pipeline is unknown.
struct FakeKeys;

#[async_trait::async_trait]
impl Keys for FakeKeys {
    async fn key(&self, ns: &str, pipeline: &str) -> Result<HookKey, StartError> {
        let auth = match (ns, pipeline) {
            ("ns", "signed") => WebhookAuth::Signature,
            ("ns", "token") => WebhookAuth::Token,
            _ => return Err(StartError::NotFound(format!("{ns}/{pipeline}"))),
        };
        Ok(HookKey {
            secret: SECRET.to_vec(),
            auth,
        })
    }
}

/// Creates "runs" by deterministic name, like the API server would: a name seen before is
/// an existing run.
#[derive(Default)]
struct FakeStarter {
    calls: Mutex<Vec<Vec<ObjectEvent>>>,
    created: Mutex<BTreeSet<String>>,
    down: AtomicBool,
}

impl FakeStarter {
    fn calls(&self) -> Vec<Vec<ObjectEvent>> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Starter for FakeStarter {
    async fn start(
        &self,
        _ns: &str,
        pipeline: &str,
        events: Vec<ObjectEvent>,
    ) -> Result<StartOutcome, StartError> {
        self.calls.lock().unwrap().push(events.clone());
        if self.down.load(Ordering::SeqCst) {
            return Err(StartError::Unavailable("the API server is down".into()));
        }
        let mut outcome = StartOutcome::default();
        for e in events {
            let name = weir_core::bucket::run_name(pipeline, "t", &e.uri, &e.content);
            if self.created.lock().unwrap().insert(name.clone()) {
                outcome.started.push(name);
            } else {
                outcome.existing.push(name);
            }
        }
        Ok(outcome)
    }
}

#[derive(Default)]
struct FakeConfirmer(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl Confirmer for FakeConfirmer {
    async fn confirm(&self, url: &str) -> Result<(), String> {
        self.0.lock().unwrap().push(url.to_string());
        Ok(())
    }
}

struct Server {
    base: String,
    http: reqwest::Client,
    starter: Arc<FakeStarter>,
    confirmer: Arc<FakeConfirmer>,
    metrics: Arc<Metrics>,
}

impl Server {
    /// A server whose buckets never refill (rate 0), holding `burst` requests each.
    async fn start(burst: u32, confirm: bool) -> Self {
        let starter = Arc::new(FakeStarter::default());
        let confirmer = Arc::new(FakeConfirmer::default());
        let metrics = Arc::new(Metrics::new());
        let hooks = Hooks {
            keys: Arc::new(FakeKeys),
            starter: starter.clone(),
            confirmer: confirm.then(|| confirmer.clone() as Arc<dyn Confirmer>),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = WebhookConfig {
            rate: 0.0,
            burst,
            ..WebhookConfig::at(addr)
        };
        let m = metrics.clone();
        tokio::spawn(
            async move { serve_on(listener, &config, hooks, m, std::future::pending()).await },
        );
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            starter,
            confirmer,
            metrics,
        }
    }

    async fn post(&self, path: &str, headers: &[(&str, String)], body: &str) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    async fn signed(&self, path: &str, body: &str) -> (u16, String) {
        self.post(
            path,
            &[(SIGNATURE_HEADER, sign(SECRET, body.as_bytes()))],
            body,
        )
        .await
    }

    fn rejections(&self, cause: &'static str) -> u64 {
        use crate::metrics::CauseLabel;
        self.metrics
            .webhook_rejections
            .get_or_create(&CauseLabel { cause })
            .get()
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn a_signed_s3_notification_starts_its_object_once_even_when_replayed() {
    let s = Server::start(50, false).await;
    let (status, body) = s.signed("/hooks/ns/signed", S3_PUT).await;
    assert_eq!(status, 200, "{body}");
    let got = json(&body);
    assert_eq!(got["started"].as_array().unwrap().len(), 1);
    assert_eq!(got["ignored"], 1, "the delete record");
    let calls = s.starter.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0][0].uri,
        "s3://landing/raw/2026-11-29/sales report été.parquet"
    );

    // The same notification again: the replay cache answers, the starter is not called.
    let (status, body) = s.signed("/hooks/ns/signed", S3_PUT).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["replayed"], 1);
    assert_eq!(s.starter.calls().len(), 1);

    // The same write through SNS (signed): the same event id, still one run.
    let (status, body) = s
        .signed("/hooks/ns/signed", &sns_notification(S3_PUT))
        .await;
    assert_eq!((status, json(&body)["replayed"].clone()), (200, 1.into()));
    assert_eq!(s.starter.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn missing_or_bad_signatures_are_401_and_start_nothing() {
    let s = Server::start(50, false).await;
    let (status, _) = s.post("/hooks/ns/signed", &[], S3_PUT).await;
    assert_eq!(status, 401);
    let wrong = sign(b"not-the-secret", S3_PUT.as_bytes());
    let (status, body) = s
        .post("/hooks/ns/signed", &[(SIGNATURE_HEADER, wrong)], S3_PUT)
        .await;
    assert_eq!((status, body.as_str()), (401, "unauthorized\n"));
    // A signature of another body.
    let other = sign(SECRET, MINIO_PUT.as_bytes());
    let (status, _) = s
        .post("/hooks/ns/signed", &[(SIGNATURE_HEADER, other)], S3_PUT)
        .await;
    assert_eq!(status, 401);
    // The secret as a bearer token is not a signature.
    let bearer = [(
        "authorization",
        format!("Bearer {}", std::str::from_utf8(SECRET).unwrap()),
    )];
    let (status, _) = s.post("/hooks/ns/signed", &bearer, S3_PUT).await;
    assert_eq!(status, 401);
    assert!(s.starter.calls().is_empty());
    assert_eq!(s.rejections("missing_auth"), 2);
    assert_eq!(s.rejections("bad_auth"), 2);
    assert!(
        s.metrics
            .encode()
            .contains("weir_webhook_rejections_total{cause=\"bad_auth\"} 2")
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_with_one_line_and_unknown_pipelines_404() {
    let s = Server::start(50, false).await;
    let (status, body) = s
        .signed("/hooks/ns/signed", r#"{"Records": [{"eventName": 1}]}"#)
        .await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("S3 notification:") && body.trim_end().lines().count() == 1,
        "{body:?}"
    );
    let (status, _) = s.signed("/hooks/ns/signed", "{not json").await;
    assert_eq!(status, 400);
    let (status, _) = s.signed("/hooks/ns/nope", S3_PUT).await;
    assert_eq!(status, 404);
    let (status, _) = s.signed("/hooks/other/signed", S3_PUT).await;
    assert_eq!(status, 404);
    let (status, _) = s.signed("/hooks/ns", S3_PUT).await;
    assert_eq!(status, 404, "not a hook path");
    let huge = "x".repeat(MAX_BODY + 1);
    let (status, _) = s.signed("/hooks/ns/signed", &huge).await;
    assert_eq!(status, 413);
    assert!(s.starter.calls().is_empty());
    assert_eq!(
        (
            s.rejections("malformed"),
            s.rejections("not_found"),
            s.rejections("too_large")
        ),
        (2, 2, 1)
    );
}

#[tokio::test]
async fn sns_subscription_confirmation_is_logged_and_fetched_only_when_turned_on() {
    let basic = base64::engine::general_purpose::STANDARD.encode("sns:hook-secret");
    let auth = [("authorization", format!("Basic {basic}"))];
    let off = Server::start(50, false).await;
    let (status, body) = off.post("/hooks/ns/token", &auth, SNS_CONFIRMATION).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("not confirmed"));
    assert!(off.confirmer.0.lock().unwrap().is_empty());

    let on = Server::start(50, true).await;
    let (status, _) = on.post("/hooks/ns/token", &[], SNS_CONFIRMATION).await;
    assert_eq!(status, 401, "confirmation requests are authenticated too");
    assert!(on.confirmer.0.lock().unwrap().is_empty());
    let (status, body) = on.post("/hooks/ns/token", &auth, SNS_CONFIRMATION).await;
    assert_eq!((status, body.as_str()), (200, "subscription confirmed\n"));
    let fetched = on.confirmer.0.lock().unwrap().clone();
    assert_eq!(fetched.len(), 1);
    assert!(
        fetched[0].starts_with("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription")
    );

    // And an SNS notification with the same credentials starts its object.
    let (status, body) = on
        .post("/hooks/ns/token", &auth, &sns_notification(MINIO_PUT))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["started"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pubsub_pushes_authenticate_with_a_query_token() {
    let s = Server::start(50, false).await;
    let push = pubsub_push("OBJECT_FINALIZE", Some(GCS_OBJECT));
    let (status, _) = s.post("/hooks/ns/token?token=wrong", &[], &push).await;
    assert_eq!(status, 401);
    let (status, body) = s
        .post("/hooks/ns/token?token=hook-secret", &[], &push)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        s.starter.calls()[0][0].uri,
        "gs://landing-gcs/raw/day=2026-11-29/part-0.parquet"
    );
    // Pub/Sub redelivers the same message: nothing new.
    let (_, body) = s
        .post("/hooks/ns/token?token=hook-secret", &[], &push)
        .await;
    assert_eq!(json(&body)["replayed"], 1);
    assert_eq!(s.starter.calls().len(), 1);
}

#[tokio::test]
async fn a_failed_start_is_503_and_not_remembered_so_the_retry_starts_it() {
    let s = Server::start(50, false).await;
    s.starter.down.store(true, Ordering::SeqCst);
    let (status, _) = s.signed("/hooks/ns/signed", MINIO_PUT).await;
    assert_eq!(status, 503);
    s.starter.down.store(false, Ordering::SeqCst);
    let (status, body) = s.signed("/hooks/ns/signed", MINIO_PUT).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["started"].as_array().unwrap().len(), 1);
    assert_eq!(s.starter.calls().len(), 2);
    assert_eq!(s.rejections("unavailable"), 1);
}

#[tokio::test]
async fn a_flood_is_limited_per_pipeline_with_429() {
    let s = Server::start(3, false).await;
    let mut statuses = vec![];
    for _ in 0..6 {
        statuses.push(s.post("/hooks/ns/signed", &[], "{}").await.0);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429, 429],
        "unauthenticated requests use the bucket too"
    );
    let res = s
        .http
        .post(format!("{}/hooks/ns/signed", s.base))
        .body(S3_PUT)
        .header(SIGNATURE_HEADER, sign(SECRET, S3_PUT.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        429,
        "a valid request waits its turn too"
    );
    assert_eq!(res.headers()["retry-after"], "1");
    // Another pipeline has its own bucket.
    let (status, _) = s.post("/hooks/ns/token", &[], "{}").await;
    assert_eq!(status, 401);
    assert_eq!(s.rejections("rate_limited"), 4);
    assert!(s.starter.calls().is_empty());
}
