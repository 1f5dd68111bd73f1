//! The CRDs in `crds/` are generated from the Rust types; this fails when they drift.
//! Regenerate with `weir crd --write crds` (or `UPDATE_CRDS=1 cargo test -p weir-api`).

use std::path::PathBuf;

/// At run time first: a test binary built in another checkout sharing the target dir (CI
/// clones elsewhere) is reused as it is, with that checkout's path compiled in.
fn crds_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../crds")
}

#[test]
fn crds_directory_matches_the_rust_types() {
    let dir = crds_dir();
    let update = std::env::var_os("UPDATE_CRDS").is_some();
    let mut drifted = Vec::new();
    for crd in weir_api::crds() {
        let file = dir.join(format!("{}.yaml", crd.spec.names.plural));
        let want = weir_api::crd_yaml(&crd).expect("a CRD serializes");
        if update {
            std::fs::write(&file, &want).expect("write crds/");
            continue;
        }
        let have = std::fs::read_to_string(&file).unwrap_or_default();
        if have != want {
            drifted.push(file.display().to_string());
        }
    }
    assert!(
        drifted.is_empty(),
        "crds/ drifted from the Rust types: {drifted:?}; run `UPDATE_CRDS=1 cargo test -p weir-api --test crds`"
    );
}

#[test]
fn every_schema_property_has_a_description() {
    fn walk(path: &str, v: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                let p = format!("{path}.{name}");
                let inherited = matches!(name.as_str(), "metadata" | "apiVersion" | "kind");
                if prop.get("description").is_none() && !inherited && !path.contains("conditions") {
                    missing.push(p.clone());
                }
                walk(&p, prop, missing);
            }
        }
        if let Some(items) = v.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    let mut missing = Vec::new();
    for crd in weir_api::crds() {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("json");
        walk(
            &crd.spec.names.kind,
            &schema["openAPIV3Schema"],
            &mut missing,
        );
    }
    // k8s-openapi's embedded types (tolerations, affinity, resources) carry their own docs;
    // only weir's own fields are checked.
    missing.retain(|p| {
        !p.contains(".affinity.") && !p.contains(".tolerations[]") && !p.contains(".resources.")
    });
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:#?}"
    );
}

/// `kubectl apply` warns about any other format (`unrecognized format "uint32"`).
#[test]
fn every_format_is_one_the_api_server_knows() {
    fn walk(path: &str, v: &serde_json::Value, unknown: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(f) = map.get("format").and_then(|f| f.as_str())
                    && !matches!(
                        f,
                        "int32"
                            | "int64"
                            | "float"
                            | "double"
                            | "byte"
                            | "date"
                            | "date-time"
                            | "password"
                            | "int-or-string"
                            | "quantity"
                            | "duration"
                            | "uri"
                            | "email"
                            | "hostname"
                            | "ipv4"
                            | "ipv6"
                            | "uuid"
                    )
                {
                    unknown.push(format!("{path}: {f}"));
                }
                for (k, v) in map {
                    walk(&format!("{path}.{k}"), v, unknown);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), v, unknown);
                }
            }
            _ => {}
        }
    }
    let mut unknown = Vec::new();
    for crd in weir_api::crds() {
        let v = serde_json::to_value(&crd).expect("json");
        walk(&crd.spec.names.kind, &v, &mut unknown);
    }
    assert!(
        unknown.is_empty(),
        "formats the API server does not know: {unknown:?}"
    );
}
