//! The built-in templates and where a template's text comes from.

use std::fmt;
use std::str::FromStr;

use crate::RenderError;

/// A template shipped inside weir.
///
/// Every built-in reads `run.name`, `run.namespace`, `step.name` and `envs`;
/// what each reads from `job` is listed on its variant. Keys marked optional
/// may be absent; any other missing key fails the render naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// A `batch/v1` Job running the step's image (the seed's pod_template.yaml).
    ///
    /// `job`: `image`; optional `name`, `command`, `args`, `workingDir`,
    /// `imagePullPolicy`, `env` (name → string; wins over `envs`), `envFrom`
    /// (`[{type: configMapRef|secretRef, name, optional?, prefix?}]`), `volumes`
    /// (`[{name, type: secret|configMap|persistentVolumeClaim|emptyDir,
    /// reference, mountPath, readOnly?, subPath?, medium?, sizeLimit?}]`),
    /// `gitsync` (`true`: repo and ref from `envs.GITSYNC_REPO` / `GITSYNC_REF`;
    /// or `{repo, ref?, root?, link?, image?, secret?}`; the checkout is at
    /// `<root>/<link>`, default `/git/repo`), `resources`, `securityContext`,
    /// `podSecurityContext`, `serviceAccountName`, `nodeSelector`, `tolerations`,
    /// `affinity`, `priorityClassName`, `imagePullSecrets` (names), `labels`,
    /// `annotations`, `activeDeadlineSeconds`.
    Job,
    /// A `sparkoperator.k8s.io/v1beta2` SparkApplication (the seed's spark_pod_template.yaml).
    ///
    /// `job` (the SparkJob spec): `image`, `sparkVersion`, `mainApplicationFile`;
    /// optional `name`, `type` (default `Python`), `mode` (default `cluster`),
    /// `pythonVersion`, `mainClass`, `arguments`, `sparkConf`, `hadoopConf`,
    /// `deps`, `imagePullPolicy`, `imagePullSecrets`, `timeToLiveSeconds`,
    /// `restartPolicy` (default `{type: Never}`), `labels`, `volumes` (as for
    /// `Job`, mounted in driver and executors), `driver` / `executor` (`cores`,
    /// `coreLimit`, `coreRequest`, `memory`, `memoryOverhead`, `instances`,
    /// `javaOptions`, `labels`, `annotations`, `nodeSelector`, `tolerations`,
    /// `affinity`, `serviceAccount`, `env`, `envFrom`), `monitoring` (`true` or
    /// `{jmxExporterJar?, port?, configuration?}`).
    Spark,
    /// A `batch/v1` Job running dbt (the seed's dbt_run.sh).
    ///
    /// `job` (the DbtRun spec): `image`, `project` (`{path}`, `{git: {repo,
    /// ref?, subPath?}}`, or `{}` for the image's working directory); optional `name`, `profilesDir`, `target`, `vars`,
    /// `deps`, `seed`, `commands`, `generateDocs`, `docsDestination` (then also
    /// `docsImage`, the weir-data image, which runs `weir-data dbt-docs
    /// --target-dir /weir/dbt-target --destination <docsDestination>` after dbt),
    /// `env`, `envFrom`, `volumes`, `resources`, `imagePullPolicy`, and the pod
    /// fields of `Job`.
    Dbt,
}

impl Builtin {
    /// Every built-in, for listing and for tests that must cover them all.
    pub const ALL: [Builtin; 3] = [Builtin::Job, Builtin::Spark, Builtin::Dbt];

    /// The name a Pipeline uses to pick this template.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Job => "job",
            Builtin::Spark => "spark",
            Builtin::Dbt => "dbt",
        }
    }

    /// The template text (Jinja2 syntax), e.g. for `weir render --show-template`.
    pub fn source(self) -> &'static str {
        match self {
            Builtin::Job => include_str!("templates/job.yaml.j2"),
            Builtin::Spark => include_str!("templates/spark.yaml.j2"),
            Builtin::Dbt => include_str!("templates/dbt.yaml.j2"),
        }
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Builtin {
    type Err = RenderError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Builtin::ALL
            .into_iter()
            .find(|builtin| builtin.name() == name)
            .ok_or_else(|| RenderError::UnknownBuiltin(name.to_owned()))
    }
}

/// Templates the built-ins import; user templates may import them too
/// (`{% import "weir/pod" as pod %}`).
pub(crate) const PARTIALS: [(&str, &str); 1] =
    [("weir/pod", include_str!("templates/pod.yaml.j2"))];

/// Where a template's text comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TemplateSource {
    /// A template shipped with weir.
    Builtin(Builtin),
    /// Text supplied by the user: inline in the Pipeline, or a ConfigMap key
    /// (see [`TemplateSource::config_map`]). `name` only labels errors.
    Inline {
        /// How errors refer to the template.
        name: String,
        /// The template text.
        text: String,
    },
}

impl TemplateSource {
    /// A template read from key `key` of ConfigMap `config_map`, named
    /// `configmap/<config_map>/<key>` in errors.
    pub fn config_map(config_map: &str, key: &str, text: impl Into<String>) -> Self {
        TemplateSource::Inline {
            name: format!("configmap/{config_map}/{key}"),
            text: text.into(),
        }
    }

    /// How errors refer to this template.
    pub fn name(&self) -> &str {
        match self {
            TemplateSource::Builtin(builtin) => builtin.name(),
            TemplateSource::Inline { name, .. } => name,
        }
    }
}

impl From<Builtin> for TemplateSource {
    fn from(builtin: Builtin) -> Self {
        TemplateSource::Builtin(builtin)
    }
}
