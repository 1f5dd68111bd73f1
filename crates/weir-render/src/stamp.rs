//! Fields weir owns, set in Rust after rendering so no template can break them.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{Map, Value};

use crate::error::RenderError;

/// Who a rendered child is: its name, where it lives, how weir finds it again.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The deterministic child name, `{run}-{step}[-{index}]-{attempt}`.
    pub name: String,
    /// The run's namespace.
    pub namespace: String,
    /// weir's labels (`weir.dev/pipeline`, `weir.dev/run`, `weir.dev/step`,
    /// `weir.dev/attempt`); they win over a template's labels of the same key.
    pub labels: BTreeMap<String, String>,
    /// weir's annotations; they win over a template's annotations of the same key.
    pub annotations: BTreeMap<String, String>,
    /// The controller reference to the PipelineRun; the only ownerReference kept.
    pub owner: OwnerReference,
}

/// Stamps `meta` with `identity`: name and namespace replaced, labels and
/// annotations merged with weir's winning, ownerReferences exactly `[owner]`.
///
/// Server-populated fields are cleared too: a `resourceVersion` would make the
/// apply conditional and `managedFields` makes server-side apply refuse it.
pub fn stamp_meta(meta: &mut ObjectMeta, identity: &Identity) {
    meta.name = Some(identity.name.clone());
    meta.generate_name = None;
    meta.namespace = Some(identity.namespace.clone());
    merge(&mut meta.labels, &identity.labels);
    merge(&mut meta.annotations, &identity.annotations);
    meta.owner_references = Some(vec![identity.owner.clone()]);
    meta.resource_version = None;
    meta.uid = None;
    meta.managed_fields = None;
    meta.creation_timestamp = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.generation = None;
    meta.self_link = None;
}

/// Stamps a Job and its pod template. Pods get weir's labels too, so a step's
/// pods can be found (and logs read) by run and step; the pod template gets no
/// name or owner, the Job controller sets those.
pub fn stamp_job(job: &mut Job, identity: &Identity) {
    stamp_meta(&mut job.metadata, identity);
    if let Some(spec) = job.spec.as_mut() {
        let pod_meta = spec
            .template
            .metadata
            .get_or_insert_with(ObjectMeta::default);
        merge(&mut pod_meta.labels, &identity.labels);
        merge(&mut pod_meta.annotations, &identity.annotations);
    }
}

/// [`stamp_meta`] for a manifest of any kind held as JSON (a SparkApplication,
/// a user's custom resource). A `metadata` that is not an object is replaced.
pub fn stamp_manifest(manifest: &mut Value, identity: &Identity) -> Result<(), RenderError> {
    let Some(root) = manifest.as_object_mut() else {
        return Err(RenderError::Manifest {
            template: identity.name.clone(),
            message: "manifest is not an object".to_owned(),
        });
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let Some(meta) = meta.as_object_mut() else {
        // Made an object just above.
        return Ok(());
    };
    meta.insert("name".into(), Value::String(identity.name.clone()));
    meta.insert(
        "namespace".into(),
        Value::String(identity.namespace.clone()),
    );
    for server_owned in [
        "generateName",
        "resourceVersion",
        "uid",
        "managedFields",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "selfLink",
    ] {
        meta.remove(server_owned);
    }
    merge_json(meta, "labels", &identity.labels);
    merge_json(meta, "annotations", &identity.annotations);
    meta.insert(
        "ownerReferences".into(),
        Value::Array(vec![owner_json(&identity.owner)]),
    );
    Ok(())
}

fn merge(target: &mut Option<BTreeMap<String, String>>, ours: &BTreeMap<String, String>) {
    if ours.is_empty() {
        return;
    }
    let target = target.get_or_insert_with(BTreeMap::new);
    for (key, value) in ours {
        target.insert(key.clone(), value.clone());
    }
}

fn merge_json(meta: &mut Map<String, Value>, field: &str, ours: &BTreeMap<String, String>) {
    if ours.is_empty() {
        return;
    }
    let entry = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Some(map) = entry.as_object_mut() {
        for (key, value) in ours {
            map.insert(key.clone(), Value::String(value.clone()));
        }
    }
}

/// Built by hand rather than through serde so there is no failure path.
fn owner_json(owner: &OwnerReference) -> Value {
    let mut map = Map::new();
    map.insert(
        "apiVersion".into(),
        Value::String(owner.api_version.clone()),
    );
    map.insert("kind".into(), Value::String(owner.kind.clone()));
    map.insert("name".into(), Value::String(owner.name.clone()));
    map.insert("uid".into(), Value::String(owner.uid.clone()));
    if let Some(controller) = owner.controller {
        map.insert("controller".into(), Value::Bool(controller));
    }
    if let Some(block) = owner.block_owner_deletion {
        map.insert("blockOwnerDeletion".into(), Value::Bool(block));
    }
    Value::Object(map)
}
