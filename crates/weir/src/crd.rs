//! `weir crd`: every CRD as YAML, printed or written into a directory (what `crds/` holds).

use std::path::Path;
use std::process::ExitCode;

use crate::error::CliError;

/// Every CRD as one multi-document YAML text.
pub fn crds_yaml() -> Result<String, CliError> {
    let mut out = String::new();
    for crd in weir_api::crds() {
        let yaml = weir_api::crd_yaml(&crd)
            .map_err(|e| CliError::new(format!("{}: {e}", crd.spec.names.plural)))?;
        out.push_str("---\n");
        out.push_str(&yaml);
    }
    Ok(out)
}

/// Writes one file per CRD, `<plural>.yaml`, into `dir`.
pub fn write_crds(dir: &Path) -> Result<(), CliError> {
    for crd in weir_api::crds() {
        let yaml = weir_api::crd_yaml(&crd)
            .map_err(|e| CliError::new(format!("{}: {e}", crd.spec.names.plural)))?;
        let path = dir.join(format!("{}.yaml", crd.spec.names.plural));
        std::fs::write(&path, yaml)
            .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// `weir crd [--write DIR]`.
pub fn run(write: Option<&Path>) -> ExitCode {
    let done = match write {
        Some(dir) => write_crds(dir),
        None => crds_yaml().map(|text| print!("{text}")),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
