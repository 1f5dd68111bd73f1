//! Gathering what the planner needs about a run from the watch caches (and, for templates
//! kept in ConfigMaps and for kinds weir does not watch, a few reads).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use weir_api::labels;
use weir_api::v1alpha1::{Pipeline, PipelineRun, PipelineSpec, RunPhase, TemplateRef};
use weir_core::state::{job_state, result_unobserved, rules_state, spark_application_state};
use weir_core::{ChildKind, ObservedChild, Sibling};

use crate::apply::Kinds;
use crate::error::{Error, is_not_found};

/// The caches the run controller reads.
pub(crate) struct Caches {
    pub runs: Store<PipelineRun>,
    pub pipelines: Store<Pipeline>,
    pub jobs: Store<Job>,
    pub pods: Store<Pod>,
}

/// The Pipeline a run refers to.
pub(crate) fn pipeline(c: &Caches, run: &PipelineRun, ns: &str) -> Option<Arc<Pipeline>> {
    let name = run.spec.pipeline_ref.as_ref()?;
    c.pipelines.get(&ObjectRef::new(name).within(ns))
}

/// The other runs of the same Pipeline.
pub(crate) fn siblings(c: &Caches, run: &PipelineRun, ns: &str) -> Vec<Sibling> {
    let Some(pipeline) = &run.spec.pipeline_ref else {
        return Vec::new();
    };
    c.runs
        .state()
        .iter()
        .filter(|r| {
            r.namespace().as_deref() == Some(ns)
                && r.spec.pipeline_ref.as_ref() == Some(pipeline)
                && r.uid() != run.uid()
        })
        .map(|r| Sibling {
            name: r.name_any(),
            created: r
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0)
                .unwrap_or_default(),
            phase: r
                .status
                .as_ref()
                .map(|s| s.phase)
                .unwrap_or(RunPhase::Pending),
        })
        .collect()
}

/// The run's Jobs (owned by this run's uid, so a recreated run never adopts the Jobs of an
/// older run with the same name) with their pods' states, plus children of other kinds.
pub(crate) async fn children(
    c: &Caches,
    client: &Client,
    kinds: &Kinds,
    run: &PipelineRun,
    ns: &str,
    now: jiff::Timestamp,
) -> Result<Vec<ObservedChild>, Error> {
    let uid = run.uid().unwrap_or_default();
    let owned_by = |refs: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference],
                    uid: &str| refs.iter().any(|o| o.uid == uid);
    let jobs: Vec<Arc<Job>> = c
        .jobs
        .state()
        .into_iter()
        .filter(|j| j.namespace().as_deref() == Some(ns) && owned_by(j.owner_references(), &uid))
        .collect();
    let mut out = Vec::with_capacity(jobs.len());
    if !jobs.is_empty() {
        let run_name = run.name_any();
        let pods: Vec<Arc<Pod>> = c
            .pods
            .state()
            .into_iter()
            .filter(|p| {
                p.namespace().as_deref() == Some(ns)
                    && p.labels().get(labels::RUN) == Some(&run_name)
            })
            .collect();
        for job in jobs {
            let job_uid = job.uid().unwrap_or_default();
            let mut mine: Vec<Pod> = pods
                .iter()
                .filter(|p| owned_by(p.owner_references(), &job_uid))
                .map(|p| (**p).clone())
                .collect();
            if result_not_seen(&job, &mine, run) {
                mine = job_pods(client, ns, &job_uid).await?;
            }
            out.push(ObservedChild {
                kind: ChildKind::Job,
                name: job.name_any(),
                step: job.labels().get(labels::STEP).cloned().unwrap_or_default(),
                state: job_state(&job, &mine, now),
                deleting: job.metadata.deletion_timestamp.is_some(),
            });
        }
    }
    out.extend(other_children(client, kinds, run, ns).await?);
    Ok(out)
}

/// A Job that completed for a step whose outcome is not recorded yet, while the cache shows
/// no succeeded pod of it (see [`result_unobserved`]): its pods are read, since the result a
/// `forEach` or a template downstream needs is in one of them.
fn result_not_seen(job: &Job, pods: &[Pod], run: &PipelineRun) -> bool {
    let step = job.labels().get(labels::STEP);
    let recorded = run
        .status
        .as_ref()
        .and_then(|s| s.steps.iter().find(|st| Some(&st.name) == step))
        .is_some_and(|st| st.phase.is_finished());
    !recorded && result_unobserved(job, pods)
}

/// The pods of one Job, read from the API server (not the cache).
pub(crate) async fn job_pods(client: &Client, ns: &str, job_uid: &str) -> Result<Vec<Pod>, Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("batch.kubernetes.io/controller-uid={job_uid}"));
    let list = api.list(&lp).await.map_err(|source| Error::Read {
        what: format!("pods of Job {job_uid}"),
        source,
    })?;
    Ok(list.items)
}

/// Children of kinds weir does not keep caches for (SparkApplications, user kinds) are read
/// by name while their step runs, by the kind recorded in the step's status. Their run is
/// woken by a watch of their kind (`child_watch`); few, so reads beat a cache per kind.
async fn other_children(
    client: &Client,
    kinds: &Kinds,
    run: &PipelineRun,
    ns: &str,
) -> Result<Vec<ObservedChild>, Error> {
    let Some(status) = &run.status else {
        return Ok(Vec::new());
    };
    let Some(spec) = &status.pipeline_spec else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (step, st) in spec.steps.iter().zip(&status.steps) {
        // The type recorded when the children were planned; Jobs come from the cache.
        let Some(t) = st.child_kind.as_ref().filter(|t| t.kind != "Job") else {
            continue;
        };
        let (av, kind) = (t.api_version.clone(), t.kind.clone());
        if st.children.is_empty() || st.phase.is_finished() && status.phase != RunPhase::Cancelled {
            continue;
        }
        let api = match kinds.api(client, ns, &av, &kind).await {
            Ok(api) => api,
            // Never created (its create was refused, and the run says so): nothing to read.
            Err(e) if crate::apply::is_refusal(&e) => continue,
            Err(e) => return Err(e),
        };
        for name in &st.children {
            match api.get_opt(name).await {
                Ok(Some(obj)) => {
                    let deleting = obj.metadata.deletion_timestamp.is_some();
                    let value = serde_json::to_value(&obj).unwrap_or_default();
                    let state = match &step.resource {
                        Some(r) => rules_state(&value, &r.success_when, &r.failure_when),
                        None => spark_application_state(&value),
                    };
                    out.push(ObservedChild {
                        kind: ChildKind::Other {
                            api_version: av.clone(),
                            kind: kind.clone(),
                        },
                        name: name.clone(),
                        step: step.name.clone(),
                        state,
                        deleting,
                    });
                }
                Ok(None) => {}
                Err(e) if is_not_found(&e) => {}
                Err(source) => {
                    return Err(Error::Read {
                        what: format!("{kind} {name}"),
                        source,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Every key of each ConfigMap the spec's templates name (`(ConfigMap, key) → text`). A
/// ConfigMap that does not exist has no entry; one that exists has all its keys, so a
/// missing key is told apart from a missing ConfigMap (see `weir_core::check`).
pub(crate) async fn config_templates(
    client: &Client,
    spec: Option<&PipelineSpec>,
    ns: &str,
) -> Result<BTreeMap<(String, String), String>, Error> {
    let Some(spec) = spec else {
        return Ok(BTreeMap::new());
    };
    let refs: Vec<&TemplateRef> = spec
        .steps
        .iter()
        .filter_map(|s| s.template())
        .chain(spec.defaults.template.as_ref())
        .collect();
    config_templates_of(client, &refs, ns).await
}

/// Texts of the ConfigMaps `refs` name, by (ConfigMap, key); a missing ConfigMap is left
/// out (the render says so).
pub(crate) async fn config_templates_of(
    client: &Client,
    refs: &[&TemplateRef],
    ns: &str,
) -> Result<BTreeMap<(String, String), String>, Error> {
    let mut out = BTreeMap::new();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let names: std::collections::BTreeSet<&str> = refs
        .iter()
        .filter_map(|t| t.config_map_key_ref.as_ref())
        .map(|r| r.name.as_str())
        .collect();
    for name in names {
        let cm = api.get_opt(name).await.map_err(|source| Error::Read {
            what: format!("ConfigMap {name}"),
            source,
        })?;
        if let Some(cm) = cm {
            let data = cm.data.unwrap_or_default();
            out.extend(data.into_iter().map(|(k, v)| ((name.to_string(), k), v)));
        }
    }
    Ok(out)
}
