//! The built-in `spark` template: a SparkJob as a SparkApplication.

use crate::common;

use serde_json::{Value, json};
use weir_render::{Builtin, RenderContext, Renderer, TemplateSource};

fn render(ctx: &RenderContext) -> Value {
    Renderer::new()
        .render_manifest(&TemplateSource::Builtin(Builtin::Spark), ctx)
        .unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn spark_application_carries_the_job() {
    let app = render(&common::spark_batch());
    assert_eq!(app["apiVersion"], "sparkoperator.k8s.io/v1beta2");
    assert_eq!(app["kind"], "SparkApplication");
    let spec = &app["spec"];
    assert_eq!(spec["type"], "Python");
    assert_eq!(spec["mode"], "cluster");
    assert_eq!(spec["sparkVersion"], "3.5.1");
    assert_eq!(spec["image"], "eu.gcr.io/example-project/spark:3.5.1");
    assert_eq!(
        spec["mainApplicationFile"],
        "local:///opt/spark/work-dir/batch.py"
    );
    assert_eq!(
        spec["arguments"],
        json!(["--uri", "s3://landing/2024/03/01/trades.parquet"])
    );
    assert_eq!(
        spec["restartPolicy"],
        json!({"type": "Never"}),
        "weir retries, not spark-operator"
    );
    assert_eq!(spec["deps"]["jars"].as_array().unwrap().len(), 2);
}

#[test]
fn gcs_and_bigquery_settings_pass_through() {
    let app = render(&common::spark_batch());
    let hadoop = &app["spec"]["hadoopConf"];
    assert_eq!(
        hadoop["fs.gs.impl"],
        "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem"
    );
    assert_eq!(
        hadoop["google.cloud.auth.service.account.json.keyfile"],
        "/mnt/secrets/key.json"
    );
    let spark = &app["spec"]["sparkConf"];
    assert_eq!(
        spark["spark.datasource.bigquery.temporaryGcsBucket"],
        "example-tmp"
    );
}

#[test]
fn driver_and_executor_get_resources_env_and_mounts() {
    let app = render(&common::spark_batch());
    let driver = &app["spec"]["driver"];
    assert_eq!(driver["cores"], 1);
    assert_eq!(driver["memory"], "2g");
    assert_eq!(driver["serviceAccount"], "spark");
    let env = driver["env"].as_array().unwrap();
    assert!(env.contains(&json!({"name": "RUN_DATE", "value": "2024-03-01"})));
    assert!(env.contains(&json!({"name": "GOOGLE_CLOUD_PROJECT", "value": "example-project"})));
    let executor = &app["spec"]["executor"];
    assert_eq!(
        (executor["cores"].clone(), executor["instances"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(
        executor["envFrom"],
        json!([{"secretRef": {"name": "aws-creds"}}])
    );
    for role in [driver, executor] {
        assert_eq!(
            role["volumeMounts"],
            json!([{"name": "gcsfs-creds", "mountPath": "/mnt/secrets", "readOnly": true}])
        );
    }
    assert_eq!(
        app["spec"]["volumes"],
        json!([{"name": "gcsfs-creds", "secret": {"secretName": "gcsfs-creds"}}])
    );
}

#[test]
fn monitoring_uses_the_jmx_javaagent() {
    let app = render(&common::spark_batch());
    let monitoring = &app["spec"]["monitoring"];
    assert_eq!(monitoring["exposeDriverMetrics"], true);
    assert_eq!(monitoring["exposeExecutorMetrics"], true);
    assert_eq!(
        monitoring["prometheus"],
        json!({"jmxExporterJar": "/prometheus/jmx_prometheus_javaagent-0.20.0.jar", "port": 8090})
    );
}

#[test]
fn monitoring_honours_its_flags() {
    let mut ctx = common::spark_batch();
    ctx.job["monitoring"] = json!({"exposeDriverMetrics": true, "exposeExecutorMetrics": false,
                                   "jmxExporterJar": "/jmx.jar"});
    let app = render(&ctx);
    let monitoring = &app["spec"]["monitoring"];
    assert_eq!(monitoring["exposeDriverMetrics"], true);
    assert_eq!(monitoring["exposeExecutorMetrics"], false);
    assert_eq!(monitoring["prometheus"]["jmxExporterJar"], "/jmx.jar");
}

#[test]
fn defaults_for_a_minimal_spark_job() {
    let mut ctx = common::spark_batch();
    ctx.envs.clear();
    ctx.job = json!({"image": "spark:3.5.1", "sparkVersion": "3.5.1",
                     "type": "Scala", "mainClass": "org.example.Batch",
                     "mainApplicationFile": "local:///opt/app.jar"});
    let app = render(&ctx);
    let spec = &app["spec"];
    assert_eq!(spec["mainClass"], "org.example.Batch");
    assert!(spec.get("pythonVersion").is_none());
    assert!(spec.get("monitoring").is_none());
    assert_eq!(spec["driver"], json!({"cores": 1, "memory": "1g"}));
    assert_eq!(
        spec["executor"],
        json!({"cores": 1, "instances": 1, "memory": "1g"})
    );
}

#[test]
fn spark_version_is_required() {
    let mut ctx = common::spark_batch();
    ctx.job.as_object_mut().unwrap().remove("sparkVersion");
    let err = Renderer::new()
        .render_manifest(&TemplateSource::Builtin(Builtin::Spark), &ctx)
        .unwrap_err();
    assert!(
        err.to_string().contains("undefined value job.sparkVersion"),
        "{err}"
    );
}
