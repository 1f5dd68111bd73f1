//! Progress lines on stderr while a transfer runs, and the summary it ends with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::copy::Outcome;

/// A large object reports its progress every this many bytes.
const STEP: u64 = 64 << 20;

/// Counts shared by the copies in flight; each finished object prints one line.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    done: AtomicU64,
    bytes: AtomicU64,
    quiet: bool,
}

impl Progress {
    /// Starts the clock; `quiet` prints nothing.
    pub fn new(quiet: bool) -> Self {
        Progress {
            started: Instant::now(),
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            quiet,
        }
    }

    /// `key` went from `before` to `so_far` of its `size` bytes: a line at every 64 MiB.
    pub fn streamed(&self, key: &str, before: u64, so_far: u64, size: u64) {
        if !self.quiet && so_far / STEP > before / STEP && so_far < size {
            eprintln!(
                "transfer: {key}: {} of {} ({})",
                mib(so_far),
                mib(size),
                self.elapsed()
            );
        }
    }

    /// `key` was copied.
    pub fn copied(&self, key: &str, bytes: u64, verified: bool) {
        let check = if verified {
            "checksum verified"
        } else {
            "no checksum at the destination"
        };
        self.finished(key, bytes, &format!("copied, {check}"));
    }

    /// `key` was already at the destination.
    pub fn skipped(&self, key: &str, bytes: u64, by: &str) {
        self.finished(
            key,
            bytes,
            &format!("skipped, same {by} at the destination"),
        );
    }

    fn finished(&self, key: &str, bytes: u64, what: &str) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if !self.quiet {
            eprintln!(
                "transfer: {key} ({}) {what} [{n} objects, {} done, {}]",
                mib(bytes),
                mib(total),
                self.elapsed()
            );
        }
    }

    fn elapsed(&self) -> String {
        format!("{:.1}s", self.started.elapsed().as_secs_f64())
    }

    /// Seconds since the start.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// The result of a transfer: printed on stdout and written to the termination log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Source objects considered (after `--include`).
    pub objects: u64,
    /// Objects copied.
    pub copied: u64,
    /// Objects already at the destination with the same size and checksum.
    pub skipped: u64,
    /// Bytes copied.
    pub bytes_copied: u64,
    /// Bytes of the skipped objects.
    pub bytes_skipped: u64,
    /// Copied objects whose stored checksum was compared with the bytes sent, and matched.
    pub checksums_verified: u64,
    /// Copied objects whose bytes also matched the source's own checksum.
    pub source_checksums_verified: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Bytes copied per second.
    pub bytes_per_second: u64,
}

impl Summary {
    /// Counts one object's outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        self.objects += 1;
        match *outcome {
            Outcome::Copied {
                bytes,
                dest_verified,
                source_verified,
            } => {
                self.copied += 1;
                self.bytes_copied += bytes;
                self.checksums_verified += u64::from(dest_verified);
                self.source_checksums_verified += u64::from(source_verified);
            }
            Outcome::Skipped { bytes, .. } => {
                self.skipped += 1;
                self.bytes_skipped += bytes;
            }
        }
    }

    /// Sets the time taken and the throughput.
    pub fn finish(&mut self, seconds: f64) {
        self.seconds = (seconds * 1000.0).round() / 1000.0;
        if seconds > 0.0 {
            self.bytes_per_second = (self.bytes_copied as f64 / seconds) as u64;
        }
    }

    /// The one-line summary on stderr, with the process's peak memory when known.
    pub fn line(&self) -> String {
        let peak = peak_rss_bytes()
            .map(|b| format!("; peak memory {}", mib(b)))
            .unwrap_or_default();
        format!(
            "transfer: {} objects: {} copied ({}), {} skipped ({}); {} checksums verified \
             ({} against the source too); {:.1}s, {}/s{peak}",
            self.objects,
            self.copied,
            mib(self.bytes_copied),
            self.skipped,
            mib(self.bytes_skipped),
            self.checksums_verified,
            self.source_checksums_verified,
            self.seconds,
            mib(self.bytes_per_second),
        )
    }
}

/// The process's peak resident memory (`VmHWM`), on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
