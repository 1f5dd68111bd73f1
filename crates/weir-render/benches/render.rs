//! Rendering the built-in `job` template with the seed's dbt task
//! (bench/job_context.json, the same context bench/jinja2_render.py gives
//! Jinja2); bench/render.sh runs both and prints the ratio.
//!
//! - `job/render`: template → text, including converting the context into the
//!   engine's values (Python's dict needs no such step);
//! - `job/render_prepared`: template → text with a [`PreparedContext`], which is
//!   what Jinja2's timing measures;
//! - `job/render_typed`: render, parse the YAML and deserialize a typed Job,
//!   what the controller does per step attempt;
//! - `job/render_interpreted`: like `render_prepared`, but through minijinja
//!   instead of the compiled form of the built-in (src/fast) that the rows
//!   above take.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use weir_render::{Builtin, PreparedContext, RenderContext, Renderer, TemplateSource};

fn context() -> RenderContext {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../../../bench/job_context.json")).unwrap_or_default();
    let field = |name: &str| json.get(name).cloned().unwrap_or_default();
    RenderContext {
        job: field("job"),
        params: serde_json::from_value(field("params")).unwrap_or_default(),
        run: weir_render::RunInfo {
            name: "batch-20240301-x7k2p".into(),
            uid: "7d1e2c4a-5b6f-4c3d-9e8f-0a1b2c3d4e5f".into(),
            pipeline: "batch".into(),
            namespace: "data".into(),
            attempt: 1,
            start_time: Some("2024-03-01T02:00:00Z".into()),
        },
        step: weir_render::StepInfo {
            name: "dbt".into(),
            index: None,
        },
        item: None,
        envs: serde_json::from_value(field("envs")).unwrap_or_default(),
        results: serde_json::from_value(field("results")).unwrap_or_default(),
    }
}

fn bench(c: &mut Criterion) {
    let renderer = Renderer::new();
    let ctx = context();
    let source = TemplateSource::Builtin(Builtin::Job);
    // Fail loudly rather than benchmark an error path.
    if let Err(err) = renderer.render_job(&source, &ctx) {
        panic!("the benchmark context must render: {err}");
    }
    // … and through the compiled path, which the rows but the last measure.
    if renderer.render_compiled(Builtin::Job, &ctx).is_none() {
        panic!("the benchmark context must take the compiled path");
    }
    let mut group = c.benchmark_group("job");
    group.bench_function("render", |b| {
        b.iter(|| renderer.render_text(black_box(&source), black_box(&ctx)))
    });
    let prepared = PreparedContext::new(&ctx);
    group.bench_function("render_prepared", |b| {
        b.iter(|| renderer.render_text(black_box(&source), black_box(&prepared)))
    });
    group.bench_function("render_typed", |b| {
        b.iter(|| renderer.render_job(black_box(&source), black_box(&ctx)))
    });
    group.bench_function("render_interpreted", |b| {
        b.iter(|| renderer.render_interpreted(black_box(Builtin::Job), black_box(&prepared)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
