//! The Helm chart (charts/weir) on the local control plane. Each test `helm install`s it,
//! then runs the weir controller outside the cluster with a token of the chart's
//! ServiceAccount and carries pipelines to success with `weir run --wait` — proof that the
//! chart's RBAC is enough — and asks the API server (SubjectAccessReviews) that the account
//! can do nothing else of note: no Secrets (but the one `rbac.secrets` names, by name), no
//! Deployments or Pods, no other Lease.
//!
//! The controller's namespace enforces the "restricted" Pod Security Standard, so the
//! install also proves the Deployment's security settings (kwok runs its pods; no image is
//! pulled). Flags the chart passes that the binary does not have yet (`--metrics-addr`,
//! `--leader-election`) are only exercised once `weir controller --help` lists them.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::json;
use weir_api::v1alpha1::PipelineRun;
use weir_e2e::cluster::{
    KEEP_NAMESPACES_ENV, install_crypto_provider, kubeconfig_path, runtime_dir,
};
use weir_e2e::weir::{create_pipeline, install_crds, weir_bin};
use weir_e2e::{TestNamespace, wait};

const MINUTE: Duration = Duration::from_secs(60);

/// The Secret the namespace-scoped install lets the controller read (`rbac.secrets`).
const WEBHOOK_SECRET: &str = "landing-hook";

/// Runs with the controller's reach limited to one namespace: Roles only. Safe beside the
/// other tests, whose controllers each watch their own namespace.
#[tokio::test]
async fn the_chart_rbac_carries_pipelines_in_its_watch_namespace_and_no_further() {
    scenario(Scope::Namespace).await;
}

/// The default install: a ClusterRole, a controller watching every namespace.
#[tokio::test]
#[ignore = "a controller watching every namespace would reconcile other tests' runs; run alone by `make e2e`"]
async fn the_chart_rbac_carries_pipelines_in_every_namespace() {
    scenario(Scope::Cluster).await;
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scope {
    Namespace,
    Cluster,
}

async fn scenario(scope: Scope) {
    let admin = weir_e2e::client().await;
    // CRDs first: helm then skips its crds/ (identical, see charts/weir/check-crds.sh) instead
    // of racing the other tests' server-side apply of them.
    install_crds(&admin).await;
    let ctl = TestNamespace::create("chart").await;
    let pl = TestNamespace::create("chart-pipelines").await;
    restrict_pod_security(&ctl).await;

    // A bucket trigger's credentialsSecret, readable by name in both scopes.
    let mut values = vec![
        format!("rbac.secrets[0].namespace={}", pl.name()),
        "rbac.secrets[0].names[0]=bucket-keys".to_owned(),
    ];
    match scope {
        Scope::Namespace => values.extend([
            format!("watchNamespace={}", pl.name()),
            // The webhook: its create rule, and get on one named Secret only.
            "webhook.enabled=true".into(),
            format!("rbac.secrets[0].names[1]={WEBHOOK_SECRET}"),
        ]),
        Scope::Cluster => values.push(format!(
            "pipelineEnv.namespaces={{{},{}}}",
            ctl.name(),
            pl.name()
        )),
    }
    let release = Release::install(ctl.name(), &values).await;

    let deployment: Deployment = ctl.api().get(&release.fullname()).await.unwrap();
    let ready = deployment.status.as_ref().and_then(|s| s.ready_replicas);
    assert_eq!(
        ready,
        Some(2),
        "helm --wait returned with the Deployment not ready"
    );
    let env: ConfigMap = pl
        .api()
        .get("pipeline-env")
        .await
        .unwrap_or_else(|e| panic!("pipeline-env in {}: {e}", pl.name()));
    assert!(
        env.data
            .unwrap_or_default()
            .contains_key("GOOGLE_CLOUD_PROJECT")
    );

    let sa = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.service_account_name.clone())
        .unwrap();
    let account = Account {
        name: sa.clone(),
        namespace: ctl.name().to_string(),
        client: admin.clone(),
    };
    account
        .check_permissions(scope, ctl.name(), pl.name())
        .await;

    let kubeconfig = TokenKubeconfig::write(&admin, ctl.name(), &sa).await;
    let whoami = kubeconfig.whoami().await;
    assert_eq!(
        whoami,
        account.user(),
        "the token authenticates as someone else"
    );

    let mut controller = ChartController::start(&kubeconfig, &deployment, ctl.name(), pl.name());
    controller.await_ready(ctl.name()).await;

    carry_pipelines(&pl).await;
    controller.check_metrics().await;

    let log = controller.stop().await;
    let denied: Vec<&str> = log
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("forbidden"))
        .collect();
    assert!(
        denied.is_empty(),
        "the controller was denied what the chart should grant:\n{}",
        denied.join("\n")
    );
}

/// Starts pipelines as a user would (admin kubeconfig) and checks that the controller,
/// running as the chart's ServiceAccount, carried them out; each check names the rule of
/// the chart it depends on.
async fn carry_pipelines(pl: &TestNamespace) {
    let hello = std::fs::read_to_string(repo().join("examples/hello.yaml")).unwrap();
    create_pipeline(pl, &hello).await;
    // configmaps: get — the template of step from-configmap.
    pl.api::<ConfigMap>()
        .create(
            &PostParams::default(),
            &serde_json::from_value(templates()).unwrap(),
        )
        .await
        .unwrap();
    create_pipeline(pl, RBAC_PIPELINE).await;
    create_pipeline(pl, FAILING_PIPELINE).await;
    weir_run(pl, "hello", true).await;
    let first = weir_run(pl, "rbac", true).await;
    let second = weir_run(pl, "rbac", true).await;
    // A failed step makes a Warning Event (Normal ones are off by default).
    weir_run(pl, "fails", false).await;

    // defaults.envFrom reaches the step's Job: the chart's pipeline-env ConfigMap.
    let jobs = jobs_of(pl, &second, "env").await;
    let env_from: Vec<serde_json::Value> = jobs
        .iter()
        .filter_map(|j| {
            let job = serde_json::to_value(j).unwrap();
            job.pointer("/spec/template/spec/containers/0/envFrom")
                .cloned()
        })
        .collect();
    assert_eq!(
        env_from,
        [json!([{"configMapRef": {"name": "pipeline-env"}}])],
        "the step's Job does not take its environment from pipeline-env"
    );
    // jobs: delete — deletePolicy IfSucceeded.
    wait::poll(
        MINUTE,
        Duration::from_millis(250),
        "the Job of a succeeded IfSucceeded step to be deleted",
        || async {
            jobs_of(pl, &second, "from-configmap")
                .await
                .is_empty()
                .then_some(())
        },
    )
    .await;
    // pipelineruns: delete — history.successfulRunsLimit 1.
    let runs = pl.api::<PipelineRun>();
    wait::poll(
        MINUTE,
        Duration::from_millis(250),
        "the older run to be deleted (successfulRunsLimit 1)",
        || async { runs.get_opt(&first).await.unwrap().is_none().then_some(()) },
    )
    .await;
    // events.k8s.io: create.
    let events = pl
        .api::<Event>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert!(
        events
            .iter()
            .any(|e| e.reporting_controller.as_deref() == Some("weir")
                && e.type_.as_deref() == Some("Warning")),
        "no Warning Event from weir in {}: {:?}",
        pl.name(),
        events.iter().map(|e| &e.reason).collect::<Vec<_>>()
    );
}

/// `weir run NAME --wait` as the admin, which exits 0 when the run succeeded and 1 when it
/// failed; returns the run's name.
async fn weir_run(ns: &TestNamespace, pipeline: &str, succeeds: bool) -> String {
    let run = tokio::process::Command::new(weir_bin())
        .args(["run", pipeline, "--wait", "-n", ns.name()])
        .env("KUBECONFIG", kubeconfig_path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(2 * MINUTE, run)
        .await
        .unwrap_or_else(|_| panic!("weir run {pipeline} did not finish within 2 minutes"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(if succeeds { 0 } else { 1 }),
        "weir run {pipeline}:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("pipelinerun/")?.strip_suffix(" created"))
        .unwrap()
        .to_string()
}

async fn jobs_of(ns: &TestNamespace, run: &str, step: &str) -> Vec<Job> {
    let lp = ListParams::default().labels(&format!("weir.dev/run={run},weir.dev/step={step}"));
    ns.api::<Job>().list(&lp).await.unwrap().items
}

async fn restrict_pod_security(ns: &TestNamespace) {
    let patch =
        json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
    Api::<k8s_openapi::api::core::v1::Namespace>::all(ns.client())
        .patch(ns.name(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

fn repo() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("..")
}

/// Each part of this pipeline needs a different rule of the chart; examples/hello.yaml
/// covers the plain path (watch, apply Jobs, status).
const RBAC_PIPELINE: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: rbac}
spec:
  # The chart's pipeline-env ConfigMap as every step's environment.
  defaults:
    envFrom: [{type: configMapRef, name: pipeline-env}]
  # The second run makes the controller delete the first (pipelineruns: delete).
  history: {successfulRunsLimit: 1}
  steps:
  - {name: env, job: {image: example.invalid/busybox:1, command: [env]}}
  - name: from-configmap
    dependsOn: [env]
    # Deleted once it succeeds (jobs: delete).
    deletePolicy: IfSucceeded
    job:
      image: example.invalid/busybox:1
      # Read by the controller (configmaps: get).
      template: {configMapKeyRef: {name: chart-e2e-templates, key: job.yaml.j2}}
"#;

/// One step whose pod fails (kwok: tests/cluster/stages.yaml), so the run fails.
const FAILING_PIPELINE: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: fails}
spec:
  steps:
  - name: boom
    job:
      image: example.invalid/busybox:1
      jobArgs: {labels: {weir.dev/test-fail: "true"}}
"#;

fn templates() -> serde_json::Value {
    let template = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {{ job.name | tojson }}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: {{ job.image | tojson }}
          command: ["true"]
"#;
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "chart-e2e-templates"}, "data": {"job.yaml.j2": template}})
}

/// The path of `tool` from the cluster's binaries (tests/cluster/build.sh; cached).
fn cluster_bin(tool: &str) -> PathBuf {
    let out = Command::new(repo().join("tests/cluster/build.sh"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "tests/cluster/build.sh failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join(tool)
}

/// A Helm release of charts/weir, uninstalled when dropped (also while a test unwinds), so
/// its cluster-scoped ClusterRole and binding never outlive the test.
struct Release {
    name: String,
    namespace: String,
    helm: PathBuf,
}

impl Release {
    /// `helm install --wait`, named after its namespace (unique per test).
    async fn install(namespace: &str, set: &[String]) -> Self {
        let helm = cluster_bin("helm");
        let mut cmd = tokio::process::Command::new(&helm);
        cmd.args(["install", namespace])
            .arg(repo().join("charts/weir"))
            .args(["-n", namespace, "--wait", "--timeout", "3m"]);
        cmd.arg("--kubeconfig").arg(kubeconfig_path());
        for s in set {
            cmd.args(["--set", s]);
        }
        let out = cmd.output().await.unwrap();
        let release = Release {
            name: namespace.to_string(),
            namespace: namespace.to_string(),
            helm,
        };
        assert!(
            out.status.success(),
            "helm install failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        release
    }

    /// The chart's full name for this release: "<release>-weir".
    fn fullname(&self) -> String {
        format!("{}-weir", self.name)
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_NAMESPACES_ENV).is_some() {
            return;
        }
        let res = Command::new(&self.helm)
            .args([
                "uninstall",
                &self.name,
                "-n",
                &self.namespace,
                "--wait",
                "--timeout",
                "60s",
                "--kubeconfig",
            ])
            .arg(kubeconfig_path())
            .output();
        match res {
            Ok(o) if o.status.success() => {}
            // Never panic in Drop: while unwinding that would abort the test binary.
            Ok(o) => eprintln!(
                "helm uninstall {} failed: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("cannot run helm uninstall {}: {e}", self.name),
        }
    }
}

/// The chart's ServiceAccount, as the authorizer sees it.
struct Account {
    name: String,
    namespace: String,
    client: Client,
}

impl Account {
    fn user(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }

    /// Whether the account may `verb` `resource` (`group/resource[/subresource]`, optionally
    /// `…:name`) in `ns` ("" for every namespace). A SubjectAccessReview states group and
    /// resource exactly, also for kinds the cluster does not serve (SparkApplications).
    async fn may(&self, verb: &str, what: &str, ns: &str) -> bool {
        let (path, name) = what
            .split_once(':')
            .map_or((what, None), |(p, n)| (p, Some(n.to_string())));
        let mut parts = path.splitn(3, '/');
        let group = parts.next().unwrap().to_string();
        let resource = parts.next().unwrap().to_string();
        let sar = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(self.user()),
                groups: Some(vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{}", self.namespace),
                    "system:authenticated".into(),
                ]),
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(ns.to_string()),
                    verb: Some(verb.into()),
                    group: Some(group),
                    resource: Some(resource),
                    subresource: parts.next().map(String::from),
                    name,
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let review = Api::<SubjectAccessReview>::all(self.client.clone())
            .create(&PostParams::default(), &sar)
            .await
            .unwrap();
        review.status.is_some_and(|s| s.allowed)
    }

    /// Every rule of the chart is granted, and nothing of what the controller has no
    /// business with. Collects every mismatch before failing.
    async fn check_permissions(&self, scope: Scope, ctl: &str, pl: &str) {
        let mut want: Vec<(bool, &str, &str, &str)> = vec![
            (true, "list", "weir.dev/pipelineruns", pl),
            (true, "watch", "weir.dev/pipelines", pl),
            (true, "patch", "weir.dev/pipelineruns/status", pl),
            (true, "patch", "weir.dev/pipelines/status", pl),
            (true, "delete", "weir.dev/pipelineruns", pl),
            (true, "update", "weir.dev/pipelineruns/finalizers", pl),
            // The SparkJob and DbtRun controllers.
            (true, "watch", "weir.dev/sparkjobs", pl),
            (true, "list", "weir.dev/dbtruns", pl),
            (true, "patch", "weir.dev/sparkjobs/status", pl),
            (true, "patch", "weir.dev/dbtruns/status", pl),
            (true, "update", "weir.dev/dbtruns/finalizers", pl),
            (false, "update", "weir.dev/sparkjobs", pl),
            (false, "delete", "weir.dev/dbtruns", pl),
            (true, "create", "batch/jobs", pl),
            (true, "patch", "batch/jobs", pl),
            (true, "delete", "batch/jobs", pl),
            (true, "watch", "/pods", pl),
            (true, "get", "/configmaps", pl),
            (true, "create", "events.k8s.io/events", pl),
            (true, "patch", "events.k8s.io/events", pl),
            (true, "list", "sparkoperator.k8s.io/sparkapplications", pl),
            (true, "watch", "sparkoperator.k8s.io/sparkapplications", pl),
            (true, "create", "sparkoperator.k8s.io/sparkapplications", pl),
            (true, "patch", "sparkoperator.k8s.io/sparkapplications", pl),
            (true, "delete", "sparkoperator.k8s.io/sparkapplications", pl),
            (true, "create", "coordination.k8s.io/leases", ctl),
            (
                true,
                "patch",
                "coordination.k8s.io/leases:weir-controller",
                ctl,
            ),
            (
                true,
                "get",
                "coordination.k8s.io/leases:weir-controller",
                ctl,
            ),
            (
                true,
                "watch",
                "coordination.k8s.io/leases:weir-controller",
                ctl,
            ),
            (false, "watch", "coordination.k8s.io/leases", ctl),
            // What it may not do.
            (false, "get", "/secrets", pl),
            (false, "get", "/secrets", ctl),
            (false, "list", "/secrets", ""),
            (false, "create", "apps/deployments", pl),
            (false, "create", "/pods", pl),
            (false, "delete", "/pods", pl),
            (false, "create", "/pods/exec", pl),
            (false, "update", "weir.dev/pipelines", pl),
            // Bucket triggers and schedules start runs.
            (true, "create", "weir.dev/pipelineruns", pl),
            // The one credentials Secret listed in rbac.secrets, by name only.
            (true, "get", "/secrets:bucket-keys", pl),
            (false, "get", "/secrets:other-keys", pl),
            (false, "list", "/secrets", pl),
            (false, "watch", "/secrets", pl),
            (false, "list", "/configmaps", pl),
            (false, "patch", "/configmaps", pl),
            (false, "create", "ray.io/rayjobs", pl),
            (
                false,
                "patch",
                "coordination.k8s.io/leases:another-lease",
                ctl,
            ),
            (
                false,
                "delete",
                "coordination.k8s.io/leases:weir-controller",
                ctl,
            ),
            (
                false,
                "create",
                "rbac.authorization.k8s.io/rolebindings",
                pl,
            ),
            (
                false,
                "create",
                "rbac.authorization.k8s.io/clusterrolebindings",
                "",
            ),
            (false, "impersonate", "/serviceaccounts", pl),
            (false, "*", "*/*", ""),
        ];
        match scope {
            Scope::Namespace => want.extend([
                // webhook.enabled and rbac.secrets: its Secret read by name too.
                (true, "get", "/secrets:landing-hook", pl),
                (false, "get", "/secrets:another-secret", pl),
                (false, "watch", "/secrets:landing-hook", pl),
                (false, "get", "/secrets:landing-hook", ctl),
                (false, "list", "weir.dev/pipelineruns", ""),
                (false, "list", "weir.dev/pipelineruns", ctl),
                (false, "create", "batch/jobs", "default"),
            ]),
            Scope::Cluster => want.extend([
                (true, "list", "weir.dev/pipelineruns", ""),
                (true, "watch", "batch/jobs", ""),
            ]),
        }
        let mut wrong = vec![];
        for (expect, verb, what, ns) in want {
            let got = self.may(verb, what, ns).await;
            eprintln!(
                "  {:<3} {verb} {what} in {}",
                if got { "yes" } else { "no" },
                if ns.is_empty() { "every namespace" } else { ns }
            );
            if got != expect {
                wrong.push(format!("{verb} {what} in {ns:?}: {got}, want {expect}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} may not do what the chart promises:\n{}",
            self.user(),
            wrong.join("\n")
        );
    }
}

/// A kubeconfig holding a fresh token of a ServiceAccount (TokenRequest, 1 h), for the
/// local cluster; removed when dropped.
struct TokenKubeconfig {
    path: PathBuf,
}

impl TokenKubeconfig {
    async fn write(admin: &Client, ns: &str, sa: &str) -> Self {
        let request = TokenRequest {
            spec: TokenRequestSpec {
                expiration_seconds: Some(3600),
                ..Default::default()
            },
            ..Default::default()
        };
        let token = Api::<ServiceAccount>::namespaced(admin.clone(), ns)
            .create_token_request(sa, &PostParams::default(), &request)
            .await
            .unwrap()
            .status
            .unwrap()
            .token;
        let admin_config = Kubeconfig::read_from(kubeconfig_path()).unwrap();
        let cluster = admin_config.clusters[0].cluster.clone().unwrap();
        let server = cluster.server.unwrap();
        let ca = cluster.certificate_authority_data.unwrap();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
             users:\n- name: {sa}\n  user:\n    token: {token}\n\
             contexts:\n- name: {sa}\n  context: {{cluster: local, user: {sa}}}\ncurrent-context: {sa}\n"
        );
        let dir = runtime_dir().join("e2e-logs");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{ns}-token.kubeconfig"));
        write_private(&path, &text);
        TokenKubeconfig { path }
    }

    /// Who the API server says the token is (SelfSubjectReview).
    async fn whoami(&self) -> String {
        install_crypto_provider();
        let kubeconfig = Kubeconfig::read_from(&self.path).unwrap();
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .unwrap();
        let client = Client::try_from(config).unwrap();
        let review = Api::<SelfSubjectReview>::all(client)
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .unwrap();
        review
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .unwrap_or_default()
    }
}

impl Drop for TokenKubeconfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn write_private(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// `weir controller` outside the cluster, as the chart's ServiceAccount, with the flags the
/// chart passes (where this binary has them); killed when dropped.
struct ChartController {
    child: Option<Child>,
    log: PathBuf,
    metrics: Option<String>,
    leader_election: bool,
}

impl ChartController {
    /// Runs the binary under test exactly as the chart's Deployment runs it: the container
    /// args and env that helm rendered (read back from the installed Deployment), so a flag
    /// renamed in the binary or the chart fails here. Only what a pod would get from its
    /// environment is filled in: the metrics address moves to a free loopback port (nothing
    /// here binds beyond loopback), and the downward-API env gets the pod's name and
    /// namespace.
    fn start(kubeconfig: &TokenKubeconfig, deployment: &Deployment, ctl: &str, pl: &str) -> Self {
        let container = deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.containers.iter().find(|c| c.name == "controller"))
            .unwrap_or_else(|| panic!("the chart's Deployment has no controller container"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let mut metrics = None;
        let args: Vec<String> = container
            .args
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                if a.starts_with("--webhook-addr=") {
                    // Loopback only, like the metrics address.
                    return format!("--webhook-addr=127.0.0.1:{}", weir_e2e::weir::free_port());
                }
                match a.strip_prefix("--metrics-addr=") {
                    Some(_) => {
                        let addr = format!("127.0.0.1:{port}");
                        metrics = Some(addr.clone());
                        format!("--metrics-addr={addr}")
                    }
                    None => a,
                }
            })
            .collect();
        let leader_election = args.iter().any(|a| a == "--leader-election");
        let mut env: Vec<(String, String)> = Vec::new();
        for e in container.env.clone().unwrap_or_default() {
            let field = e
                .value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str());
            let value = match (e.value, field) {
                (Some(v), _) => v,
                (None, Some("metadata.name")) => format!("{ctl}-e2e"),
                (None, Some("metadata.namespace")) => ctl.to_string(),
                (None, other) => panic!(
                    "the chart sets env {} from {other:?}: teach this test",
                    e.name
                ),
            };
            env.push((e.name, value));
        }
        let log = runtime_dir()
            .join("e2e-logs")
            .join(format!("{pl}-chart-controller.log"));
        let out = std::fs::File::create(&log).unwrap();
        eprintln!(
            "running weir {} as the chart's ServiceAccount (log: {})",
            args.join(" "),
            log.display()
        );
        let child = Command::new(weir_bin())
            .args(&args)
            .envs(env)
            .env("KUBECONFIG", &kubeconfig.path)
            .env("NO_COLOR", "1")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("WEIR_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        ChartController {
            child: Some(child),
            log,
            metrics,
            leader_election,
        }
    }

    /// Ready (/readyz) and leading (the Lease names it), where the binary has those.
    async fn await_ready(&self, ctl: &str) {
        if let Some(addr) = &self.metrics {
            let url = format!("http://{addr}/readyz");
            wait::poll(
                MINUTE,
                Duration::from_millis(250),
                "the controller's /readyz",
                || async {
                    let ok = reqwest::get(&url)
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    ok.then_some(())
                },
            )
            .await;
        }
        if self.leader_election {
            let leases: Api<Lease> = Api::namespaced(weir_e2e::client().await, ctl);
            let me = format!("{ctl}-e2e");
            wait::until(
                &leases,
                "weir-controller",
                MINUTE,
                "the controller to hold the Lease",
                move |l: &Lease| {
                    l.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) == Some(me.as_str())
                },
            )
            .await;
        }
    }

    async fn check_metrics(&self) {
        let Some(addr) = &self.metrics else { return };
        let text = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.lines().any(|l| l.starts_with("weir_")),
            "no weir_ series on /metrics:\n{text}"
        );
    }

    /// Stops it with SIGTERM, as Kubernetes does (a graceful shutdown), and returns its log.
    async fn stop(&mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let exited = tokio::time::timeout(Duration::from_secs(10), async {
                while child.try_wait().ok().flatten().is_none() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await;
            if exited.is_err() {
                eprintln!("the controller ignored SIGTERM for 10 s; killing it");
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChartController {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
