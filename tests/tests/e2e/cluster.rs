//! The local control plane has what weir's tests rely on besides Jobs: a node with room for
//! benchmark-sized runs, garbage collection of owned objects, and the apiserver's metrics.

// A panic is how a test fails; the workspace's unwrap/expect lints are for library code.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Node};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::{Api, Resource, ResourceExt};
use weir_e2e::{TestNamespace, client, wait};

#[tokio::test]
async fn the_fake_node_is_ready_with_room_for_ten_thousand_pods() {
    let nodes: Api<Node> = Api::all(client().await);
    let node = wait::until(
        &nodes,
        "kwok-node-0",
        Duration::from_secs(30),
        "node kwok-node-0 to be Ready",
        |n: &Node| {
            n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        },
    )
    .await;
    let status = node.status.unwrap();
    let allocatable = status.allocatable.unwrap();
    assert_eq!(allocatable.get("pods"), Some(&Quantity("10k".into())));
    let addresses = status.addresses.unwrap();
    assert!(
        addresses
            .iter()
            .all(|a| a.type_ != "InternalIP" || a.address == "127.0.0.1")
    );
    assert!(node.spec.unwrap().taints.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn deleting_an_owner_deletes_what_it_owns() {
    let ns = TestNamespace::create("gc-cascade").await;
    let config_maps: Api<ConfigMap> = ns.api();
    let owner = config_maps
        .create(&PostParams::default(), &config_map("owner", None))
        .await
        .unwrap();
    let reference = OwnerReference {
        api_version: ConfigMap::api_version(&()).into_owned(),
        kind: ConfigMap::kind(&()).into_owned(),
        name: owner.name_any(),
        uid: owner.uid().unwrap(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let child = config_maps
        .create(
            &PostParams::default(),
            &config_map("child", Some(reference)),
        )
        .await
        .unwrap();

    config_maps
        .delete("owner", &DeleteParams::background())
        .await
        .unwrap();

    // The garbage collector of kube-controller-manager removes the child.
    let uid = child.uid().unwrap();
    wait::poll(
        Duration::from_secs(60),
        Duration::from_millis(200),
        "the garbage collector to delete the owned ConfigMap",
        || async {
            match config_maps.get_opt("child").await.unwrap() {
                Some(cm) if cm.uid().as_deref() == Some(uid.as_str()) => None,
                _ => Some(()),
            }
        },
    )
    .await;
}

#[tokio::test]
async fn apiserver_metrics_are_readable_with_the_admin_kubeconfig() {
    let client = client().await;
    let request = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = client.request_text(request).await.unwrap();
    assert!(
        text.contains("apiserver_request_total"),
        "unexpected /metrics: {}",
        &text[..text.len().min(500)]
    );
}

fn config_map(name: &str, owner: Option<OwnerReference>) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: owner.map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("k".to_owned(), "v".to_owned())])),
        ..ConfigMap::default()
    }
}
