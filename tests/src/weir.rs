//! weir itself under test: the CRDs installed once per test process, a `weir controller`
//! process per test (scoped to the test's namespace, so tests never share a controller and
//! one can SIGKILL its own), and helpers to start and await runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use tokio::sync::OnceCell;
use weir_api::v1alpha1::{Pipeline, PipelineRun, PipelineRunSpec};

use crate::cluster::{kubeconfig_path, runtime_dir};
use crate::{TestNamespace, wait};

/// The `weir` binary under test: `$WEIR_BIN`, else `debug/weir` in the cargo target dir.
pub fn weir_bin() -> PathBuf {
    workspace_bin("weir", "WEIR_BIN")
}

/// The `weir-data` binary under test: `$WEIR_DATA_BIN`, else `debug/weir-data` in the cargo
/// target dir.
pub fn weir_data_bin() -> PathBuf {
    workspace_bin("weir-data", "WEIR_DATA_BIN")
}

/// A binary of the workspace: `$env_var`, else `debug/<name>` in the cargo target dir.
fn workspace_bin(name: &str, env_var: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env_var) {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../target")
        });
    let bin = target.join("debug").join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p {name}` (make e2e does)",
        bin.display()
    );
    bin
}

static CRDS: OnceCell<()> = OnceCell::const_new();

/// Server-side applies weir's CRDs (once per test process) and waits until they serve.
pub async fn install_crds(client: &Client) {
    CRDS.get_or_init(|| async {
        for crd in weir_api::crds() {
            apply_crd(client, &crd).await;
        }
    })
    .await;
}

/// Server-side applies one CRD and waits until it is Established (served).
pub async fn apply_crd(client: &Client, crd: &CustomResourceDefinition) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd.name_any();
    api.patch(
        &name,
        &PatchParams::apply("weir-e2e").force(),
        &Patch::Apply(crd),
    )
    .await
    .unwrap_or_else(|e| panic!("cannot install CRD {name}: {e}"));
    wait::until(
        &api,
        &name,
        Duration::from_secs(60),
        "the CRD to be Established",
        |c: &CustomResourceDefinition| {
            c.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                })
        },
    )
    .await;
}

/// A `weir controller --namespace <ns>` process; killed (SIGKILL) when dropped.
pub struct Controller {
    child: Option<Child>,
    namespace: String,
    log: PathBuf,
    starts: u32,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    identity: String,
}

impl Controller {
    /// Starts a controller watching only `ns`, logging to `.cluster/e2e-logs/<ns>.log`.
    pub async fn start(ns: &TestNamespace) -> Self {
        Self::start_with(ns, "controller", &[]).await
    }

    /// Starts a controller named `identity` (its log file and its Lease identity) with
    /// extra flags, e.g. `--leader-election` or `--metrics-addr`.
    pub async fn start_with(ns: &TestNamespace, identity: &str, args: &[&str]) -> Self {
        Self::start_with_env(ns, identity, args, &[]).await
    }

    /// [`Controller::start_with`], with extra environment variables (object-store
    /// credentials and endpoints for the default chains).
    pub async fn start_with_env(
        ns: &TestNamespace,
        identity: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        install_crds(&ns.client()).await;
        let dir = runtime_dir().join("e2e-logs");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let mut c = Controller {
            child: None,
            namespace: ns.name().to_string(),
            log: dir.join(format!("{}-{identity}.log", ns.name())),
            starts: 0,
            args: args.iter().map(ToString::to_string).collect(),
            envs: envs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            identity: identity.to_string(),
        };
        c.spawn();
        c
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log.display()));
        let err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a log handle: {e}"));
        // A test's own --log replaces the default filter.
        let log_filter = match self.args.iter().any(|a| a == "--log") {
            true => vec![],
            false => vec!["--log", "info,weir_controller=debug"],
        };
        let child = Command::new(weir_bin())
            .args(["controller", "--namespace", &self.namespace])
            .args(log_filter)
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .env("KUBECONFIG", kubeconfig_path())
            .env("POD_NAME", format!("{}-{}", self.identity, self.starts))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", weir_bin().display()));
        self.starts += 1;
        self.child = Some(child);
    }

    /// SIGKILLs the process (no graceful shutdown: the point is to stop it anywhere).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again if it exited by itself (what the kubelet does for a pod's
    /// container); true when it did.
    pub fn restart_if_exited(&mut self) -> bool {
        let exited = match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(Some(_))),
            None => false,
        };
        if exited {
            self.child = None;
            self.spawn();
        }
        exited
    }

    /// Kills and starts it again.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Sends SIGTERM and waits up to `deadline` for the process to exit. Returns how long
    /// it took, or `None` when it was still running at the deadline (it is SIGKILLed then).
    pub async fn terminate(&mut self, deadline: Duration) -> Option<Duration> {
        let mut child = self.child.take()?;
        let started = std::time::Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "could not send SIGTERM to the controller");
        // Waiting on a process has no notification to await here: check its state.
        while started.elapsed() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Waits up to `deadline` until the controller's log (this start's and earlier ones')
    /// contains `needle`; panics otherwise.
    pub async fn until_logged(&self, needle: &str, deadline: Duration) {
        wait::poll(
            deadline,
            Duration::from_millis(50),
            &format!("the controller to log {needle:?}"),
            || async { self.log().contains(needle).then_some(()) },
        )
        .await;
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The controller's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates a Pipeline from YAML (its namespace is the test's).
pub async fn create_pipeline(ns: &TestNamespace, yaml: &str) -> Pipeline {
    // Tests without a controller (the CLI's) create Pipelines too: the CRDs come first.
    install_crds(&ns.client()).await;
    let mut pipeline: Pipeline =
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("test pipeline YAML: {e}"));
    pipeline.metadata.namespace = Some(ns.name().to_string());
    ns.api::<Pipeline>()
        .create(&PostParams::default(), &pipeline)
        .await
        .unwrap_or_else(|e| panic!("cannot create pipeline: {e}"))
}

/// Starts a run named `name` of `pipeline` with `params`.
pub async fn start_run(
    ns: &TestNamespace,
    pipeline: &str,
    name: &str,
    params: &[(&str, &str)],
) -> PipelineRun {
    let params: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let run = PipelineRun::new(
        name,
        PipelineRunSpec {
            pipeline_ref: Some(pipeline.into()),
            params,
            ..Default::default()
        },
    );
    ns.api::<PipelineRun>()
        .create(&PostParams::default(), &run)
        .await
        .unwrap_or_else(|e| panic!("cannot create run {name}: {e}"))
}

/// Waits until the run is finished and returns it.
pub async fn finished(ns: &TestNamespace, name: &str, deadline: Duration) -> PipelineRun {
    wait::until(
        &ns.api::<PipelineRun>(),
        name,
        deadline,
        "the run to finish",
        |r: &PipelineRun| r.status.as_ref().is_some_and(|s| s.phase.is_finished()),
    )
    .await
}

/// The step statuses of a run, by name.
pub fn steps(run: &PipelineRun) -> BTreeMap<String, weir_api::v1alpha1::StepStatus> {
    run.status
        .iter()
        .flat_map(|s| s.steps.iter())
        .map(|s| (s.name.clone(), s.clone()))
        .collect()
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for a test's servers).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

/// The text of a controller's `/metrics`, or `None` while it does not answer.
pub async fn scrape(port: u16) -> Option<String> {
    let r = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .ok()?;
    r.text().await.ok()
}

/// Waits until the controller serving metrics on `port` has reconciled at least `runs`
/// PipelineRuns and `pipelines` Pipelines (counting reconciles, not objects), and returns
/// that scrape.
pub async fn until_reconciled(port: u16, runs: f64, pipelines: f64) -> String {
    wait::poll(
        Duration::from_secs(60),
        Duration::from_millis(100),
        &format!("{runs} run and {pipelines} pipeline reconciles"),
        || async {
            let text = scrape(port).await?;
            let n = |c: &str| {
                sample(
                    &text,
                    &format!("weir_reconciles_total{{controller=\"{c}\"}}"),
                )
                .unwrap_or(0.0)
            };
            (n("pipelinerun") >= runs && n("pipeline") >= pipelines).then_some(text)
        },
    )
    .await
}

/// The value of one series in a scrape (`name{labels}` exactly as exported).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

/// Every object of kind `K` ever seen in a namespace, by name, with every uid it had. One
/// created twice (deleted and re-created) shows up as a second uid; one that should not
/// exist as an unexpected name. The watch re-lists after an error (an object created and
/// deleted in that gap is missed: count creations at the API server too); a watch that
/// ends fails `stop`.
pub struct Recorder<K> {
    seen: std::sync::Arc<std::sync::Mutex<BTreeMap<String, std::collections::BTreeSet<String>>>>,
    last: std::sync::Arc<std::sync::Mutex<BTreeMap<String, K>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Every Job ever seen in a namespace (see [`Recorder`]).
pub type JobRecorder = Recorder<k8s_openapi::api::batch::v1::Job>;

impl<K> Recorder<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    /// Starts watching the namespace's objects of kind `K`.
    pub fn start(ns: &TestNamespace) -> Self {
        use futures::StreamExt;
        use kube::runtime::{WatchStreamExt, watcher};
        let seen: std::sync::Arc<
            std::sync::Mutex<BTreeMap<String, std::collections::BTreeSet<String>>>,
        > = Default::default();
        let last: std::sync::Arc<std::sync::Mutex<BTreeMap<String, K>>> = Default::default();
        let (record, keep, objects) = (seen.clone(), last.clone(), ns.api::<K>());
        let task = tokio::spawn(async move {
            let mut s = watcher(objects, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .boxed();
            while let Some(item) = s.next().await {
                match item {
                    Ok(j) => {
                        if let Ok(mut m) = record.lock() {
                            m.entry(j.name_any())
                                .or_default()
                                .insert(j.uid().unwrap_or_default());
                        }
                        if let Ok(mut m) = keep.lock() {
                            m.insert(j.name_any(), j);
                        }
                    }
                    // The watcher re-lists on its own after a backoff.
                    Err(e) => eprintln!("Recorder: watch error, re-listing: {e}"),
                }
            }
        });
        Self { seen, last, task }
    }

    /// How many distinct names were seen so far.
    pub fn count(&self) -> usize {
        self.seen.lock().map(|m| m.len()).unwrap_or_default()
    }

    /// What was seen so far: the uids of each name, and the last version seen of each
    /// object (deleted ones too). Panics when the watch had ended by itself.
    pub fn snapshot(
        &self,
    ) -> (
        BTreeMap<String, std::collections::BTreeSet<String>>,
        BTreeMap<String, K>,
    ) {
        assert!(
            !self.task.is_finished(),
            "the watch ended before the test stopped it: its record is incomplete"
        );
        let seen = self.seen.lock().map(|m| m.clone()).unwrap_or_default();
        let last = self.last.lock().map(|m| m.clone()).unwrap_or_default();
        (seen, last)
    }

    /// Stops watching and returns what was seen. Panics when the watch had ended by itself:
    /// then what it saw is not everything.
    pub fn stop(self) -> BTreeMap<String, std::collections::BTreeSet<String>> {
        assert!(
            !self.task.is_finished(),
            "the watch ended before the test stopped it: its record is incomplete"
        );
        self.task.abort();
        self.seen.lock().map(|m| m.clone()).unwrap_or_default()
    }
}
