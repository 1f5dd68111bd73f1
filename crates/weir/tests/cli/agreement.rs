//! `weir check` and the Pipeline controller's `Valid` condition give one answer: each input
//! goes through the CLI's check path (`check_sources`, as `weir check -f` reads a file) and
//! through the Pipeline planner (`plan_pipeline`, what the controller calls), and both must
//! agree on validity and name the same problems.
//!
//! Regression: a Pipeline whose template used an undeclared parameter was `Valid=True` on
//! the cluster (its runs then failed with `TemplateError`) while `weir check` rejected it.

use weir_api::v1alpha1::Pipeline;
use weir_cli::offline::{Source, check_sources};
use weir_core::pipeline::plan_pipeline;

const HEAD: &str =
    "apiVersion: weir.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: p\n  namespace: ns\nspec:\n";

/// (case, spec body under `spec:`, valid).
const CASES: &[(&str, &str, bool)] = &[
    (
        "one job step",
        "  steps:\n  - name: a\n    job: {image: busybox, command: [echo, hi]}\n",
        true,
    ),
    (
        "a declared parameter",
        "  params: [{name: day, default: '2025-01-01'}]\n  steps:\n  - name: a\n    job: {image: busybox, args: ['{{ params.day }}']}\n",
        true,
    ),
    (
        "an undeclared parameter",
        "  steps:\n  - name: a\n    job: {image: busybox, args: ['{{ params.day }}']}\n",
        false,
    ),
    (
        "an undeclared parameter in an inline template",
        "  steps:\n  - name: a\n    job:\n      template:\n        inline: |\n          apiVersion: batch/v1\n          kind: Job\n          metadata: {name: x}\n          spec:\n            template:\n              spec:\n                restartPolicy: Never\n                containers: [{name: main, image: '{{ params.image }}'}]\n",
        false,
    ),
    (
        "a cycle",
        "  steps:\n  - name: a\n    dependsOn: [b]\n    job: {image: busybox}\n  - name: b\n    dependsOn: [a]\n    job: {image: busybox}\n",
        false,
    ),
    (
        "an unknown dependency",
        "  steps:\n  - name: a\n    dependsOn: [nope]\n    job: {image: busybox}\n",
        false,
    ),
    (
        "forEach with both items and fromStep",
        "  steps:\n  - name: a\n    job: {image: busybox}\n  - name: b\n    dependsOn: [a]\n    forEach: {items: [1], fromStep: a}\n    job: {image: busybox}\n",
        false,
    ),
    (
        "forEach over a step it does not depend on",
        "  steps:\n  - name: a\n    job: {image: busybox}\n  - name: b\n    forEach: {fromStep: a}\n    job: {image: busybox, args: ['{{ item }}']}\n",
        false,
    ),
    (
        "forEach over an upstream result, used by item",
        "  steps:\n  - name: a\n    job: {image: busybox}\n  - name: b\n    dependsOn: [a]\n    forEach: {fromStep: a}\n    job: {image: busybox, args: ['{{ item.path }}']}\n",
        true,
    ),
    (
        "an unknown built-in template",
        "  steps:\n  - name: a\n    job: {image: busybox, template: {builtin: jobb}}\n",
        false,
    ),
    (
        "a template in a ConfigMap not given (not checked)",
        "  steps:\n  - name: a\n    job:\n      template: {configMapKeyRef: {name: tpl, key: job.yaml}}\n",
        true,
    ),
    (
        "a schedule with six cron fields",
        "  triggers: {schedule: {cron: '0 0 * * * *'}}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a cron minute out of range",
        "  triggers: {schedule: {cron: '61 * * * *'}}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "an unknown time zone",
        "  triggers: {schedule: {cron: '0 3 * * *', timeZone: Europe/Berln}}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a schedule parameter rendering an undefined name",
        "  params: [{name: day}]\n  triggers: {schedule: {cron: '@daily', params: {day: '{{ schedule.dat }}'}}}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a schedule setting an undeclared parameter",
        "  triggers: {schedule: {cron: '@daily', params: {day: x}}}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a good schedule",
        "  params: [{name: day}]\n  triggers: {schedule: {cron: '0 3 * * MON-FRI', timeZone: Europe/Berlin, catchupLimit: 2, params: {day: '{{ schedule.intervalStart[:10] }}'}}}\n  steps:\n  - name: a\n    job: {image: busybox, args: ['{{ params.day }}']}\n",
        true,
    ),
    (
        "a bucket glob with a character class",
        "  params: [{name: uri}]\n  triggers: {buckets: [{name: t, uri: 's3://landing/in/', pattern: '[ab].csv'}]}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a bucket name too short",
        "  params: [{name: uri}]\n  triggers: {buckets: [{name: t, uri: 's3://ab/in/'}]}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a poll interval under a second",
        "  params: [{name: uri}]\n  triggers: {buckets: [{name: t, uri: 's3://landing/in/', pollInterval: 500ms}]}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a bucket trigger passing an undeclared parameter",
        "  triggers: {buckets: [{name: t, uri: 's3://landing/in/', param: file}]}\n  steps:\n  - name: a\n    job: {image: busybox}\n",
        false,
    ),
    (
        "a good bucket trigger",
        "  params: [{name: uri}]\n  triggers: {buckets: [{name: t, uri: 'gs://landing/in/', pattern: '*.parquet', pollInterval: 5s}]}\n  steps:\n  - name: a\n    job: {image: busybox, args: ['{{ params.uri }}']}\n",
        true,
    ),
    (
        "a bad step timeout",
        "  steps:\n  - name: a\n    timeout: 5 minutes\n    job: {image: busybox}\n",
        false,
    ),
];

#[test]
fn weir_check_and_the_valid_condition_agree() {
    for (case, body, valid) in CASES {
        let yaml = format!("{HEAD}{body}");
        let report = check_sources(&[Source {
            name: "p.yaml".into(),
            bytes: yaml.clone().into_bytes(),
        }]);
        let pipeline: Pipeline = serde_saphyr::from_str(&yaml).expect(case);
        let plan = plan_pipeline(&pipeline, &[], jiff::Timestamp::UNIX_EPOCH);
        let cond = plan
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "Valid")
            .expect(case);
        assert_eq!(
            report.findings.is_empty(),
            *valid,
            "{case}: weir check said {:?}",
            report.findings
        );
        assert_eq!(
            cond.status == "True",
            *valid,
            "{case}: Valid says {}",
            cond.message
        );
        for f in &report.findings {
            let said = match &f.path {
                Some(path) => format!("{path}: {}", f.message),
                None => f.message.clone(),
            };
            assert!(
                cond.message.contains(&said),
                "{case}: weir check found {said:?}, the Valid condition says {:?}",
                cond.message
            );
        }
    }
}

/// A Job template kept in a ConfigMap, using `params.image`.
const CM_TEMPLATE: &str = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: '{{ params.image }}'}]\n";

/// The same agreement when the ConfigMap a step names is known: `weir check` reads it among
/// its files, the controller reads it from the cluster (every key of it) when it checks a
/// changed spec.
#[test]
fn weir_check_and_the_valid_condition_agree_on_config_map_templates() {
    // (case, params under spec, key the step names, valid)
    let cases = [
        (
            "declared parameter",
            "  params: [{name: image}]\n",
            "job.yaml",
            true,
        ),
        ("undeclared parameter", "", "job.yaml", false),
        (
            "a key the ConfigMap lacks",
            "  params: [{name: image}]\n",
            "other.yaml",
            false,
        ),
    ];
    for (case, params, key, valid) in cases {
        let yaml = format!(
            "{HEAD}{params}  steps:\n  - name: a\n    job:\n      template: {{configMapKeyRef: {{name: tpl, key: {key}}}}}\n"
        );
        let indented: String = CM_TEMPLATE.lines().map(|l| format!("    {l}\n")).collect();
        let cm = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: tpl, namespace: ns}}\ndata:\n  job.yaml: |\n{indented}"
        );
        let report = check_sources(&[
            Source {
                name: "p.yaml".into(),
                bytes: yaml.clone().into_bytes(),
            },
            Source {
                name: "cm.yaml".into(),
                bytes: cm.into_bytes(),
            },
        ]);
        let pipeline: Pipeline = serde_saphyr::from_str(&yaml).expect(case);
        let texts = std::collections::BTreeMap::from([(
            ("tpl".to_string(), "job.yaml".to_string()),
            CM_TEMPLATE.to_string(),
        )]);
        let inputs = weir_core::check::CheckInputs {
            renderer: weir_core::check::shared_renderer(),
            config_templates: &texts,
        };
        let plan = weir_core::pipeline::plan_pipeline_with(
            &pipeline,
            &[],
            jiff::Timestamp::UNIX_EPOCH,
            Some(&inputs),
        );
        let cond = plan
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "Valid")
            .expect(case);
        assert_eq!(
            report.findings.is_empty(),
            valid,
            "{case}: weir check said {:?}",
            report.findings
        );
        assert_eq!(
            cond.status == "True",
            valid,
            "{case}: Valid says {}",
            cond.message
        );
        for f in &report.findings {
            let said = match &f.path {
                Some(path) => format!("{path}: {}", f.message),
                None => f.message.clone(),
            };
            assert!(
                cond.message.contains(&said),
                "{case}: weir check found {said:?}, the Valid condition says {:?}",
                cond.message
            );
        }
    }
}
