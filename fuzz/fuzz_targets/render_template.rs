//! Arbitrary template text through every entry point, with a fixed realistic
//! context: rendering may fail, it must never panic, hang or blow up memory.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_fuzz_common::context;
use weir_render::{Renderer, TemplateSource};

mod weir_fuzz_common;

thread_local! {
    // One renderer per thread, like the controller: its cache is exercised too.
    static RENDERER: Renderer = Renderer::with_cache_capacity(8);
}

fuzz_target!(init: weir_fuzz_common::tolerate_caught_engine_panics(), |data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ctx = context();
    RENDERER.with(|renderer| {
        let _ = renderer.render_str("fuzz", &text, &ctx);
        let source = TemplateSource::config_map("fuzz", "template.yaml", text.as_ref());
        if let Ok(mut manifest) = renderer.render_manifest(&source, &ctx) {
            let _ = weir_render::stamp_manifest(&mut manifest, &weir_fuzz_common::identity());
        }
        if let Ok(mut job) = renderer.render_job(&source, &ctx) {
            weir_render::stamp_job(&mut job, &weir_fuzz_common::identity());
        }
        let _ = renderer.render_value(&serde_json::json!({"args": [text.as_ref()]}), &ctx);
    });
});
