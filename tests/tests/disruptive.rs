//! Tests that disturb the whole cluster, run alone after the others (`make e2e` runs them
//! with `--ignored --test-threads=1`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weir_api::v1alpha1::{PipelineRun, RunPhase};
use weir_e2e::cluster::runtime_dir;
use weir_e2e::weir::{Controller, create_pipeline, start_run};
use weir_e2e::{TestNamespace, wait};

/// A control-plane process: its pid file and the exact command line it was started with.
struct Component {
    pid_file: std::path::PathBuf,
    args: Vec<String>,
}

impl Component {
    fn find(name: &str) -> Self {
        let pid_file = runtime_dir().join(format!("kwok/clusters/weir/pids/{name}.pid"));
        let pid = Self::pid_in(&pid_file);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_else(|e| panic!("{name} pid {pid}: {e}"));
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        assert!(
            args.first().is_some_and(|a| a.ends_with(name)),
            "pid {pid} is not {name}: {args:?}"
        );
        Component { pid_file, args }
    }

    fn pid_in(file: &std::path::Path) -> String {
        std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .trim()
            .to_string()
    }

    fn alive(&self) -> bool {
        std::path::Path::new(&format!("/proc/{}", Self::pid_in(&self.pid_file))).exists()
    }

    fn stop(&self) {
        let pid = Self::pid_in(&self.pid_file);
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .is_ok_and(|s| s.success()),
            "could not stop pid {pid}"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts it again from the same command line, detached, and records the new pid so
    /// `cluster.sh down` can stop it.
    #[expect(
        clippy::zombie_processes,
        reason = "the component outlives the test; cluster.sh down stops it by its pid file"
    )]
    fn start(&self) {
        let name = self
            .pid_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(runtime_dir().join(format!("{name}-restarted.log")))
            .unwrap_or_else(|e| panic!("log: {e}"));
        let err = log.try_clone().unwrap_or_else(|e| panic!("log: {e}"));
        // setsid execs the program in place, so the child's pid is the component's.
        let child = Command::new("setsid")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("restart {name}: {e}"));
        std::fs::write(&self.pid_file, child.id().to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", self.pid_file.display()));
    }
}

/// Stops kube-apiserver for `outage`, then starts it again. kube-controller-manager and
/// kube-scheduler exit when they cannot renew their leader lease for that long; a real
/// cluster's supervisor restarts them, and so does this (weir's controller gets no help).
fn stop_apiserver_for(outage: Duration) {
    let apiserver = Component::find("kube-apiserver");
    let supervised = [
        Component::find("kube-controller-manager"),
        Component::find("kube-scheduler"),
    ];
    apiserver.stop();
    std::thread::sleep(outage);
    apiserver.start();
    for c in supervised.iter().filter(|c| !c.alive()) {
        c.start();
    }
}

#[tokio::test]
#[ignore = "disruptive: stops the cluster's API server; run alone by `make e2e`"]
async fn the_controller_recovers_from_a_20s_apiserver_outage_without_a_restart() {
    let ns = TestNamespace::create("outage").await;
    let ctl = Controller::start(&ns).await;
    create_pipeline(
        &ns,
        r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: outage}
spec:
  steps:
  - {name: a, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 3000ms}}}}
  - {name: b, dependsOn: [a], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1000ms}}}}
  - {name: c, dependsOn: [b], job: {image: example.invalid/x:1}}
"#,
    )
    .await;
    start_run(&ns, "outage", "o1", &[]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = ctl.pid();
    tokio::task::spawn_blocking(|| stop_apiserver_for(Duration::from_secs(20)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The API server needs a few seconds to serve again; the run then carries on. Errors
    // while it comes back are expected, so poll rather than watch.
    let runs = ns.api::<PipelineRun>();
    let run = wait::poll(
        Duration::from_secs(180),
        Duration::from_millis(500),
        "the run to finish after the outage",
        || async {
            runs.get("o1")
                .await
                .ok()
                .filter(|r| r.status.as_ref().is_some_and(|s| s.phase.is_finished()))
        },
    )
    .await;
    assert_eq!(
        run.status.as_ref().map(|s| s.phase),
        Some(RunPhase::Succeeded),
        "{:?}\n{}",
        run.status,
        ctl.log()
    );
    assert_eq!(
        ctl.pid(),
        pid,
        "the same controller process finished the run"
    );
    assert!(
        std::path::Path::new(&format!("/proc/{}", pid.unwrap_or_default())).exists(),
        "the controller is still alive"
    );
}
