//! Render errors that point at the template, line, column and expression.

use std::fmt;

/// Why a render failed.
///
/// Every variant names the template (`job`, `configmap/<name>/<key>`, …) so the
/// message can go straight into a `Valid=False` condition or a Warning Event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The template did not compile or failed while rendering.
    #[error("{0}")]
    Template(Box<TemplateError>),
    /// The rendered text is not YAML.
    #[error("template {template:?}: rendered YAML line {line} col {column}: {message}{}", near_suffix(near.as_deref()))]
    Yaml {
        /// The template that produced the text.
        template: String,
        /// Line in the rendered text (1-based), not in the template.
        line: u64,
        /// Column in the rendered text (1-based).
        column: u64,
        /// What the YAML parser said.
        message: String,
        /// The rendered line the parser stopped at, shortened.
        near: Option<String>,
    },
    /// The YAML does not deserialize into the expected kind.
    #[error("template {template:?}: {path}: {message}")]
    Shape {
        /// The template that produced the manifest.
        template: String,
        /// Field path of the bad value, e.g. `spec.template.spec.containers[0].env`.
        path: String,
        /// What serde said about the value there.
        message: String,
    },
    /// The manifest is not an object with a string `apiVersion` and `kind`.
    #[error("template {template:?}: {message}")]
    Manifest {
        /// The template that produced the manifest.
        template: String,
        /// What is missing.
        message: String,
    },
    /// The rendered text is larger than any object the API server would store.
    #[error("template {template:?}: output is larger than {limit} bytes")]
    TooLarge {
        /// The template that produced the text.
        template: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// No built-in template has that name.
    #[error("unknown built-in template {0:?} (known: job, spark, dbt)")]
    UnknownBuiltin(String),
}

impl RenderError {
    /// A bounded label for metrics and Event reasons; never contains user text.
    pub fn category(&self) -> &'static str {
        match self {
            RenderError::Template(err) if err.undefined.is_some() => "UndefinedValue",
            RenderError::Template(err) if err.syntax => "TemplateSyntax",
            RenderError::Template(_) => "TemplateRender",
            RenderError::Yaml { .. } => "InvalidYaml",
            RenderError::Shape { .. } => "InvalidManifest",
            RenderError::Manifest { .. } => "InvalidManifest",
            RenderError::TooLarge { .. } => "TooLarge",
            RenderError::UnknownBuiltin(_) => "UnknownTemplate",
        }
    }

    /// The template the error is about (`job`, `inline`, `configmap/<name>/<key>`, a
    /// templated field's path such as `args[1]`), so a caller can point at its source
    /// without parsing the message; `None` for an unknown built-in.
    pub fn template(&self) -> Option<&str> {
        match self {
            RenderError::Template(err) => Some(&err.template),
            RenderError::Yaml { template, .. }
            | RenderError::Shape { template, .. }
            | RenderError::Manifest { template, .. }
            | RenderError::TooLarge { template, .. } => Some(template),
            RenderError::UnknownBuiltin(_) => None,
        }
    }
}

fn near_suffix(near: Option<&str>) -> String {
    near.map(|line| format!(" (near {line:?})"))
        .unwrap_or_default()
}

/// A minijinja error translated into template coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The template weir asked to render.
    pub template: String,
    /// The template the error is in when that is another one (an import or
    /// include of `template`), e.g. the `weir/pod` macros.
    pub inner: Option<String>,
    /// Line in the template source, 1-based.
    pub line: Option<usize>,
    /// Column in the template source, 1-based, in characters.
    pub column: Option<usize>,
    /// For undefined values: the expression that was undefined, e.g. `job.imagee`.
    pub undefined: Option<String>,
    /// Whether the template failed to compile rather than to render.
    pub syntax: bool,
    /// What went wrong, without the location.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template {:?}", self.template)?;
        if let Some(inner) = &self.inner {
            write!(f, " (in {inner:?})")?;
        }
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, " line {line} col {column}")?,
            (Some(line), None) => write!(f, " line {line}")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl TemplateError {
    /// Translates a minijinja error raised while compiling or rendering `template`.
    ///
    /// minijinja gives a line and a byte range into the failing template's source
    /// (debug mode keeps that source on the error); the column and, for undefined
    /// values, the expression are cut out of that source.
    pub(crate) fn from_minijinja(template: &str, err: &minijinja::Error) -> Self {
        use minijinja::ErrorKind;

        let inner = err
            .name()
            .filter(|name| *name != template)
            .map(str::to_owned);
        let source = err.template_source();
        let range = err.range();
        let undefined = undefined_expression(err, source, range.clone());
        let column = match (source, &range) {
            (Some(source), Some(range)) => {
                // minijinja points at the operation that failed (a filter, an
                // attribute); the undefined expression itself is the better spot.
                let at = undefined
                    .as_deref()
                    .and_then(|expr| find_before(source, range.start, expr))
                    .unwrap_or(range.start);
                column_of(source, at)
            }
            _ => None,
        };
        let message = match &undefined {
            Some(expr) => format!("undefined value {expr}"),
            None => match err.detail() {
                Some(detail) => format!("{}: {detail}", err.kind()),
                None => err.kind().to_string(),
            },
        };
        // An error in an included template arrives wrapped; its cause has the detail.
        let message = match std::error::Error::source(err) {
            Some(cause) if undefined.is_none() => format!("{message}: {cause}"),
            _ => message,
        };
        TemplateError {
            template: template.to_owned(),
            inner,
            line: err.line(),
            column,
            undefined,
            syntax: err.kind() == ErrorKind::SyntaxError,
            message,
        }
    }
}

/// 1-based column, in characters, of byte `offset` in `source`.
fn column_of(source: &str, offset: usize) -> Option<usize> {
    let before = source.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    Some(before[line_start..].chars().count() + 1)
}

/// Byte offset of the last `needle` on the line of `offset` that starts at or
/// before `offset`, or the first one after it on that line.
fn find_before(source: &str, offset: usize, needle: &str) -> Option<usize> {
    let before = source.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let line_end = source[offset..]
        .find('\n')
        .map_or(source.len(), |nl| offset + nl);
    let line = &source[line_start..line_end];
    let relative = offset - line_start;
    let candidates = line.match_indices(needle).map(|(at, _)| at);
    let mut best = None;
    for at in candidates {
        if at <= relative || best.is_none() {
            best = Some(at);
        }
    }
    best.map(|at| line_start + at)
}

/// The undefined expression: minijinja names it in its detail (`` `job.x` is
/// undefined``) when it can trace the value back; otherwise the failing range of
/// the source is the expression.
fn undefined_expression(
    err: &minijinja::Error,
    source: Option<&str>,
    range: Option<std::ops::Range<usize>>,
) -> Option<String> {
    if let Some(detail) = err.detail()
        && let Some(end) = detail.find("` is undefined")
        && let Some(start) = detail[..end].rfind('`')
    {
        return Some(detail[start + 1..end].to_owned());
    }
    if err.kind() != minijinja::ErrorKind::UndefinedError {
        return None;
    }
    let text = source?.get(range?)?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_counts_characters_from_line_start() {
        assert_eq!(column_of("ab\ncdé f", 8), Some(5));
        assert_eq!(column_of("abc", 0), Some(1));
        assert_eq!(column_of("abc", 10), None);
    }

    #[test]
    fn finds_expression_on_the_error_line() {
        let source = "a: 1\nb: {{ x.y | tojson }} {{ x.y }}\n";
        let filter = source.find("tojson").unwrap_or_default();
        assert_eq!(
            find_before(source, filter, "x.y"),
            Some(source.find("x.y").unwrap_or_default())
        );
        assert_eq!(find_before(source, 2, "x.y"), None);
    }

    #[test]
    fn every_error_but_an_unknown_builtin_names_its_template() {
        let err = RenderError::Shape {
            template: "inline".into(),
            path: "spec".into(),
            message: "bad".into(),
        };
        assert_eq!(err.template(), Some("inline"));
        assert_eq!(RenderError::UnknownBuiltin("x".into()).template(), None);
    }

    #[test]
    fn categories_are_bounded_words() {
        let err = RenderError::UnknownBuiltin("nope".into());
        assert_eq!(err.category(), "UnknownTemplate");
        assert!(!err.category().contains("nope"));
    }
}
