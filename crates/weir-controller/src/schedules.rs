//! Cron schedules, a phase of the Pipeline reconcile: `weir_core::schedule` decides which
//! scheduled times are due (catch-up, deadline, suspend, DST); this creates their runs
//! (named after the scheduled time, so a crash between the creates and the status write
//! creates nothing twice) and records `lastScheduleTime` in the planned status, which the
//! reconcile writes before it deletes any run.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use weir_api::reason::EventReason;
use weir_api::v1alpha1::{Pipeline, PipelineRun};
use weir_core::Event;
use weir_core::pipeline::PipelinePlan;
use weir_core::schedule::{Schedule, StartedBy, scheduled_run};

use crate::buckets::{PollCtx, valid};
use crate::error::Error;

/// Starts the scheduled runs that are due and records the schedule's progress in `plan`.
/// Returns when the next scheduled time comes.
pub(crate) async fn fire(
    cx: &PollCtx<'_>,
    pipeline: &Pipeline,
    ns: &str,
    plan: &mut PipelinePlan,
) -> Result<Option<Duration>, Error> {
    let Some(spec) = &pipeline.spec.triggers.schedule else {
        return Ok(None);
    };
    // An invalid schedule is reported by `Valid`; nothing fires until it is fixed.
    let Ok(schedule) = Schedule::new(spec)
        .map_err(|_| ())
        .and_then(|s| match valid(plan) {
            true => Ok(s),
            false => Err(()),
        })
    else {
        return Ok(None);
    };
    let now = jiff::Timestamp::now();
    let created = pipeline
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now, |t| t.0);
    let last = plan.status.last_schedule_time.as_ref().map(|t| t.0);
    let decision = schedule.due(last, created, now);
    let api: Api<PipelineRun> = Api::namespaced(cx.client.clone(), ns);
    let name = pipeline.name_any();
    for interval in &decision.start {
        cx.fence.check()?;
        let run = match scheduled_run(&name, &schedule, spec, *interval, StartedBy::Schedule) {
            Ok(run) => run,
            Err(e) => {
                // A parameter that does not render for this interval: reported, not retried.
                plan.events.push(Event {
                    warning: true,
                    reason: EventReason::InvalidSpec,
                    message: format!("scheduled run at {}: {e}", interval.time()),
                });
                continue;
            }
        };
        let run_name = run.name_any();
        match api.create(&PostParams::default(), &run).await {
            Ok(_) => {
                tracing::info!(pipeline = %name, run = %run_name, "scheduled run created");
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!(run = %run_name, "the scheduled run exists already");
            }
            Err(source) => {
                return Err(Error::CreateRun {
                    name: run_name,
                    source,
                });
            }
        }
    }
    if let Some(message) = decision.skipped_message() {
        plan.events.push(Event {
            warning: true,
            reason: EventReason::ScheduleSkipped,
            message,
        });
    }
    let recorded = decision.last_schedule_time.map(Time);
    if recorded != plan.status.last_schedule_time {
        plan.status.last_schedule_time = recorded;
        // Written at once, like a bucket trigger's state: before any deletion.
        plan.urgent = true;
    }
    Ok(decision.next_check.map(|t| {
        let wait = now.duration_until(t).unsigned_abs();
        wait.max(Duration::from_millis(200))
    }))
}
