//! Running weir like a production operator: two replicas under leader election, a real
//! Prometheus scraping it, and secrets that never leak into logs, Events or status.

use std::process::{Command, Stdio};
use std::time::Duration;

use weir_api::v1alpha1::{PipelineRun, RunPhase};
use weir_e2e::weir::{
    Controller, JobRecorder, create_pipeline, finished, free_port, sample, scrape, start_run,
};
use weir_e2e::{TestNamespace, wait};

const MINUTE: Duration = Duration::from_secs(60);

const PIPELINE: &str = r#"
apiVersion: weir.dev/v1alpha1
kind: Pipeline
metadata: {name: work}
spec:
  steps:
  - {name: a, job: {image: example.invalid/x:1, jobArgs: {annotations: {weir.dev/test-run-for: 1500ms}}}}
  - {name: b, dependsOn: [a], job: {image: example.invalid/x:1}}
"#;

async fn leader_of(ports: &[u16]) -> Vec<u16> {
    let mut leaders = Vec::new();
    for p in ports {
        if scrape(*p).await.and_then(|t| sample(&t, "weir_leader")) == Some(1.0) {
            leaders.push(*p);
        }
    }
    leaders
}

#[tokio::test]
async fn two_replicas_one_leads_and_a_standby_takes_over_without_duplicating_a_job() {
    let ns = TestNamespace::create("leader").await;
    let (pa, pb) = (free_port(), free_port());
    let lease = [
        "--leader-election",
        "--lease-namespace",
        ns.name(),
        "--lease-duration",
        "4",
    ];
    let args = |port: u16| -> Vec<String> {
        let mut v: Vec<String> = lease.iter().map(ToString::to_string).collect();
        v.extend(["--metrics-addr".into(), format!("127.0.0.1:{port}")]);
        v
    };
    let (aa, ab) = (args(pa), args(pb));
    let mut a = Controller::start_with(
        &ns,
        "replica-a",
        &aa.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let mut b = Controller::start_with(
        &ns,
        "replica-b",
        &ab.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let leaders = wait::poll(MINUTE, Duration::from_millis(200), "one leader", || async {
        let l = leader_of(&[pa, pb]).await;
        (l.len() == 1).then_some(l)
    })
    .await;
    // Both replicas are ready: the leader once its caches synced, the standby once it knows.
    for p in [pa, pb] {
        wait::poll(
            MINUTE,
            Duration::from_millis(200),
            "both replicas ready",
            || async move {
                let r = reqwest::get(format!("http://127.0.0.1:{p}/readyz"))
                    .await
                    .ok()?;
                (r.status().as_u16() == 200).then_some(())
            },
        )
        .await;
    }

    let recorder = JobRecorder::start(&ns);
    create_pipeline(&ns, PIPELINE).await;
    for i in 0..6 {
        start_run(&ns, "work", &format!("h{i}"), &[]).await;
    }
    // Kill the leader mid-run, once it has created Jobs (only a leader creates any); the
    // standby must take over within the lease duration.
    let jobs = ns.api::<k8s_openapi::api::batch::v1::Job>();
    for i in 0..6 {
        wait::until_exists(
            &jobs,
            &format!("h{i}-a-1"),
            MINUTE,
            "the leader's first Jobs",
        )
        .await;
    }
    let runs = ns.api::<PipelineRun>();
    let unfinished = runs
        .list(&Default::default())
        .await
        .unwrap_or_else(|e| panic!("list runs: {e}"))
        .items
        .iter()
        .filter(|r| !r.status.as_ref().is_some_and(|s| s.phase.is_finished()))
        .count();
    assert!(
        unfinished > 0,
        "every run finished before the leader was killed"
    );
    let killed = if leaders[0] == pa {
        a.kill();
        pa
    } else {
        b.kill();
        pb
    };
    let survivor = if killed == pa { pb } else { pa };
    wait::poll(
        Duration::from_secs(20),
        Duration::from_millis(200),
        "the standby to lead",
        || async { (leader_of(&[survivor]).await == [survivor]).then_some(()) },
    )
    .await;
    for i in 0..6 {
        let r = finished(&ns, &format!("h{i}"), MINUTE).await;
        assert_eq!(
            r.status.as_ref().map(|s| s.phase),
            Some(RunPhase::Succeeded),
            "h{i}"
        );
    }
    let seen = recorder.stop();
    let twice: Vec<_> = seen.iter().filter(|(_, uids)| uids.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "Jobs created twice during the handover: {twice:?}"
    );
    assert_eq!(
        seen.len(),
        12,
        "one Job per step of each run: {:?}",
        seen.keys()
    );
}

/// Issue 9: a leader paused (SIGSTOP) past its lease, while a standby took over, must not
/// act as leader when it resumes: its reconciles may still be mid-flight, but every write
/// checks that its lease is confirmed unexpired, and it is not. Writes are read from its
/// own debug log ("applied child", "deleted child", "wrote … status").
#[tokio::test]
async fn a_leader_paused_past_its_lease_writes_nothing_after_it_resumes() {
    let ns = TestNamespace::create("paused-leader").await;
    let ports = [free_port(), free_port()];
    let mut replicas = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let addr = format!("127.0.0.1:{port}");
        let args = [
            "--leader-election",
            "--lease-namespace",
            ns.name(),
            "--lease-duration",
            "4",
            "--metrics-addr",
            &addr,
        ];
        replicas.push(Controller::start_with(&ns, &format!("replica-{i}"), &args).await);
    }
    let leader = wait::poll(MINUTE, Duration::from_millis(200), "one leader", || async {
        let l = leader_of(&ports).await;
        (l.len() == 1).then(|| ports.iter().position(|p| *p == l[0]).unwrap_or(0))
    })
    .await;
    let standby = 1 - leader;
    // Both may claim the new Lease for a moment at start (the loser exits): the standby
    // must be up and standing by before the leader is paused.
    replicas[standby].restart_if_exited();
    replicas[standby].until_logged("standing by", MINUTE).await;
    create_pipeline(&ns, PIPELINE).await;
    const RUNS: usize = 8;
    for i in 0..RUNS {
        start_run(&ns, "work", &format!("p{i}"), &[]).await;
    }
    let jobs = ns.api::<k8s_openapi::api::batch::v1::Job>();
    for i in 0..4 {
        wait::until_exists(
            &jobs,
            &format!("p{i}-a-1"),
            MINUTE,
            "the leader's first Jobs",
        )
        .await;
    }
    let pid = replicas[leader].pid().unwrap_or_default().to_string();
    let signal = |sig: &str| {
        assert!(
            Command::new("kill")
                .args([sig, &pid])
                .status()
                .is_ok_and(|s| s.success()),
            "kill {sig} {pid}"
        );
    };
    signal("-STOP");
    wait::poll(
        Duration::from_secs(30),
        Duration::from_millis(200),
        "the standby to lead",
        || async { (leader_of(&[ports[standby]]).await == [ports[standby]]).then_some(()) },
    )
    .await;
    let resumed = k8s_openapi::jiff::Timestamp::now();
    signal("-CONT");
    for i in 0..RUNS {
        let r = finished(&ns, &format!("p{i}"), MINUTE).await;
        assert_eq!(
            r.status.as_ref().map(|s| s.phase),
            Some(RunPhase::Succeeded),
            "p{i}"
        );
    }
    // The resumed replica finds out it lost the lease and exits (a standby again, once
    // restarted); until then it may reconcile, but not write.
    wait::poll(
        MINUTE,
        Duration::from_millis(200),
        "the paused replica to give up",
        || async {
            replicas[leader]
                .log()
                .contains("lost the lease")
                .then_some(())
        },
    )
    .await;
    let log = replicas[leader].log();
    let writes: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("applied child")
                || l.contains("deleted child")
                || l.contains("wrote run status")
                || l.contains("wrote pipeline status")
        })
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .is_some_and(|t| t >= resumed)
        })
        .collect();
    assert!(
        writes.is_empty(),
        "the paused leader wrote after resuming at {resumed}:\n{}",
        writes.join("\n")
    );
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_controller() {
    let Some(prometheus) = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        panic!("prometheus is not installed: `apt-get install prometheus` (make test does it)");
    };
    let ns = TestNamespace::create("prometheus").await;
    let metrics = free_port();
    let addr = format!("127.0.0.1:{metrics}");
    let _ctl = Controller::start_with(&ns, "controller", &["--metrics-addr", &addr]).await;
    let dir = std::env::temp_dir().join(format!("weir-prometheus-{}", ns.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, format!("global: {{scrape_interval: 1s}}\nscrape_configs:\n- job_name: weir\n  static_configs: [{{targets: ['{addr}']}}]\n")).unwrap();
    let web = free_port();
    let mut prom = Command::new(prometheus)
        .args([
            &format!("--config.file={}", config.display()),
            &format!("--storage.tsdb.path={}", dir.join("data").display()),
            &format!("--web.listen-address=127.0.0.1:{web}"),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    create_pipeline(&ns, PIPELINE).await;
    start_run(&ns, "work", "p1", &[]).await;
    finished(&ns, "p1", MINUTE).await;
    let query = |q: &'static str| async move {
        let encoded: String = q
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let url = format!("http://127.0.0.1:{web}/api/v1/query?query={encoded}");
        let text = reqwest::get(&url).await.ok()?.text().await.ok()?;
        let body: serde_json::Value = serde_json::from_str(&text).ok()?;
        let result = body["data"]["result"].as_array()?.clone();
        (!result.is_empty()).then_some(result)
    };
    // Each series, through Prometheus' own query API once it has scraped them.
    let started = wait::poll(
        MINUTE,
        Duration::from_millis(500),
        "weir_runs_started_total in Prometheus",
        || query("weir_runs_started_total"),
    )
    .await;
    assert_eq!(started[0]["metric"]["started_by"], "api");
    assert_eq!(started[0]["value"][1], "1");
    let phases = wait::poll(
        MINUTE,
        Duration::from_millis(500),
        "weir_runs{phase=Succeeded} = 1",
        || async { query("weir_runs{phase=\"Succeeded\"} == 1").await },
    )
    .await;
    assert_eq!(phases.len(), 1);
    let steps = wait::poll(MINUTE, Duration::from_millis(500), "step durations", || {
        query("weir_step_duration_seconds_count{kind=\"job\",outcome=\"Succeeded\"} == 2")
    })
    .await;
    assert_eq!(steps.len(), 1);
    let applies = wait::poll(
        MINUTE,
        Duration::from_millis(500),
        "API requests by verb",
        || query("weir_kube_requests_total{verb=\"apply\"} > 0"),
    )
    .await;
    assert_eq!(applies.len(), 1);
    wait::poll(
        MINUTE,
        Duration::from_millis(500),
        "reconcile durations",
        || query("weir_reconcile_duration_seconds_count{controller=\"pipelinerun\"} > 0"),
    )
    .await;
    // No label carries an object name: every weir series' labels come from bounded sets.
    let series = query("{__name__=~\"weir_.*\"}").await.unwrap_or_default();
    assert!(series.len() > 10, "{} weir series", series.len());
    for s in &series {
        let text = s["metric"].to_string();
        assert!(
            !text.contains("p1") && !text.contains(ns.name()),
            "an object name in a label: {text}"
        );
    }
    let _ = prom.kill();
    let _ = prom.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Replicas racing for a Lease that does not exist yet: exactly one leads. Regression: all
/// replicas took the free Lease with one shared server-side-apply field manager, so none of
/// their applies conflicted and two of them could each be told they had won (seen as two
/// "leading" lines 20 ms apart in the hung-API-server test).
#[tokio::test]
async fn replicas_racing_for_a_new_lease_elect_exactly_one() {
    let ns = TestNamespace::create("lease-race").await;
    let ports = [free_port(), free_port(), free_port()];
    let args: Vec<Vec<String>> = ports
        .iter()
        .map(|p| {
            [
                "--leader-election",
                "--lease-namespace",
                ns.name(),
                "--lease-duration",
                "4",
                "--metrics-addr",
                &format!("127.0.0.1:{p}"),
            ]
            .iter()
            .map(ToString::to_string)
            .collect()
        })
        .collect();
    let starts = args.iter().enumerate().map(|(i, a)| {
        let ns = &ns;
        async move {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            Controller::start_with(ns, &format!("racer-{i}"), &a).await
        }
    });
    // Started together, so their first attempts at the Lease meet.
    let replicas = futures::future::join_all(starts).await;
    wait::poll(MINUTE, Duration::from_millis(200), "one leader", || async {
        (leader_of(&ports).await.len() == 1).then_some(())
    })
    .await;
    // Every replica has made its first attempt (a standby says so once it knows).
    wait::poll(
        MINUTE,
        Duration::from_millis(200),
        "every replica decided",
        || {
            let logs: Vec<String> = replicas.iter().map(Controller::log).collect();
            async move {
                logs.iter()
                    .all(|l| l.contains(" leading") || l.contains("standing by"))
                    .then_some(())
            }
        },
    )
    .await;
    let leading: Vec<usize> = replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| r.log().contains(" leading"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(leading.len(), 1, "replicas that led: {leading:?}");
}
