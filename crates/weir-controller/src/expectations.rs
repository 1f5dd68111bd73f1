//! Apply expectations, as Kubernetes' own controllers keep them: the children a controller
//! applied moments ago, which its cache may not show yet. A plan made from a deferred
//! status (see `status`) starts those steps again and would otherwise apply them twice.
//! In memory only: after a restart it is empty, and the planner adopts what the cache shows.

use std::time::Duration;

/// How long a child this controller applied counts as existing without the cache showing
/// it. Watch events arrive within a second unless the API server is in trouble; past this,
/// the planner's view (the child is missing) wins again.
const APPLIED_MEMORY: Duration = Duration::from_secs(30);

/// Per run, in memory: the children this controller applied and when (the "expectations"
/// of Kubernetes' own controllers). After a restart it is empty, and the planner adopts
/// whatever the cache shows by name.
#[derive(Default)]
pub(crate) struct Applied(
    std::sync::Mutex<
        std::collections::HashMap<String, std::collections::HashMap<String, std::time::Instant>>,
    >,
);

impl Applied {
    /// `name` was applied for run `uid` less than [`APPLIED_MEMORY`] ago.
    pub(crate) fn recently(&self, uid: &str, name: &str) -> bool {
        let Ok(m) = self.0.lock() else {
            return false;
        };
        m.get(uid)
            .and_then(|children| children.get(name))
            .is_some_and(|at| at.elapsed() < APPLIED_MEMORY)
    }

    pub(crate) fn record(&self, uid: &str, name: &str) {
        if let Ok(mut m) = self.0.lock() {
            // Runs deleted before they finished are never forgotten one by one.
            if m.len() >= 4096 {
                m.retain(|_, c| c.values().any(|at| at.elapsed() < APPLIED_MEMORY));
            }
            let children = m.entry(uid.to_string()).or_default();
            children.retain(|_, at| at.elapsed() < APPLIED_MEMORY);
            children.insert(name.to_string(), std::time::Instant::now());
        }
    }

    /// The run finished: nothing of it is applied again.
    pub(crate) fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(uid);
        }
    }
}

/// Per owner (a run's or a standalone object's uid), in memory: the children whose create
/// the API server refused, with why. The next reconcile hands them to the planner, which
/// fails the attempt with reason `CreateRefused` (see `apply::is_refusal`). After a
/// restart the create is tried again and refused again, so nothing is lost.
#[derive(Default)]
pub(crate) struct Refused(
    std::sync::Mutex<std::collections::HashMap<String, std::collections::BTreeMap<String, String>>>,
);

impl Refused {
    pub(crate) fn record(&self, owner: &str, child: &str, why: String) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= 4096 {
                m.clear();
            }
            m.entry(owner.to_string())
                .or_default()
                .insert(child.to_string(), why);
        }
    }

    /// The owner's refused children.
    pub(crate) fn of(&self, owner: &str) -> std::collections::BTreeMap<String, String> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(owner).cloned())
            .unwrap_or_default()
    }

    /// The owner finished or is gone.
    pub(crate) fn forget(&self, owner: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_run_leaves_nothing_behind() {
        let a = Applied::default();
        a.record("u", "u-a-1");
        a.forget("u");
        assert!(!a.recently("u", "u-a-1"));
    }

    #[test]
    fn an_applied_child_is_remembered_per_owner() {
        let a = Applied::default();
        a.record("u", "u-a-1");
        assert!(a.recently("u", "u-a-1"));
        assert!(!a.recently("u", "u-b-1"));
        assert!(!a.recently("v", "u-a-1"));
    }
}
