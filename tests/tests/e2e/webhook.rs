//! The object-notification webhook end to end: a `weir controller --webhook-addr` process,
//! a Pipeline with a bucket trigger and `spec.triggers.webhook` naming a real Secret, and
//! real HTTP requests. Signatures are computed here with hmac/sha2, not with weir's own
//! code, so a mistake in weir's signing cannot hide itself. The bucket trigger's endpoint is
//! a closed loopback port: its listing (if any) fails fast and never leaves the machine.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{ObjectMeta, PostParams};
use weir_api::v1alpha1::PipelineRun;
use weir_e2e::weir::{Controller, create_pipeline, free_port, sample, scrape};
use weir_e2e::{TestNamespace, wait};

const SECRET: &str = "e2e-webhook-secret";

const PIPELINE: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: landing}
spec:
  params: [{name: uri}]
  triggers:
    buckets:
    - {name: csv, uri: "s3://weir-e2e-landing/in/", pattern: "*.csv", pollInterval: 1h, endpoint: "http://127.0.0.1:9"}
    webhook:
      secretKeyRef: {name: landing-hook, key: secret}
  steps:
  - {name: load, job: {image: example.invalid/x:1}}
"#;

/// An S3 notification of one `Put` (the key URL-encoded, as S3 sends it).
fn s3_put(key: &str, etag: &str, sequencer: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-29T21:04:05.123Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "weir-e2e-landing"},
               "object": {"key": key, "size": 12, "eTag": etag, "sequencer": sequencer}}
    }]})
    .to_string()
}

fn signature(body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

struct Hook {
    url: String,
    http: reqwest::Client,
}

impl Hook {
    async fn post(&self, path: &str, body: &str, signed: bool) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .body(body.to_string());
        if signed {
            req = req.header("X-Weir-Signature", signature(body));
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(text.into()))
    }
}

async fn runs(ns: &TestNamespace) -> Vec<PipelineRun> {
    ns.api::<PipelineRun>()
        .list(&Default::default())
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn webhook_notifications_start_one_run_per_object_and_refuse_the_rest() {
    let ns = TestNamespace::create("webhook").await;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("landing-hook".into()),
            ..Default::default()
        },
        data: Some(
            [(
                "secret".to_string(),
                ByteString(format!("{SECRET}\n").into_bytes()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    create_pipeline(&ns, PIPELINE).await;
    let (port, metrics) = (free_port(), free_port());
    let (addr, maddr) = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{metrics}"));
    let args = [
        "--webhook-addr",
        &addr,
        "--metrics-addr",
        &maddr,
        "--webhook-rate",
        "0.001",
        "--webhook-burst",
        "12",
    ];
    let mut ctl = Controller::start_with(&ns, "controller", &args).await;
    ctl.until_logged("serving POST /hooks", Duration::from_secs(30))
        .await;
    let hook = Hook {
        url: format!("http://{addr}/hooks/{}", ns.name()),
        http: reqwest::Client::new(),
    };

    // 1. A signed notification starts one run with the URI and the object's facts.
    let put = s3_put(
        "in/day%3D1/sales+2026.csv",
        "\"0cc175b9c0f1b6a831c399e269772661\"",
        "0055AED6DCD90281E5",
    );
    let (status, body) = hook.post("/landing", &put, true).await;
    assert_eq!(status, 200, "{body}");
    let name = body["started"][0].as_str().unwrap().to_string();
    let run = wait::until_exists(
        &ns.api::<PipelineRun>(),
        &name,
        Duration::from_secs(10),
        "the run",
    )
    .await;
    assert_eq!(
        run.spec.params["uri"],
        "s3://weir-e2e-landing/in/day=1/sales 2026.csv"
    );
    let a = run.annotations();
    assert_eq!(a["weir.dev/started-by"], "webhook");
    assert_eq!(a["weir.dev/object-key"], "in/day=1/sales 2026.csv");
    assert_eq!(a["weir.dev/object-size"], "12");
    assert_eq!(
        a["weir.dev/object-etag"],
        "0cc175b9c0f1b6a831c399e269772661"
    );

    // 2. Replays: at once (the cache), and after a restart (the cache is gone; the name
    //    collapses at creation). The same content notified with a new sequencer is no new run.
    assert_eq!(hook.post("/landing", &put, true).await.1["replayed"], 1);
    ctl.restart();
    ctl.until_logged("serving POST /hooks", Duration::from_secs(30))
        .await;
    let (status, body) = wait::poll(
        Duration::from_secs(20),
        Duration::from_millis(200),
        "the restarted webhook",
        || async {
            hook.http.get(&hook.url).send().await.ok()?;
            Some(hook.post("/landing", &put, true).await)
        },
    )
    .await;
    assert_eq!(
        (status, body["existing"][0].as_str()),
        (200, Some(name.as_str())),
        "{body}"
    );
    let again = s3_put(
        "in/day%3D1/sales+2026.csv",
        "0cc175b9c0f1b6a831c399e269772661",
        "0055AED6DCD90281FF",
    );
    assert_eq!(
        hook.post("/landing", &again, true).await.1["existing"][0].as_str(),
        Some(name.as_str())
    );
    // New content under the same key is a new object.
    let rewritten = s3_put(
        "in/day%3D1/sales+2026.csv",
        "92eb5ffee6ae2fec3ad71c777531578f",
        "0055AED6DCD9028200",
    );
    assert_eq!(
        hook.post("/landing", &rewritten, true).await.1["started"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // 3. Refusals start nothing: no or a wrong signature, a malformed body, an unknown
    //    pipeline, an object outside the pattern (200, ignored).
    let other = s3_put("in/other.csv", "e1", "01");
    assert_eq!(hook.post("/landing", &other, false).await.0, 401);
    let bearer = hook
        .http
        .post(format!("{}/landing", hook.url))
        .body(other.clone())
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status().as_u16(),
        401,
        "this pipeline wants signatures, not tokens"
    );
    let forged = hook
        .http
        .post(format!("{}/landing", hook.url))
        .body(other.clone())
        .header("X-Weir-Signature", signature("{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    assert_eq!(hook.post("/landing", "{\"Records\": 7}", true).await.0, 400);
    assert_eq!(hook.post("/nope", &other, true).await.0, 404);
    let (status, body) = hook
        .post("/landing", &s3_put("in/x.json", "e2", "02"), true)
        .await;
    assert_eq!((status, body["ignored"].as_u64()), (200, Some(1)));

    // 4. SNS asks to confirm: 200, and the SubscribeURL is logged (nothing is fetched).
    let confirm = serde_json::json!({"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=e2e"}).to_string();
    assert_eq!(hook.post("/landing", &confirm, true).await.0, 200);
    ctl.until_logged(
        "Action=ConfirmSubscription&Token=e2e",
        Duration::from_secs(5),
    )
    .await;

    // 5. A flood: the burst (12 a start, counted since the restart) runs out, then 429.
    let mut codes = vec![];
    for _ in 0..12 {
        codes.push(hook.post("/landing", &other, false).await.0);
    }
    assert!(codes.contains(&429), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 401 || *c == 429), "{codes:?}");

    // Exactly two runs exist: the object and its rewrite.
    let all = runs(&ns).await;
    assert_eq!(
        all.len(),
        2,
        "{:?}",
        all.iter().map(|r| r.name_any()).collect::<Vec<_>>()
    );
    let text = scrape(metrics).await.unwrap_or_default();
    for (series, at_least) in [
        ("weir_webhook_rejections_total{cause=\"missing_auth\"}", 1.0),
        ("weir_webhook_rejections_total{cause=\"bad_auth\"}", 1.0),
        ("weir_webhook_rejections_total{cause=\"malformed\"}", 1.0),
        ("weir_webhook_rejections_total{cause=\"not_found\"}", 1.0),
        ("weir_webhook_rejections_total{cause=\"rate_limited\"}", 1.0),
    ] {
        let got = sample(&text, series).unwrap_or(0.0);
        assert!(got >= at_least, "{series} = {got}\n{}", ctl.log());
    }
}
