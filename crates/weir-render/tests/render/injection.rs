//! A parameter value cannot add fields to a manifest: the built-ins write every
//! user string through `tojson`, so newlines, colons and YAML keywords stay
//! inside one scalar.

use crate::common;

use k8s_openapi::api::batch::v1::Job;
use serde_json::json;
use weir_render::{Builtin, RenderContext, Renderer, TemplateSource};

const HOSTILE: &str = "2024-03-01\n      hostNetwork: true\n  - name: INJECTED\n    value: \"x\"\nserviceAccountName: cluster-admin";

fn render(ctx: &RenderContext) -> Job {
    Renderer::new()
        .render_job(&TemplateSource::Builtin(Builtin::Job), ctx)
        .unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn param_with_newlines_and_colons_stays_one_env_value() {
    let renderer = Renderer::new();
    let mut ctx = common::dbt_task();
    ctx.params.insert("RUN_DATE".into(), HOSTILE.into());
    // The step's env is templated first (like KJO's template_fields) …
    let env = renderer
        .render_value(&json!({"RUN_DATE": "{{ params.RUN_DATE }}"}), &ctx)
        .unwrap();
    ctx.job["env"] = env;
    // … then goes through the built-in as data.
    let job = render(&ctx);
    let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(pod.host_network, None);
    assert_eq!(pod.service_account_name.as_deref(), Some("pipeline-runner"));
    let env = pod.containers[0].env.as_ref().unwrap();
    assert!(env.iter().all(|var| var.name != "INJECTED"));
    let run_date = env.iter().find(|var| var.name == "RUN_DATE").unwrap();
    assert_eq!(run_date.value.as_deref(), Some(HOSTILE));
}

#[test]
fn hostile_strings_in_every_user_field_round_trip() {
    let mut ctx = common::dbt_task();
    let nasty = [
        HOSTILE,
        "yes",
        "null",
        "~",
        "1e3",
        "0x10",
        "- item",
        "{a: b}",
        "key: value",
        "'quoted'",
        "\"double\"",
        "#comment",
        "&anchor",
        "*alias",
        "!tag",
        "|",
        ">",
        "%TAG",
        "---",
        "...",
        "tab\there",
        "\u{85}nel",
        "\u{2028}ls",
        "\u{feff}bom",
        "\u{7f}del",
        "emoji 🦀",
        "\\",
        "{{ run.uid }}",
    ];
    for text in nasty {
        ctx.job["image"] = json!(text);
        ctx.job["command"] = json!([text, "b"]);
        ctx.job["args"] = json!([text]);
        ctx.job["env"] = json!({"VALUE": text});
        ctx.job["labels"] = json!({"example.com/v": text});
        ctx.job["serviceAccountName"] = json!(text);
        ctx.job["volumes"] =
            json!([{"name": "v", "type": "secret", "reference": text, "mountPath": text}]);
        let job = render(&ctx);
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let main = &pod.containers[0];
        assert_eq!(main.image.as_deref(), Some(text), "{text:?}");
        assert_eq!(main.command.as_ref().unwrap()[0], text);
        assert_eq!(main.args.as_ref().unwrap(), &[text.to_string()]);
        assert_eq!(main.env.as_ref().unwrap()[0].value.as_deref(), Some(text));
        assert_eq!(pod.service_account_name.as_deref(), Some(text));
        let volume = &pod.volumes.as_ref().unwrap()[0];
        assert_eq!(
            volume.secret.as_ref().unwrap().secret_name.as_deref(),
            Some(text)
        );
        assert_eq!(job.metadata.labels.as_ref().unwrap()["example.com/v"], text);
        assert_eq!(pod.host_network, None);
    }
}

#[test]
fn templated_values_are_rendered_once() {
    let renderer = Renderer::new();
    let mut ctx = common::dbt_task();
    ctx.params.insert("X".into(), "{{ run.uid }}".into());
    let out = renderer
        .render_value(&json!(["{{ params.X }}"]), &ctx)
        .unwrap();
    assert_eq!(
        out,
        json!(["{{ run.uid }}"]),
        "a parameter's text is data, not template"
    );
}

#[test]
fn hostile_spark_and_dbt_values() {
    let renderer = Renderer::new();
    let mut ctx = common::spark_batch();
    ctx.job["arguments"] = json!([HOSTILE]);
    ctx.job["sparkConf"] = json!({"spark.x": HOSTILE});
    let app = renderer
        .render_manifest(&TemplateSource::Builtin(Builtin::Spark), &ctx)
        .unwrap();
    assert_eq!(app["spec"]["arguments"], json!([HOSTILE]));
    assert_eq!(app["spec"]["sparkConf"]["spark.x"], HOSTILE);
    assert!(app["spec"].get("serviceAccountName").is_none());

    let mut ctx = common::dbt_run();
    ctx.job["docsDestination"] = json!(HOSTILE);
    ctx.job["vars"] = json!({"k": HOSTILE});
    let job = renderer
        .render_job(&TemplateSource::Builtin(Builtin::Dbt), &ctx)
        .unwrap();
    let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(pod.containers[0].args.as_ref().unwrap()[4], HOSTILE);
    assert_eq!(pod.service_account_name, None);
}
