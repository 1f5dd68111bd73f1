//! `weir-data transfer` against the loopback S3 (moto) and GCS (gcp-storage-emulator)
//! servers: a 200-object copy S3 → GCS killed mid-way and resumed, watched by a lister; and
//! the other directions, with checksums and one-line failures.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use weir_blob::{ObjectMeta, Store};

use crate::servers::{self, crc32c};

const BIN: &str = env!("CARGO_BIN_EXE_weir-data");
const BIG: &str = "000-big.bin";
const BIG_SIZE: usize = 100 << 20;
const SMALL: usize = 199;

/// Size and CRC32C of each object, by key relative to the prefix.
type Expected = BTreeMap<String, (u64, u32)>;

/// `len` bytes that differ per `seed` and per MiB.
fn block(seed: u32, mib: u32, len: usize) -> Bytes {
    let mut state = seed.wrapping_mul(2_654_435_761) ^ mib.wrapping_mul(40_503) ^ 0x9e37_79b9;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// Writes the 200 source objects: one of 100 MiB (first in key order, so it is in flight when
/// the first copies finish), one of 6 MiB (two parts at 5 MiB), the rest up to 96 KiB.
async fn write_sources(src: &dyn Store, prefix: &str) -> Expected {
    let mut expected = Expected::new();
    let mut upload = src.writer(&format!("{prefix}{BIG}")).await.unwrap();
    let mut crc = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
    for mib in 0..(BIG_SIZE >> 20) as u32 {
        let chunk = block(0, mib, 1 << 20);
        crc.update(&chunk);
        upload.write(chunk).await.unwrap();
    }
    upload.complete().await.unwrap();
    expected.insert(BIG.to_owned(), (BIG_SIZE as u64, crc.finalize() as u32));

    let small: Vec<(String, Bytes)> = (1..=SMALL as u32)
        .map(|i| {
            let len = if i == 7 {
                6 << 20
            } else {
                (i as usize * 487) % (96 << 10)
            };
            (format!("obj-{i:03}.dat"), block(i, 0, len))
        })
        .collect();
    for (name, data) in &small {
        expected.insert(name.clone(), (data.len() as u64, crc32c(data)));
    }
    stream::iter(&small)
        .map(|(name, data)| {
            let (key, data) = (format!("{prefix}{name}"), data.clone());
            async move { src.put(&key, data).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    expected
}

async fn listing(store: &dyn Store, prefix: &str) -> Vec<ObjectMeta> {
    store.list(prefix, None).try_collect().await.unwrap()
}

/// Lists the destination over and over while transfers run: every object it can see must be
/// whole (size and CRC32C of the source). Returns the objects it checked.
fn watch(
    dest_uri: String,
    prefix: String,
    expected: Arc<Expected>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let dest = servers::open(&dest_uri).await;
        let mut checked = 0;
        // A pace for the lister, not a synchronisation: it checks until told to stop.
        let mut pace = tokio::time::interval(Duration::from_millis(20));
        while !stop.load(Ordering::Relaxed) {
            pace.tick().await;
            for o in listing(dest.as_ref(), &prefix).await {
                let name = &o.key[prefix.len()..];
                let (size, crc) = expected[name];
                assert_eq!(o.size, size, "a partial object is visible: {}", o.key);
                assert_eq!(
                    o.checksums.crc32c,
                    Some(crc),
                    "wrong bytes visible: {}",
                    o.key
                );
                checked += 1;
            }
        }
        checked
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the object-store servers (make objstore-up); make e2e runs it"]
async fn s3_to_gcs_killed_mid_way_resumes_from_what_the_destination_holds() {
    let (src_bucket, dst_bucket) = (
        servers::s3_bucket("kill").await,
        servers::gcs_bucket("kill").await,
    );
    let src = servers::open(&format!("s3://{src_bucket}/")).await;
    let expected = Arc::new(write_sources(src.as_ref(), "in/").await);
    let dst_uri = format!("gs://{dst_bucket}/");
    let dst = servers::open(&dst_uri).await;
    let (from, to) = (format!("s3://{src_bucket}/in/"), format!("{dst_uri}out/"));
    let args = [
        "transfer",
        "--from",
        &from,
        "--to",
        &to,
        "--concurrency",
        "4",
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(
        dst_uri.clone(),
        "out/".into(),
        expected.clone(),
        stop.clone(),
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("termination-log");

    // First run: killed (SIGKILL) once its progress shows the big object half-way through.
    let mut child = servers::command(BIN)
        .args(args)
        .env("WEIR_TERMINATION_LOG", &log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut copied_before_kill = 0;
    while let Some(line) = lines.next_line().await.unwrap() {
        copied_before_kill += usize::from(line.contains(" copied, "));
        if line.contains(&format!("{BIG}: 64.")) && line.contains(" of 100.0 MiB") {
            break;
        }
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(
        !status.success(),
        "the first run was to be killed: {status:?}"
    );

    let survivors: BTreeMap<String, Option<String>> = listing(dst.as_ref(), "out/")
        .await
        .into_iter()
        .map(|o| (o.key, o.generation))
        .collect();
    assert!(
        !survivors.contains_key(&format!("out/{BIG}")),
        "half an object is visible"
    );
    assert!(
        !survivors.is_empty() && survivors.len() >= copied_before_kill,
        "{} visible, {copied_before_kill} reported copied",
        survivors.len()
    );

    // Second run, a new process with no local state: copies only the rest.
    let mut rerun = servers::command(BIN);
    let out = rerun
        .args(args)
        .env("WEIR_TERMINATION_LOG", &log)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    stop.store(true, Ordering::Relaxed);
    let checked = watcher.await.unwrap();
    assert!(checked > 0, "the lister saw nothing");

    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (total, kept) = (SMALL as u64 + 1, survivors.len() as u64);
    assert_eq!(summary["objects"], total, "{summary}");
    assert_eq!(summary["skipped"], kept, "{summary}");
    assert_eq!(summary["copied"], total - kept, "{summary}");
    assert_eq!(summary["checksums_verified"], total - kept, "{summary}");
    assert_eq!(
        summary["source_checksums_verified"],
        total - kept,
        "{summary}"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        String::from_utf8_lossy(&out.stdout).trim_end()
    );

    // Every object once, whole; those that survived the kill were not written again.
    let last = listing(dst.as_ref(), "out/").await;
    let names: Vec<&str> = last.iter().map(|o| &o.key["out/".len()..]).collect();
    assert_eq!(
        names,
        expected.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for o in &last {
        let (size, crc) = expected[&o.key["out/".len()..]];
        assert_eq!((o.size, o.checksums.crc32c), (size, Some(crc)), "{}", o.key);
        if let Some(generation) = survivors.get(&o.key) {
            assert_eq!(&o.generation, generation, "{} was copied again", o.key);
        }
    }

    // Memory stayed flat while the 100 MiB object streamed through.
    let peak = peak_mib(&stderr);
    assert!(peak <= 64.0, "peak memory {peak} MiB: {stderr}");
    eprintln!("resumed run: {}", stderr.lines().last().unwrap_or_default());
}

/// The peak memory the summary line reports, in MiB.
fn peak_mib(stderr: &str) -> f64 {
    let last = stderr.lines().last().unwrap_or_default();
    let (_, tail) = last
        .split_once("peak memory ")
        .unwrap_or_else(|| panic!("no peak memory in {last:?}"));
    tail.trim_end_matches(" MiB").parse().unwrap()
}

async fn run(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = servers::command(BIN)
        .arg("transfer")
        .args(args)
        .args(["--part-size-mib", "5"])
        .env("WEIR_TERMINATION_LOG", "/dev/null")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let result = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (out.status.success(), result, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the object-store servers (make objstore-up); make e2e runs it"]
async fn every_direction_checks_checksums_end_to_end() {
    let (gcs, s3) = (
        servers::gcs_bucket("dirs").await,
        servers::s3_bucket("dirs").await,
    );
    let g = servers::open(&format!("gs://{gcs}/")).await;
    let s = servers::open(&format!("s3://{s3}/")).await;
    // Six MiB goes up to S3 in two parts: a FULL_OBJECT CRC32C, not a composite.
    let files = [
        ("a.bin", block(1, 0, 6 << 20)),
        ("b/c.bin", block(2, 0, 1000)),
    ];
    for (name, data) in &files {
        g.put(&format!("in/{name}"), data.clone()).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let local = format!("file://{}/copy/", dir.path().display());

    for (from, to) in [
        (format!("gs://{gcs}/in/"), format!("s3://{s3}/mid/")),
        (format!("s3://{s3}/mid"), local.clone()),
        (local.clone(), format!("gs://{gcs}/back/")),
    ] {
        let (ok, result, stderr) = run(&["--from", &from, "--to", &to]).await;
        assert!(ok, "{from} → {to}: {stderr}");
        assert_eq!(result["copied"], 2, "{from} → {to}: {result}");
        assert_eq!(result["checksums_verified"], 2, "{from} → {to}: {result}");
    }
    for (name, data) in &files {
        let head = s.head(&format!("mid/{name}")).await.unwrap();
        assert_eq!(head.checksums.crc32c, Some(crc32c(data)), "s3 {name}");
        let back = g.head(&format!("back/{name}")).await.unwrap();
        assert_eq!(back.checksums.crc32c, Some(crc32c(data)), "gcs {name}");
        let mut file = tokio::fs::File::open(dir.path().join("copy").join(name))
            .await
            .unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).await.unwrap();
        assert!(bytes == data.as_ref(), "file {name}");
    }
    // The same again: nothing to copy, in either direction.
    let (ok, result, _) = run(&[
        "--from",
        &format!("gs://{gcs}/in/"),
        "--to",
        &format!("s3://{s3}/mid/"),
    ])
    .await;
    assert!(ok);
    assert_eq!(
        (&result["copied"], &result["skipped"]),
        (&0.into(), &2.into())
    );

    // A missing bucket on either side: one line naming it, exit 1.
    for (from, to, bucket) in [
        (
            format!("s3://{s3}-nope/in/"),
            local.clone(),
            format!("{s3}-nope"),
        ),
        (
            format!("gs://{gcs}/in/"),
            format!("gs://{gcs}-nope/x/"),
            format!("{gcs}-nope"),
        ),
    ] {
        let (ok, _, stderr) = run(&["--from", &from, "--to", &to]).await;
        assert!(!ok);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("no such bucket") && stderr.contains(&bucket),
            "{stderr}"
        );
    }
}
