//! The HTTP side: one route, `POST /hooks/{namespace}/{pipeline}`, checked in this order:
//! body size (413), rate limit (429), the pipeline's key (404/503), authentication (401),
//! the body (400), replays (200, nothing started), then [`Starter::start`].
//!
//! The rate limit comes first so that a flood costs no API requests (the key lookup reads
//! the Pipeline and its Secret); authentication comes before parsing so that nothing of an
//! unauthenticated body is interpreted.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::auth::{AuthError, verify};
use super::limit::{REPLAY_CAPACITY, ReplayCache, TokenBuckets};
use super::parse::{Notification, parse};
use super::{Hooks, MAX_BODY, ObjectEvent, StartError, StartOutcome, WebhookConfig};
use crate::metrics::Metrics;

#[derive(Clone)]
struct AppState {
    hooks: Hooks,
    metrics: Arc<Metrics>,
    buckets: Arc<Mutex<TokenBuckets>>,
    replays: Arc<Mutex<ReplayCache>>,
}

/// The webhook's routes.
pub fn router(config: &WebhookConfig, hooks: Hooks, metrics: Arc<Metrics>) -> Router {
    let state = AppState {
        hooks,
        metrics,
        buckets: Arc::new(Mutex::new(TokenBuckets::new(config.rate, config.burst))),
        replays: Arc::new(Mutex::new(ReplayCache::new(REPLAY_CAPACITY))),
    };
    Router::new()
        .route("/hooks/{namespace}/{pipeline}", post(hook))
        .with_state(state)
}

/// Serves the webhook on `config.addr` until `shutdown` resolves.
pub async fn serve(
    config: WebhookConfig,
    hooks: Hooks,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    serve_on(listener, &config, hooks, metrics, shutdown).await
}

/// Serves the webhook on a bound listener (tests bind 127.0.0.1:0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: &WebhookConfig,
    hooks: Hooks,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "serving POST /hooks/{{namespace}}/{{pipeline}}");
    axum::serve(listener, router(config, hooks, metrics))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Why a request was refused: the `cause` label of `weir_webhook_rejections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    TooLarge,
    RateLimited,
    NotFound,
    Unavailable,
    MissingAuth,
    BadAuth,
    Malformed,
}

impl Rejection {
    pub(crate) fn cause(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::NotFound => "not_found",
            Self::Unavailable => "unavailable",
            Self::MissingAuth => "missing_auth",
            Self::BadAuth => "bad_auth",
            Self::Malformed => "malformed",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::MissingAuth | Self::BadAuth => StatusCode::UNAUTHORIZED,
            Self::Malformed => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<&StartError> for Rejection {
    fn from(e: &StartError) -> Self {
        match e {
            StartError::NotFound(_) => Self::NotFound,
            StartError::Unavailable(_) => Self::Unavailable,
        }
    }
}

/// Counts the rejection and answers with its status and one line. Authentication
/// failures say nothing more than "unauthorized".
fn reject(s: &AppState, why: Rejection, message: &str) -> Response {
    s.metrics.webhook_rejected(why.cause());
    let mut response = (why.status(), format!("{message}\n")).into_response();
    if why == Rejection::RateLimited {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    response
}

async fn hook(
    State(s): State<AppState>,
    Path((namespace, pipeline)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return reject(&s, Rejection::TooLarge, "body larger than 1 MiB");
    };
    let allowed = match s.buckets.lock() {
        Ok(mut b) => b.take(&format!("{namespace}/{pipeline}"), Instant::now()),
        Err(_) => false,
    };
    if !allowed {
        return reject(
            &s,
            Rejection::RateLimited,
            "too many requests for this pipeline",
        );
    }
    let key = match s.hooks.keys.key(&namespace, &pipeline).await {
        Ok(k) => k,
        Err(e) => return start_failed(&s, &namespace, &pipeline, &e),
    };
    match verify(&key, &headers, query.as_deref(), &body) {
        Ok(()) => {}
        Err(AuthError::Missing) => return reject(&s, Rejection::MissingAuth, "unauthorized"),
        Err(AuthError::Bad) => return reject(&s, Rejection::BadAuth, "unauthorized"),
    }
    let notification = match parse(&body) {
        Ok(n) => n,
        Err(e) => {
            tracing::debug!(%namespace, %pipeline, error = %e, "webhook: malformed body");
            return reject(&s, Rejection::Malformed, &e.to_string());
        }
    };
    handle(&s, &namespace, &pipeline, notification).await
}

async fn handle(
    s: &AppState,
    namespace: &str,
    pipeline: &str,
    notification: Notification,
) -> Response {
    match notification {
        Notification::Objects { events, ignored } => {
            start(s, namespace, pipeline, events, ignored).await
        }
        Notification::SubscriptionConfirmation {
            topic_arn,
            subscribe_url,
        } => confirm(s, namespace, pipeline, &topic_arn, &subscribe_url).await,
        Notification::Ignored(what) => {
            tracing::debug!(%namespace, %pipeline, what, "webhook: nothing to do");
            (StatusCode::OK, format!("ignored: {what}\n")).into_response()
        }
    }
}

/// Drops events handled recently, starts the others, and remembers them once started.
async fn start(
    s: &AppState,
    namespace: &str,
    pipeline: &str,
    events: Vec<ObjectEvent>,
    ignored: usize,
) -> Response {
    let total = events.len();
    let fresh: Vec<ObjectEvent> = match s.replays.lock() {
        Ok(r) => events
            .into_iter()
            .filter(|e| !r.contains(&e.event_id))
            .collect(),
        Err(_) => events,
    };
    let replayed = total - fresh.len();
    let ids: Vec<String> = fresh.iter().map(|e| e.event_id.clone()).collect();
    let outcome = if fresh.is_empty() {
        StartOutcome::default()
    } else {
        match s.hooks.starter.start(namespace, pipeline, fresh).await {
            Ok(o) => o,
            Err(e) => return start_failed(s, namespace, pipeline, &e),
        }
    };
    if let Ok(mut r) = s.replays.lock() {
        ids.iter().for_each(|id| r.insert(id));
    }
    s.metrics.webhook_events("started", outcome.started.len());
    s.metrics
        .webhook_events("duplicate", outcome.existing.len() + replayed);
    s.metrics
        .webhook_events("ignored", outcome.ignored + ignored);
    if !outcome.started.is_empty() {
        tracing::info!(%namespace, %pipeline, runs = ?outcome.started, "webhook: started runs");
    }
    let body = serde_json::json!({
        "started": outcome.started,
        "existing": outcome.existing,
        "replayed": replayed,
        "ignored": outcome.ignored + ignored,
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn start_failed(s: &AppState, namespace: &str, pipeline: &str, e: &StartError) -> Response {
    let why = Rejection::from(e);
    if why == Rejection::Unavailable {
        tracing::warn!(%namespace, %pipeline, error = %e, "webhook: cannot handle the request");
        return reject(s, why, "unavailable, try again");
    }
    reject(
        s,
        why,
        &format!("no webhook for pipeline {namespace}/{pipeline}"),
    )
}

/// Answers an SNS subscription request: logs its `SubscribeURL`, and fetches it only when
/// confirmation is turned on. 503 when fetching fails, so SNS asks again.
async fn confirm(
    s: &AppState,
    namespace: &str,
    pipeline: &str,
    topic_arn: &str,
    subscribe_url: &str,
) -> Response {
    let Some(confirmer) = &s.hooks.confirmer else {
        tracing::warn!(
            %namespace, %pipeline, topic_arn, subscribe_url,
            "webhook: SNS asks to confirm a subscription; open the SubscribeURL (or run with \
             --webhook-confirm-subscriptions)"
        );
        return (
            StatusCode::OK,
            "subscription not confirmed: see the controller's log\n",
        )
            .into_response();
    };
    match confirmer.confirm(subscribe_url).await {
        Ok(()) => {
            tracing::info!(%namespace, %pipeline, topic_arn, "webhook: SNS subscription confirmed");
            (StatusCode::OK, "subscription confirmed\n").into_response()
        }
        Err(e) => {
            tracing::warn!(%namespace, %pipeline, topic_arn, error = %e, "webhook: cannot confirm the subscription");
            reject(s, Rejection::Unavailable, "cannot confirm the subscription")
        }
    }
}
