//! A bucket trigger's credentials Secret: used, and never shown anywhere.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use weir_api::v1alpha1::{Pipeline, PipelineRun};
use weir_e2e::objstore;
use weir_e2e::weir::{Controller, create_pipeline};
use weir_e2e::{TestNamespace, wait};

use super::blob::{create_s3_bucket, s3_options};
use super::triggers::{csv, open, pipeline, put_all, until_polled, until_started};

/// A credential planted in a Secret that a trigger names: the trigger works with it, and its
/// value appears nowhere else — not in the controller's log at debug level, Events, the
/// Pipeline's or runs' status, or Job specs. A Secret lacking a key is an error naming the
/// key, not a value.
#[tokio::test]
async fn a_credentials_secret_is_used_and_never_shown() {
    let ns = TestNamespace::create("bucket-trigger-secret").await;
    let bucket = create_s3_bucket("secret").await;
    let uri = format!("s3://{bucket}/in/");
    let planted = format!("planted-{}-value", std::process::id());
    let secret = |name: &str, keys: &[(&str, &str)]| Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        string_data: Some(
            keys.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..Default::default()
    };
    let secrets = ns.api::<Secret>();
    let post = kube::api::PostParams::default();
    let full = secret(
        "bucket-keys",
        &[
            ("AWS_ACCESS_KEY_ID", "weir-test-key-id"),
            ("AWS_SECRET_ACCESS_KEY", &planted),
        ],
    );
    secrets.create(&post, &full).await.unwrap();
    let half = secret("half-keys", &[("AWS_SECRET_ACCESS_KEY", &planted)]);
    secrets.create(&post, &half).await.unwrap();
    // No AWS_* in the controller's environment: the Secret is the only way in.
    let _controller = Controller::start_with_env(
        &ns,
        "controller",
        &["--log", "debug"],
        &[("AWS_EC2_METADATA_DISABLED", "true")],
    )
    .await;
    let endpoint = objstore::endpoints().s3;
    // Both triggers name a Secret and the loopback endpoint; `half` lacks a key.
    let half = format!(
        "\n    - {{name: half, uri: 's3://nowhere/', endpoint: '{endpoint}', credentialsSecret: half-keys}}"
    );
    let yaml: String = pipeline(&uri, Some(&endpoint))
        .replace("pattern:", "credentialsSecret: bucket-keys, pattern:")
        .lines()
        .map(|l| match l.contains("name: csv") {
            true => format!("{l}{half}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    create_pipeline(&ns, &yaml).await;
    until_polled(&ns).await;
    let store = open(&uri, &s3_options()).await;
    let keys: Vec<String> = (0..3).map(|i| format!("in/{i}.csv")).collect();
    put_all(store.as_ref(), &keys, csv).await;
    let p = until_started(&ns, 3, Duration::from_secs(120)).await;
    let half = p.status.clone().unwrap_or_default().buckets[1].clone();
    let error = half.last_error.unwrap_or_default();
    assert!(error.contains("no key AWS_ACCESS_KEY_ID"), "{error}");
    // Let the runs make their Jobs, then look everywhere the value could leak.
    wait::poll(
        Duration::from_secs(60),
        Duration::from_millis(200),
        "the Jobs",
        || async {
            let n = ns
                .api::<Job>()
                .list(&Default::default())
                .await
                .ok()?
                .items
                .len();
            (n >= 3).then_some(())
        },
    )
    .await;
    let mut places = vec![("controller log".to_owned(), _controller.log())];
    let dump = |what: &str, v: serde_json::Value| (what.to_owned(), v.to_string());
    let lp = kube::api::ListParams::default();
    let events = ns
        .api::<k8s_openapi::api::events::v1::Event>()
        .list(&lp)
        .await
        .unwrap();
    places.push(dump("events", serde_json::to_value(&events.items).unwrap()));
    let pipelines = ns.api::<Pipeline>().list(&lp).await.unwrap();
    places.push(dump(
        "pipelines",
        serde_json::to_value(&pipelines.items).unwrap(),
    ));
    let runs = ns.api::<PipelineRun>().list(&lp).await.unwrap();
    places.push(dump("runs", serde_json::to_value(&runs.items).unwrap()));
    let jobs = ns.api::<Job>().list(&lp).await.unwrap();
    places.push(dump("jobs", serde_json::to_value(&jobs.items).unwrap()));
    assert!(
        places[0].1.contains("bucket trigger poll failed"),
        "the log is at debug level and has the trigger's lines"
    );
    for (place, text) in &places {
        assert!(
            !text.contains(&planted),
            "the planted credential appears in the {place}"
        );
    }
}
