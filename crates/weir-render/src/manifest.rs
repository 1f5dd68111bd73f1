//! Rendered text → YAML → JSON value → typed Kubernetes object.

use k8s_openapi::api::batch::v1::Job;
use minijinja::Value;
use minijinja::value::Serde;
use serde::de::DeserializeOwned;

use crate::builtin::TemplateSource;
use crate::error::RenderError;
use crate::renderer::Renderer;

impl Renderer {
    /// Renders `source` and parses it as one `batch/v1` Job.
    ///
    /// Fields weir owns are not trustworthy yet: call [`crate::stamp_job`] next.
    pub fn render_job<C: serde::Serialize>(
        &self,
        source: &TemplateSource,
        ctx: &C,
    ) -> Result<Job, RenderError> {
        let manifest = self.render_manifest(source, ctx)?;
        let name = source.name();
        expect_kind(name, &manifest, "batch/v1", "Job")?;
        typed(name, manifest)
    }

    /// Renders `source` and parses it as one manifest of any kind, which must be
    /// an object with a string `apiVersion` and `kind`.
    ///
    /// Fields weir owns are not trustworthy yet: call [`crate::stamp_manifest`] next.
    pub fn render_manifest<C: serde::Serialize>(
        &self,
        source: &TemplateSource,
        ctx: &C,
    ) -> Result<serde_json::Value, RenderError> {
        let text = self.render_source(source, &Value::from(Serde(ctx)))?;
        let manifest = parse_yaml(source.name(), &text)?;
        for field in ["apiVersion", "kind"] {
            match manifest.get(field) {
                Some(serde_json::Value::String(value)) if !value.is_empty() => {}
                _ => {
                    return Err(RenderError::Manifest {
                        template: source.name().to_owned(),
                        message: format!("manifest has no {field}"),
                    });
                }
            }
        }
        Ok(manifest)
    }
}

/// Parses rendered text as exactly one YAML document holding a mapping.
pub fn parse_yaml(template: &str, text: &str) -> Result<serde_json::Value, RenderError> {
    let value: serde_json::Value = serde_saphyr::from_str(text).map_err(|err| {
        let (line, column) = err
            .location()
            .map_or((0, 0), |location| (location.line(), location.column()));
        let near = usize::try_from(line)
            .ok()
            .and_then(|line| line.checked_sub(1))
            .and_then(|index| text.lines().nth(index))
            .map(shorten);
        RenderError::Yaml {
            template: template.to_owned(),
            line,
            column,
            message: yaml_message(&err.without_snippet().to_string(), line, column),
            near,
        }
    })?;
    if !value.is_object() {
        return Err(RenderError::Manifest {
            template: template.to_owned(),
            message: "manifest is not a YAML mapping".to_owned(),
        });
    }
    Ok(value)
}

/// Deserializes a manifest into a typed object, naming the field path on failure.
pub fn typed<T: DeserializeOwned>(
    template: &str,
    manifest: serde_json::Value,
) -> Result<T, RenderError> {
    serde_path_to_error::deserialize(manifest).map_err(|err| RenderError::Shape {
        template: template.to_owned(),
        path: err.path().to_string(),
        message: err.inner().to_string(),
    })
}

fn expect_kind(
    template: &str,
    manifest: &serde_json::Value,
    api_version: &str,
    kind: &str,
) -> Result<(), RenderError> {
    let found = (
        manifest
            .get("apiVersion")
            .and_then(serde_json::Value::as_str),
        manifest.get("kind").and_then(serde_json::Value::as_str),
    );
    if found == (Some(api_version), Some(kind)) {
        return Ok(());
    }
    Err(RenderError::Manifest {
        template: template.to_owned(),
        message: format!(
            "expected {api_version} {kind}, got {} {}",
            found.0.unwrap_or("?"),
            found.1.unwrap_or("?")
        ),
    })
}

/// One line, without the location the error already carries: the parser's
/// snippet and repeated position are noise in a condition message.
fn yaml_message(message: &str, line: u64, column: u64) -> String {
    let first = message.lines().next().unwrap_or_default().trim();
    let suffix = format!(" at line {line}, column {column}");
    first.strip_suffix(&suffix).unwrap_or(first).to_owned()
}

fn shorten(line: &str) -> String {
    const MAX_CHARS: usize = 120;
    let line = line.trim();
    if line.chars().count() <= MAX_CHARS {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(MAX_CHARS).collect();
    short.push('…');
    short
}
