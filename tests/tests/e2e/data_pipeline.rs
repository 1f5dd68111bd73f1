//! `weir-data schema-groups` in a pipeline on the cluster: the step's result is the real
//! output of the binary on test Parquet files (the seed's case: a price column written as
//! INT64 in some files and DOUBLE in others), handed to the fake kubelet as the pod's
//! termination message; the `forEach: {fromStep: …}` step fans out into one child per group,
//! each rendered with its group's files.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::ResourceExt;
use kube::api::ListParams;
use weir_api::v1alpha1::RunPhase;
use weir_data::testdata::{self, PRICE_DOUBLE, PRICE_INT64};
use weir_e2e::TestNamespace;
use weir_e2e::weir::{Controller, create_pipeline, finished, start_run, steps, weir_data_bin};

/// The stdout of `weir-data schema-groups file://DIR/` over two files of each schema.
fn real_schema_groups() -> (String, tempdir::Dir) {
    let dir = tempdir::Dir::new("schema-groups-e2e");
    for (name, schema) in [
        ("a.parquet", PRICE_INT64),
        ("b.parquet", PRICE_DOUBLE),
        ("c.parquet", PRICE_INT64),
        ("d.parquet", PRICE_DOUBLE),
    ] {
        let bytes = testdata::parquet(schema, 10, 1).unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let out = Command::new(weir_data_bin())
        .args([
            "schema-groups",
            &format!("file://{}/", dir.path().display()),
        ])
        .args(["--termination-log", "/dev/null"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run weir-data: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        dir,
    )
}

#[tokio::test]
async fn schema_groups_output_fans_out_one_step_per_group() {
    let (groups, dir) = real_schema_groups();
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&groups).unwrap();
    assert_eq!(parsed.len(), 2, "two schemas: {groups}");
    let ns = TestNamespace::create("schema-groups-fanout").await;
    let _ctl = Controller::start(&ns).await;
    // JSON is YAML: the annotation carries the binary's output verbatim.
    let pipeline = serde_json::json!({
        "apiVersion": "weir.dev/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "groups"},
        "spec": {"steps": [
            {"name": "schema-groups", "job": {"image": "example.invalid/weir-data:1",
                "jobArgs": {"annotations": {"weir.dev/test-termination-message": groups}}}},
            {"name": "load", "dependsOn": ["schema-groups"], "forEach": {"fromStep": "schema-groups"},
                "job": {"image": "example.invalid/spark:1",
                    "args": ["--schema", "{{ item.schema }}", "--files", "{{ item.files | join(',') }}"]}}
        ]}
    });
    create_pipeline(&ns, &pipeline.to_string()).await;
    start_run(&ns, "groups", "g1", &[]).await;
    let run = finished(&ns, "g1", Duration::from_secs(90)).await;
    assert_eq!(
        run.status.as_ref().map(|s| s.phase),
        Some(RunPhase::Succeeded),
        "{:?}",
        run.status
    );
    assert_eq!(steps(&run)["load"].items.len(), 2);
    let jobs = ns
        .api::<Job>()
        .list(&ListParams::default().labels("weir.dev/step=load"))
        .await
        .unwrap()
        .items;
    let rendered: BTreeSet<(String, String)> = jobs
        .iter()
        .map(|j| {
            let args = j
                .spec
                .clone()
                .unwrap_or_default()
                .template
                .spec
                .unwrap_or_default()
                .containers[0]
                .args
                .clone()
                .unwrap_or_default();
            (args[1].clone(), args[3].clone())
        })
        .collect();
    let want: BTreeSet<(String, String)> = parsed
        .iter()
        .map(|g| {
            let files: Vec<&str> = g["files"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f.as_str())
                .collect();
            (g["schema"].as_str().unwrap().to_owned(), files.join(","))
        })
        .collect();
    assert_eq!(
        rendered,
        want,
        "jobs: {:?}",
        jobs.iter().map(|j| j.name_any()).collect::<Vec<_>>()
    );
    let base = format!("file://{}/", dir.path().display());
    for (_, files) in &rendered {
        let names: BTreeSet<&str> = files
            .split(',')
            .map(|f| f.trim_start_matches(&base))
            .collect();
        assert!(
            names == BTreeSet::from(["a.parquet", "c.parquet"])
                || names == BTreeSet::from(["b.parquet", "d.parquet"]),
            "{files}"
        );
    }
}

/// A temporary directory removed on drop (no extra dependency for one test).
mod tempdir {
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!("weir-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
