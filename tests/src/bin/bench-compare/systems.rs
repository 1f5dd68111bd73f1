//! The two systems under test as processes on the local cluster: `weir controller` and
//! Argo's `workflow-controller` (built by `bench/peers/build.sh argo`), each scoped to the
//! benchmark's namespace, at the same client `--qps/--burst`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use weir_e2e::TestNamespace;
use weir_e2e::cluster::kubeconfig_path;
use weir_e2e::weir::{apply_crd, install_crds, weir_bin};

/// Argo serves /healthz here, hard-coded: one Argo controller per machine at a time.
const ARGO_HEALTH: &str = "127.0.0.1:6060";

/// A controller process; killed when dropped.
pub struct Controller {
    child: Child,
    ready_url: String,
}

impl Controller {
    /// Starts `weir controller` for `ns`.
    pub fn weir(ns: &str, port: u16, qps: &str, burst: &str, log: &Path) -> Self {
        let child = Command::new(weir_bin())
            .args(["controller", "--namespace", ns, "--log", "warn"])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .args(["--qps", qps, "--burst", burst])
            .env("KUBECONFIG", kubeconfig_path())
            .stdin(Stdio::null())
            .stdout(log_file(log))
            .stderr(log_file(log))
            .spawn()
            .expect("start weir controller");
        Self {
            child,
            ready_url: format!("http://127.0.0.1:{port}/readyz"),
        }
    }

    /// Starts Argo's workflow-controller for `ns` (its ConfigMap must exist there).
    pub fn argo(bin: &Path, ns: &str, qps: &str, burst: &str, log: &Path) -> Self {
        assert!(
            std::net::TcpListener::bind(ARGO_HEALTH).is_ok(),
            "{ARGO_HEALTH} is taken: another Argo workflow-controller runs on this machine"
        );
        let kubeconfig = kubeconfig_path();
        let child = Command::new(bin)
            .args(["--kubeconfig", &kubeconfig.display().to_string()])
            .args(["-n", ns, "--namespaced", "--managed-namespace", ns])
            .args(["--executor-image", "example.invalid/argoexec:v3.7.18"])
            .args(["--qps", qps, "--burst", burst, "--loglevel", "warn"])
            .env("LEADER_ELECTION_DISABLE", "true")
            .stdin(Stdio::null())
            .stdout(log_file(log))
            .stderr(log_file(log))
            .spawn()
            .expect("start Argo's workflow-controller");
        Self {
            child,
            ready_url: format!("http://{ARGO_HEALTH}/healthz"),
        }
    }

    /// The process id (for /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the readiness URL answers 200.
    pub async fn until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the controller exited at start ({status}); see its log");
            }
            if reqwest::get(&self.ready_url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} never answered",
                self.ready_url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_file(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("controller log")
}

/// weir's CRDs.
pub async fn install_weir(client: &Client) {
    install_crds(client).await;
}

/// Argo's CRDs from `dir` (the module's `manifests/base/crds/minimal`), server-side applied,
/// and the controller's ConfigMap in `ns` (metrics off: they would serve TLS on :9090).
pub async fn install_argo(ns: &TestNamespace, dir: &Path) {
    let client = ns.client();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("Argo CRDs {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("argoproj.io_") && n.ends_with(".yaml"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no Argo CRDs in {}", dir.display());
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read CRD");
        let crd: CustomResourceDefinition =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("CRD {}: {e}", f.display()));
        apply_crd(&client, &crd).await;
    }
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "workflow-controller-configmap"},
        "data": {
            "metricsConfig": "enabled: false\n",
            "telemetryConfig": "enabled: false\n",
        },
    }))
    .expect("configmap");
    ns.api::<ConfigMap>()
        .create(&PostParams::default(), &cm)
        .await
        .expect("create Argo's ConfigMap");
}

/// The API of a namespaced custom kind (group, version, plural).
pub fn dynamic(client: &Client, ns: &str, gvp: (&str, &str, &str, &str)) -> Api<DynamicObject> {
    let (group, version, kind, plural) = gvp;
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// weir runs, Argo Workflows, Argo WorkflowTemplates, weir Pipelines, Argo task results.
pub const RUNS_WEIR: (&str, &str, &str, &str) =
    ("weir.dev", "v1alpha1", "PipelineRun", "pipelineruns");
pub const RUNS_ARGO: (&str, &str, &str, &str) =
    ("argoproj.io", "v1alpha1", "Workflow", "workflows");
pub const DEF_WEIR: (&str, &str, &str, &str) = ("weir.dev", "v1alpha1", "Pipeline", "pipelines");
pub const DEF_ARGO: (&str, &str, &str, &str) = (
    "argoproj.io",
    "v1alpha1",
    "WorkflowTemplate",
    "workflowtemplates",
);
pub const TASK_RESULTS: (&str, &str, &str, &str) = (
    "argoproj.io",
    "v1alpha1",
    "WorkflowTaskResult",
    "workflowtaskresults",
);

/// Creates an object from YAML through `api` (the manifest's own kind).
pub async fn create_yaml(api: &Api<DynamicObject>, yaml: &str) {
    let obj: DynamicObject = serde_saphyr::from_str(yaml).expect("manifest yaml");
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create {:?}: {e}", obj.metadata.name));
}

/// Server-side applies an object from YAML (used for definitions).
pub async fn apply_yaml(api: &Api<DynamicObject>, yaml: &str) {
    let obj: DynamicObject = serde_saphyr::from_str(yaml).expect("manifest yaml");
    let name = obj.metadata.name.clone().expect("name");
    api.patch(
        &name,
        &PatchParams::apply("bench").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {name}: {e}"));
}
