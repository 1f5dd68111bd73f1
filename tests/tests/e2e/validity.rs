//! The Pipeline controller's `Valid` condition and `weir check` give one answer on the
//! cluster too, for templates kept in ConfigMaps (which the controller reads when it checks
//! a changed spec). Regression: a Pipeline whose template used an undeclared parameter was
//! `Valid=True` (its runs then failed with `TemplateError`) while `weir check` rejected it.

use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use weir_api::v1alpha1::Pipeline;
use weir_e2e::weir::{Controller, create_pipeline, weir_bin};
use weir_e2e::{TestNamespace, wait};

const MINUTE: Duration = Duration::from_secs(60);

const CONFIG_MAP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: tpl}
data:
  job.yaml: |
    apiVersion: batch/v1
    kind: Job
    metadata: {name: x}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: '{{ params.image }}'}]
"#;

const PIPELINE: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: templated}
spec:
  steps:
  - name: a
    job:
      template: {configMapKeyRef: {name: tpl, key: job.yaml}}
"#;

fn valid(p: &Pipeline) -> Option<(String, String)> {
    let s = p.status.as_ref()?;
    let c = s.conditions.iter().find(|c| c.type_ == "Valid")?;
    (s.observed_generation == p.metadata.generation
        && c.observed_generation == p.metadata.generation)
        .then(|| (c.status.clone(), c.message.clone()))
}

/// `weir check` on the same two documents: its problem lines (without the file:line prefix).
fn weir_check(dir: &std::path::Path, pipeline: &str) -> Vec<String> {
    std::fs::write(dir.join("cm.yaml"), CONFIG_MAP).unwrap();
    std::fs::write(dir.join("p.yaml"), pipeline).unwrap();
    let out = Command::new(weir_bin())
        .args(["check", "-f"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter_map(|l| l.split_once(": ").map(|(_, rest)| rest.to_string()))
        .filter(|l| l.contains("params"))
        .collect()
}

#[tokio::test]
async fn a_config_map_template_with_an_undeclared_parameter_is_invalid_as_weir_check_says() {
    let ns = TestNamespace::create("validity").await;
    let _ctl = Controller::start(&ns).await;
    let cm: ConfigMap = serde_saphyr::from_str(CONFIG_MAP).unwrap();
    ns.api::<ConfigMap>()
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    create_pipeline(&ns, PIPELINE).await;
    let pipelines = ns.api::<Pipeline>();
    let p = wait::until(
        &pipelines,
        "templated",
        MINUTE,
        "Valid for this spec",
        |p| valid(p).is_some(),
    )
    .await;
    let (status, message) = valid(&p).unwrap();
    assert_eq!(status, "False", "{message}");
    assert!(message.contains("params.image"), "{message}");

    // The same answer from `weir check`, problem for problem.
    let dir = std::env::temp_dir().join(format!("weir-validity-{}", ns.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let problems = weir_check(&dir, PIPELINE);
    assert!(
        !problems.is_empty(),
        "weir check accepted what the cluster rejects"
    );
    for problem in &problems {
        assert!(
            message.contains(problem.as_str()),
            "weir check: {problem:?}; Valid: {message:?}"
        );
    }

    // A Warning Event names it.
    let events = wait::poll(
        MINUTE,
        Duration::from_millis(200),
        "the InvalidSpec Event",
        || {
            let api = ns.api::<Event>();
            async move {
                let list = api.list(&ListParams::default()).await.ok()?;
                list.items
                    .into_iter()
                    .find(|e| e.reason.as_deref() == Some("InvalidSpec"))
            }
        },
    )
    .await;
    assert_eq!(events.type_.as_deref(), Some("Warning"));
    assert!(events.note.unwrap_or_default().contains("params.image"));

    // Declaring the parameter makes the spec valid: a changed spec is checked again.
    let patch = serde_json::json!({"spec": {"params": [{"name": "image", "default": "busybox"}]}});
    pipelines
        .patch("templated", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let p = wait::until(
        &pipelines,
        "templated",
        MINUTE,
        "Valid for the new spec",
        |p| valid(p).is_some_and(|(s, _)| s == "True"),
    )
    .await;
    assert_eq!(valid(&p).map(|(s, _)| s), Some("True".into()));
    let fixed = PIPELINE.replace(
        "  steps:",
        "  params: [{name: image, default: busybox}]\n  steps:",
    );
    assert_eq!(weir_check(&dir, &fixed), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}
