//! weir-render turns a step into Kubernetes manifests: minijinja (Jinja2
//! syntax) templates — the built-in `job`, `spark` and `dbt`, or a user's text —
//! rendered with a [`RenderContext`], parsed as YAML and deserialized into a
//! typed `batch/v1` Job or a JSON manifest of any kind; then [`stamp_job`] /
//! [`stamp_manifest`] set the fields weir owns (name, namespace, weir's labels,
//! ownerReferences), so a template can never break them.
//!
//! This crate is pure and must stay so: no kube client, no tokio, no `async`,
//! no file or network I/O (templates arrive as strings), no clock. It must not
//! panic on any template or context: every failure is a [`RenderError`] that
//! names the template, line, column and, for undefined names, the expression.
//!
//! ```
//! use weir_render::{Builtin, RenderContext, Renderer, TemplateSource};
//!
//! let renderer = Renderer::new();
//! let mut ctx = RenderContext::default();
//! ctx.job = serde_json::json!({"image": "busybox", "command": ["true"]});
//! ctx.run.namespace = "data".into();
//! let job = renderer.render_job(&TemplateSource::Builtin(Builtin::Job), &ctx).unwrap();
//! assert_eq!(job.spec.unwrap().backoff_limit, Some(0));
//! ```

mod builtin;
mod cache;
mod context;
mod error;
mod json;
mod manifest;
mod renderer;
mod stamp;
mod value;

pub use builtin::{Builtin, TemplateSource};
pub use context::{PreparedContext, RenderContext, RunInfo, StepInfo};
pub use error::{RenderError, TemplateError};
pub use manifest::{parse_yaml, typed};
pub use renderer::{MAX_OUTPUT_BYTES, Renderer};
pub use stamp::{Identity, stamp_job, stamp_manifest, stamp_meta};
pub use value::is_templated;
