//! Markdown tables from the JSON lines `run` appends: one summary row per scenario, then, per
//! workload and step length, the writes per step by resource and verb for each system.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

const SYSTEMS: [&str; 4] = ["weir", "weir-pod", "argo", "argo-exec"];

fn label(system: &str) -> &str {
    match system {
        "argo" => "Argo 3.7.18",
        "argo-exec" => "Argo 3.7.18 + executor writes",
        "weir-pod" => "weir, bare Pods (prototype)",
        other => other,
    }
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}

/// Prints the tables for the results in `path`.
pub fn print(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not JSON lines: {e}", path.display()))?;
    let mut groups: BTreeMap<(String, u64), Vec<&Value>> = BTreeMap::new();
    for r in &rows {
        let key = (
            r["workload"].as_str().unwrap_or("?").to_string(),
            r["run_ms"].as_u64().unwrap_or(0),
        );
        groups.entry(key).or_default().push(r);
    }
    println!(
        "| workload | step pods run | system | runs × steps | runs/min | steps/min | create→first pod p50 / p99 | API writes/step | + Events/step | etcd WAL KiB/step | peak RSS | CPU s | load |"
    );
    println!("|---|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|");
    for ((_, run_ms), rs) in &groups {
        for r in ordered(rs) {
            let failed = r["failed"].as_u64().unwrap_or(0);
            let note = if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            };
            let etcd = r["etcd_wal_bytes_per_step"]
                .as_f64()
                .map_or("–".to_string(), |b| format!("{:.1}", b / 1024.0));
            let load = r["load"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|x| format!("{:.1}", x.as_f64().unwrap_or(f64::NAN)))
                        .collect::<Vec<_>>()
                        .join("→")
                })
                .unwrap_or_default();
            println!(
                "| {} | {} s | {} | {} × {}{} | {:.0} | {:.0} | {:.0} / {:.0} ms | {:.2} | {:.2} | {} | {:.0} MiB | {:.1} | {} |",
                r["describe"].as_str().unwrap_or("?"),
                *run_ms as f64 / 1000.0,
                label(r["system"].as_str().unwrap_or("?")),
                r["runs"],
                r["steps"].as_u64().unwrap_or(0) / r["runs"].as_u64().unwrap_or(1).max(1),
                note,
                f(r, "runs_per_min"),
                f(r, "steps_per_min"),
                f(r, "first_pod_p50_ms"),
                f(r, "first_pod_p99_ms"),
                f(r, "writes_per_step"),
                f(r, "events_per_step"),
                etcd,
                f(r, "rss_mib"),
                f(r, "cpu_s"),
                load,
            );
        }
    }
    for ((workload, run_ms), rs) in &groups {
        breakdown(workload, *run_ms, &ordered(rs));
    }
    Ok(())
}

/// The rows of one group in the order of [`SYSTEMS`].
fn ordered<'a>(rs: &[&'a Value]) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = Vec::new();
    for s in SYSTEMS {
        out.extend(rs.iter().filter(|r| r["system"] == s).copied());
    }
    out
}

/// Writes per step by `resource[/subresource] VERB`, one column per system.
fn breakdown(workload: &str, run_ms: u64, rs: &[&Value]) {
    let keys: BTreeSet<String> = rs
        .iter()
        .filter_map(|r| r["writes"].as_object())
        .flat_map(|w| w.keys().cloned())
        .collect();
    println!();
    println!(
        "Writes per step, {workload}, {} s pods (kube-apiserver's apiserver_request_total):",
        run_ms as f64 / 1000.0
    );
    println!();
    let head: Vec<&str> = rs
        .iter()
        .map(|r| label(r["system"].as_str().unwrap_or("?")))
        .collect();
    println!("| resource verb | {} |", head.join(" | "));
    println!("|---|{}", "---:|".repeat(rs.len()));
    for k in keys {
        let cells: Vec<String> = rs
            .iter()
            .map(|r| {
                let steps = r["steps"].as_f64().unwrap_or(1.0);
                r["writes"][&k]
                    .as_f64()
                    .map_or("–".to_string(), |n| format!("{:.2}", n / steps))
            })
            .collect();
        println!("| {k} | {} |", cells.join(" | "));
    }
}
