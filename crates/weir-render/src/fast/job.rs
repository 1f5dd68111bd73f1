//! templates/job.yaml.j2 compiled by hand, in template order; comments quote
//! the template where the translation is not literal. With `trim_blocks` and
//! `lstrip_blocks`, a line holding only a block tag or a comment renders
//! nothing, and every other line renders whole with its newline. Keep this
//! file in step with the template: tests/render/fast_job.rs fails on any difference.

use minijinja::Value;
use minijinja::value::ValueKind;

use super::{Out, defined, dictsort, get, list, truthy};

/// The built-in `job` template rendered with `ctx`, or `None` where the
/// interpreter must decide (see the module documentation of `fast`).
pub(crate) fn job(ctx: &Value) -> Option<String> {
    let mut out = Out::new();
    let job = get(ctx, "job")?;

    // {% set volumes = job.volumes if job.volumes is defined else [] %}
    // (undefined stands for the empty list below)
    let volumes = get(&job, "volumes")?;
    // {% set gitsync = job.gitsync is defined and (job.gitsync is mapping or job.gitsync) %}
    let gitsync_value = get(&job, "gitsync")?;
    let gitsync_map = gitsync_value.kind() == ValueKind::Map;
    let gitsync = defined(&gitsync_value) && (gitsync_map || gitsync_value.is_true());
    // {% set gs = job.gitsync if gitsync and job.gitsync is mapping else {} %}
    // (`None` stands for `{}`)
    let gs = (gitsync && gitsync_map).then_some(gitsync_value);
    let gs_get = |key: &str| match &gs {
        Some(gs) => get(gs, key),
        None => Some(Value::UNDEFINED),
    };
    // {% set git_root = gs.root if gs.root is defined else "/git" %}
    let git_root = or(gs_get("root")?, "/git");
    // {% set env = job.env if job.env is defined else {} %}
    // (undefined stands for the empty map below)
    let env = get(&job, "env")?;

    out.raw("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ");
    // {{ (job.name if job.name is defined else run.name ~ "-" ~ step.name) | tojson }}
    let name = get(&job, "name")?;
    let run = get(ctx, "run")?;
    if defined(&name) {
        out.json(&name)?;
    } else {
        let step = get(ctx, "step")?;
        let (run_name, step_name) = (get(&run, "name")?, get(&step, "name")?);
        if run_name.kind() != ValueKind::String || step_name.kind() != ValueKind::String {
            return None;
        }
        let joined = format!("{}-{}", run_name.as_str()?, step_name.as_str()?);
        out.json(&Value::from(joined))?;
    }
    out.raw("\n  namespace: ");
    out.json(&get(&run, "namespace")?)?;
    out.raw("\n");
    let labels = get(&job, "labels")?;
    if defined(&labels) {
        out.raw("  labels: ");
        out.json(&labels)?;
        out.raw("\n");
    }
    let annotations = get(&job, "annotations")?;
    if defined(&annotations) {
        out.raw("  annotations: ");
        out.json(&annotations)?;
        out.raw("\n");
    }
    out.raw(concat!(
        "spec:\n",
        "  # weir retries a failed step itself (a new Job per attempt), so the Job never does.\n",
        "  backoffLimit: 0\n",
    ));
    optional(
        &mut out,
        &job,
        "activeDeadlineSeconds",
        "  activeDeadlineSeconds: ",
    )?;
    out.raw("  template:\n    metadata:\n");
    if defined(&labels) {
        out.raw("      labels: ");
        out.json(&labels)?;
        out.raw("\n");
    }
    out.raw("      annotations:\n        kubectl.kubernetes.io/default-container: main\n");
    // {% for key, value in job.annotations | dictsort %}
    if defined(&annotations) {
        for (key, value) in dictsort(&mut out, &annotations)? {
            out.raw("        ");
            out.json(&key)?;
            out.raw(": ");
            out.json(&value)?;
            out.raw("\n");
        }
    }
    out.raw("    spec:\n      restartPolicy: Never\n");
    for (key, line) in [
        ("serviceAccountName", "      serviceAccountName: "),
        ("nodeSelector", "      nodeSelector: "),
        ("tolerations", "      tolerations: "),
        ("affinity", "      affinity: "),
        ("priorityClassName", "      priorityClassName: "),
        ("podSecurityContext", "      securityContext: "),
    ] {
        optional(&mut out, &job, key, line)?;
    }
    // {% if job.imagePullSecrets is defined and job.imagePullSecrets %}
    let pull_secrets = get(&job, "imagePullSecrets")?;
    if defined(&pull_secrets) && pull_secrets.is_true() {
        out.raw("      imagePullSecrets:\n");
        for secret in list(&mut out, &pull_secrets)? {
            out.raw("        - name: ");
            out.json(&secret)?;
            out.raw("\n");
        }
    }
    if gitsync {
        git_sync(&mut out, ctx, &gs_get, &git_root)?;
    }
    out.raw("      containers:\n        - name: main\n          image: ");
    out.json(&get(&job, "image")?)?;
    out.raw("\n");
    for (key, line) in [
        ("imagePullPolicy", "          imagePullPolicy: "),
        ("command", "          command: "),
        ("args", "          args: "),
        ("workingDir", "          workingDir: "),
    ] {
        optional(&mut out, &job, key, line)?;
    }
    out.raw(concat!(
        "          # The last log lines become the failure message when the step writes none itself.\n",
        "          terminationMessagePolicy: FallbackToLogsOnError\n",
    ));
    env_list(&mut out, ctx, &env)?;
    env_from(&mut out, &job)?;
    optional(&mut out, &job, "resources", "          resources: ")?;
    optional(
        &mut out,
        &job,
        "securityContext",
        "          securityContext: ",
    )?;
    // {% if volumes or gitsync %}
    if (defined(&volumes) && volumes.is_true()) || gitsync {
        volume_mounts(&mut out, &volumes, gitsync, &git_root)?;
        pod_volumes(&mut out, &volumes, gitsync)?;
    }
    out.finish()
}

/// `a if a is defined else "default"`.
fn or(value: Value, default: &'static str) -> Value {
    if defined(&value) {
        value
    } else {
        Value::from(default)
    }
}

/// ```jinja
/// {% if job.<key> is defined %}
/// <line>{{ job.<key> | tojson }}
/// {% endif %}
/// ```
fn optional(out: &mut Out, job: &Value, key: &str, line: &str) -> Option<()> {
    let value = get(job, key)?;
    if defined(&value) {
        out.raw(line);
        out.json(&value)?;
        out.raw("\n");
    }
    Some(())
}

/// The git-sync init container (`{% if gitsync %}` … `{% endif %}` before
/// `containers:`); `gs` reads the `gs` variable.
fn git_sync(
    out: &mut Out,
    ctx: &Value,
    gs: &dyn Fn(&str) -> Option<Value>,
    git_root: &Value,
) -> Option<()> {
    out.raw(concat!(
        "      initContainers:\n",
        "        - name: git-sync\n",
        "          image: ",
    ));
    out.json(&or(
        gs("image")?,
        "registry.k8s.io/git-sync/git-sync:v4.4.2",
    ))?;
    out.raw("\n          env:\n            - name: GITSYNC_REPO\n              value: ");
    // {{ (gs.repo if gs.repo is defined else envs.GITSYNC_REPO) | tojson }}
    let repo = gs("repo")?;
    if defined(&repo) {
        out.json(&repo)?;
    } else {
        out.json(&get(&get(ctx, "envs")?, "GITSYNC_REPO")?)?;
    }
    out.raw("\n            - name: GITSYNC_REF\n              value: ");
    // {{ (gs.ref if gs.ref is defined else envs.GITSYNC_REF
    //     if envs.GITSYNC_REF is defined else "HEAD") | tojson }}
    let git_ref = gs("ref")?;
    if defined(&git_ref) {
        out.json(&git_ref)?;
    } else {
        out.json(&or(get(&get(ctx, "envs")?, "GITSYNC_REF")?, "HEAD"))?;
    }
    out.raw("\n            - name: GITSYNC_ROOT\n              value: ");
    out.json(git_root)?;
    out.raw("\n            - name: GITSYNC_LINK\n              value: ");
    out.json(&or(gs("link")?, "repo"))?;
    out.raw(concat!(
        "\n",
        "            - name: GITSYNC_DEPTH\n",
        "              value: \"1\"\n",
        "            - name: GITSYNC_ONE_TIME\n",
        "              value: \"true\"\n",
    ));
    let secret = gs("secret")?;
    if defined(&secret) {
        out.raw("          envFrom:\n            - secretRef:\n                name: ");
        out.json(&secret)?;
        out.raw("\n");
    }
    out.raw(concat!(
        "          terminationMessagePolicy: FallbackToLogsOnError\n",
        "          volumeMounts:\n",
        "            - name: weir-git\n",
        "              mountPath: ",
    ));
    out.json(git_root)?;
    out.raw("\n");
    Some(())
}

/// ```jinja
/// {% if env or envs %}
/// {% for name, value in env | dictsort %} … {% endfor %}
/// {% for name, value in envs | dictsort if name not in env %} … {% endfor %}
/// {% endif %}
/// ```
/// `env` undefined stands for `{}`.
fn env_list(out: &mut Out, ctx: &Value, env: &Value) -> Option<()> {
    // `envs` is only tested when `env` is false: `or` short-circuits.
    let env_set = defined(env) && env.is_true();
    if !env_set && !truthy(&get(ctx, "envs")?)? {
        return Some(());
    }
    let envs = get(ctx, "envs")?;
    out.raw("          env:\n");
    let own = if defined(env) {
        dictsort(out, env)?
    } else {
        Vec::new()
    };
    for (name, value) in &own {
        env_var(out, name, value)?;
    }
    // `env` is a map here (dictsort took it) or undefined, standing for `{}`.
    let env_object = env.as_object();
    for (name, value) in dictsort(out, &envs)? {
        // `name not in env`: minijinja's containment test for maps is this lookup.
        if env_object.is_some_and(|env| env.get_value(&name).is_some()) {
            continue;
        }
        env_var(out, &name, &value)?;
    }
    Some(())
}

fn env_var(out: &mut Out, name: &Value, value: &Value) -> Option<()> {
    out.raw("            - name: ");
    out.json(name)?;
    out.raw("\n              value: ");
    out.json(value)?;
    out.raw("\n");
    Some(())
}

/// The container's `envFrom` (`{% if job.envFrom is defined and job.envFrom %}`).
fn env_from(out: &mut Out, job: &Value) -> Option<()> {
    let sources = get(job, "envFrom")?;
    if !defined(&sources) || !sources.is_true() {
        return Some(());
    }
    out.raw("          envFrom:\n");
    for source in list(out, &sources)? {
        // {% if source.type not in ["configMapRef", "secretRef"] %} fails the
        // render; `{{ source.type }}` prints the string itself.
        let kind = get(&source, "type")?;
        if kind.kind() != ValueKind::String {
            return None;
        }
        let kind = match kind.as_str()? {
            "configMapRef" => "configMapRef",
            "secretRef" => "secretRef",
            _ => return None,
        };
        out.raw("            - ");
        out.raw(kind);
        out.raw(":\n                name: ");
        out.json(&get(&source, "name")?)?;
        out.raw("\n");
        optional(out, &source, "optional", "                optional: ")?;
        optional(out, &source, "prefix", "              prefix: ")?;
    }
    Some(())
}

/// The container's `volumeMounts`, inside `{% if volumes or gitsync %}`;
/// `volumes` undefined stands for `[]`.
fn volume_mounts(out: &mut Out, volumes: &Value, gitsync: bool, git_root: &Value) -> Option<()> {
    out.raw("          volumeMounts:\n");
    if defined(volumes) {
        for volume in list(out, volumes)? {
            out.raw("            - name: ");
            out.json(&get(&volume, "name")?)?;
            out.raw("\n              mountPath: ");
            out.json(&get(&volume, "mountPath")?)?;
            out.raw("\n");
            optional(out, &volume, "readOnly", "              readOnly: ")?;
            optional(out, &volume, "subPath", "              subPath: ")?;
        }
    }
    if gitsync {
        out.raw("            - name: weir-git\n              mountPath: ");
        out.json(git_root)?;
        out.raw("\n");
    }
    Some(())
}

/// The pod's `volumes`, inside `{% if volumes or gitsync %}`; an unknown
/// `volume.type` reads an undefined name in the template, so it is `None`.
fn pod_volumes(out: &mut Out, volumes: &Value, gitsync: bool) -> Option<()> {
    out.raw("      volumes:\n");
    if defined(volumes) {
        for volume in list(out, volumes)? {
            out.raw("        - name: ");
            out.json(&get(&volume, "name")?)?;
            out.raw("\n");
            let kind = get(&volume, "type")?;
            if kind.kind() != ValueKind::String {
                return None;
            }
            match kind.as_str()? {
                "secret" => {
                    out.raw("          secret:\n            secretName: ");
                    out.json(&get(&volume, "reference")?)?;
                    out.raw("\n");
                }
                "configMap" => {
                    out.raw("          configMap:\n            name: ");
                    out.json(&get(&volume, "reference")?)?;
                    out.raw("\n");
                }
                "persistentVolumeClaim" => {
                    out.raw("          persistentVolumeClaim:\n            claimName: ");
                    out.json(&get(&volume, "reference")?)?;
                    out.raw("\n");
                    optional(out, &volume, "readOnly", "            readOnly: ")?;
                }
                "emptyDir" => {
                    let medium = get(&volume, "medium")?;
                    let size_limit = get(&volume, "sizeLimit")?;
                    if defined(&medium) || defined(&size_limit) {
                        out.raw("          emptyDir:\n");
                        if defined(&medium) {
                            out.raw("            medium: ");
                            out.json(&medium)?;
                            out.raw("\n");
                        }
                        if defined(&size_limit) {
                            out.raw("            sizeLimit: ");
                            out.json(&size_limit)?;
                            out.raw("\n");
                        }
                    } else {
                        out.raw("          emptyDir: {}\n");
                    }
                }
                _ => return None,
            }
        }
    }
    if gitsync {
        out.raw("        - name: weir-git\n          emptyDir: {}\n");
    }
    Some(())
}
