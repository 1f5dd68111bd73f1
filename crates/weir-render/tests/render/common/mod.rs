//! Realistic contexts shared by the integration tests: the seed's tasks, read
//! from bench/*.json so the benchmark and bench/render.sh use the same.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::Value;
use weir_render::{Identity, RenderContext, RunInfo, StepInfo};

fn parse(text: &str) -> RenderContext {
    let json: Value = serde_json::from_str(text).expect("bench context is JSON");
    let field = |name: &str| json.get(name).cloned().unwrap_or_default();
    let run = field("run");
    let text_of = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
    RenderContext {
        job: field("job"),
        params: serde_json::from_value(field("params")).expect("params"),
        run: RunInfo {
            name: text_of(&run, "name"),
            uid: text_of(&run, "uid"),
            pipeline: text_of(&run, "pipeline"),
            namespace: text_of(&run, "namespace"),
            attempt: run["attempt"].as_u64().unwrap_or(1) as u32,
            start_time: run["startTime"].as_str().map(str::to_owned),
            trigger: None,
        },
        step: StepInfo {
            name: text_of(&field("step"), "name"),
            index: None,
        },
        item: None,
        envs: serde_json::from_value(field("envs")).expect("envs"),
        results: serde_json::from_value(field("results")).expect("results"),
    }
}

/// The seed's dbt task through the `job` template (what the benchmark renders).
pub fn dbt_task() -> RenderContext {
    parse(include_str!("../../../../../bench/job_context.json"))
}

/// The seed's batch Spark job as a SparkJob spec.
pub fn spark_batch() -> RenderContext {
    parse(include_str!("../../../../../bench/spark_context.json"))
}

/// The seed's dbt step as a DbtRun spec, docs uploaded to GCS.
pub fn dbt_run() -> RenderContext {
    parse(include_str!("../../../../../bench/dbt_context.json"))
}

/// The identity weir-core would stamp on the dbt step's first attempt.
pub fn identity() -> Identity {
    Identity {
        name: "batch-20240301-x7k2p-dbt-1".into(),
        namespace: "data".into(),
        labels: BTreeMap::from([
            ("weir.dev/pipeline".into(), "batch".into()),
            ("weir.dev/run".into(), "batch-20240301-x7k2p".into()),
            ("weir.dev/step".into(), "dbt".into()),
            ("weir.dev/attempt".into(), "1".into()),
        ]),
        annotations: BTreeMap::from([("weir.dev/template".into(), "job".into())]),
        owner: OwnerReference {
            api_version: "weir.dev/v1alpha1".into(),
            kind: "PipelineRun".into(),
            name: "batch-20240301-x7k2p".into(),
            uid: "7d1e2c4a-5b6f-4c3d-9e8f-0a1b2c3d4e5f".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        },
    }
}
