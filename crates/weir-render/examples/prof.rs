//! scratch
#![allow(clippy::unwrap_used, missing_docs)]
use weir_render::{Builtin, Renderer, TemplateSource};
fn main() {
    let ctx: serde_json::Value =
        serde_json::from_str(include_str!("../../../bench/job_context.json")).unwrap();
    let r = Renderer::new();
    let src = match std::env::var("TEMPLATE") {
        Ok(path) => TemplateSource::Inline {
            name: "x".into(),
            text: std::fs::read_to_string(path).unwrap(),
        },
        Err(_) => TemplateSource::Builtin(Builtin::Job),
    };
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100000);
    let typed = std::env::var("TYPED").is_ok();
    r.render_text(&src, &ctx).unwrap();
    let prepared = weir_render::PreparedContext::new(&ctx);
    let prep = std::env::var("PREP").is_ok();
    for _ in 0..n {
        if typed {
            std::hint::black_box(r.render_job(&src, &ctx).unwrap());
        } else if prep {
            std::hint::black_box(r.render_text(&src, &prepared).unwrap());
        } else {
            std::hint::black_box(r.render_text(&src, &ctx).unwrap());
        }
    }
}
