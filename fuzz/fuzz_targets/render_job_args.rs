//! Arbitrary, JSON-shaped job args through the built-in templates: any value
//! may be rejected with an error, none may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_fuzz_common::{ArbJson, context};
use weir_render::{Builtin, Renderer, TemplateSource};

mod weir_fuzz_common;

thread_local! {
    static RENDERER: Renderer = Renderer::new();
}

fuzz_target!(init: weir_fuzz_common::tolerate_caught_engine_panics(), |input: (ArbJson, ArbJson)| {
    let (job, envs) = input;
    let mut ctx = context();
    ctx.job = job.into_json(0);
    if let serde_json::Value::Object(envs) = envs.into_json(0) {
        ctx.envs = envs
            .into_iter()
            .filter_map(|(key, value)| value.as_str().map(|value| (key, value.to_owned())))
            .collect();
    }
    RENDERER.with(|renderer| {
        for builtin in Builtin::ALL {
            let source = TemplateSource::Builtin(builtin);
            if let Ok(mut manifest) = renderer.render_manifest(&source, &ctx) {
                let _ = weir_render::stamp_manifest(&mut manifest, &weir_fuzz_common::identity());
            }
            if builtin != Builtin::Spark {
                let _ = renderer.render_job(&source, &ctx);
            }
        }
        let _ = renderer.render_value(&ctx.job, &ctx);
    });
});
