//! Errors name the template, the line, the column and what went wrong.

use crate::common;

use weir_render::{RenderContext, RenderError, Renderer, TemplateSource};

fn inline(name: &str, text: &str) -> TemplateSource {
    TemplateSource::Inline {
        name: name.into(),
        text: text.into(),
    }
}

fn manifest_error(text: &str) -> RenderError {
    Renderer::new()
        .render_manifest(
            &inline("configmap/templates/job.yaml", text),
            &common::dbt_task(),
        )
        .unwrap_err()
}

#[test]
fn strict_undefined_names_the_expression_line_and_column() {
    let text = "apiVersion: batch/v1\nkind: Job\nspec:\n  image: {{ job.imagee | tojson }}\n";
    let err = manifest_error(text);
    assert_eq!(
        err.to_string(),
        "template \"configmap/templates/job.yaml\" line 4 col 13: undefined value job.imagee"
    );
    assert_eq!(err.category(), "UndefinedValue");
    let RenderError::Template(detail) = err else {
        panic!("not a template error")
    };
    assert_eq!(detail.undefined.as_deref(), Some("job.imagee"));
    assert_eq!((detail.line, detail.column), (Some(4), Some(13)));
}

#[test]
fn undefined_params_and_nested_attributes() {
    let renderer = Renderer::new();
    let ctx = common::dbt_task();
    let cases = [
        (
            "{{ params.RUN_DAT }}",
            "line 1 col 4: undefined value params.RUN_DAT",
        ),
        (
            "x\n  {{ job.image ~ run.nam }}",
            "line 2 col 18: undefined value run.nam",
        ),
        (
            "{{ job.volumes[0].secret.name }}",
            "col 4: undefined value job.volumes[0].secret",
        ),
        (
            "{% for v in job.nope %}{% endfor %}",
            "col 13: undefined value job.nope",
        ),
        (
            "{{ results.upstream.rows }}",
            "col 4: undefined value results.upstream",
        ),
    ];
    for (text, expected) in cases {
        let err = renderer
            .render_str("t", text, &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("template \"t\" line "), "{err}");
        assert!(err.ends_with(expected), "{text:?}: {err}");
    }
}

#[test]
fn guarded_optional_keys_render() {
    let text = "{% if job.nope is defined %}{{ job.nope }}{% else %}none{% endif %}|{{ job.nope | default('d') }}";
    let out = Renderer::new()
        .render_str("t", text, &common::dbt_task())
        .unwrap();
    assert_eq!(out, "none|d");
}

#[test]
fn syntax_errors_point_at_the_spot() {
    let err = Renderer::new()
        .render_str("t", "a: 1\nb: {{ job.image", &common::dbt_task())
        .unwrap_err();
    assert_eq!(err.category(), "TemplateSyntax");
    let text = err.to_string();
    assert!(text.starts_with("template \"t\" line 2 col "), "{text}");
    assert!(text.contains("syntax error"), "{text}");
}

#[test]
fn unparsable_yaml_names_template_and_rendered_line() {
    let err = manifest_error("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b: c\n");
    assert_eq!(err.category(), "InvalidYaml");
    let RenderError::Yaml {
        template,
        line,
        near,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(template, "configmap/templates/job.yaml");
    assert_eq!(*line, 4);
    assert_eq!(near.as_deref(), Some("a: b: c"));
    assert!(
        err.to_string().contains("rendered YAML line 4 col"),
        "{err}"
    );
}

#[test]
fn wrong_shape_names_the_field_path() {
    let text = [
        "apiVersion: batch/v1",
        "kind: Job",
        "spec:",
        "  template:",
        "    spec:",
        "      containers:",
        "        - name: main",
        "          resources:",
        "            limits: [\"1Gi\"]",
    ]
    .join("\n");
    let err = Renderer::new()
        .render_job(&inline("t", &text), &common::dbt_task())
        .unwrap_err();
    assert_eq!(err.category(), "InvalidManifest");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "template \"t\": spec.template.spec.containers[0].resources.limits: invalid type"
        ),
        "{text}"
    );
}

#[test]
fn render_job_refuses_other_kinds_and_manifests_need_kind() {
    let renderer = Renderer::new();
    let ctx = common::dbt_task();
    let err = renderer
        .render_job(&inline("t", "apiVersion: batch/v1\nkind: CronJob\n"), &ctx)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected batch/v1 Job, got batch/v1 CronJob"),
        "{err}"
    );
    let err = renderer
        .render_manifest(&inline("t", "kind: Job\n"), &ctx)
        .unwrap_err();
    assert!(
        err.to_string().ends_with("manifest has no apiVersion"),
        "{err}"
    );
    let err = renderer
        .render_manifest(&inline("t", "- a\n"), &ctx)
        .unwrap_err();
    assert!(err.to_string().ends_with("not a YAML mapping"), "{err}");
    let err = renderer
        .render_manifest(&inline("t", ""), &ctx)
        .unwrap_err();
    assert_eq!(err.category(), "InvalidManifest", "{err}");
    let two = "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n";
    assert!(renderer.render_manifest(&inline("t", two), &ctx).is_err());
}

#[test]
fn runaway_templates_stop() {
    let renderer = Renderer::new();
    let ctx = common::dbt_task();
    let big = "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}";
    let err = renderer.render_str("big", big, &ctx).unwrap_err();
    assert_eq!(err.category(), "TooLarge", "{err}");
    let slow = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let err = renderer.render_str("slow", slow, &ctx).unwrap_err();
    assert!(err.to_string().contains("fuel"), "{err}");
    let bomb = "{% set a = 'x' * 100000000 %}{% set b = a ~ a %}{{ b | length }}";
    let err = renderer.render_str("bomb", bomb, &ctx).unwrap_err();
    assert!(
        err.to_string().contains("fuel"),
        "allocations are budgeted too: {err}"
    );
    let deep = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    let err = renderer.render_str("deep", deep, &ctx).unwrap_err();
    assert!(err.to_string().contains("recursion"), "{err}");
}

#[test]
fn the_budget_leaves_room_for_big_real_steps() {
    let mut ctx = common::dbt_task();
    let env: serde_json::Map<String, serde_json::Value> = (0..300)
        .map(|i| (format!("VAR_{i}"), serde_json::json!("x".repeat(200))))
        .collect();
    ctx.job["env"] = serde_json::Value::Object(env);
    ctx.job["volumes"] = (0..100)
        .map(|i| serde_json::json!({"name": format!("v{i}"), "type": "configMap",
                                     "reference": format!("cm{i}"), "mountPath": format!("/etc/v{i}")}))
        .collect();
    let source = TemplateSource::Builtin(weir_render::Builtin::Job);
    let job = Renderer::new()
        .render_job(&source, &ctx)
        .unwrap_or_else(|err| panic!("{err}"));
    let pod = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.containers[0].env.as_ref().unwrap().len(), 303);
    assert_eq!(pod.volumes.unwrap().len(), 101);
}

#[test]
fn html_looking_names_are_not_escaped() {
    let ctx = common::dbt_task();
    let out = Renderer::new()
        .render_str("configmap/x/template.html", "{{ '<a & b>' }}", &ctx)
        .unwrap();
    assert_eq!(out, "<a & b>");
}

#[test]
fn unknown_builtin() {
    let err = "sparkk".parse::<weir_render::Builtin>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown built-in template \"sparkk\" (known: job, spark, dbt)"
    );
}

#[test]
fn odd_inputs_fail_without_panicking() {
    let renderer = Renderer::new();
    let ctx = common::dbt_task();
    let inputs = [
        "{{",
        "{%",
        "{#",
        "}}",
        "{% endfor %}",
        "{{ 1/0 }}",
        "{{ 'a' ~ }}",
        "{% set %}",
        "{{ job|tojson(2) }}",
        "{{ job.image[99999999999999999999] }}",
        "{{ -9223372036854775808 // -1 }}",
        "{% include 'nope' %}",
        "{% extends job.image %}",
        "{% import 'weir/pod' as p %}{{ p.env(1, 2) }}",
        "{{ '\u{0}\u{85}\u{2028}' | tojson }}",
        "\u{feff}apiVersion: v1",
        "{{ range(10)|tojson }}",
    ];
    for text in inputs {
        let _ = renderer.render_str("t", text, &ctx);
        let _ = renderer.render_manifest(&inline("t", text), &ctx);
        let _ = renderer.render_job(&inline("t", text), &ctx);
    }
}

#[test]
fn renderer_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Renderer>();
    assert_send_sync::<RenderError>();
}

/// Regression (fuzz/ render_template): minijinja 3.1.0 panics (`unreachable!()`) compiling an
/// import whose target is an expression. Every entry point reports an error instead, and the
/// renderer keeps working afterwards.
#[test]
fn a_template_that_makes_minijinja_panic_is_an_error_not_a_panic() {
    let renderer = Renderer::new();
    let text = r#"{%import""as p*o%}"#;
    let ctx = RenderContext::default();
    for err in [
        renderer.render_str("team", text, &ctx).err(),
        renderer.check(&inline("team", text)).err(),
        renderer.render_manifest(&inline("team", text), &ctx).err(),
        renderer
            .render_value(&serde_json::json!({"args": [text]}), &ctx)
            .err(),
    ] {
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("the template engine failed compiling"),
            "{msg}"
        );
    }
    let ok = renderer.render_str("ok", "{{ 1 + 1 }}", &ctx);
    assert_eq!(ok.ok().as_deref(), Some("2"));
}
