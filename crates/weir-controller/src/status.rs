//! Status writing, shared by every controller: one server-side apply of the whole status,
//! guarded by the resourceVersion the plan was made from (a plan made from a stale cache is
//! never written), and batched: a change nobody waits for shares the write of the next
//! change within the status batch period. What [`Batch`] remembers is in memory only: after
//! a restart every object starts afresh, which the planners are built for.

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Writes `status` over `obj`'s with server-side apply, guarded by `obj`'s resourceVersion:
/// the API server refuses the write (409) when the object changed since it was read.
pub(crate) async fn write<K>(
    client: &Client,
    obj: &K,
    status: &impl Serialize,
) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let (name, ns) = (obj.name_any(), obj.namespace().unwrap_or_default());
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": { "name": name, "resourceVersion": obj.resource_version() },
        "status": status,
    });
    Api::<K>::namespaced(client.clone(), &ns)
        .patch_status(
            &name,
            &PatchParams::apply(weir_api::FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
}

/// Per object, in memory: when its status was last written (or the object first seen), to batch
/// non-urgent changes (`Config::status_batch`), and the resourceVersion that write
/// replaced, to recognise a cache that has not caught up with it. After a restart every run
/// starts afresh.
#[derive(Default)]
pub(crate) struct Batch(std::sync::Mutex<std::collections::HashMap<String, Written>>);

/// What [`Batch`] keeps per run.
struct Written {
    /// When the status was last written, or the run first seen.
    at: std::time::Instant,
    /// The resourceVersion the last write replaced, until the cache shows a newer one.
    replaced: Option<String>,
    /// The last write finished the run: the entry goes once the cache caught up.
    finished: bool,
    /// A change was deferred and not written since.
    deferred: bool,
}

impl Batch {
    /// `Some(wait)` when this change may wait: it is not urgent and the run's status was
    /// written (or the run first seen) less than `period` ago.
    pub(crate) fn defer(&self, uid: &str, urgent: bool, period: Duration) -> Option<Duration> {
        if urgent || period.is_zero() {
            return None;
        }
        let mut m = self.0.lock().ok()?;
        let w = m.entry(uid.to_string()).or_insert_with(|| Written {
            at: std::time::Instant::now(),
            replaced: None,
            finished: false,
            deferred: false,
        });
        let since = w.at.elapsed();
        let wait = (since < period).then(|| period - since);
        w.deferred = wait.is_some();
        wait
    }

    /// The run is gone.
    pub(crate) fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(uid);
        }
    }

    /// The runs with a deferred change not written yet.
    pub(crate) fn deferred(&self) -> std::collections::HashSet<String> {
        self.0.lock().map_or_else(
            |_| Default::default(),
            |m| {
                m.iter()
                    .filter(|(_, w)| w.deferred)
                    .map(|(uid, _)| uid.clone())
                    .collect()
            },
        )
    }

    /// The status was written over `replaced` (the resourceVersion the plan was made from).
    pub(crate) fn written(&self, uid: &str, finished: bool, replaced: Option<String>) {
        if let Ok(mut m) = self.0.lock() {
            // Finished runs deleted before the cache caught up are never looked at again.
            if m.len() >= 4096 {
                m.retain(|_, w| !w.finished || w.at.elapsed() < Duration::from_secs(60));
            }
            m.insert(
                uid.to_string(),
                Written {
                    at: std::time::Instant::now(),
                    replaced,
                    finished,
                    deferred: false,
                },
            );
        }
    }

    /// The cached run still has the resourceVersion our last write replaced. A run's last
    /// write counts too: a Job or Pod event right after it would otherwise plan from the
    /// unfinished status and end in a conflict.
    pub(crate) fn is_stale(&self, uid: &str, cached: Option<&str>) -> bool {
        let Ok(mut m) = self.0.lock() else {
            return false;
        };
        let Some(w) = m.get_mut(uid) else {
            return false;
        };
        if w.replaced.is_some() && w.replaced.as_deref() == cached {
            return true;
        }
        // The cache caught up: forget it, so only the next write is compared.
        w.replaced = None;
        if w.finished {
            m.remove(uid);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(60);

    #[test]
    fn a_change_waits_for_the_period_unless_urgent_and_is_tracked_until_written() {
        let b = Batch::default();
        assert_eq!(b.defer("u", true, PERIOD), None, "urgent: written at once");
        assert!(b.defer("u", false, PERIOD).is_some(), "not urgent: waits");
        assert!(b.deferred().contains("u"));
        b.written("u", false, Some("7".into()));
        assert!(b.deferred().is_empty(), "written: nothing deferred");
        assert_eq!(
            b.defer("u", false, Duration::ZERO),
            None,
            "period 0: at once"
        );
    }

    #[test]
    fn a_cache_is_stale_until_it_shows_a_newer_version_than_the_one_replaced() {
        let b = Batch::default();
        b.written("u", false, Some("7".into()));
        assert!(b.is_stale("u", Some("7")));
        assert!(!b.is_stale("u", Some("8")));
        assert!(
            !b.is_stale("u", Some("7")),
            "only the next write is compared"
        );
        assert!(!b.is_stale("other", Some("7")));
    }

    #[test]
    fn a_forgotten_object_leaves_nothing_behind() {
        let b = Batch::default();
        assert!(b.defer("u", false, PERIOD).is_some());
        b.forget("u");
        assert!(b.deferred().is_empty());
        assert!(!b.is_stale("u", None));
    }
}
