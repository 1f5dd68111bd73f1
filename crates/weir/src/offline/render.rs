//! What `weir render` and `weir check` share beyond weir-core: a standalone resource as
//! weir-core's input, and a manifest as YAML. Rendering itself is weir-core's
//! ([`weir_core::standalone`]), the code the controller runs.

use weir_core::Manifest;
use weir_core::check::{PREVIEW_START_TIME, PREVIEW_UID};
use weir_core::standalone::{Standalone, StandaloneInput};

use super::resources::{Resource, Spec};

/// A SparkJob or DbtRun among the files as weir-core's input, owned by a stand-in uid and
/// started at a fixed time, so renders are reproducible; `None` for other resources.
pub(crate) fn standalone_input<'r>(r: &'r Resource<'_>) -> Option<StandaloneInput<'r>> {
    let (kind, spec, template) = match &r.spec {
        Some(Spec::SparkJob(spec)) => (
            Standalone::SparkJob,
            serde_json::to_value(spec),
            spec.template.as_ref(),
        ),
        Some(Spec::DbtRun(spec)) => (
            Standalone::DbtRun,
            serde_json::to_value(spec),
            spec.template.as_ref(),
        ),
        _ => return None,
    };
    Some(StandaloneInput {
        kind,
        name: r.name(),
        attempt: 1,
        namespace: r.namespace(),
        uid: PREVIEW_UID,
        start_time: Some(PREVIEW_START_TIME),
        spec: spec.unwrap_or_default(),
        template,
    })
}

/// A manifest as one YAML document (without the `---` separator).
pub(crate) fn to_yaml(m: &Manifest) -> Result<String, String> {
    let text = match m {
        Manifest::Job(job) => serde_saphyr::to_string(job.as_ref()),
        Manifest::Object(v) => serde_saphyr::to_string(v),
    };
    text.map_err(|e| e.to_string())
}
