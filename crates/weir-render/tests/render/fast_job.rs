//! The compiled `job` built-in (src/fast) against minijinja rendering
//! templates/job.yaml.j2: wherever the compiled path answers, its text must be
//! the interpreter's byte for byte; wherever the interpreter fails, the
//! compiled path must decline so the error is the interpreter's.

use crate::common;

use std::cell::Cell;

use k8s_openapi::api::batch::v1::Job;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value as Json, json};
use weir_render::{
    Builtin, MAX_OUTPUT_BYTES, PreparedContext, RenderError, Renderer, TemplateSource, parse_yaml,
    typed,
};

fn bench_context() -> Json {
    serde_json::from_str(include_str!("../../../../bench/job_context.json")).unwrap()
}

/// The bench context with `job` replaced.
fn with_job(job: Json) -> Json {
    let mut ctx = bench_context();
    ctx["job"] = job;
    ctx
}

/// The bench context changed by `edit`.
fn edited(edit: impl FnOnce(&mut Json)) -> Json {
    let mut ctx = bench_context();
    edit(&mut ctx);
    ctx
}

/// Both paths: (compiled, interpreted).
fn both(renderer: &Renderer, ctx: &Json) -> (Option<String>, Result<String, RenderError>) {
    (
        renderer.render_compiled(Builtin::Job, ctx),
        renderer.render_interpreted(Builtin::Job, ctx),
    )
}

/// The compiled path takes `ctx` and renders exactly what minijinja renders,
/// and the public entry point returns that text.
#[track_caller]
fn assert_compiled_identical(renderer: &Renderer, name: &str, ctx: &Json) {
    let (compiled, interpreted) = both(renderer, ctx);
    let interpreted = interpreted.unwrap_or_else(|err| panic!("{name}: interpreter failed: {err}"));
    let Some(compiled) = compiled else {
        panic!("{name}: the compiled path declined a context it should render:\n{ctx:#}");
    };
    assert!(
        compiled == interpreted,
        "{name}: compiled and interpreted text differ\n--- compiled\n{compiled}\n--- interpreted\n{interpreted}"
    );
    let public = renderer
        .render_text(&TemplateSource::Builtin(Builtin::Job), ctx)
        .unwrap();
    assert_eq!(public, interpreted, "{name}: render_text");
}

/// The compiled path declines `ctx`, and the public entry point gives the
/// interpreter's result, error message included.
#[track_caller]
fn assert_declined(renderer: &Renderer, name: &str, ctx: &Json) -> Result<String, String> {
    let (compiled, interpreted) = both(renderer, ctx);
    assert!(
        compiled.is_none(),
        "{name}: the compiled path should have declined"
    );
    let public = renderer.render_text(&TemplateSource::Builtin(Builtin::Job), ctx);
    let (public, interpreted) = (
        public.map_err(|err| err.to_string()),
        interpreted.map_err(|err| err.to_string()),
    );
    assert_eq!(public, interpreted, "{name}: render_text");
    interpreted
}

const NASTY: &[&str] = &[
    "",
    "say \"hi\"",
    "it's",
    "line one\nline two\r\n",
    "key: value",
    "# not a comment",
    "- not a list",
    "{{ run.name }}",
    "{% if x %}y{% endif %}",
    "{# comment #}",
    "héllo ✓ 日本語 🚀",
    "<script>&amp;</script>",
    "tab\there",
    "\u{85}\u{2028}\u{2029}\u{feff}\u{7f}\u{1}",
    "back\\slash",
    "null",
    "true",
    "0755",
    "  padded  ",
    "*anchor &ref !tag",
];

fn volumes_of_every_kind() -> Json {
    json!([
        {"name": "creds", "type": "secret", "reference": "gcsfs-creds", "mountPath": "/mnt/secrets", "readOnly": true},
        {"name": "conf", "type": "configMap", "reference": "app-conf", "mountPath": "/etc/app", "subPath": "app.yaml"},
        {"name": "data", "type": "persistentVolumeClaim", "reference": "data-pvc", "mountPath": "/data", "readOnly": false, "subPath": "x"},
        {"name": "scratch", "type": "emptyDir", "mountPath": "/tmp/scratch"},
        {"name": "shm", "type": "emptyDir", "mountPath": "/dev/shm", "medium": "Memory"},
        {"name": "cache", "type": "emptyDir", "mountPath": "/cache", "sizeLimit": "1Gi"},
        {"name": "both", "type": "emptyDir", "mountPath": "/both", "medium": "Memory", "sizeLimit": "64Mi", "readOnly": null},
    ])
}

/// Hand-written contexts covering what the template reads; each must take the
/// compiled path and match the interpreter.
fn table() -> Vec<(&'static str, Json)> {
    let mut cases = vec![
        ("bench context", bench_context()),
        (
            "no gitsync",
            edited(|ctx| {
                ctx["job"].as_object_mut().unwrap().remove("gitsync");
            }),
        ),
        (
            "gitsync false",
            edited(|ctx| ctx["job"]["gitsync"] = json!(false)),
        ),
        (
            "gitsync null",
            edited(|ctx| ctx["job"]["gitsync"] = json!(null)),
        ),
        (
            "gitsync a truthy string",
            edited(|ctx| ctx["job"]["gitsync"] = json!("yes")),
        ),
        (
            "gitsync empty mapping",
            edited(|ctx| ctx["job"]["gitsync"] = json!({})),
        ),
        (
            "gitsync mapping with every key",
            edited(|ctx| {
                ctx["job"]["gitsync"] = json!({
                    "repo": "git@github.com:example/x.git", "ref": "v1.2.3", "root": "/src",
                    "link": "checkout", "image": "example.invalid/git-sync:v4", "secret": "git-creds",
                })
            }),
        ),
        (
            "gitsync mapping with repo only",
            edited(|ctx| ctx["job"]["gitsync"] = json!({"repo": "https://example.invalid/r.git"})),
        ),
        (
            "gitsync true, no GITSYNC_REF in envs",
            edited(|ctx| {
                ctx["envs"].as_object_mut().unwrap().remove("GITSYNC_REF");
            }),
        ),
        (
            "gitsync true, envs GITSYNC_REF null",
            edited(|ctx| ctx["envs"]["GITSYNC_REF"] = json!(null)),
        ),
        (
            "volumes of every kind",
            edited(|ctx| ctx["job"]["volumes"] = volumes_of_every_kind()),
        ),
        (
            "volumes without gitsync",
            edited(|ctx| {
                ctx["job"]["volumes"] = volumes_of_every_kind();
                ctx["job"]["gitsync"] = json!(false);
            }),
        ),
        (
            "no volumes, gitsync",
            edited(|ctx| ctx["job"]["volumes"] = json!([])),
        ),
        (
            "no volumes, no gitsync",
            edited(|ctx| {
                let job = ctx["job"].as_object_mut().unwrap();
                job.remove("volumes");
                job.remove("gitsync");
            }),
        ),
        (
            "envFrom of every kind",
            edited(|ctx| {
                ctx["job"]["envFrom"] = json!([
                    {"type": "configMapRef", "name": "pipeline-env"},
                    {"type": "configMapRef", "name": "opt", "optional": true},
                    {"type": "secretRef", "name": "aws", "prefix": "AWS_"},
                    {"type": "secretRef", "name": "all", "optional": false, "prefix": "X_"},
                ])
            }),
        ),
        (
            "envFrom empty",
            edited(|ctx| ctx["job"]["envFrom"] = json!([])),
        ),
        (
            "envFrom null",
            edited(|ctx| ctx["job"]["envFrom"] = json!(null)),
        ),
        (
            "pod and container fields",
            edited(|ctx| {
                let job = ctx["job"].as_object_mut().unwrap();
                job.insert(
                    "labels".into(),
                    json!({"team": "data", "app.kubernetes.io/name": "dbt"}),
                );
                job.insert(
                    "annotations".into(),
                    json!({"b": "2", "A": "1", "c": "x: y", "Z_last": "z"}),
                );
                job.insert("nodeSelector".into(), json!({"pool": "batch"}));
                job.insert(
                    "tolerations".into(),
                    json!([{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}]),
                );
                job.insert("affinity".into(), json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]}]}}}));
                job.insert(
                    "resources".into(),
                    json!({"limits": {"cpu": 2, "memory": "4Gi", "nvidia.com/gpu": 1}}),
                );
                job.insert("securityContext".into(), json!({"runAsNonRoot": true, "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}));
                job.insert("podSecurityContext".into(), json!({"fsGroup": 2000}));
                job.insert("priorityClassName".into(), json!("batch-low"));
                job.insert("activeDeadlineSeconds".into(), json!(3600));
                job.insert("imagePullPolicy".into(), json!("Always"));
                job.insert("workingDir".into(), json!("/work"));
                job.insert("imagePullSecrets".into(), json!(["regcred", "other"]));
            }),
        ),
        (
            "imagePullSecrets empty",
            edited(|ctx| ctx["job"]["imagePullSecrets"] = json!([])),
        ),
        (
            "labels null",
            edited(|ctx| ctx["job"]["labels"] = json!(null)),
        ),
        (
            "annotations empty",
            edited(|ctx| ctx["job"]["annotations"] = json!({})),
        ),
        (
            "env and envs overlap",
            edited(|ctx| {
                ctx["job"]["env"] =
                    json!({"GITSYNC_REF": "own", "b": "2", "A": "1", "PATH": "/bin"});
                ctx["envs"]["a_envs"] = json!("x");
                ctx["envs"]["PATH"] = json!("/usr/bin");
            }),
        ),
        (
            "env only",
            edited(|ctx| {
                ctx["envs"] = json!({});
                ctx["job"]["gitsync"] = json!({"repo": "r"});
            }),
        ),
        (
            "envs only",
            edited(|ctx| {
                ctx["job"].as_object_mut().unwrap().remove("env");
            }),
        ),
        (
            "env empty, envs set",
            edited(|ctx| ctx["job"]["env"] = json!({})),
        ),
        (
            "no env, no envs",
            edited(|ctx| {
                ctx["job"].as_object_mut().unwrap().remove("env");
                ctx["job"]["gitsync"] = json!(false);
                ctx["envs"] = json!({});
            }),
        ),
        (
            "env values not strings",
            edited(|ctx| {
                ctx["job"]["env"] =
                    json!({"N": 1, "F": 1.5, "B": true, "NULL": null, "L": [1], "M": {"k": "v"}})
            }),
        ),
        (
            "no job.name: run.name-step.name",
            edited(|ctx| {
                ctx["job"].as_object_mut().unwrap().remove("name");
            }),
        ),
        (
            "job.name null",
            edited(|ctx| ctx["job"]["name"] = json!(null)),
        ),
        (
            "numbers",
            edited(|ctx| {
                let job = ctx["job"].as_object_mut().unwrap();
                job.insert("activeDeadlineSeconds".into(), json!(u64::MAX));
                job.insert(
                    "resources".into(),
                    json!({"a": -7, "b": 0.1, "c": 1e300, "d": -0.0, "e": 2.0}),
                );
            }),
        ),
        (
            "minimal job",
            json!({"job": {"image": "busybox"}, "run": {"name": "r", "namespace": "ns"}, "step": {"name": "s"}, "envs": {}}),
        ),
        (
            "hello example: greet",
            with_job(json!({
                "name": "hello-greet-1",
                "image": "example.invalid/busybox:1",
                "command": ["sh", "-c"],
                "args": ["echo 'hello from batch-20240301-x7k2p'"],
            })),
        ),
        (
            "batch example: transfer",
            with_job(json!({
                "name": "batch-transfer-1",
                "image": "eu.gcr.io/example-project/weir-data:0.1.0",
                "command": ["weir-data"],
                "args": ["transfer", "--from", "s3://landing/raw/a.parquet", "--to", "gs://weir-lake/raw/a.parquet"],
                "envFrom": [{"type": "configMapRef", "name": "pipeline-env"}, {"type": "secretRef", "name": "aws-landing"}],
                "volumes": [{"name": "gcsfs-creds", "type": "secret", "reference": "gcsfs-creds", "mountPath": "/mnt/secrets"}],
                "serviceAccountName": "weir-steps",
                "labels": {"team": "data-platform"},
            })),
        ),
        (
            "dbt-task example",
            with_job(json!({
                "image": "eu.gcr.io/example-project/dbt",
                "name": "dbt",
                "gitsync": true,
                "command": ["/bin/bash", "/git/repo/dags/scripts/dbt_run.sh"],
                "args": ["--deps", "--seed", "--commands", "dbt run", "--generate-docs"],
                "volumes": [{"name": "gcsfs-creds", "type": "secret", "reference": "gcsfs-creds", "mountPath": "/mnt/secrets"}],
                "envFrom": [{"type": "configMapRef", "name": "dbt-env"}],
            })),
        ),
    ];
    for (index, text) in NASTY.iter().enumerate() {
        let ctx = edited(|ctx| {
            let job = ctx["job"].as_object_mut().unwrap();
            job.insert("name".into(), json!(text));
            job.insert("image".into(), json!(text));
            job.insert("args".into(), json!([text, text]));
            job.insert(
                "env".into(),
                json!({"NASTY": text, "OTHER": format!("{text}{text}")}),
            );
            job.insert("labels".into(), json!({"k": text}));
            job.insert("annotations".into(), json!({"k": text, "k2": [text]}));
            job.insert("imagePullSecrets".into(), json!([text]));
            job.insert(
                "gitsync".into(),
                json!({"repo": text, "root": text, "secret": text}),
            );
            job.insert(
                "volumes".into(),
                json!([{"name": text, "type": "configMap", "reference": text, "mountPath": text, "subPath": text}]),
            );
            job.insert(
                "envFrom".into(),
                json!([{"type": "secretRef", "name": text, "prefix": text}]),
            );
            ctx["run"]["namespace"] = json!(text);
        });
        cases.push((NASTY_NAMES[index], ctx));
    }
    cases
}

const NASTY_NAMES: [&str; 20] = [
    "nasty: empty",
    "nasty: quotes",
    "nasty: apostrophe",
    "nasty: newlines",
    "nasty: colon",
    "nasty: hash",
    "nasty: dash",
    "nasty: {{",
    "nasty: {%",
    "nasty: {#",
    "nasty: unicode",
    "nasty: html",
    "nasty: tab",
    "nasty: yaml breaks",
    "nasty: backslash",
    "nasty: null",
    "nasty: true",
    "nasty: octal",
    "nasty: padded",
    "nasty: yaml syntax",
];

#[test]
fn compiled_job_matches_the_interpreter() {
    assert_eq!(NASTY.len(), NASTY_NAMES.len());
    let renderer = Renderer::new();
    let cases = table();
    for (name, ctx) in &cases {
        assert_compiled_identical(&renderer, name, ctx);
    }
    assert!(cases.len() >= 50, "{} cases", cases.len());
}

#[test]
fn render_context_and_prepared_context_take_the_compiled_path() {
    let renderer = Renderer::new();
    let ctx = common::dbt_task();
    let interpreted = renderer.render_interpreted(Builtin::Job, &ctx).unwrap();
    assert_eq!(
        renderer.render_compiled(Builtin::Job, &ctx),
        Some(interpreted.clone())
    );
    let prepared = PreparedContext::new(&ctx);
    assert_eq!(
        renderer.render_compiled(Builtin::Job, &prepared),
        Some(interpreted.clone())
    );
    let source = TemplateSource::Builtin(Builtin::Job);
    assert_eq!(
        renderer.render_text(&source, &prepared).unwrap(),
        interpreted
    );
}

#[test]
fn typed_job_is_the_same_either_way() {
    let renderer = Renderer::new();
    let ctx = common::dbt_task();
    let source = TemplateSource::Builtin(Builtin::Job);
    let fast = renderer.render_job(&source, &ctx).unwrap();
    let text = renderer.render_interpreted(Builtin::Job, &ctx).unwrap();
    let slow: Job = typed("job", parse_yaml("job", &text).unwrap()).unwrap();
    assert_eq!(fast, slow);
    assert_eq!(
        renderer.render_manifest(&source, &ctx).unwrap(),
        parse_yaml("job", &text).unwrap()
    );
}

#[test]
fn unusual_contexts_are_left_to_the_interpreter() {
    let renderer = Renderer::new();
    let failing: Vec<(&str, Json, &str)> = vec![
        (
            "no image",
            edited(|ctx| drop(ctx["job"].as_object_mut().unwrap().remove("image"))),
            "job.image",
        ),
        ("job not a map", with_job(json!("busybox")), "job.image"),
        (
            "no job",
            edited(|ctx| drop(ctx.as_object_mut().unwrap().remove("job"))),
            "undefined",
        ),
        (
            "no run",
            edited(|ctx| drop(ctx.as_object_mut().unwrap().remove("run"))),
            "undefined",
        ),
        (
            "no name, no step",
            edited(|ctx| {
                ctx["job"].as_object_mut().unwrap().remove("name");
                ctx.as_object_mut().unwrap().remove("step");
            }),
            "undefined",
        ),
        (
            "gitsync true without GITSYNC_REPO",
            edited(|ctx| drop(ctx["envs"].as_object_mut().unwrap().remove("GITSYNC_REPO"))),
            "GITSYNC_REPO",
        ),
        (
            "gitsync true without envs",
            edited(|ctx| drop(ctx.as_object_mut().unwrap().remove("envs"))),
            "undefined",
        ),
        (
            "volume without name",
            edited(|ctx| {
                ctx["job"]["volumes"] =
                    json!([{"type": "secret", "reference": "x", "mountPath": "/x"}])
            }),
            "volume.name",
        ),
        (
            "volume of an unknown type",
            edited(|ctx| {
                ctx["job"]["volumes"] =
                    json!([{"name": "x", "type": "hostPath", "mountPath": "/x"}])
            }),
            "type_must_be",
        ),
        (
            "volume type not a string",
            edited(|ctx| {
                ctx["job"]["volumes"] = json!([{"name": "x", "type": 1, "mountPath": "/x"}])
            }),
            "type_must_be",
        ),
        (
            "secret volume without reference",
            edited(|ctx| {
                ctx["job"]["volumes"] = json!([{"name": "x", "type": "secret", "mountPath": "/x"}])
            }),
            "volume.reference",
        ),
        (
            "envFrom of an unknown type",
            edited(|ctx| ctx["job"]["envFrom"] = json!([{"type": "fieldRef", "name": "x"}])),
            "type_must_be",
        ),
        (
            "envFrom without type",
            edited(|ctx| ctx["job"]["envFrom"] = json!([{"name": "x"}])),
            "source.type",
        ),
        (
            "env a list",
            edited(|ctx| ctx["job"]["env"] = json!(["A=1"])),
            "",
        ),
        (
            "annotations a list",
            edited(|ctx| ctx["job"]["annotations"] = json!(["a"])),
            "",
        ),
        (
            "volumes a mapping",
            edited(|ctx| ctx["job"]["volumes"] = json!({"name": "x"})),
            "volume.name",
        ),
    ];
    for (name, ctx, message) in &failing {
        let err = assert_declined(&renderer, name, ctx).expect_err(name);
        assert!(err.contains(message), "{name}: {err}");
    }

    // Declined although the interpreter renders them: the compiled path is not
    // sure of the result, and the interpreter decides.
    let rendering: Vec<(&str, Json)> = vec![
        (
            "keys equal but for case",
            edited(|ctx| ctx["job"]["annotations"] = json!({"a": "1", "A": "2"})),
        ),
        (
            "non-ASCII key",
            edited(|ctx| ctx["job"]["env"] = json!({"É": "1", "e": "2"})),
        ),
        (
            "many volumes",
            edited(|ctx| {
                let volume = json!({"name": "v", "type": "emptyDir", "mountPath": "/v"});
                ctx["job"]["volumes"] = Json::Array(vec![volume; 501]);
            }),
        ),
        (
            "many env entries",
            edited(|ctx| {
                let env: Map<String, Json> =
                    (0..1001).map(|i| (format!("V{i}"), json!("x"))).collect();
                ctx["job"]["env"] = Json::Object(env);
            }),
        ),
        (
            "run.name a number",
            edited(|ctx| {
                ctx["job"].as_object_mut().unwrap().remove("name");
                ctx["run"]["name"] = json!(7);
            }),
        ),
        (
            "imagePullSecrets a string",
            edited(|ctx| ctx["job"]["imagePullSecrets"] = json!("regcred")),
        ),
    ];
    for (name, ctx) in &rendering {
        assert_declined(&renderer, name, ctx).unwrap_or_else(|err| panic!("{name}: {err}"));
    }

    // Output over the limit is the interpreter's TooLarge error.
    let huge = edited(|ctx| ctx["job"]["image"] = json!("x".repeat(MAX_OUTPUT_BYTES)));
    let err = assert_declined(&renderer, "huge image", &huge).unwrap_err();
    assert!(err.contains("output is larger than"), "{err}");
}

#[test]
fn loop_and_size_limits_are_inclusive() {
    // Right at the limits the compiled path still answers, identically.
    let renderer = Renderer::new();
    let volume = json!({"name": "v", "type": "emptyDir", "mountPath": "/v", "medium": "Memory"});
    let at_limit = edited(|ctx| ctx["job"]["volumes"] = Json::Array(vec![volume; 498]));
    // 498 volumes iterated twice, plus the bench context's 2 env, 3 envs and
    // 1 envFrom items, make 1002 loop iterations: over the 1000 allowed.
    assert!(renderer.render_compiled(Builtin::Job, &at_limit).is_none());
    let volume = json!({"name": "v", "type": "emptyDir", "mountPath": "/v", "medium": "Memory"});
    // 497 make exactly 1000.
    let fits = edited(|ctx| ctx["job"]["volumes"] = Json::Array(vec![volume; 497]));
    assert_compiled_identical(&renderer, "497 volumes", &fits);

    let base = renderer
        .render_interpreted(Builtin::Job, &bench_context())
        .unwrap()
        .len();
    let image = |len: usize| edited(|ctx| ctx["job"]["image"] = json!("x".repeat(len)));
    // "eu.gcr.io/example-project/dbt:1.8.2" is 35 bytes.
    let exact = MAX_OUTPUT_BYTES - base + 35;
    assert_compiled_identical(&renderer, "output of exactly the limit", &image(exact));
    assert_eq!(
        renderer
            .render_compiled(Builtin::Job, &image(exact))
            .map(|t| t.len()),
        Some(MAX_OUTPUT_BYTES)
    );
    assert_declined(&renderer, "one byte over", &image(exact + 1)).unwrap_err();
}

// ---- random contexts ----

fn nasty_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(NASTY).prop_map(str::to_owned),
        3 => "[a-z0-9./:-]{1,12}",
        1 => any::<String>(),
    ]
    .boxed()
}

fn string() -> BoxedStrategy<Json> {
    nasty_string().prop_map(Json::String).boxed()
}

/// Any JSON, a few levels deep.
fn any_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        string(),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(any_key(), inner, 0..4)
                .prop_map(|map| Json::Object(map.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Keys the compiled path takes: ASCII, and (one case only) never two alike but for case.
fn tame_key() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec![
            "PATH",
            "RUN_DATE",
            "GITSYNC_REF",
            "GITSYNC_REPO",
            "A",
            "B_1"
        ])
        .prop_map(str::to_owned),
        "[A-Z_][A-Z0-9_.-]{0,6}",
    ]
    .boxed()
}

/// Keys that include what the compiled path declines: mixed case, non-ASCII.
fn any_key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => tame_key(),
        1 => prop::sample::select(vec!["a", "A", "path", "é", "É", ""]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
    .boxed()
}

fn string_map(key: BoxedStrategy<String>, value: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    prop::collection::btree_map(key, value, 0..5)
        .prop_map(|map| Json::Object(map.into_iter().collect()))
        .boxed()
}

/// An object with each of `fields` present with probability `p` (`1.0`: always).
fn object(fields: Vec<(&'static str, f64, BoxedStrategy<Json>)>) -> BoxedStrategy<Json> {
    let (keys, strategies): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .map(|(key, p, strategy)| {
            let strategy = if p >= 1.0 {
                strategy.prop_map(Some).boxed()
            } else {
                prop::option::weighted(p, strategy).boxed()
            };
            (key, strategy)
        })
        .unzip();
    strategies
        .prop_map(move |values| {
            let map: Map<String, Json> = keys
                .iter()
                .zip(values)
                .filter_map(|(key, value)| Some(((*key).to_owned(), value?)))
                .collect();
            Json::Object(map)
        })
        .boxed()
}

/// `strategy`, or with `wild` now and then any JSON at all.
fn maybe_wild(wild: bool, strategy: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    if wild {
        prop_oneof![30 => strategy, 1 => any_json()].boxed()
    } else {
        strategy
    }
}

fn volume(wild: bool) -> BoxedStrategy<Json> {
    let kind = prop::sample::select(vec![
        "secret",
        "configMap",
        "persistentVolumeClaim",
        "emptyDir",
    ])
    .prop_map(Json::from)
    .boxed();
    let kind = maybe_wild(wild, kind);
    let p = if wild { 0.97 } else { 1.0 };
    object(vec![
        ("name", p, maybe_wild(wild, string())),
        ("type", p, kind),
        ("reference", p, maybe_wild(wild, string())),
        ("mountPath", p, maybe_wild(wild, string())),
        (
            "readOnly",
            0.4,
            maybe_wild(wild, any::<bool>().prop_map(Json::from).boxed()),
        ),
        ("subPath", 0.3, string()),
        ("medium", 0.3, string()),
        ("sizeLimit", 0.3, string()),
    ])
}

fn env_source(wild: bool) -> BoxedStrategy<Json> {
    let kind = prop::sample::select(vec!["configMapRef", "secretRef"])
        .prop_map(Json::from)
        .boxed();
    let p = if wild { 0.97 } else { 1.0 };
    object(vec![
        ("type", p, maybe_wild(wild, kind)),
        ("name", p, maybe_wild(wild, string())),
        ("optional", 0.3, any::<bool>().prop_map(Json::from).boxed()),
        ("prefix", 0.3, string()),
    ])
}

fn gitsync(wild: bool) -> BoxedStrategy<Json> {
    let mapping = object(vec![
        ("repo", 0.7, string()),
        ("ref", 0.5, string()),
        ("root", 0.4, string()),
        ("link", 0.4, string()),
        ("image", 0.3, string()),
        ("secret", 0.3, string()),
    ]);
    maybe_wild(
        wild,
        prop_oneof![any::<bool>().prop_map(Json::from), mapping].boxed(),
    )
}

fn list_of(item: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    prop::collection::vec(item, 0..4)
        .prop_map(Json::Array)
        .boxed()
}

fn job(wild: bool) -> BoxedStrategy<Json> {
    let w = |strategy: BoxedStrategy<Json>| maybe_wild(wild, strategy);
    let key = if wild { any_key() } else { tame_key() };
    let labels = string_map(key.clone(), string());
    let free = if wild {
        any_json()
    } else {
        string_map(tame_key(), any_json())
    };
    object(vec![
        ("image", if wild { 0.97 } else { 1.0 }, w(string())),
        ("name", 0.6, w(string())),
        ("gitsync", 0.5, gitsync(wild)),
        ("command", 0.5, w(list_of(string()))),
        ("args", 0.5, w(list_of(string()))),
        ("workingDir", 0.2, w(string())),
        ("imagePullPolicy", 0.2, w(string())),
        ("env", 0.6, w(string_map(key.clone(), string()))),
        ("envFrom", 0.4, w(list_of(env_source(wild)))),
        ("volumes", 0.5, w(list_of(volume(wild)))),
        ("resources", 0.4, free.clone()),
        ("securityContext", 0.2, free.clone()),
        ("podSecurityContext", 0.2, free.clone()),
        ("serviceAccountName", 0.3, w(string())),
        ("nodeSelector", 0.2, w(labels.clone())),
        ("tolerations", 0.2, free.clone()),
        ("affinity", 0.2, free),
        ("priorityClassName", 0.2, w(string())),
        ("imagePullSecrets", 0.3, w(list_of(string()))),
        ("labels", 0.4, w(labels.clone())),
        ("annotations", 0.4, w(labels)),
        (
            "activeDeadlineSeconds",
            0.2,
            w(any::<u32>().prop_map(Json::from).boxed()),
        ),
    ])
}

fn context(wild: bool) -> BoxedStrategy<Json> {
    let w = |strategy: BoxedStrategy<Json>| maybe_wild(wild, strategy);
    let key = if wild { any_key() } else { tame_key() };
    let run = object(vec![
        ("name", if wild { 0.97 } else { 1.0 }, w(string())),
        ("namespace", if wild { 0.97 } else { 1.0 }, w(string())),
        ("uid", 1.0, string()),
    ]);
    let step = object(vec![("name", if wild { 0.97 } else { 1.0 }, w(string()))]);
    let p = if wild { 0.97 } else { 1.0 };
    // `gitsync: true` reads the repository from envs; now and then, when wild, it is missing.
    let envs =
        (string_map(key, string()), string(), 0..10u8).prop_map(move |(mut envs, repo, roll)| {
            if !wild || roll > 0 {
                envs["GITSYNC_REPO"] = repo;
            }
            envs
        });
    object(vec![
        ("job", p, job(wild)),
        ("run", p, w(run)),
        ("step", p, w(step)),
        ("envs", p, w(envs.boxed())),
        ("params", 0.5, string_map(tame_key(), string())),
    ])
}

/// Runs `cases` random contexts and checks the two paths agree; returns how
/// many the compiled path rendered and how many the interpreter refused.
fn agree(wild: bool, cases: u32) -> (u32, u32) {
    let renderer = Renderer::new();
    let taken = Cell::new(0);
    let declined = Cell::new(0);
    let failed = Cell::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    runner
        .run(&context(wild), |ctx| {
            let (compiled, interpreted) = both(&renderer, &ctx);
            match (&compiled, &interpreted) {
                (Some(compiled), Ok(interpreted)) => {
                    prop_assert_eq!(compiled, interpreted);
                    taken.set(taken.get() + 1);
                }
                (Some(_), Err(err)) => {
                    prop_assert!(
                        false,
                        "compiled rendered what the interpreter refuses: {}",
                        err
                    );
                }
                (None, result) => {
                    if !wild && declined.get() < 3 {
                        declined.set(declined.get() + 1);
                        eprintln!(
                            "declined well-formed context ({:?}):\n{ctx:#}",
                            result.as_ref().err()
                        );
                    }
                }
            }
            if interpreted.is_err() {
                failed.set(failed.get() + 1);
            }
            let public = renderer
                .render_text(&TemplateSource::Builtin(Builtin::Job), &ctx)
                .map_err(|err| err.to_string());
            prop_assert_eq!(public, interpreted.map_err(|err| err.to_string()));
            Ok(())
        })
        .unwrap();
    eprintln!(
        "wild={wild}: of {cases} contexts, {} took the compiled path, {} failed",
        taken.get(),
        failed.get()
    );
    (taken.get(), failed.get())
}

#[test]
fn random_well_formed_contexts_take_the_compiled_path() {
    let cases = 400;
    let (taken, failed) = agree(false, cases);
    // Nothing in them is unusual, so the compiled path must take every one.
    assert_eq!(
        failed, 0,
        "the generator made contexts the interpreter refuses"
    );
    assert_eq!(taken, cases, "{taken} of {cases} took the compiled path");
}

#[test]
fn random_contexts_agree_with_the_interpreter() {
    let cases = 800;
    let (taken, failed) = agree(true, cases);
    // Many wild contexts are still well-formed, and many fail: the property
    // must not hold only because one side never happens.
    assert!(
        taken * 10 >= cases,
        "{taken} of {cases} took the compiled path"
    );
    assert!(failed * 10 >= cases, "{failed} of {cases} failed to render");
}
