//! The renderer's cache of user templates, `check`, and sharing across threads.

use crate::common;

use weir_render::{Builtin, Renderer, TemplateSource};

fn config_map(key: &str, text: &str) -> TemplateSource {
    TemplateSource::config_map("templates", key, text)
}

#[test]
fn user_templates_are_cached_by_content_and_bounded() {
    let renderer = Renderer::with_cache_capacity(2);
    let ctx = common::dbt_task();
    let a = config_map("a", "a: {{ run.name | tojson }}\n");
    assert_eq!(
        renderer.render_text(&a, &ctx).unwrap(),
        "a: \"batch-20240301-x7k2p\"\n"
    );
    renderer.render_text(&a, &ctx).unwrap();
    assert_eq!(renderer.cached_templates(), 1);
    // A new version of the same ConfigMap key is a new entry …
    let a2 = config_map("a", "a2: {{ run.uid | tojson }}\n");
    assert!(renderer.render_text(&a2, &ctx).unwrap().starts_with("a2: "));
    // … and the oldest falls out once the cache is full, but still renders.
    let b = config_map("b", "b: 1\n");
    renderer.render_text(&b, &ctx).unwrap();
    assert_eq!(renderer.cached_templates(), 2);
    assert_eq!(
        renderer.render_text(&a, &ctx).unwrap(),
        "a: \"batch-20240301-x7k2p\"\n"
    );
}

#[test]
fn zero_capacity_still_renders() {
    let renderer = Renderer::with_cache_capacity(0);
    let out = renderer
        .render_str("t", "{{ step.name }}", &common::dbt_task())
        .unwrap();
    assert_eq!(out, "dbt");
    assert_eq!(renderer.cached_templates(), 0);
}

#[test]
fn broken_templates_are_not_cached() {
    let renderer = Renderer::new();
    let broken = config_map("x", "{% if %}");
    assert!(renderer.render_text(&broken, &common::dbt_task()).is_err());
    assert_eq!(renderer.cached_templates(), 0);
}

#[test]
fn check_compiles_without_rendering() {
    let renderer = Renderer::new();
    // Undefined names only show when rendering; syntax shows at once.
    renderer
        .check(&config_map("ok", "{{ job.not_there_yet }}"))
        .unwrap();
    let err = renderer
        .check(&config_map("bad", "a\n{% for %}"))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("template \"configmap/templates/bad\" line 2 col "),
        "{err}"
    );
    for builtin in Builtin::ALL {
        renderer.check(&TemplateSource::Builtin(builtin)).unwrap();
    }
}

#[test]
fn user_templates_can_import_the_pod_macros() {
    let text = "{% import \"weir/pod\" as pod %}env:\n{{ pod.env(job.env, {}) }}";
    let out = Renderer::new()
        .render_str("uses-macros", text, &common::dbt_task())
        .unwrap();
    assert!(out.contains("- name: \"RUN_DATE\""), "{out}");
}

#[test]
fn one_renderer_serves_many_threads() {
    let renderer = Renderer::with_cache_capacity(4);
    let ctx = common::dbt_task();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (renderer, ctx) = (&renderer, &ctx);
            scope.spawn(move || {
                for round in 0..50 {
                    let text = format!("t{}: {{{{ run.attempt }}}}\n", (thread + round) % 6);
                    let out = renderer.render_text(&config_map("k", &text), ctx).unwrap();
                    assert!(out.ends_with(": 1\n"), "{out}");
                    let job = TemplateSource::Builtin(Builtin::Job);
                    renderer.render_job(&job, ctx).unwrap();
                }
            });
        }
    });
    assert!(renderer.cached_templates() <= 4);
}
