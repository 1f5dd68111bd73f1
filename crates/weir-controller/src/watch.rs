//! Watch caches, set up one way for every controller: a reflector over a watch (with
//! kube's default backoff), stripped of what no reconcile reads, that reports when its
//! initial list is done ([`Synced`]).

use futures::{Stream, StreamExt};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use weir_api::v1alpha1::PipelineRun;

use crate::health::Synced;

/// A watch cache of `K`: the store reconciles read, and the event stream that fills it
/// (feed it to the controller: nothing is cached until the stream is polled).
pub(crate) struct Cache<K: Resource<DynamicType = ()> + 'static, S> {
    /// What reconciles read.
    pub store: Store<K>,
    /// The watch events after they reached the store.
    pub events: S,
    /// Set once the initial list is in the store.
    pub synced: Synced,
}

/// `K` in the controller's scope: one namespace, or all of them.
pub(crate) fn scoped<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Watches `api` with `config`, applying `strip` to every object before it is cached.
pub(crate) fn cache<K>(
    api: Api<K>,
    config: watcher::Config,
    strip: fn(&mut K),
) -> Cache<K, impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store::<K>();
    let synced = Synced::default();
    let events = reflector::reflector(writer, watcher(api, config).modify(strip))
        .default_backoff()
        .inspect({
            let s = synced.clone();
            move |e| s.observe(e)
        });
    Cache {
        store,
        events,
        synced,
    }
}

/// Drops what no reconcile reads (managed fields, kubectl's last-applied copy).
pub(crate) fn strip<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    if let Some(a) = obj.meta_mut().annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// A Job as the state parser reads it: status, completions, parallelism, and metadata.
/// The pod template (the bulk of a Job) is dropped: caches hold thousands of these.
pub(crate) fn strip_job(job: &mut Job) {
    strip(job);
    if let Some(spec) = job.spec.as_mut() {
        *spec = JobSpec {
            completions: spec.completions,
            parallelism: spec.parallelism,
            ..Default::default()
        };
    }
}

/// A Pod as the state parser reads it: status, container names and restart policy.
pub(crate) fn strip_pod(pod: &mut Pod) {
    strip(pod);
    if let Some(spec) = pod.spec.as_mut() {
        let names = |cs: &[Container]| -> Vec<Container> {
            cs.iter()
                .map(|c| Container {
                    name: c.name.clone(),
                    ..Default::default()
                })
                .collect()
        };
        *spec = PodSpec {
            containers: names(&spec.containers),
            init_containers: spec.init_containers.as_deref().map(names),
            restart_policy: spec.restart_policy.clone(),
            ..Default::default()
        };
    }
}

/// A run as the Pipeline controller reads it: its phase and times. The spec snapshot and
/// the step statuses (the bulk of a run) stay in the run controller's cache only.
pub(crate) fn strip_run_summary(run: &mut PipelineRun) {
    strip(run);
    if let Some(s) = run.status.as_mut() {
        s.pipeline_spec = None;
        s.steps.clear();
        s.params.clear();
        s.conditions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodTemplateSpec;

    #[test]
    fn a_stripped_job_keeps_what_the_state_parser_reads_and_no_pod_template() {
        let mut job = Job {
            spec: Some(JobSpec {
                completions: Some(3),
                parallelism: Some(2),
                template: PodTemplateSpec {
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "main".into(),
                            image: Some("big".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        job.metadata.managed_fields = Some(vec![Default::default()]);
        strip_job(&mut job);
        let spec = job
            .spec
            .as_ref()
            .map(|s| (s.completions, s.parallelism, s.template.spec.is_none()));
        assert_eq!(spec, Some((Some(3), Some(2), true)));
        assert_eq!(job.metadata.managed_fields, None);
    }

    #[test]
    fn a_stripped_pod_keeps_container_names_only() {
        let mut pod = Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "main".into(),
                    image: Some("big".into()),
                    ..Default::default()
                }],
                restart_policy: Some("Never".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        strip_pod(&mut pod);
        let spec = pod.spec.unwrap_or_default();
        assert_eq!(spec.containers[0].name, "main");
        assert_eq!(spec.containers[0].image, None);
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    }
}
