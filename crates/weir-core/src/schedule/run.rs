//! The PipelineRun a scheduled time becomes, the same whether the controller's schedule or
//! `weir backfill` creates it: its name, labels, annotations and rendered parameters.

use std::collections::BTreeMap;

use weir_api::labels;
use weir_api::v1alpha1::{PipelineRun, PipelineRunSpec, ScheduleTrigger};

use super::{DataInterval, ParamError, Schedule, render_params, run_name};
use crate::check::shared_renderer;
use crate::render::label_value;

/// Who creates a scheduled run: the `weir.dev/started-by` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedBy {
    /// The controller, at the scheduled time.
    Schedule,
    /// `weir backfill`.
    Backfill,
}

impl StartedBy {
    /// The annotation's value (also a metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            StartedBy::Schedule => "schedule",
            StartedBy::Backfill => "backfill",
        }
    }
}

/// The run of `pipeline` for `interval`: named [`run_name`] of its scheduled time, labelled
/// with the pipeline, annotated with who started it, the scheduled time and the interval's
/// start (RFC 3339, UTC), with the schedule's `params` rendered for the interval. Create it;
/// `AlreadyExists` means it was created before.
pub fn scheduled_run(
    pipeline: &str,
    schedule: &Schedule,
    spec: &ScheduleTrigger,
    interval: DataInterval,
    by: StartedBy,
) -> Result<PipelineRun, ParamError> {
    let params = render_params(
        shared_renderer(),
        spec,
        &interval.context(schedule.time_zone()),
    )?;
    let mut run = PipelineRun::new(
        &run_name(pipeline, interval.time()),
        PipelineRunSpec {
            pipeline_ref: Some(pipeline.to_string()),
            params,
            ..Default::default()
        },
    );
    run.metadata.labels = Some(BTreeMap::from([(
        labels::PIPELINE.to_string(),
        label_value(pipeline),
    )]));
    run.metadata.annotations = Some(BTreeMap::from([
        (labels::STARTED_BY.to_string(), by.as_str().to_string()),
        (labels::SCHEDULED_AT.to_string(), interval.end.to_string()),
        (
            labels::INTERVAL_START.to_string(),
            interval.start.to_string(),
        ),
    ]));
    Ok(run)
}
