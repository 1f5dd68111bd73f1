//! The built-in `job` template with the seed's dbt task (bench/job_context.json,
//! the same context bench/jinja2_render.py gives Jinja2); bench/render.sh runs
//! both and prints the ratios.
//!
//! `step/…` is what the controller pays per step attempt: the weir-render calls
//! weir-core's `Renderable::child` makes, in its order — the templated strings of
//! `job` and `envs` (`render_value`), the template → typed Job (`render_job`), and
//! the fields weir owns (`stamp_job`), with the context and identity built as
//! weir-core builds them.
//!
//! - `step/job`: that path;
//! - `step/parse_yaml`, `step/typed`: its two parsing stages alone (text → JSON
//!   value, JSON value → typed Job); `step/yaml_to_job`: text straight into a
//!   typed Job, skipping the JSON value (slower; BENCHMARKS.md);
//! - `job/render`, `job/render_prepared`: template → text alone, converting the
//!   context into engine values on every call, or once ([`PreparedContext`], as
//!   Jinja2 is handed a ready dict).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use weir_render::{
    Builtin, Identity, PreparedContext, RenderContext, RenderError, Renderer, TemplateSource,
};

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
            trigger: None,
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

/// What weir-core stamps on the dbt step's first attempt.
fn identity(ctx: &RenderContext) -> Identity {
    let labels = [
        ("weir.dev/pipeline", ctx.run.pipeline.clone()),
        ("weir.dev/run", ctx.run.name.clone()),
        ("weir.dev/step", ctx.step.name.clone()),
        ("weir.dev/attempt", ctx.run.attempt.to_string()),
        ("app.kubernetes.io/managed-by", "weir".to_owned()),
    ];
    Identity {
        name: format!("{}-{}-{}", ctx.run.name, ctx.step.name, ctx.run.attempt),
        namespace: ctx.run.namespace.clone(),
        labels: labels
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
        annotations: BTreeMap::new(),
        owner: OwnerReference {
            api_version: "weir.dev/v1alpha1".into(),
            kind: "PipelineRun".into(),
            name: ctx.run.name.clone(),
            uid: ctx.run.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        },
    }
}

/// One step attempt as weir-core renders it.
fn step(
    renderer: &Renderer,
    base: &RenderContext,
    raw_job: &serde_json::Value,
    raw_envs: &serde_json::Value,
) -> Result<Job, RenderError> {
    let mut ctx = RenderContext {
        job: serde_json::Value::Null,
        envs: BTreeMap::new(),
        ..base.clone()
    };
    ctx.job = renderer.render_value(raw_job, &ctx)?;
    let envs = renderer.render_value(raw_envs, &ctx)?;
    ctx.envs = serde_json::from_value(envs).unwrap_or_default();
    let mut job = renderer.render_job(&TemplateSource::Builtin(Builtin::Job), &ctx)?;
    weir_render::stamp_job(&mut job, &identity(&ctx));
    Ok(job)
}

fn bench(c: &mut Criterion) {
    let renderer = Renderer::new();
    let ctx = context();
    let source = TemplateSource::Builtin(Builtin::Job);
    let raw_job = ctx.job.clone();
    let raw_envs = serde_json::to_value(&ctx.envs).unwrap_or_default();
    // Fail loudly rather than benchmark an error path.
    if let Err(err) = step(&renderer, &ctx, &raw_job, &raw_envs) {
        panic!("the benchmark context must render: {err}");
    }
    let text = renderer.render_text(&source, &ctx).unwrap_or_default();
    let value = weir_render::parse_yaml("job", &text).unwrap_or_default();

    let mut group = c.benchmark_group("step");
    group.bench_function("job", |b| {
        b.iter(|| step(&renderer, black_box(&ctx), &raw_job, &raw_envs))
    });
    group.bench_function("parse_yaml", |b| {
        b.iter(|| weir_render::parse_yaml("job", black_box(&text)))
    });
    group.bench_function("typed", |b| {
        b.iter_batched(
            || value.clone(),
            |value| weir_render::typed::<Job>("job", value),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("yaml_to_job", |b| {
        b.iter(|| serde_saphyr::from_str::<Job>(black_box(&text)))
    });
    group.finish();

    let mut group = c.benchmark_group("job");
    group.bench_function("render", |b| {
        b.iter(|| renderer.render_text(black_box(&source), black_box(&ctx)))
    });
    let prepared = PreparedContext::new(&ctx);
    group.bench_function("render_prepared", |b| {
        b.iter(|| renderer.render_text(black_box(&source), black_box(&prepared)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
