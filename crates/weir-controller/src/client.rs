//! The Kubernetes client weir uses: counts requests by verb (`weir_kube_requests_total`) and
//! limits them with a token bucket (`--qps`, `--burst`), like client-go's defaults, so a burst
//! of runs cannot flood the API server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Method, Request};
use kube::Client;
use kube::client::ClientBuilder;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::metrics::{Metrics, VerbLabel};

/// A token bucket: `qps` tokens a second, at most `burst` saved up.
#[derive(Debug)]
pub struct Bucket {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    /// A full bucket. `qps <= 0` disables limiting.
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            qps,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits for a token; returns whether it had to wait.
    pub async fn take(&self) -> bool {
        if self.qps <= 0.0 {
            return false;
        }
        let wait = {
            let mut s = self.state.lock().await;
            let now = Instant::now();
            let refill = now.duration_since(s.1).as_secs_f64() * self.qps;
            s.0 = (s.0 + refill).min(self.burst);
            s.1 = now;
            s.0 -= 1.0;
            if s.0 >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-s.0 / self.qps)
            }
        };
        if wait.is_zero() {
            return false;
        }
        tokio::time::sleep(wait).await;
        true
    }
}

/// The verb of a request, as the API server would name it.
pub fn verb<B>(req: &Request<B>) -> &'static str {
    let query = req.uri().query().unwrap_or_default();
    let named = req
        .uri()
        .path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(|last| {
            !matches!(
                last,
                "jobs"
                    | "pods"
                    | "pipelineruns"
                    | "pipelines"
                    | "configmaps"
                    | "events"
                    | "leases"
                    | "sparkapplications"
            )
        });
    match *req.method() {
        Method::GET if query.contains("watch=true") || query.contains("watch=1") => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::DELETE => "delete",
        Method::PATCH => {
            let apply = req
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/apply-patch"));
            if apply { "apply" } else { "patch" }
        }
        _ => "other",
    }
}

#[derive(Clone)]
struct Instrument {
    metrics: Arc<Metrics>,
    bucket: Arc<Bucket>,
}

impl<S> Layer<S> for Instrument {
    type Service = Instrumented<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Instrumented {
            inner,
            metrics: self.metrics.clone(),
            bucket: self.bucket.clone(),
        }
    }
}

#[derive(Clone)]
struct Instrumented<S> {
    inner: S,
    metrics: Arc<Metrics>,
    bucket: Arc<Bucket>,
}

impl<S, B> Service<Request<B>> for Instrumented<S>
where
    S: Service<Request<B>> + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let verb = verb(&req);
        self.metrics
            .kube_requests
            .get_or_create(&VerbLabel { verb })
            .inc();
        // Futures are lazy: nothing is sent before the returned future is polled, which is
        // after a token was taken. Watches are long-lived: one token each, like client-go.
        let sent = self.inner.call(req);
        let (metrics, bucket) = (self.metrics.clone(), self.bucket.clone());
        Box::pin(async move {
            if bucket.take().await {
                metrics.kube_throttled.inc();
                metrics.last_throttled.mark();
            }
            sent.await
        })
    }
}

/// A client from the kubeconfig (or in-cluster config) with the instrumentation above.
pub async fn build(metrics: Arc<Metrics>, qps: f64, burst: u32) -> Result<Client, kube::Error> {
    let config = kube::Config::infer()
        .await
        .map_err(kube::Error::InferConfig)?;
    let layer = Instrument {
        metrics,
        bucket: Arc::new(Bucket::new(qps, burst)),
    };
    Ok(ClientBuilder::try_from(config)?.with_layer(&layer).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, uri: &str, content_type: Option<&str>) -> Request<()> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            b = b.header(http::header::CONTENT_TYPE, ct);
        }
        b.body(()).unwrap_or_default()
    }

    #[test]
    fn verbs_are_named_like_the_api_server_names_them() {
        let jobs = "/apis/batch/v1/namespaces/n/jobs";
        assert_eq!(verb(&req(Method::GET, jobs, None)), "list");
        assert_eq!(
            verb(&req(
                Method::GET,
                &format!("{jobs}?watch=true&resourceVersion=1"),
                None
            )),
            "watch"
        );
        assert_eq!(
            verb(&req(Method::GET, &format!("{jobs}/r-a-1"), None)),
            "get"
        );
        assert_eq!(
            verb(&req(
                Method::PATCH,
                &format!("{jobs}/r-a-1?fieldManager=x"),
                Some("application/apply-patch+yaml")
            )),
            "apply"
        );
        assert_eq!(
            verb(&req(
                Method::PATCH,
                &format!("{jobs}/r-a-1"),
                Some("application/merge-patch+json")
            )),
            "patch"
        );
        assert_eq!(
            verb(&req(Method::DELETE, &format!("{jobs}/r-a-1"), None)),
            "delete"
        );
        assert_eq!(
            verb(&req(
                Method::POST,
                "/apis/events.k8s.io/v1/namespaces/n/events",
                None
            )),
            "create"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_lets_a_burst_through_then_paces_at_qps() {
        let b = Bucket::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..5 {
            assert!(!b.take().await, "the burst passes without waiting");
        }
        for _ in 0..10 {
            b.take().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(990) && took <= Duration::from_millis(1100),
            "10 more at 10 qps take ~1s, took {took:?}"
        );
    }
}
