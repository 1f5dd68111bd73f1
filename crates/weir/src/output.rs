//! How the verbs print: output formats, tables, durations and the text of `weir describe`,
//! in one place so every verb looks alike.

use std::process::ExitCode;

use clap::ValueEnum;
#[cfg(feature = "cluster")]
use comfy_table::{Table, presets::NOTHING};
#[cfg(feature = "cluster")]
use kube::ResourceExt;
#[cfg(feature = "cluster")]
use weir_api::v1alpha1::{PipelineRun, PipelineRunStatus, StepStatus};

use crate::error::fail;

/// Output formats for commands that show objects.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// A table (or text) for people.
    Table,
    /// The object(s) as YAML.
    Yaml,
    /// The object(s) as JSON.
    Json,
}

/// A duration for a table column: from `start` to `end` (or `now` while running).
pub fn duration(
    start: Option<jiff::Timestamp>,
    end: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> String {
    let Some(start) = start else {
        return String::new();
    };
    let secs = end.unwrap_or(now).duration_since(start).as_secs().max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

/// A borderless table with `header`, like kubectl's.
#[cfg(feature = "cluster")]
pub fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut t = Table::new();
    t.load_style(NOTHING);
    t.set_header(header);
    t
}

/// Prints `v` as YAML on stdout.
pub fn print_yaml<T: serde::Serialize>(v: &T) -> ExitCode {
    match serde_saphyr::to_string(v) {
        Ok(y) => {
            print!("{y}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// Prints `v` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(v: &T) -> ExitCode {
    match serde_json::to_string_pretty(v) {
        Ok(j) => {
            println!("{j}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

#[cfg(feature = "cluster")]
/// The text of `weir describe run`: a header, then one row per step.
pub fn describe_text(run: &PipelineRun, now: jiff::Timestamp) -> String {
    let s: PipelineRunStatus = run.status.clone().unwrap_or_default();
    let mut out = String::new();
    out.push_str(&format!("Name:      {}\n", run.name_any()));
    out.push_str(&format!(
        "Pipeline:  {}\n",
        run.spec.pipeline_ref.as_deref().unwrap_or("(inline)")
    ));
    out.push_str(&format!("Phase:     {}\n", s.phase.as_str()));
    if let Some(p) = &s.progress {
        out.push_str(&format!("Progress:  {p}\n"));
    }
    if let Some(t) = &s.start_time {
        out.push_str(&format!("Started:   {}\n", t.0));
    }
    if let Some(t) = &s.completion_time {
        out.push_str(&format!("Finished:  {}\n", t.0));
    }
    if let Some(m) = &s.message {
        out.push_str(&format!("Message:   {m}\n"));
    }
    if !s.params.is_empty() {
        let ps: Vec<String> = s.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("Params:    {}\n", ps.join(" ")));
    }
    let mut t = table(["STEP", "PHASE", "ATTEMPT", "DURATION", "REASON", "CHILDREN"]);
    for st in &s.steps {
        t.add_row(step_row(st, now));
    }
    out.push_str(&format!("\n{t}\n"));
    out
}

#[cfg(feature = "cluster")]
fn step_row(st: &StepStatus, now: jiff::Timestamp) -> [String; 6] {
    let reason = match (&st.reason, &st.message) {
        (Some(r), Some(m))
            if !st.phase.is_finished() || st.phase != weir_api::v1alpha1::StepPhase::Succeeded =>
        {
            let m: String = m.chars().take(60).collect();
            format!("{r}: {m}")
        }
        (Some(r), _) => r.to_string(),
        _ => String::new(),
    };
    [
        st.name.clone(),
        st.phase.as_str().to_string(),
        st.attempt.to_string(),
        duration(
            st.start_time.as_ref().map(|t| t.0),
            st.finish_time.as_ref().map(|t| t.0),
            now,
        ),
        reason,
        st.children.join(","),
    ]
}
