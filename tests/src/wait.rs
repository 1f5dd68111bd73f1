//! Waiting with deadlines: on a watch of one object, or by polling.
//!
//! Every wait has a deadline and, when it passes, panics with what it waited for and the
//! object as last seen, so a failed test says where it got stuck.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::serde::Serialize;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::Api;
use kube::runtime::wait::await_condition;
use kube::{Resource, ResourceExt};
use tokio::time::{Instant, sleep, timeout};

/// What `await_condition` and the panics here need of a kind.
pub trait Watchable:
    Resource + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<K> Watchable for K where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

/// Watches `name` until `cond` holds for it and returns the object; panics after `deadline`.
pub async fn until<K, F>(api: &Api<K>, name: &str, deadline: Duration, what: &str, cond: F) -> K
where
    K: Watchable,
    F: Fn(&K) -> bool + Send + 'static,
{
    let watch = await_condition(api.clone(), name, move |obj: Option<&K>| {
        obj.is_some_and(&cond)
    });
    match timeout(deadline, watch).await {
        Ok(Ok(Some(obj))) => obj,
        Ok(Ok(None)) => panic!("{name} vanished while waiting for {what}"),
        Ok(Err(e)) => panic!("watching {name} for {what} failed: {e}"),
        Err(_) => panic!(
            "timed out after {deadline:?} waiting for {what}; {name} is now:\n{}",
            describe(api, name).await
        ),
    }
}

/// Watches `name` until it exists and returns it; panics after `deadline`.
pub async fn until_exists<K: Watchable>(
    api: &Api<K>,
    name: &str,
    deadline: Duration,
    what: &str,
) -> K {
    until(api, name, deadline, what, |_| true).await
}

/// Watches `name` for `period` and panics as soon as `cond` stops holding: the check that a
/// state lasts (a Job stays active), as opposed to [`until`] a state arrives.
/// A missing object fails `cond`.
pub async fn holds_for<K, F>(api: &Api<K>, name: &str, period: Duration, what: &str, cond: F)
where
    K: Watchable,
    F: Fn(&K) -> bool + Send + 'static,
{
    let broken = await_condition(api.clone(), name, move |obj: Option<&K>| {
        !obj.is_some_and(&cond)
    });
    let started = Instant::now();
    match timeout(period, broken).await {
        Err(_) => {}
        Ok(Ok(obj)) => panic!(
            "expected {what} for {period:?}, but it ended after {:?}; {name} was:\n{}",
            started.elapsed(),
            obj.map_or_else(|| "(deleted)".to_owned(), |o| to_yaml_ish(&o))
        ),
        Ok(Err(e)) => panic!("watching {name} for {what} failed: {e}"),
    }
}

/// Calls `probe` every `interval` until it returns `Some`, and returns that; panics after
/// `deadline`. For states no single watch shows (lists, HTTP endpoints, several objects).
pub async fn poll<T, F, Fut>(deadline: Duration, interval: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if Instant::now() >= end {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        sleep(interval).await;
    }
}

/// The object as it is now, for a failure message.
pub async fn describe<K: Watchable>(api: &Api<K>, name: &str) -> String {
    match api.get_opt(name).await {
        Ok(Some(obj)) => to_yaml_ish(&obj),
        Ok(None) => "(not found)".to_owned(),
        Err(e) => format!("(cannot read it: {e})"),
    }
}

/// Pretty JSON without the noise of managed fields.
fn to_yaml_ish<K: Resource + Serialize + Clone>(obj: &K) -> String {
    let mut obj = obj.clone();
    obj.managed_fields_mut().clear();
    serde_json::to_string_pretty(&obj).unwrap_or_else(|e| format!("(unprintable: {e})"))
}
