//! Templated strings inside a step's command, args and env (KJO's template_fields).

use crate::common;

use serde_json::json;
use weir_render::{PreparedContext, Renderer};

#[test]
fn renders_only_templated_string_leaves() {
    let renderer = Renderer::new();
    let mut ctx = common::dbt_task();
    ctx.item = Some(json!({"table": "trades"}));
    ctx.step.index = Some(3);
    let value = json!({
        "command": ["/bin/bash", "-c", "echo {{ params.RUN_DATE }}"],
        "args": ["--run", "{{ run.name }}-{{ run.attempt }}", "{\"literal\": true}", 7, null],
        "env": {
            "RUN_DATE": "{{ params.RUN_DATE }}",
            "TABLE": "{{ item.table }}#{{ step.index }}",
            "ROWS": "{% if results.transfer.objects > 100 %}many{% else %}few{% endif %}",
            "PLAIN": "${HOME}"
        }
    });
    let out = renderer.render_value(&value, &ctx).unwrap();
    assert_eq!(
        out,
        json!({
            "command": ["/bin/bash", "-c", "echo 2024-03-01"],
            "args": ["--run", "batch-20240301-x7k2p-1", "{\"literal\": true}", 7, null],
            "env": {"RUN_DATE": "2024-03-01", "TABLE": "trades#3", "ROWS": "many", "PLAIN": "${HOME}"}
        })
    );
}

#[test]
fn rendered_leaves_stay_strings() {
    let renderer = Renderer::new();
    let mut ctx = common::dbt_task();
    ctx.params.insert("N".into(), "[1, 2]".into());
    let out = renderer
        .render_value(&json!(["{{ params.N }}", "{{ 5 }}"]), &ctx)
        .unwrap();
    assert_eq!(out, json!(["[1, 2]", "5"]));
}

#[test]
fn errors_name_the_leaf() {
    let renderer = Renderer::new();
    let value = json!({"env": {"RUN_DATE": "{{ params.RUN_DAT }}"}, "args": ["ok", "{{ nope }}"]});
    let err = renderer
        .render_value(&value, &common::dbt_task())
        .unwrap_err()
        .to_string();
    // Object keys are walked in order, so `args` fails before `env`.
    assert_eq!(
        err,
        "template \"args[1]\" line 1 col 4: undefined value nope"
    );
}

#[test]
fn prepared_context_renders_the_same() {
    let renderer = Renderer::new();
    let ctx = common::dbt_task();
    let prepared = PreparedContext::new(&ctx);
    let value = json!(["{{ run.name }}", "{{ envs.GITSYNC_REF }}"]);
    assert_eq!(
        renderer.render_value(&value, &prepared).unwrap(),
        renderer.render_value(&value, &ctx).unwrap()
    );
    let source = weir_render::TemplateSource::Builtin(weir_render::Builtin::Job);
    assert_eq!(
        renderer.render_text(&source, &prepared).unwrap(),
        renderer.render_text(&source, &ctx).unwrap()
    );
}

#[test]
fn absurdly_deep_values_are_refused() {
    let mut value = json!("{{ run.name }}");
    for _ in 0..100 {
        value = json!([value]);
    }
    let err = Renderer::new()
        .render_value(&value, &common::dbt_task())
        .unwrap_err();
    assert!(err.to_string().contains("deeper than"), "{err}");
}
