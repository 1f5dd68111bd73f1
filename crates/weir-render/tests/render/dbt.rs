//! The built-in `dbt` template: a DbtRun as a Job, like the seed's dbt_run.sh.

use crate::common;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde_json::json;
use weir_render::{Builtin, RenderContext, Renderer, TemplateSource};

fn render(ctx: &RenderContext) -> Job {
    Renderer::new()
        .render_job(&TemplateSource::Builtin(Builtin::Dbt), ctx)
        .unwrap_or_else(|err| panic!("{err}"))
}

fn pod(job: &Job) -> &PodSpec {
    job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn script(container: &Container) -> &str {
    let command = container.command.as_ref().unwrap();
    assert_eq!(command[..2], ["/bin/sh", "-c"]);
    &command[2]
}

#[test]
fn docs_upload_runs_dbt_first_then_weir_data() {
    let job = render(&common::dbt_run());
    assert_eq!(job.spec.as_ref().unwrap().backoff_limit, Some(0));
    let init = pod(&job).init_containers.as_ref().unwrap();
    let names: Vec<&str> = init.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["git-sync", "dbt"]);
    let main = &pod(&job).containers[0];
    assert_eq!(pod(&job).containers.len(), 1);
    assert_eq!(main.name, "main");
    assert_eq!(
        main.image.as_deref(),
        Some("ghcr.io/weir-dev/weir-data:0.1.0")
    );
    assert_eq!(
        main.args.as_ref().unwrap(),
        &[
            "dbt-docs",
            "--target-dir",
            "/weir/dbt-target",
            "--destination",
            "gs://example-docs/dbt"
        ]
    );
    // dbt writes its target directory where the uploader reads it.
    for container in [&init[1], main] {
        let mounts = container.volume_mounts.as_ref().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m.name == "weir-dbt-target" && m.mount_path == "/weir/dbt-target")
        );
        assert!(mounts.iter().any(|m| m.name == "gcsfs-creds"));
        let env_from = container.env_from.as_ref().unwrap();
        assert_eq!(env_from[0].config_map_ref.as_ref().unwrap().name, "dbt-env");
    }
}

#[test]
fn script_runs_deps_seed_commands_and_docs_in_order() {
    let job = render(&common::dbt_run());
    let dbt = &pod(&job).init_containers.as_ref().unwrap()[1];
    let lines: Vec<&str> = script(dbt).lines().collect();
    let flags = " --target 'prod' --vars '{\"run_date\": \"2024-03-01\"}' --profiles-dir '/git/repo/dbt/app'";
    assert_eq!(
        lines,
        [
            "set -eu".to_string(),
            "cd '/git/repo/dbt/app'".to_string(),
            "export DBT_TARGET_PATH='/weir/dbt-target'".to_string(),
            "dbt deps".to_string(),
            format!("dbt seed{flags}"),
            format!("dbt run{flags}"),
            format!("dbt test --select tag:daily{flags}"),
            format!("dbt docs generate{flags}"),
        ]
    );
}

#[test]
fn project_in_the_image_without_docs_runs_dbt_as_main() {
    let mut ctx = common::dbt_run();
    ctx.job = json!({
        "image": "ghcr.io/dbt-labs/dbt-postgres:1.8.2",
        "project": {"path": "/usr/app/dbt"},
        "commands": ["dbt build", "edr report"],
        "vars": {"note": "it's"}
    });
    let job = render(&ctx);
    assert!(pod(&job).init_containers.is_none());
    assert!(pod(&job).volumes.is_none());
    let main = &pod(&job).containers[0];
    assert_eq!(main.name, "main");
    let lines: Vec<&str> = script(main).lines().collect();
    // A quote in --vars cannot end the shell's single quotes: JSON escapes it.
    assert_eq!(
        lines,
        [
            "set -eu",
            "cd '/usr/app/dbt'",
            "dbt build --vars '{\"note\": \"it\\u0027s\"}'",
            "edr report"
        ]
    );
}

#[test]
fn upload_without_docs_image_names_the_missing_field() {
    let mut ctx = common::dbt_run();
    ctx.job.as_object_mut().unwrap().remove("docsImage");
    let err = Renderer::new()
        .render_job(&TemplateSource::Builtin(Builtin::Dbt), &ctx)
        .unwrap_err();
    assert!(
        err.to_string().contains("undefined value job.docsImage"),
        "{err}"
    );
}

#[test]
fn shell_quoting_survives_hostile_values() {
    let mut ctx = common::dbt_run();
    ctx.job["target"] = json!("prod'; rm -rf / #");
    let job = render(&ctx);
    let dbt = &pod(&job).init_containers.as_ref().unwrap()[1];
    assert!(
        script(dbt).contains("--target 'prod'\\''; rm -rf / #'"),
        "{}",
        script(dbt)
    );
}

/// The `job` template inlines what `dbt` imports from "weir/pod": they must agree.
#[test]
fn pod_pieces_agree_with_the_job_template() {
    let renderer = Renderer::new();
    let volumes = json!([
        {"name": "a", "type": "secret", "reference": "s", "mountPath": "/a", "readOnly": true},
        {"name": "b", "type": "configMap", "reference": "c", "mountPath": "/b", "subPath": "x"},
        {"name": "c", "type": "persistentVolumeClaim", "reference": "p", "mountPath": "/c", "readOnly": false},
        {"name": "d", "type": "emptyDir", "mountPath": "/d"},
        {"name": "e", "type": "emptyDir", "medium": "Memory", "sizeLimit": "1Gi", "mountPath": "/e"}
    ]);
    let env_from = json!([{"type": "secretRef", "name": "s", "optional": true, "prefix": "P_"}]);
    let pod_fields = json!({
        "serviceAccountName": "sa", "nodeSelector": {"k": "v"}, "priorityClassName": "high",
        "tolerations": [{"operator": "Exists"}], "imagePullSecrets": ["pull"],
        "podSecurityContext": {"runAsNonRoot": true}
    });

    let mut dbt_ctx = common::dbt_run();
    dbt_ctx.job = json!({"image": "dbt", "project": {"git": {"repo": "r", "ref": "main"}},
                         "volumes": volumes, "envFrom": env_from, "env": {"A": "1"}});
    let mut job_ctx = common::dbt_run();
    job_ctx.job = json!({"image": "dbt", "gitsync": {"repo": "r", "ref": "main"},
                         "volumes": volumes, "envFrom": env_from, "env": {"A": "1"}});
    for (key, value) in pod_fields.as_object().unwrap() {
        dbt_ctx.job[key] = value.clone();
        job_ctx.job[key] = value.clone();
    }
    let dbt = renderer
        .render_job(&TemplateSource::Builtin(Builtin::Dbt), &dbt_ctx)
        .unwrap();
    let job = renderer
        .render_job(&TemplateSource::Builtin(Builtin::Job), &job_ctx)
        .unwrap();
    let (dbt_pod, job_pod) = (pod(&dbt), pod(&job));
    assert_eq!(dbt_pod.volumes, job_pod.volumes);
    assert_eq!(dbt_pod.init_containers, job_pod.init_containers);
    assert_eq!(dbt_pod.service_account_name, job_pod.service_account_name);
    assert_eq!(dbt_pod.node_selector, job_pod.node_selector);
    assert_eq!(dbt_pod.priority_class_name, job_pod.priority_class_name);
    assert_eq!(dbt_pod.tolerations, job_pod.tolerations);
    assert_eq!(dbt_pod.image_pull_secrets, job_pod.image_pull_secrets);
    assert_eq!(dbt_pod.security_context, job_pod.security_context);
    let (dbt_main, job_main) = (&dbt_pod.containers[0], &job_pod.containers[0]);
    assert_eq!(dbt_main.volume_mounts, job_main.volume_mounts);
    assert_eq!(dbt_main.env_from, job_main.env_from);
    assert_eq!(dbt_main.env, job_main.env);
}
