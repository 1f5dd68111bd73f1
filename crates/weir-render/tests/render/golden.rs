//! Snapshot tests: each built-in rendered with its bench context and stamped,
//! compared with tests/golden/<name>.yaml. After an intended change, run
//! `UPDATE_GOLDEN=1 cargo test -p weir-render --test render golden` and review the diff.

use crate::common;

use std::path::PathBuf;

use k8s_openapi::api::batch::v1::Job;
use weir_render::{Builtin, RenderContext, Renderer, TemplateSource, stamp_job, stamp_manifest};

fn context(builtin: Builtin) -> RenderContext {
    match builtin {
        Builtin::Job => common::dbt_task(),
        Builtin::Spark => common::spark_batch(),
        Builtin::Dbt => common::dbt_run(),
    }
}

fn rendered(builtin: Builtin) -> serde_json::Value {
    let mut manifest = Renderer::new()
        .render_manifest(&TemplateSource::Builtin(builtin), &context(builtin))
        .unwrap_or_else(|err| panic!("{err}"));
    stamp_manifest(&mut manifest, &common::identity()).unwrap();
    manifest
}

/// What the controller applies: Jobs go through the typed path and `stamp_job`
/// (which also labels the pods), other kinds through `stamp_manifest`.
fn applied(builtin: Builtin) -> serde_json::Value {
    let source = TemplateSource::Builtin(builtin);
    if builtin == Builtin::Spark {
        return rendered(builtin);
    }
    let mut job = Renderer::new()
        .render_job(&source, &context(builtin))
        .unwrap_or_else(|err| panic!("{err}"));
    stamp_job(&mut job, &common::identity());
    serde_json::to_value(&job).unwrap()
}

#[test]
fn builtins_match_golden_files() {
    let dir = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for builtin in Builtin::ALL {
        let yaml = serde_saphyr::to_string(&applied(builtin)).unwrap();
        let path = dir.join(format!("{builtin}.yaml"));
        if update {
            std::fs::write(&path, &yaml).unwrap();
            continue;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_default();
        if golden != yaml {
            stale.push(format!("{}:\n{yaml}", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "rendered output differs from the golden files (UPDATE_GOLDEN=1 to accept):\n{}",
        stale.join("\n")
    );
}

/// k8s-openapi ignores unknown fields, so a misspelled field in a built-in
/// would vanish silently from the typed Job; the untyped manifest keeps it.
#[test]
fn job_builtins_write_only_real_fields() {
    for builtin in [Builtin::Job, Builtin::Dbt] {
        let manifest = rendered(builtin);
        let typed: Job = serde_json::from_value(manifest.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), manifest, "{builtin}");
    }
}
