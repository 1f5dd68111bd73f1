//! The workloads, written once for each system: a weir Pipeline and an Argo WorkflowTemplate
//! of the same DAG, whose step pods carry the same kwok knob (`weir.dev/test-run-for`, how
//! long the fake pod runs). Runs reference the stored definition on both sides (a
//! PipelineRun's `pipelineRef`, a Workflow's `workflowTemplateRef`, what `argo submit
//! --from workflowtemplate/…` creates). Children are kept on both sides (weir's default
//! `deletePolicy: Never`, Argo's default: no `podGC`).

use std::fmt::Write as _;

/// The image and command of every step pod (nothing pulls it: kwok runs no container; Argo
/// needs a `command`, else it looks the image's entrypoint up in a registry).
const IMAGE: &str = "example.invalid/bench:1";
const COMMAND: &str = r#"[sh, -c, "true"]"#;

/// The name of the Pipeline / WorkflowTemplate every run references.
pub const DEFINITION: &str = "bench";

/// The DAG of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One step.
    Single,
    /// Ten steps, each depending on the previous one.
    Chain,
    /// One step fanned out over 100 items.
    Fanout,
}

impl Workload {
    /// Parses `single`, `chain` or `fanout`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "single" => Some(Self::Single),
            "chain" => Some(Self::Chain),
            "fanout" => Some(Self::Fanout),
            _ => None,
        }
    }

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Chain => "chain",
            Self::Fanout => "fanout",
        }
    }

    /// Step pods per run.
    pub fn steps(self) -> usize {
        match self {
            Self::Single => 1,
            Self::Chain => 10,
            Self::Fanout => 100,
        }
    }

    /// A human description for the table.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Single => "1 step",
            Self::Chain => "10-step chain",
            Self::Fanout => "100-item fan-out",
        }
    }
}

/// The weir Pipeline of `workload`, its pods running `run_ms`: a Job per step, or with
/// `bare_pods` a Pod per step through a `resource:` step (the prototype of a bare-Pod step
/// mode: success and failure read from the pod's phase, nothing else of a Job's handling).
pub fn pipeline(workload: Workload, run_ms: u64, bare_pods: bool) -> String {
    let mut y = format!(
        "apiVersion: weir.dev/v1alpha1\nkind: Pipeline\nmetadata: {{name: {DEFINITION}}}\n\
         spec:\n  defaults: {{annotations: {{weir.dev/test-run-for: {run_ms}ms}}}}\n  steps:\n"
    );
    let job = if bare_pods {
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: replaced\n  annotations: {{weir.dev/test-run-for: {run_ms}ms}}\n\
             spec:\n  restartPolicy: Never\n  containers:\n  - {{name: main, image: {IMAGE}, command: {COMMAND}}}\n"
        );
        format!(
            "resource: {{template: {{inline: {}}}, successWhen: [{{path: status.phase, values: [Succeeded]}}], \
             failureWhen: [{{path: status.phase, values: [Failed]}}]}}",
            serde_json::Value::String(pod)
        )
    } else {
        format!("job: {{image: {IMAGE}, command: {COMMAND}}}")
    };
    match workload {
        Workload::Single => {
            let _ = writeln!(y, "  - {{name: s0, {job}}}");
        }
        Workload::Chain => {
            for i in 0..10 {
                let deps = if i == 0 {
                    String::new()
                } else {
                    format!("s{}", i - 1)
                };
                let _ = writeln!(y, "  - {{name: s{i}, dependsOn: [{deps}], {job}}}");
            }
        }
        Workload::Fanout => {
            let items: Vec<String> = (0..100).map(|i| i.to_string()).collect();
            let _ = writeln!(
                y,
                "  - {{name: s0, forEach: {{items: [{}]}}, {job}}}",
                items.join(", ")
            );
        }
    }
    y
}

/// The Argo WorkflowTemplate of `workload`, its pods running `run_ms`.
pub fn workflow_template(workload: Workload, run_ms: u64) -> String {
    let entry = if workload == Workload::Single {
        // One step is a container template as the entrypoint: one pod, no DAG node, the
        // way an Argo user writes a one-step workflow.
        "step"
    } else {
        "main"
    };
    let mut y = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {{name: {DEFINITION}}}\n\
         spec:\n  entrypoint: {entry}\n  templates:\n\
         \x20 - name: step\n    metadata: {{annotations: {{weir.dev/test-run-for: {run_ms}ms}}}}\n\
         \x20   container: {{image: {IMAGE}, command: {COMMAND}}}\n"
    );
    match workload {
        Workload::Single => {}
        Workload::Chain => {
            y.push_str("  - name: main\n    dag:\n      tasks:\n");
            for i in 0..10 {
                let deps = if i == 0 {
                    String::new()
                } else {
                    format!(", dependencies: [s{}]", i - 1)
                };
                let _ = writeln!(y, "      - {{name: s{i}, template: step{deps}}}");
            }
        }
        Workload::Fanout => {
            y.push_str(
                "  - name: main\n    dag:\n      tasks:\n\
                 \x20     - {name: s0, template: step, withSequence: {count: \"100\"}}\n",
            );
        }
    }
    y
}

/// A run of the stored definition, named `name`, for `system`.
pub fn run(argo: bool, name: &str) -> String {
    if argo {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: {name}}}\n\
             spec: {{workflowTemplateRef: {{name: {DEFINITION}}}}}\n"
        )
    } else {
        format!(
            "apiVersion: weir.dev/v1alpha1\nkind: PipelineRun\nmetadata: {{name: {name}}}\n\
             spec: {{pipelineRef: {DEFINITION}}}\n"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_is_yaml_with_the_steps_it_promises() {
        for w in [Workload::Single, Workload::Chain, Workload::Fanout] {
            let p: serde_json::Value =
                serde_saphyr::from_str(&pipeline(w, 1000, false)).expect("yaml");
            let bare: serde_json::Value =
                serde_saphyr::from_str(&pipeline(w, 1000, true)).expect("yaml");
            let pod = bare["spec"]["steps"][0]["resource"]["template"]["inline"]
                .as_str()
                .expect("inline pod");
            assert!(pod.contains("kind: Pod"), "{pod}");
            let steps = p["spec"]["steps"].as_array().expect("steps");
            let pods: usize = steps
                .iter()
                .map(|s| {
                    s["forEach"]["items"]
                        .as_array()
                        .map_or(1, |items| items.len())
                })
                .sum();
            assert_eq!(pods, w.steps(), "{w:?}");
            let t: serde_json::Value =
                serde_saphyr::from_str(&workflow_template(w, 1000)).expect("yaml");
            assert_eq!(
                t["spec"]["templates"][0]["metadata"]["annotations"]["weir.dev/test-run-for"],
                "1000ms"
            );
        }
        let r: serde_json::Value = serde_saphyr::from_str(&run(true, "x")).expect("yaml");
        assert_eq!(r["spec"]["workflowTemplateRef"]["name"], DEFINITION);
    }
}
