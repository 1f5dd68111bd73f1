//! Connecting to the local cluster, and one throw-away namespace per test.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, Resource};

use crate::wait;

/// Label on every namespace a test creates, so leftovers of a killed run can be found:
/// `kubectl delete namespace -l weir.dev/e2e=true`.
pub const E2E_LABEL: &str = "weir.dev/e2e";

/// Set (to anything) to keep test namespaces for inspection instead of deleting them.
pub const KEEP_NAMESPACES_ENV: &str = "WEIR_E2E_KEEP_NAMESPACES";

/// The gitignored runtime directory of `tests/cluster/*.sh`: `$WEIR_CLUSTER_DIR`, by default
/// `<repo>/.cluster`.
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("WEIR_CLUSTER_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../.cluster"),
    }
}

/// The admin kubeconfig: `$WEIR_KUBECONFIG`, by default `<runtime dir>/kubeconfig`.
pub fn kubeconfig_path() -> PathBuf {
    match std::env::var_os("WEIR_KUBECONFIG") {
        Some(path) => PathBuf::from(path),
        None => runtime_dir().join("kubeconfig"),
    }
}

/// Installs rustls' aws-lc-rs provider as the process default, once. kube's TLS needs a
/// default provider, and a second one would make rustls panic at the first handshake.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed; that one serves as well.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// The kube configuration of the local cluster.
pub async fn config() -> Config {
    install_crypto_provider();
    let path = kubeconfig_path();
    let kubeconfig = Kubeconfig::read_from(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the kubeconfig {}: {e}\nstart the cluster with `make cluster-up`, \
             or point WEIR_KUBECONFIG at a running cluster",
            path.display()
        )
    });
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("invalid kubeconfig {}: {e}", path.display()))
}

/// A client for the local cluster, as its admin (`system:masters`).
pub async fn client() -> Client {
    Client::try_from(config().await)
        .unwrap_or_else(|e| panic!("cannot build a kube client for the local cluster: {e}"))
}

/// A namespace of its own for one test, deleted when this value is dropped: at the end of
/// the test, or while unwinding from its panic.
///
/// The deletion only starts it (the namespace controller finishes it in the background),
/// so dropping costs one API call.
pub struct TestNamespace {
    name: String,
    client: Client,
    config: Config,
}

impl TestNamespace {
    /// Creates `e2e-<test>-<random>` and waits until its `default` ServiceAccount exists
    /// (pods are refused before kube-controller-manager has made it).
    pub async fn create(test: &str) -> Self {
        let config = config().await;
        let client = Client::try_from(config.clone())
            .unwrap_or_else(|e| panic!("cannot build a kube client for the local cluster: {e}"));
        let name = namespace_name(test);
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([(E2E_LABEL.to_owned(), "true".to_owned())])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot create namespace {name} (is the cluster up? `make cluster-up`): {e}")
            });
        // From here on, Drop cleans up even if the wait below panics.
        let ns = TestNamespace {
            name,
            client,
            config,
        };
        let accounts: Api<ServiceAccount> = ns.api();
        wait::until_exists(
            &accounts,
            "default",
            Duration::from_secs(60),
            "the default ServiceAccount",
        )
        .await;
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A client for the cluster (cheap to clone).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The API of a namespaced kind, in this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_NAMESPACES_ENV).is_some() {
            eprintln!(
                "keeping namespace {} ({KEEP_NAMESPACES_ENV} is set)",
                self.name
            );
            return;
        }
        // Drop may run inside the test's runtime, even while it unwinds from a panic, where
        // nothing can be awaited. A thread with a runtime and a client of its own does the
        // deletion (the test's client is bound to the test's runtime, which is blocked here).
        let name = self.name.clone();
        let config = self.config.clone();
        let deleter = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            runtime.block_on(async {
                let client = Client::try_from(config).map_err(|e| e.to_string())?;
                let namespaces: Api<Namespace> = Api::all(client);
                match namespaces.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            })
        });
        match deleter.join() {
            Ok(Ok(())) => {}
            // Never panic in Drop: during unwinding that would abort the whole test binary.
            Ok(Err(e)) => eprintln!("could not delete test namespace {}: {e}", self.name),
            Err(_) => eprintln!("the thread deleting namespace {} panicked", self.name),
        }
    }
}

/// `e2e-<test>-<8 hex digits>`, a valid namespace name (DNS label) unique per call.
fn namespace_name(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let random = RandomState::new().hash_one((
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::process::id(),
        std::time::SystemTime::now(),
    ));
    let mut slug: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.truncate(40);
    let slug = slug.trim_matches('-');
    format!("e2e-{slug}-{:08x}", random as u32)
}

/// kube-apiserver's own `apiserver_request_total`, summed over the series whose labels
/// include every `key="value"` in `labels` (e.g. `[("resource", "jobs"), ("verb",
/// "POST"), ("code", "201")]`). Cluster-wide: only a test that runs alone can attribute it.
pub async fn apiserver_requests(client: &Client, labels: &[(&str, &str)]) -> f64 {
    let req = match http::Request::get("/metrics").body(Vec::new()) {
        Ok(r) => r,
        Err(e) => panic!("GET /metrics request: {e}"),
    };
    let text = client
        .request_text(req)
        .await
        .unwrap_or_else(|e| panic!("kube-apiserver /metrics: {e}"));
    text.lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, n)| n.parse::<f64>().ok()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::namespace_name;

    #[test]
    fn namespace_names_are_dns_labels_and_unique() {
        let a = namespace_name("Job_completes::with a VERY long name that goes on and on");
        let b = namespace_name("Job_completes::with a VERY long name that goes on and on");
        assert_ne!(a, b);
        for name in [a, b, namespace_name("-x-")] {
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!name.ends_with('-') && name.starts_with("e2e-"), "{name}");
        }
    }
}
