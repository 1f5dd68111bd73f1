//! The built-in `job` template rendered with the seed's dbt task.

use crate::common;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde_json::json;
use weir_render::{Builtin, RenderContext, Renderer, TemplateSource};

fn render(ctx: &RenderContext) -> Job {
    Renderer::new()
        .render_job(&TemplateSource::Builtin(Builtin::Job), ctx)
        .unwrap_or_else(|err| panic!("{err}"))
}

fn pod(job: &Job) -> &PodSpec {
    job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn main_container(job: &Job) -> &Container {
    let containers = &pod(job).containers;
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].name, "main");
    &containers[0]
}

#[test]
fn weir_retries_so_the_job_never_does() {
    let job = render(&common::dbt_task());
    assert_eq!(job.spec.as_ref().unwrap().backoff_limit, Some(0));
    assert_eq!(pod(&job).restart_policy.as_deref(), Some("Never"));
    let main = main_container(&job);
    assert_eq!(
        main.termination_message_policy.as_deref(),
        Some("FallbackToLogsOnError")
    );
}

#[test]
fn main_container_runs_the_step() {
    let job = render(&common::dbt_task());
    let main = main_container(&job);
    assert_eq!(
        main.image.as_deref(),
        Some("eu.gcr.io/example-project/dbt:1.8.2")
    );
    assert_eq!(
        main.command.as_deref(),
        Some(
            &[
                "/bin/bash".to_string(),
                "/git/repo/dags/scripts/dbt_run.sh".to_string()
            ][..]
        )
    );
    let args = main.args.as_ref().unwrap();
    assert_eq!(
        args,
        &[
            "--deps",
            "--seed",
            "--commands",
            "dbt run",
            "--generate-docs"
        ]
    );
    let resources = main.resources.as_ref().unwrap();
    assert_eq!(resources.limits.as_ref().unwrap()["memory"].0, "2Gi");
    assert_eq!(
        pod(&job).service_account_name.as_deref(),
        Some("pipeline-runner")
    );
}

#[test]
fn env_merges_step_env_over_envs_without_duplicates() {
    let mut ctx = common::dbt_task();
    ctx.envs.insert("RUN_DATE".into(), "from-envs".into());
    let job = render(&ctx);
    let env = main_container(&job).env.as_ref().unwrap();
    let pairs: Vec<(&str, &str)> = env
        .iter()
        .map(|var| (var.name.as_str(), var.value.as_deref().unwrap_or("")))
        .collect();
    assert!(pairs.contains(&("DBT_PROFILES_DIR", "/git/repo/dbt/app")));
    assert!(
        pairs.contains(&("RUN_DATE", "2024-03-01")),
        "job.env wins: {pairs:?}"
    );
    assert!(pairs.contains(&("GOOGLE_CLOUD_PROJECT", "example-project")));
    let run_dates = pairs.iter().filter(|(name, _)| *name == "RUN_DATE").count();
    assert_eq!(
        run_dates, 1,
        "server-side apply rejects duplicate env names"
    );
}

#[test]
fn env_from_config_map_and_secret() {
    let mut ctx = common::dbt_task();
    ctx.job["envFrom"] = json!([
        {"type": "configMapRef", "name": "dbt-env"},
        {"type": "secretRef", "name": "dbt-secrets", "optional": true, "prefix": "DBT_"}
    ]);
    let job = render(&ctx);
    let env_from = main_container(&job).env_from.as_ref().unwrap();
    assert_eq!(env_from[0].config_map_ref.as_ref().unwrap().name, "dbt-env");
    assert!(env_from[0].secret_ref.is_none());
    let secret = env_from[1].secret_ref.as_ref().unwrap();
    assert_eq!(secret.name, "dbt-secrets");
    assert_eq!(secret.optional, Some(true));
    assert_eq!(env_from[1].prefix.as_deref(), Some("DBT_"));
}

#[test]
fn every_volume_type_is_mounted() {
    let mut ctx = common::dbt_task();
    ctx.job["gitsync"] = json!(false);
    ctx.job["volumes"] = json!([
        {"name": "creds", "type": "secret", "reference": "gcsfs-creds", "mountPath": "/mnt/secrets", "readOnly": true},
        {"name": "conf", "type": "configMap", "reference": "dbt-conf", "mountPath": "/etc/dbt"},
        {"name": "data", "type": "persistentVolumeClaim", "reference": "shared-data", "mountPath": "/data", "subPath": "dbt"},
        {"name": "scratch", "type": "emptyDir", "mountPath": "/tmp/scratch"},
        {"name": "shm", "type": "emptyDir", "medium": "Memory", "sizeLimit": "1Gi", "mountPath": "/dev/shm"}
    ]);
    let job = render(&ctx);
    let volumes = pod(&job).volumes.as_ref().unwrap();
    assert_eq!(volumes.len(), 5, "no git volume without gitsync");
    assert_eq!(
        volumes[0].secret.as_ref().unwrap().secret_name.as_deref(),
        Some("gcsfs-creds")
    );
    assert_eq!(volumes[1].config_map.as_ref().unwrap().name, "dbt-conf");
    assert_eq!(
        volumes[2]
            .persistent_volume_claim
            .as_ref()
            .unwrap()
            .claim_name,
        "shared-data"
    );
    assert!(
        volumes[3].empty_dir.is_some(),
        "a bare emptyDir must not render as null"
    );
    let shm = volumes[4].empty_dir.as_ref().unwrap();
    assert_eq!(shm.medium.as_deref(), Some("Memory"));
    assert_eq!(shm.size_limit.as_ref().unwrap().0, "1Gi");

    let mounts = main_container(&job).volume_mounts.as_ref().unwrap();
    let paths: Vec<(&str, &str)> = mounts
        .iter()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("creds", "/mnt/secrets"),
            ("conf", "/etc/dbt"),
            ("data", "/data"),
            ("scratch", "/tmp/scratch"),
            ("shm", "/dev/shm")
        ]
    );
    assert_eq!(mounts[0].read_only, Some(true));
    assert_eq!(mounts[2].sub_path.as_deref(), Some("dbt"));
    assert!(pod(&job).init_containers.is_none());
}

#[test]
fn gitsync_true_clones_from_envs_into_a_shared_volume() {
    let job = render(&common::dbt_task());
    let init = pod(&job).init_containers.as_ref().unwrap();
    assert_eq!(init.len(), 1);
    let git_sync = &init[0];
    assert_eq!(git_sync.name, "git-sync");
    assert!(
        git_sync
            .image
            .as_deref()
            .unwrap()
            .starts_with("registry.k8s.io/git-sync/git-sync:v4")
    );
    let env = git_sync.env.as_ref().unwrap();
    let value = |name: &str| {
        env.iter()
            .find(|var| var.name == name)
            .and_then(|var| var.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        value("GITSYNC_REPO"),
        "https://github.com/example/data-platform.git"
    );
    assert_eq!(value("GITSYNC_REF"), "main");
    assert_eq!(value("GITSYNC_ONE_TIME"), "true");
    assert_eq!(value("GITSYNC_ROOT"), "/git");

    let shared = "weir-git";
    let init_mount = &git_sync.volume_mounts.as_ref().unwrap()[0];
    assert_eq!(
        (init_mount.name.as_str(), init_mount.mount_path.as_str()),
        (shared, "/git")
    );
    let main_mounts = main_container(&job).volume_mounts.as_ref().unwrap();
    assert!(
        main_mounts
            .iter()
            .any(|m| m.name == shared && m.mount_path == "/git")
    );
    let volumes = pod(&job).volumes.as_ref().unwrap();
    let git_volume = volumes.iter().find(|v| v.name == shared).unwrap();
    assert!(git_volume.empty_dir.is_some());
}

#[test]
fn gitsync_object_names_repo_ref_root_and_image() {
    let mut ctx = common::dbt_task();
    ctx.envs.clear();
    ctx.job["gitsync"] = json!({
        "repo": "git@github.com:example/dags.git", "ref": "v1.2.0", "root": "/src",
        "image": "mirror.example/git-sync:v4.4.2", "secret": "git-creds"
    });
    let job = render(&ctx);
    let git_sync = &pod(&job).init_containers.as_ref().unwrap()[0];
    assert_eq!(
        git_sync.image.as_deref(),
        Some("mirror.example/git-sync:v4.4.2")
    );
    let env = git_sync.env.as_ref().unwrap();
    assert!(
        env.iter()
            .any(|v| v.name == "GITSYNC_REF" && v.value.as_deref() == Some("v1.2.0"))
    );
    assert!(
        env.iter()
            .any(|v| v.name == "GITSYNC_ROOT" && v.value.as_deref() == Some("/src"))
    );
    let secret = git_sync.env_from.as_ref().unwrap()[0]
        .secret_ref
        .as_ref()
        .unwrap();
    assert_eq!(secret.name, "git-creds");
    let mounts = main_container(&job).volume_mounts.as_ref().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m.name == "weir-git" && m.mount_path == "/src")
    );
}

#[test]
fn gitsync_true_without_a_repo_names_the_missing_value() {
    let mut ctx = common::dbt_task();
    ctx.envs.clear();
    let err = Renderer::new()
        .render_job(&TemplateSource::Builtin(Builtin::Job), &ctx)
        .unwrap_err()
        .to_string();
    let source = Builtin::Job.source();
    let (line, text) = source
        .lines()
        .enumerate()
        .find(|(_, text)| text.contains("else envs.GITSYNC_REPO"))
        .unwrap();
    let column = text.find("envs.GITSYNC_REPO").unwrap() + 1;
    assert_eq!(
        err,
        format!(
            "template \"job\" line {} col {column}: undefined value envs.GITSYNC_REPO",
            line + 1
        )
    );
}

#[test]
fn pod_scheduling_fields_pass_through() {
    let mut ctx = common::dbt_task();
    ctx.job["nodeSelector"] = json!({"cloud.google.com/gke-nodepool": "batch"});
    ctx.job["tolerations"] =
        json!([{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}]);
    ctx.job["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}});
    ctx.job["imagePullSecrets"] = json!(["gcr-pull"]);
    ctx.job["labels"] = json!({"team": "analytics"});
    ctx.job["annotations"] = json!({"example.com/owner": "data"});
    ctx.job["activeDeadlineSeconds"] = json!(3600);
    let job = render(&ctx);
    let spec = pod(&job);
    assert_eq!(
        spec.node_selector.as_ref().unwrap()["cloud.google.com/gke-nodepool"],
        "batch"
    );
    assert_eq!(
        spec.tolerations.as_ref().unwrap()[0].key.as_deref(),
        Some("batch")
    );
    assert!(spec.affinity.as_ref().unwrap().node_affinity.is_some());
    assert_eq!(
        spec.image_pull_secrets.as_ref().unwrap()[0].name,
        "gcr-pull"
    );
    assert_eq!(
        job.spec.as_ref().unwrap().active_deadline_seconds,
        Some(3600)
    );
    let pod_meta = job
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap();
    assert_eq!(pod_meta.labels.as_ref().unwrap()["team"], "analytics");
    let annotations = pod_meta.annotations.as_ref().unwrap();
    assert_eq!(annotations["example.com/owner"], "data");
    assert_eq!(
        annotations["kubectl.kubernetes.io/default-container"],
        "main"
    );
    assert_eq!(job.metadata.labels.as_ref().unwrap()["team"], "analytics");
}

#[test]
fn minimal_job_args_render() {
    let mut ctx = common::dbt_task();
    ctx.job = json!({"image": "busybox:1.36"});
    ctx.envs.clear();
    let job = render(&ctx);
    let main = main_container(&job);
    assert_eq!(main.image.as_deref(), Some("busybox:1.36"));
    assert!(main.env.is_none() && main.env_from.is_none() && main.volume_mounts.is_none());
    assert_eq!(
        job.metadata.name.as_deref(),
        Some("batch-20240301-x7k2p-dbt")
    );
}
