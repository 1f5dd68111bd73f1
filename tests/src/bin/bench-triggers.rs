#![expect(
    clippy::expect_used,
    reason = "a benchmark harness: a failed setup step aborts it with its message"
)]

//! The bucket triggers' benchmark (issue 12) on the local cluster and S3 server (moto):
//!
//! - trigger lag: objects uploaded one at a time to a bucket a Pipeline polls every second;
//!   for each, from the upload's completion to the moment a watch sees its run (p50/p99);
//! - poll cost: a bucket with 10,000 and 100,000 objects under the prefix; one poll's
//!   listing through weir-blob (the controller's own code path), its requests and time, and
//!   the planner's decision over that listing.
//!
//! Run by `bench/triggers.sh`; prints Markdown for BENCHMARKS.md.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use kube::ResourceExt;
use kube::runtime::{WatchStreamExt, watcher};
use weir_api::labels;
use weir_api::v1alpha1::{BucketTrigger, PipelineRun};
use weir_blob::{BlobUri, Options, S3Options, StaticCredentials, Store};
use weir_core::bucket::{Listed, plan_bucket};
use weir_e2e::TestNamespace;
use weir_e2e::objstore;
use weir_e2e::weir::{Controller, create_pipeline};

fn options() -> Options {
    let ep = objstore::endpoints();
    Options {
        s3: S3Options {
            endpoint: Some(ep.s3),
            region: Some(ep.s3_region),
            path_style: true,
            credentials: Some(StaticCredentials {
                access_key_id: ep.s3_access_key_id,
                secret_access_key: ep.s3_secret_access_key,
            }),
        },
        ..Options::default()
    }
}

async fn bucket(name: &str) -> Box<dyn Store> {
    let created = objstore::http()
        .put(format!("{}/{name}", objstore::endpoints().s3))
        .send()
        .await
        .expect("create bucket");
    assert!(created.status().is_success(), "create bucket: {created:?}");
    let uri = BlobUri::parse(&format!("s3://{name}/")).expect("uri");
    weir_blob::open(&uri, &options()).await.expect("open")
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Uploads `n` small objects under `prefix`, 32 at a time.
async fn fill(store: &dyn Store, prefix: &str, n: usize) {
    stream::iter(0..n)
        .map(|i| store.put_owned(format!("{prefix}d={}/part-{i:06}.csv", i % 100)))
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .expect("upload");
}

trait PutOwned {
    fn put_owned(
        &self,
        key: String,
    ) -> futures::future::BoxFuture<'_, weir_blob::Result<weir_blob::ObjectMeta>>;
}

impl PutOwned for dyn Store + '_ {
    fn put_owned(
        &self,
        key: String,
    ) -> futures::future::BoxFuture<'_, weir_blob::Result<weir_blob::ObjectMeta>> {
        Box::pin(async move { self.put(&key, Bytes::from(format!("id\n{key}\n"))).await })
    }
}

/// One poll's listing and decision over `n` objects.
async fn poll_cost(n: usize) -> String {
    let name = format!("wb-bench-poll-{n}-{}", std::process::id());
    let store = bucket(&name).await;
    let started = Instant::now();
    fill(store.as_ref(), "raw/", n).await;
    let filled = started.elapsed();
    let mut times = vec![];
    let mut listed = vec![];
    for _ in 0..3 {
        let t = Instant::now();
        listed = store.list("raw/", None).try_collect().await.expect("list");
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let objects: Vec<Listed> = listed
        .into_iter()
        .map(|o| Listed {
            content: o.etag.clone().unwrap_or_default(),
            modified: o.last_modified.unwrap_or_default(),
            key: o.key,
            size: o.size,
            etag: o.etag,
            generation: o.generation,
        })
        .collect();
    assert_eq!(objects.len(), n);
    let trigger = BucketTrigger {
        name: "raw".into(),
        uri: format!("s3://{name}/raw/"),
        pattern: Some("*.csv".into()),
        ..Default::default()
    };
    let now = jiff::Timestamp::now();
    let t = Instant::now();
    let first = plan_bucket(&trigger, None, &objects, now);
    let again = plan_bucket(&trigger, Some(&first.state), &objects, now);
    let plan_ms = t.elapsed().as_secs_f64() * 1000.0 / 2.0;
    assert!(again.new.is_empty());
    format!(
        "| {n} | {} | {:.2} s | {:.1} ms | {} B | (upload of the {n} objects: {:.0} s) |",
        n.div_ceil(1000),
        pct(&times, 0.5),
        plan_ms,
        first.state.seen.len(),
        filled.as_secs_f64()
    )
}

/// The decision over a synthetic listing of `n` objects (moto lists ~1,000 keys a second,
/// so a real 100,000-object listing measures moto, not weir; the request count is
/// `n / 1000` on any S3 server).
fn decision_only(n: usize) -> String {
    let now = jiff::Timestamp::now();
    let objects: Vec<Listed> = (0..n)
        .map(|i| Listed {
            key: format!("raw/d={}/part-{i:06}.csv", i % 100),
            size: 10,
            etag: Some(format!("{i:032x}")),
            generation: None,
            content: format!("{i:032x}"),
            modified: now
                .checked_sub(jiff::SignedDuration::from_secs((n - i) as i64 / 50))
                .unwrap_or(now),
        })
        .collect();
    let trigger = BucketTrigger {
        name: "raw".into(),
        uri: "s3://b/raw/".into(),
        ..Default::default()
    };
    let t = Instant::now();
    let first = plan_bucket(&trigger, None, &objects, now);
    let again = plan_bucket(&trigger, Some(&first.state), &objects, now);
    let ms = t.elapsed().as_secs_f64() * 1000.0 / 2.0;
    assert!(again.new.is_empty());
    format!(
        "| {n} (synthetic listing, 50 objects/s arriving) | {} | not measured (moto) | {ms:.1} ms | {} B |  |",
        n.div_ceil(1000),
        first.state.seen.len()
    )
}

/// Objects uploaded one at a time (`gap` apart); for each, the time from the upload's
/// completion to the watch seeing its run.
async fn lag(objects: usize, gap: Duration) -> String {
    let ns = TestNamespace::create("bench-trigger-lag").await;
    let name = format!("wb-bench-lag-{}", std::process::id());
    let store = bucket(&name).await;
    let ep = objstore::endpoints();
    let env = [
        ("AWS_ACCESS_KEY_ID", ep.s3_access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", ep.s3_secret_access_key.as_str()),
    ];
    let _controller = Controller::start_with_env(&ns, "controller", &[], &env).await;
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let record = seen.clone();
    let runs = ns.api::<PipelineRun>();
    let watch = tokio::spawn(async move {
        let mut s = watcher(runs, watcher::Config::default())
            .default_backoff()
            .applied_objects()
            .boxed();
        while let Some(Ok(run)) = s.next().await {
            let key = run
                .annotations()
                .get(labels::OBJECT_KEY)
                .cloned()
                .unwrap_or_default();
            if let Ok(mut m) = record.lock() {
                m.entry(key).or_insert_with(Instant::now);
            }
        }
    });
    let yaml = format!(
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {{name: landing}}
spec:
  params: [{{name: uri}}]
  history: {{successfulRunsLimit: 5}}
  triggers:
    buckets:
    - {{name: raw, uri: 's3://{name}/raw/', pattern: '*.csv', pollInterval: 1s, endpoint: '{}'}}
  steps:
  - {{name: load, job: {{image: example.invalid/x:1}}}}
"#,
        ep.s3
    );
    create_pipeline(&ns, &yaml).await;
    // The first poll records the trigger's state; objects from then on are new.
    weir_e2e::wait::until(
        &ns.api::<weir_api::v1alpha1::Pipeline>(),
        "landing",
        Duration::from_secs(60),
        "the first poll",
        |p: &weir_api::v1alpha1::Pipeline| p.status.as_ref().is_some_and(|s| !s.buckets.is_empty()),
    )
    .await;
    let mut uploaded = HashMap::new();
    for i in 0..objects {
        let key = format!("raw/obj-{i:04}.csv");
        store
            .put(&key, Bytes::from(format!("id\n{i}\n")))
            .await
            .expect("upload");
        uploaded.insert(key, Instant::now());
        tokio::time::sleep(gap).await;
    }
    weir_e2e::wait::poll(
        Duration::from_secs(120),
        Duration::from_millis(100),
        "every object's run",
        || async { (seen.lock().map(|m| m.len()).unwrap_or_default() >= objects).then_some(()) },
    )
    .await;
    watch.abort();
    let seen = seen.lock().map(|m| m.clone()).unwrap_or_default();
    let mut lags: Vec<f64> = uploaded
        .iter()
        .map(|(k, up)| seen[k].saturating_duration_since(*up).as_secs_f64())
        .collect();
    lags.sort_by(f64::total_cmp);
    format!(
        "| {objects} objects, one every {} ms, poll interval 1 s | {:.2} s | {:.2} s | {:.2} s |",
        gap.as_millis(),
        pct(&lags, 0.5),
        pct(&lags, 0.99),
        lags.last().copied().unwrap_or_default()
    )
}

#[tokio::main]
async fn main() {
    weir_e2e::cluster::install_crypto_provider();
    println!("| trigger lag | p50 | p99 | max |\n|---|---|---|---|");
    println!("{}", lag(60, Duration::from_millis(500)).await);
    println!("{}", lag(200, Duration::from_millis(50)).await);
    println!();
    println!(
        "| objects under the prefix | list requests | one poll's listing (p50 of 3) | decision | state |  |\n|---|---|---|---|---|---|"
    );
    println!("{}", poll_cost(10_000).await);
    println!("{}", decision_only(100_000));
}
