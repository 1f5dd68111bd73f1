//! What the benchmark reads from outside the systems under test: kube-apiserver's own
//! `apiserver_request_total` (every write any client made, by resource, subresource and
//! verb), etcd's WAL bytes, and a controller process's peak RSS and CPU seconds from /proc.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube::Client;

/// The verbs that change something (`apiserver_request_total`'s spelling).
const WRITE_VERBS: [&str; 6] = [
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "APPLY",
    "DELETECOLLECTION",
];

/// Resources written in the background whatever runs (leader-election and node Leases,
/// node heartbeats): reported, never charged to a system.
pub const BACKGROUND: [&str; 2] = ["leases", "nodes"];

/// Write counts keyed by `resource[/subresource] VERB`.
pub type Writes = BTreeMap<String, f64>;

/// One scrape of kube-apiserver's write counters, summed over codes, scopes and clients.
pub async fn apiserver_writes(client: &Client) -> Writes {
    let req = http::Request::get("/metrics")
        .body(Vec::new())
        .expect("request");
    let text = client.request_text(req).await.expect("apiserver /metrics");
    let mut out = Writes::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(n) = value.parse::<f64>() else {
            continue;
        };
        let verb = label(labels, "verb");
        if !WRITE_VERBS.contains(&verb) {
            continue;
        }
        let resource = label(labels, "resource");
        let key = match label(labels, "subresource") {
            "" => format!("{resource} {verb}"),
            sub => format!("{resource}/{sub} {verb}"),
        };
        *out.entry(key).or_default() += n;
    }
    out
}

/// The value of `name="…"` in a Prometheus label set, or "".
fn label<'a>(labels: &'a str, name: &str) -> &'a str {
    let needle = format!("{name}=\"");
    labels
        .split_once(&needle)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or("", |(v, _)| v)
}

/// `after - before`, dropping keys that did not move.
pub fn diff(before: &Writes, after: &Writes) -> Writes {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// Whether a key is an Event write (reported apart).
pub fn is_event(key: &str) -> bool {
    key.starts_with("events ")
}

/// Whether a key is background (see [`BACKGROUND`]).
pub fn is_background(key: &str) -> bool {
    BACKGROUND.iter().any(|r| {
        key.strip_prefix(r)
            .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('/'))
    })
}

/// Writes charged to the system: neither Events nor background.
pub fn charged(w: &Writes) -> f64 {
    w.iter()
        .filter(|(k, _)| !is_event(k) && !is_background(k))
        .map(|(_, v)| v)
        .sum()
}

/// Waits until the charged writes stop moving for `quiet` (the controllers' trailing
/// writes: status batches, pod labels after completion), at most `limit`.
pub async fn settle(client: &Client, quiet: Duration, limit: Duration) -> Writes {
    let deadline = Instant::now() + limit;
    let mut last = apiserver_writes(client).await;
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = apiserver_writes(client).await;
        if charged(&now) != charged(&last) {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet || Instant::now() > deadline {
            return now;
        }
    }
}

/// etcd's `etcd_disk_wal_write_bytes_total`, when a metrics URL is given and answers.
pub async fn etcd_wal_bytes(url: Option<&str>) -> Option<f64> {
    let text = reqwest::get(url?).await.ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("etcd_disk_wal_write_bytes_total "))
        .and_then(|v| v.trim().parse().ok())
}

/// Peak resident memory (MiB) and CPU seconds (user + system) of a process so far.
pub fn usage(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after ')'.
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| {
        rest.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (hwm_kib / 1024.0, (field(11) + field(12)) / 100.0)
}

/// The `p` quantile (0..=1) of sorted samples.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_classes() {
        let l = r#"code="201",component="apiserver",group="",resource="pods",scope="resource",subresource="binding",verb="POST",version="v1""#;
        assert_eq!(label(l, "resource"), "pods");
        assert_eq!(label(l, "subresource"), "binding");
        assert_eq!(label(l, "missing"), "");
        assert!(is_background("leases PUT"));
        assert!(is_background("nodes/status PATCH"));
        assert!(!is_background("nodesx PUT"));
        assert!(is_event("events POST"));
        let w = Writes::from([
            ("pods POST".into(), 2.0),
            ("events POST".into(), 5.0),
            ("leases PUT".into(), 7.0),
        ]);
        assert_eq!(charged(&w), 2.0);
    }
}
