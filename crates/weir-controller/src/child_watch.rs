//! Watches of child kinds weir keeps no cache of (spark-operator SparkApplications, the
//! kinds of `resource:` steps): one watch per kind, started the first time a run has a
//! child of that kind, for as long as the controller runs. An event on a child (label
//! `weir.dev/run`) wakes its run, which then reads the child by name; nothing is polled.

use std::collections::HashSet;
use std::sync::Mutex;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedSender;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use weir_api::labels;
use weir_api::v1alpha1::PipelineRun;
use weir_core::{ChildKind, Plan};

use crate::Shutdown;
use crate::apply::Kinds;

/// The watches started so far, one per kind.
pub(crate) struct ChildWatches {
    started: Mutex<HashSet<(String, String, String)>>,
    /// The controller's namespace scope (`None`: every namespace).
    namespace: Option<String>,
    wake: UnboundedSender<ObjectRef<PipelineRun>>,
    shutdown: Shutdown,
}

impl ChildWatches {
    pub(crate) fn new(
        namespace: Option<String>,
        wake: UnboundedSender<ObjectRef<PipelineRun>>,
        shutdown: Shutdown,
    ) -> Self {
        Self {
            started: Mutex::default(),
            namespace,
            wake,
            shutdown,
        }
    }

    /// Starts a watch for each kind other than Job that `plan` applies or `run`'s status
    /// records for an unfinished step (after a restart).
    pub(crate) async fn follow(
        &self,
        client: &Client,
        kinds: &Kinds,
        run: &PipelineRun,
        plan: &Plan,
    ) {
        let recorded = run
            .status
            .iter()
            .flat_map(|s| s.steps.iter())
            .filter(|s| !s.phase.is_finished())
            .filter_map(|s| s.child_kind.as_ref())
            .map(|k| (k.api_version.clone(), k.kind.clone()));
        let planned = plan.apply.iter().filter_map(|m| match m.kind() {
            ChildKind::Other { api_version, kind } => Some((api_version, kind)),
            ChildKind::Job => None,
        });
        let wanted: std::collections::BTreeSet<(String, String)> = recorded
            .chain(planned)
            .filter(|(_, kind)| kind != "Job")
            .collect();
        for (api_version, kind) in wanted {
            match kinds.resource(client, &api_version, &kind).await {
                Ok(ar) => self.ensure(client, &ar),
                // Applying such a child fails with the same error, where it is reported.
                Err(e) => tracing::debug!(error = %e, "no watch for an unknown child kind"),
            }
        }
    }

    /// Starts the watch of `ar`'s kind unless it runs already.
    fn ensure(&self, client: &Client, ar: &ApiResource) {
        let key = (ar.group.clone(), ar.version.clone(), ar.kind.clone());
        match self.started.lock() {
            Ok(mut s) if !s.contains(&key) => {
                s.insert(key);
            }
            _ => return,
        }
        let api: Api<DynamicObject> = match &self.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
            None => Api::all_with(client.clone(), ar),
        };
        let (wake, shutdown, kind) = (self.wake.clone(), self.shutdown.clone(), ar.kind.clone());
        tracing::info!(kind = %kind, "watching children of a new kind");
        tokio::spawn(async move {
            let events = watcher(api, watcher::Config::default().labels(labels::RUN))
                .default_backoff()
                .touched_objects()
                .take_until(shutdown);
            futures::pin_mut!(events);
            while let Some(ev) = events.next().await {
                match ev {
                    Ok(obj) => {
                        if let (Some(run), Some(ns)) =
                            (obj.labels().get(labels::RUN), obj.namespace())
                        {
                            let _ = wake.unbounded_send(ObjectRef::new(run).within(&ns));
                        }
                    }
                    // The watcher re-lists after a backoff; a kind the controller may not
                    // list or watch says so here (see the chart's rbac.extraRules).
                    Err(e) => {
                        tracing::warn!(kind = %kind, error = %e, "watching children failed; retrying")
                    }
                }
            }
        });
    }
}
