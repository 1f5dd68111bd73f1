//! Templated strings inside data: a step's command, args and env values, like
//! KJO's `template_fields`.

use minijinja::Value;
use minijinja::value::Serde;

use crate::error::RenderError;
use crate::renderer::Renderer;

/// Deeper JSON than this is refused: real command/args/env values are a few
/// levels deep, and the walk below recurses once per level.
const MAX_DEPTH: usize = 64;

impl Renderer {
    /// Renders every string leaf of `value` that contains `{{` or `{%` and
    /// returns the rendered copy; other leaves, keys and the shape stay as they
    /// are. A rendered leaf stays a string (it is not parsed as YAML), so a
    /// parameter value cannot turn into a list or a number.
    ///
    /// Each leaf is its own template, named by its path in errors
    /// (`args[1]`, `env.RUN_DATE`).
    pub fn render_value<C: serde::Serialize>(
        &self,
        value: &serde_json::Value,
        ctx: &C,
    ) -> Result<serde_json::Value, RenderError> {
        let ctx = Value::from(Serde(ctx));
        let mut path = String::new();
        self.walk(value, &ctx, &mut path, 0)
    }

    fn walk(
        &self,
        value: &serde_json::Value,
        ctx: &Value,
        path: &mut String,
        depth: usize,
    ) -> Result<serde_json::Value, RenderError> {
        use serde_json::Value as Json;

        if depth > MAX_DEPTH {
            return Err(RenderError::Manifest {
                template: path_name(path),
                message: format!("value is nested deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(match value {
            Json::String(text) if is_templated(text) => {
                Json::String(self.render_uncached(&path_name(path), text, ctx)?)
            }
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    let rendered = self.walk(item, ctx, path, depth + 1);
                    path.truncate(len);
                    out.push(rendered?);
                }
                Json::Array(out)
            }
            Json::Object(fields) => {
                let mut out = serde_json::Map::with_capacity(fields.len());
                for (key, field) in fields {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    let rendered = self.walk(field, ctx, path, depth + 1);
                    path.truncate(len);
                    out.insert(key.clone(), rendered?);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// Whether a string holds Jinja markup. Plain strings are left alone, so a
/// literal `{` in an argument needs no escaping.
pub fn is_templated(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

fn path_name(path: &str) -> String {
    if path.is_empty() {
        "value".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert!(is_templated("{{ x }}"));
        assert!(is_templated("a {% if x %}b{% endif %}"));
        assert!(!is_templated("{\"json\": 1}"));
        assert!(!is_templated("${HOME}"));
    }
}
