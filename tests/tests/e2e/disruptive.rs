//! Tests that disturb the whole cluster, run alone after the others (`make e2e` runs them
//! with `--ignored --test-threads=1`).

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weir_api::v1alpha1::{PipelineRun, RunPhase};
use weir_e2e::cluster::runtime_dir;
use weir_e2e::weir::{
    Controller, JobRecorder, create_pipeline, free_port, sample, scrape, start_run,
};
use weir_e2e::{TestNamespace, wait};

/// Three steps, the first running through the start of the outage.
const OUTAGE_PIPELINE: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: outage}
spec:
  steps:
  - {name: a, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 3000ms}}}}
  - {name: b, dependsOn: [a], job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1000ms}}}}
  - {name: c, dependsOn: [b], job: {image: example.invalid/x:1}}
"#;

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

    /// Running: its /proc entry exists and it is not a zombie (a component restarted by a
    /// test is that test's child, and stays a zombie there after it exits).
    fn alive(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", Self::pid_in(&self.pid_file)));
        // The state follows the parenthesised command name: "pid (comm) S ...".
        stat.ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
            .unwrap_or(false)
    }

    /// Sends `signal` (e.g. `-STOP`, `-CONT`) to the running process.
    fn signal(&self, signal: &str) {
        let pid = Self::pid_in(&self.pid_file);
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .is_ok_and(|s| s.success()),
            "could not send {signal} to pid {pid}"
        );
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
    create_pipeline(&ns, OUTAGE_PIPELINE).await;
    start_run(&ns, "outage", "o1", &[]).await;
    // The outage starts while the run's first step runs.
    let jobs = ns.api::<k8s_openapi::api::batch::v1::Job>();
    wait::until_exists(&jobs, "o1-a-1", Duration::from_secs(60), "the first Job").await;
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

/// kube-apiserver does not answer for `outage`: stopped (connections refused) or hung
/// (SIGSTOP: connections open, nothing answered), then back. Returns the components that
/// may exit afterwards, having missed their own leases (see [`supervise`]).
fn apiserver_outage(outage: Duration, hung: bool) -> Vec<Component> {
    let supervised = vec![
        Component::find("kube-controller-manager"),
        Component::find("kube-scheduler"),
    ];
    if hung {
        let apiserver = Component::find("kube-apiserver");
        apiserver.signal("-STOP");
        std::thread::sleep(outage);
        apiserver.signal("-CONT");
    } else {
        stop_apiserver_for(outage);
    }
    supervised
}

/// Starts again the components that exited: a real cluster's supervisor does.
fn supervise(components: &[Component]) {
    for c in components.iter().filter(|c| !c.alive()) {
        c.start();
    }
}

/// Two replicas with leader election as the chart runs them, through an API-server outage
/// four times longer than their lease. The runs finish, no Job is created twice, and the
/// replica that lost its lease stopped reconciling before the next leader started.
async fn outage_with_leader_election(name: &str, hung: bool) {
    let ns = TestNamespace::create(name).await;
    let ports = [free_port(), free_port()];
    let args = |port: u16| -> Vec<String> {
        [
            "--leader-election",
            "--lease-namespace",
            ns.name(),
            "--lease-duration",
            "5",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
        ]
        .iter()
        .map(ToString::to_string)
        .collect()
    };
    let mut replicas = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let a = args(*port);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        replicas.push(Controller::start_with(&ns, &format!("replica-{i}"), &a).await);
    }
    wait::poll(
        Duration::from_secs(60),
        Duration::from_millis(200),
        "one leader",
        || async {
            let mut n = 0;
            for p in ports {
                if scrape(p).await.and_then(|t| sample(&t, "weir_leader")) == Some(1.0) {
                    n += 1;
                }
            }
            (n == 1).then_some(())
        },
    )
    .await;
    let recorder = JobRecorder::start(&ns);
    create_pipeline(&ns, OUTAGE_PIPELINE).await;
    let runs: Vec<String> = (0..4).map(|i| format!("o{i}")).collect();
    for r in &runs {
        start_run(&ns, "outage", r, &[]).await;
    }
    let jobs = ns.api::<k8s_openapi::api::batch::v1::Job>();
    for r in &runs {
        wait::until_exists(
            &jobs,
            &format!("{r}-a-1"),
            Duration::from_secs(60),
            "the first Jobs",
        )
        .await;
    }
    let supervised =
        tokio::task::spawn_blocking(move || apiserver_outage(Duration::from_secs(20), hung))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    // Errors while the API server comes back are expected: poll. A replica that exits (it
    // lost its lease) is started again, as the kubelet would.
    let api = ns.api::<PipelineRun>();
    let mut restarts = 0;
    wait::poll(
        Duration::from_secs(180),
        Duration::from_millis(500),
        "the runs to finish after the outage",
        || {
            supervise(&supervised);
            for r in replicas.iter_mut() {
                if r.restart_if_exited() {
                    restarts += 1;
                }
            }
            let api = api.clone();
            async move {
                let list = api.list(&Default::default()).await.ok()?;
                list.items
                    .iter()
                    .all(|r| r.status.as_ref().is_some_and(|s| s.phase.is_finished()))
                    .then_some(())
            }
        },
    )
    .await;
    for r in &runs {
        let run = api.get(r).await.unwrap_or_else(|e| panic!("get {r}: {e}"));
        assert_eq!(
            run.status.as_ref().map(|s| s.phase),
            Some(RunPhase::Succeeded),
            "{r}: {:?}",
            run.status
        );
    }
    let seen = recorder.stop();
    let twice: Vec<_> = seen.iter().filter(|(_, uids)| uids.len() > 1).collect();
    assert!(twice.is_empty(), "Jobs created twice: {twice:?}");
    let want: BTreeSet<String> = runs
        .iter()
        .flat_map(|r| ["a", "b", "c"].map(|s| format!("{r}-{s}-1")))
        .collect();
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), want);

    // Leadership never overlapped where it matters, in writes: a replica logs "leading"
    // when the Lease names it and "lost the lease" when its lease manager learns otherwise,
    // which after a hung API server can be seconds after another replica took over; in
    // between its fence refuses every write (NotLeading). So a term is judged by its
    // writes: from "leading" to its last write ("wrote …", "applied child"), and no
    // replica's write may fall inside another replica's term.
    let ts_of = |line: &str| {
        line.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let is_write = |l: &str| {
        l.contains("wrote run status")
            || l.contains("wrote pipeline status")
            || l.contains("applied child")
    };
    let terms = |log: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut term: Option<(String, String)> = None;
        for line in log.lines() {
            let ts = ts_of(line);
            if line.contains(" leading") {
                term = Some((ts.clone(), ts));
            } else if line.contains("lost the lease") || line.contains("controllers stopped") {
                out.extend(term.take());
            } else if is_write(line)
                && let Some((_, last)) = term.as_mut()
            {
                *last = ts;
            }
        }
        out.extend(term);
        out
    };
    let logs: Vec<String> = replicas.iter().map(Controller::log).collect();
    let all: Vec<Vec<(String, String)>> = logs.iter().map(|l| terms(l)).collect();
    for (i, log) in logs.iter().enumerate() {
        for line in log.lines().filter(|l| is_write(l)) {
            let ts = ts_of(line);
            let mine = all[i]
                .iter()
                .any(|(s, e)| s.as_str() <= ts.as_str() && ts.as_str() <= e.as_str());
            assert!(
                mine,
                "replica {i} wrote at {ts} without leading: {:?}",
                all[i]
            );
            for (j, other) in all.iter().enumerate().filter(|(j, _)| *j != i) {
                let overlap = other
                    .iter()
                    .any(|(s, e)| s.as_str() < ts.as_str() && ts.as_str() < e.as_str());
                assert!(
                    !overlap,
                    "replica {i} wrote at {ts} while replica {j} wrote as leader: {other:?}\n{line}"
                );
            }
        }
    }
    supervise(&supervised);
    println!("outage (hung: {hung}): {restarts} replica restarts; terms {all:?}");
}

#[tokio::test]
#[ignore = "disruptive: stops the cluster's API server; run alone by `make e2e`"]
async fn leader_election_survives_a_stopped_apiserver_longer_than_the_lease() {
    outage_with_leader_election("outage-le", false).await;
}

#[tokio::test]
#[ignore = "disruptive: hangs the cluster's API server; run alone by `make e2e`"]
async fn leader_election_survives_a_hung_apiserver_longer_than_the_lease() {
    outage_with_leader_election("hung-le", true).await;
}
