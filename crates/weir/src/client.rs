//! What every verb that talks to a cluster shares: the namespace flag, the client (the
//! kubeconfig, or the in-cluster config, as kubectl reads them) and `-p KEY=VALUE` flags.

use std::collections::BTreeMap;

use clap::Args;
use kube::Client;
use kube::api::Api;
use weir_api::v1alpha1::{Pipeline, PipelineRun};

/// Namespace selection shared by every cluster command.
#[derive(Debug, Args)]
pub struct Ns {
    /// The namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
}

/// The runs of the namespace selected, through a client built as kubectl builds one.
pub(crate) async fn runs_api(ns: &Ns) -> Result<Api<PipelineRun>, String> {
    Ok(pipelines_and_runs(ns).await?.1)
}

/// The Pipelines and the runs of the namespace selected, through one client.
pub(crate) async fn pipelines_and_runs(
    ns: &Ns,
) -> Result<(Api<Pipeline>, Api<PipelineRun>), String> {
    let client = Client::try_default()
        .await
        .map_err(|e| format!("cannot connect to the cluster: {e}"))?;
    Ok(match &ns.namespace {
        Some(n) => (
            Api::namespaced(client.clone(), n),
            Api::namespaced(client, n),
        ),
        None => (
            Api::default_namespaced(client.clone()),
            Api::default_namespaced(client),
        ),
    })
}

/// `-p KEY=VALUE` flags as a map.
pub(crate) fn parse_params(raw: &[String]) -> Result<BTreeMap<String, String>, String> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("-p {p}: expected KEY=VALUE")),
        })
        .collect()
}
