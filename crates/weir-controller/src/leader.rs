//! Leader election: the controllers run only while this replica holds the Lease, and every
//! write checks the [`Fence`] first, so a replica that lost (or cannot confirm) its lease
//! stops writing before another one starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use kube_lease_manager::LeaseManagerBuilder;

use crate::Shutdown;
use crate::config::Config;
use crate::error::Error;
use crate::fence::Fence;
use crate::health::Health;
use crate::metrics::Metrics;

/// What the controllers know of this replica's leadership.
#[derive(Clone)]
pub(crate) struct Leadership {
    /// False once the lease is lost: nothing is flushed on the way out then.
    pub leads: Arc<AtomicBool>,
    /// Every write checks it first.
    pub fence: Arc<Fence>,
}

/// Runs `controllers` until `shutdown`, and with leader election on only while this replica
/// leads. Losing the lease is an error: the process exits and Kubernetes restarts it as a
/// standby, the way kube-controller-manager behaves, so two replicas never reconcile at once.
pub(crate) async fn run_while_leading<F, Fut>(
    client: &Client,
    config: &Config,
    metrics: &Metrics,
    health: &Health,
    shutdown: Shutdown,
    controllers: F,
) -> Result<(), Error>
where
    F: FnOnce(Shutdown, Leadership) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(lease) = &config.leader_election else {
        health.set_leadership(true);
        metrics.leader.set(1);
        let leadership = Leadership {
            leads: Arc::new(AtomicBool::new(true)),
            fence: Arc::new(Fence::open()),
        };
        controllers(shutdown, leadership).await;
        return Ok(());
    };
    let identity = config
        .instance
        .clone()
        .unwrap_or_else(|| format!("weir-{}", std::process::id()));
    let manager = LeaseManagerBuilder::new(client.clone(), &lease.name)
        .with_namespace(&lease.namespace)
        .with_identity(&identity)
        .with_duration(lease.duration_seconds)
        .with_grace(lease.grace_seconds)
        // One field manager per replica: taking a free Lease is a server-side apply without
        // force, which conflicts (409) only between different managers. With one shared
        // manager, two replicas racing for a new Lease both "won".
        .with_field_manager(format!("{}-{identity}", weir_api::FIELD_MANAGER))
        .build()
        .await
        .map_err(|e| Error::Leader(e.to_string()))?;
    let (mut leading, task) = manager.watch().await;
    let became_leader = async {
        // kube-lease-manager reports changes only, so a standby hears nothing until it
        // leads. Give the first attempt at the lease a moment; after it, not leading is a
        // known standby (ready: it serves nothing), and says so once.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), leading.changed()).await;
        loop {
            let now = *leading.borrow_and_update();
            health.set_leadership(now);
            if now {
                return true;
            }
            tracing::info!(%identity, lease = %lease.name, "standing by: another replica leads");
            if leading.changed().await.is_err() {
                return false;
            }
        }
    };
    let led = tokio::select! {
        l = became_leader => l,
        _ = shutdown.clone() => false,
    };
    if !led {
        drop(leading);
        let _ = task.await;
        return Ok(());
    }
    // Writes wait for the first renewal the Lease's watch shows, then stop at its expiry
    // unless the next one is seen (a paused or cut-off leader stops writing by itself).
    let fence = Arc::new(Fence::closed());
    {
        let fence = fence.clone();
        let api = Api::<Lease>::namespaced(client.clone(), &lease.namespace);
        let (name, id, stop) = (lease.name.clone(), identity.clone(), shutdown.clone());
        let margin = std::time::Duration::from_secs(lease.grace_seconds.min(1));
        tokio::spawn(async move { fence.follow(api, &name, &id, margin, stop).await });
    }
    let mut watch = leading.clone();
    let leads = Arc::new(AtomicBool::new(true));
    // Lost: the lease manager says so, or (once leading) the lease expired without a
    // renewal this replica saw. The manager learns only by talking to the API server, which
    // after a pause or a hung API server can be seconds after another replica took over;
    // like kube-controller-manager past its renew deadline, stop soon after the expiry.
    let grace = std::time::Duration::from_secs(lease.grace_seconds.max(1));
    let lost = {
        let (leads, fence) = (leads.clone(), fence.clone());
        async move {
            let manager_says = async {
                while watch.changed().await.is_ok() {
                    if !*watch.borrow() {
                        break;
                    }
                }
            };
            // A renewal seen late (a slow watch) only pauses writes; one still missing a
            // grace period after the expiry means this replica is cut off or was paused.
            let expired = async {
                fence.confirmed().await;
                loop {
                    fence.expired().await;
                    if tokio::time::timeout(grace, fence.confirmed())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                tracing::warn!("the lease expired and no renewal was seen");
            };
            tokio::select! {
                () = manager_says => {}
                () = expired => {}
            }
            leads.store(false, Ordering::SeqCst);
        }
    }
    .shared();
    // Two replicas racing for a new Lease can both be told they won; only the Lease itself
    // says who holds it. Start the controllers once it names this replica.
    let confirmed = tokio::select! {
        () = fence.confirmed() => true,
        () = lost.clone() => false,
        () = shutdown.clone() => false,
    };
    if confirmed {
        tracing::info!(%identity, lease = %lease.name, "leading");
        metrics.leader.set(1);
        let stop = futures::future::select(shutdown.clone(), lost.clone())
            .map(|_| ())
            .boxed()
            .shared();
        controllers(stop, Leadership { leads, fence }).await;
        metrics.leader.set(0);
    }
    let lost_it = lost.now_or_never().is_some();
    // Dropping the receiver makes the lease manager release the lease, so a standby takes
    // over at once instead of after the lease expires.
    drop(leading);
    let _ = task.await;
    if lost_it {
        return Err(Error::Leader(
            "lost the lease; exiting so a standby can take over".into(),
        ));
    }
    Ok(())
}
