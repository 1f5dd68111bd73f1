//! Shared by the fuzz targets: a realistic context and a JSON generator biased
//! towards the keys the built-in templates read.

// Each target uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use serde_json::{Map, Value, json};
use weir_render::{Identity, RenderContext, RunInfo, StepInfo};

/// Keys the built-ins look at, so generated objects reach their branches.
const KEYS: &[&str] = &[
    "image", "name", "command", "args", "env", "envFrom", "volumes", "gitsync", "resources",
    "serviceAccountName", "nodeSelector", "tolerations", "affinity", "imagePullSecrets", "labels",
    "annotations", "activeDeadlineSeconds", "type", "reference", "mountPath", "readOnly", "subPath",
    "medium", "sizeLimit", "repo", "ref", "root", "link", "secret", "optional", "prefix",
    "configMapRef", "secretRef", "secret", "configMap", "persistentVolumeClaim", "emptyDir",
    "sparkVersion", "mainApplicationFile", "mainClass", "arguments", "sparkConf", "hadoopConf",
    "deps", "driver", "executor", "cores", "memory", "instances", "monitoring", "project", "path",
    "git", "target", "vars", "seed", "commands", "generateDocs", "docsDestination", "docsImage",
    "profilesDir", "GITSYNC_REPO", "GITSYNC_REF", "restartPolicy", "mode", "podSecurityContext",
];

/// A JSON value whose object keys are mostly the templates' own.
#[derive(Debug, Arbitrary)]
pub enum ArbJson {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    KnownStr(u8),
    Array(Vec<ArbJson>),
    Object(Vec<(ArbKey, ArbJson)>),
}

/// An object key: one the templates read, or anything.
#[derive(Debug, Arbitrary)]
pub enum ArbKey {
    Known(u8),
    Other(String),
}

impl ArbJson {
    /// The JSON value, cut off below a depth no real job args reach.
    pub fn into_json(self, depth: usize) -> Value {
        if depth > 12 {
            return Value::Null;
        }
        match self {
            ArbJson::Null => Value::Null,
            ArbJson::Bool(b) => Value::Bool(b),
            ArbJson::Int(i) => json!(i),
            ArbJson::Float(f) => json!(f),
            ArbJson::Str(s) => Value::String(s),
            ArbJson::KnownStr(i) => Value::String(KEYS[usize::from(i) % KEYS.len()].to_owned()),
            ArbJson::Array(items) => {
                Value::Array(items.into_iter().map(|item| item.into_json(depth + 1)).collect())
            }
            ArbJson::Object(fields) => {
                let mut map = Map::new();
                for (key, value) in fields {
                    let key = match key {
                        ArbKey::Known(i) => KEYS[usize::from(i) % KEYS.len()].to_owned(),
                        ArbKey::Other(s) => s,
                    };
                    map.insert(key, value.into_json(depth + 1));
                }
                Value::Object(map)
            }
        }
    }
}

/// The seed's dbt task, as in the crate's tests.
pub fn context() -> RenderContext {
    RenderContext {
        job: json!({
            "image": "eu.gcr.io/example-project/dbt:1.8.2", "name": "dbt", "gitsync": true,
            "command": ["/bin/bash", "/git/repo/dags/scripts/dbt_run.sh"],
            "env": {"RUN_DATE": "2024-03-01"},
            "envFrom": [{"type": "configMapRef", "name": "dbt-env"}],
            "volumes": [{"name": "gcsfs-creds", "type": "secret", "reference": "gcsfs-creds",
                          "mountPath": "/mnt/secrets"}]
        }),
        params: BTreeMap::from([("RUN_DATE".into(), "2024-03-01".into())]),
        run: RunInfo {
            name: "batch-x7k2p".into(),
            uid: "7d1e2c4a".into(),
            pipeline: "batch".into(),
            namespace: "data".into(),
            attempt: 1,
            start_time: Some("2024-03-01T02:00:00Z".into()),
            trigger: None,
        },
        step: StepInfo { name: "dbt".into(), index: Some(2) },
        item: Some(json!({"table": "trades"})),
        envs: BTreeMap::from([("GITSYNC_REPO".into(), "https://example.com/repo.git".into())]),
        results: BTreeMap::from([("transfer".into(), json!({"objects": 412}))]),
    }
}

/// The identity stamped on whatever renders.
pub fn identity() -> Identity {
    Identity {
        name: "batch-x7k2p-dbt-1".into(),
        namespace: "data".into(),
        labels: BTreeMap::from([("weir.dev/run".into(), "batch-x7k2p".into())]),
        annotations: BTreeMap::new(),
        owner: Default::default(),
    }
}

/// Lets a panic raised inside minijinja unwind to weir-render, which catches it and reports
/// a template error (minijinja 3.1.0 panics on some templates; see `guarded` in
/// weir-render's renderer.rs). libfuzzer-sys's own hook aborts on every panic, caught or
/// not; this one aborts on every other panic, and a minijinja panic that escapes weir-render
/// still aborts when it reaches libfuzzer-sys's `catch_unwind`. Call it in `init:`.
pub fn tolerate_caught_engine_panics() {
    let abort_on_panic = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_engine = info
            .location()
            .is_some_and(|l| l.file().contains("/minijinja-"));
        if !in_engine {
            abort_on_panic(info);
        }
    }));
}
