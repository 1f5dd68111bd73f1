//! Carrying out a plan: server-side apply of each child, delete of each doomed child.
//! No decisions here beyond "apply each, delete each".

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};
use weir_core::{ChildKind, ChildRef, Manifest};

use crate::error::{Error, is_not_found};

/// Resolves kinds other than Job to their API resources (plural, scope) once, through
/// discovery.
#[derive(Default)]
pub(crate) struct Kinds {
    cache: Mutex<HashMap<(String, String), (ApiResource, bool)>>,
    /// Whether children of cluster-scoped kinds may be created (`--allow-cluster-scoped-kinds`).
    allow_cluster_scoped: bool,
}

impl Kinds {
    /// Kinds, with cluster-scoped kinds allowed or not.
    pub(crate) fn new(allow_cluster_scoped: bool) -> Self {
        Kinds {
            allow_cluster_scoped,
            ..Kinds::default()
        }
    }

    /// The API resource of a kind, from discovery (cached).
    pub(crate) async fn resource(
        &self,
        client: &Client,
        api_version: &str,
        kind: &str,
    ) -> Result<ApiResource, Error> {
        self.resolve(client, api_version, kind)
            .await
            .map(|(ar, _)| ar)
    }

    /// The API resource of a kind and whether it is namespaced, from discovery (cached).
    async fn resolve(
        &self,
        client: &Client,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, bool), Error> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(found);
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = pinned_kind(client, &gvk)
            .await
            .map_err(|_| Error::UnknownKind(format!("{api_version}/{kind}")))?;
        let namespaced = caps.scope == Scope::Namespaced;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, (ar.clone(), namespaced));
        }
        Ok((ar, namespaced))
    }

    /// The dynamic API for a child kind: in `ns`, or cluster-wide for a cluster-scoped kind
    /// when those are allowed ([`Error::ClusterScoped`] when not).
    pub(crate) async fn api(
        &self,
        client: &Client,
        ns: &str,
        api_version: &str,
        kind: &str,
    ) -> Result<Api<DynamicObject>, Error> {
        let (ar, namespaced) = self.resolve(client, api_version, kind).await?;
        match (namespaced, self.allow_cluster_scoped) {
            (true, _) => Ok(Api::namespaced_with(client.clone(), ns, &ar)),
            (false, true) => Ok(Api::all_with(client.clone(), &ar)),
            (false, false) => Err(Error::ClusterScoped(format!("{api_version}/{kind}"))),
        }
    }
}

/// A manifest of a cluster-scoped kind, as it can be applied: no namespace, and no
/// ownerReference (a namespaced run cannot own it).
fn cluster_scoped(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.remove("namespace");
        meta.remove("ownerReferences");
    }
    v
}

/// Whether the API server's (or discovery's) answer to a create means it will never take
/// this child as it is: an invalid manifest, a kind not served or refused, no permission.
/// Conflicts, throttling and server errors are not: they are retried.
pub(crate) fn is_refusal(e: &Error) -> bool {
    match e {
        Error::UnknownKind(_) | Error::ClusterScoped(_) => true,
        Error::ApplyChild {
            source: kube::Error::Api(s),
            ..
        } => matches!(s.code, 400 | 403 | 404 | 422),
        _ => false,
    }
}

fn params() -> PatchParams {
    PatchParams::apply(weir_api::FIELD_MANAGER).force()
}

/// Server-side applies one child. Applying an existing child with the same content changes
/// nothing, which is what makes a replayed plan harmless.
pub(crate) async fn apply(
    client: &Client,
    kinds: &Kinds,
    ns: &str,
    m: &Manifest,
) -> Result<(), Error> {
    match m {
        Manifest::Job(job) => {
            let name = m.name().to_string();
            let api: Api<Job> = Api::namespaced(client.clone(), ns);
            api.patch(&name, &params(), &Patch::Apply(job.as_ref()))
                .await
                .map_err(|source| Error::ApplyChild {
                    kind: "Job".into(),
                    name,
                    source,
                })?;
        }
        Manifest::Object(v) => {
            let name = m.name().to_string();
            let (av, kind) = (
                v["apiVersion"].as_str().unwrap_or_default(),
                v["kind"].as_str().unwrap_or_default(),
            );
            let api = kinds.api(client, ns, av, kind).await?;
            let v = match api.namespace() {
                Some(_) => v.clone(),
                None => cluster_scoped(v),
            };
            api.patch(&name, &params(), &Patch::Apply(&v))
                .await
                .map_err(|source| Error::ApplyChild {
                    kind: kind.to_string(),
                    name,
                    source,
                })?;
        }
    }
    Ok(())
}

/// Deletes one child in the background (its pods follow through their ownerReferences;
/// Jobs default to orphaning them, so the policy is explicit). Gone already is fine.
pub(crate) async fn delete(
    client: &Client,
    kinds: &Kinds,
    ns: &str,
    c: &ChildRef,
) -> Result<(), Error> {
    let dp = DeleteParams::background();
    let (kind, result) = match &c.kind {
        ChildKind::Job => (
            "Job".to_string(),
            Api::<Job>::namespaced(client.clone(), ns)
                .delete(&c.name, &dp)
                .await
                .map(|_| ()),
        ),
        ChildKind::Other { api_version, kind } => {
            let api = kinds.api(client, ns, api_version, kind).await?;
            (kind.clone(), api.delete(&c.name, &dp).await.map(|_| ()))
        }
    };
    match result {
        Err(e) if !is_not_found(&e) => Err(Error::DeleteChild {
            kind,
            name: c.name.clone(),
            source: e,
        }),
        _ => Ok(()),
    }
}
