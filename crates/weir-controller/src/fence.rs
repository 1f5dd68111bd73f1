//! Fencing: with leader election on, the controllers write only while this replica's lease
//! is known to be unexpired. The lease manager learns of a lost lease only by talking to
//! the API server, so a leader that was paused (SIGSTOP, a stalled node) past its lease, or
//! that sat through an API-server outage, would otherwise resume writing next to the
//! replica that took over. A watch of the Lease keeps the local deadline: each renewal the
//! API server shows moves it to the lease's expiry; nothing moves it while the process is
//! paused or the API server silent, so it passes and every write is refused until a
//! renewal is seen again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

use crate::error::Error;

/// Until when this replica may write.
#[derive(Debug)]
pub(crate) struct Fence {
    epoch: Instant,
    /// Milliseconds after `epoch`; `u64::MAX` means always (no leader election).
    until_ms: AtomicU64,
    /// Woken at each renewal seen (see [`Fence::confirmed`]).
    renewed: tokio::sync::Notify,
}

impl Fence {
    /// Writes always allowed: one replica, no leader election.
    pub(crate) fn open() -> Self {
        Self {
            epoch: Instant::now(),
            until_ms: AtomicU64::new(u64::MAX),
            renewed: tokio::sync::Notify::new(),
        }
    }

    /// Writes refused until a renewal of this replica's lease is seen.
    pub(crate) fn closed() -> Self {
        Self {
            epoch: Instant::now(),
            until_ms: AtomicU64::new(0),
            renewed: tokio::sync::Notify::new(),
        }
    }

    fn allow_until(&self, until: Instant) {
        let ms = until.saturating_duration_since(self.epoch).as_millis();
        self.until_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX - 1), Ordering::SeqCst);
        self.renewed.notify_waiters();
    }

    /// Returns once the Lease itself names this replica as its unexpired holder.
    pub(crate) async fn confirmed(&self) {
        loop {
            // Registered before the check, so a renewal in between still wakes us.
            let renewed = self.renewed.notified();
            if self.check().is_ok() {
                return;
            }
            renewed.await;
        }
    }

    fn close(&self) {
        self.until_ms.store(0, Ordering::SeqCst);
        self.renewed.notify_waiters();
    }

    /// `Ok` while this replica may write.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let until = self.until_ms.load(Ordering::SeqCst);
        if until == u64::MAX {
            return Ok(());
        }
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        if now < until {
            Ok(())
        } else {
            Err(Error::NotLeading)
        }
    }

    /// Returns once writes are refused again: the lease expired without a renewal seen,
    /// or the Lease names another holder. Never, for an open fence (no leader election).
    pub(crate) async fn expired(&self) {
        loop {
            let renewed = self.renewed.notified();
            let until = self.until_ms.load(Ordering::SeqCst);
            if until == u64::MAX {
                return std::future::pending().await;
            }
            let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            if now >= until {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(until - now)) => {}
                () = renewed => {}
            }
        }
    }

    /// Follows the Lease `name` through `api` until `stop`: while `identity` holds it,
    /// writes are allowed until its expiry (renewTime + leaseDurationSeconds), read against
    /// this machine's clock, less `margin` for clock skew.
    pub(crate) async fn follow(
        &self,
        api: Api<Lease>,
        name: &str,
        identity: &str,
        margin: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let events = watcher(api, config)
            .default_backoff()
            .applied_objects()
            .take_until(stop);
        futures::pin_mut!(events);
        while let Some(ev) = events.next().await {
            let Ok(lease) = ev else { continue };
            let spec = lease.spec.unwrap_or_default();
            let mine = spec.holder_identity.as_deref() == Some(identity);
            let expiry = spec
                .renew_time
                .zip(spec.lease_duration_seconds)
                .map(|(t, d)| t.0 + jiff::SignedDuration::from_secs(i64::from(d)));
            match (mine, expiry) {
                (true, Some(expiry)) => {
                    let left = expiry.duration_since(jiff::Timestamp::now());
                    let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
                    self.allow_until(Instant::now() + left.saturating_sub(margin));
                }
                _ => self.close(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_fence_always_allows_and_a_closed_one_never_until_allowed() {
        assert!(Fence::open().check().is_ok());
        let f = Fence::closed();
        assert!(f.check().is_err());
        f.allow_until(Instant::now() + Duration::from_secs(60));
        assert!(f.check().is_ok());
        f.close();
        assert!(f.check().is_err());
    }

    #[tokio::test]
    async fn confirmed_waits_for_a_renewal() {
        let f = std::sync::Arc::new(Fence::closed());
        let waiter = tokio::spawn({
            let f = f.clone();
            async move { f.confirmed().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "no renewal seen yet");
        f.allow_until(Instant::now() + Duration::from_secs(60));
        assert!(waiter.await.is_ok());
    }

    #[tokio::test]
    async fn expired_follows_renewals_and_ends_at_the_deadline_or_another_holder() {
        let f = std::sync::Arc::new(Fence::closed());
        f.allow_until(Instant::now() + Duration::from_millis(50));
        let started = Instant::now();
        f.expired().await;
        assert!(
            started.elapsed() >= Duration::from_millis(40),
            "not before the deadline"
        );
        f.allow_until(Instant::now() + Duration::from_secs(60));
        let waiter = tokio::spawn({
            let f = f.clone();
            async move { f.expired().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "renewed: still valid");
        f.close();
        assert!(waiter.await.is_ok(), "another holder: expired at once");
    }

    #[test]
    fn a_deadline_in_the_past_refuses_writes() {
        let f = Fence::closed();
        f.allow_until(Instant::now());
        assert!(
            f.check().is_err(),
            "a paused process resumes past its deadline"
        );
    }
}
