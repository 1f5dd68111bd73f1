//! Limits that keep a run's status writable: the API server stores at most 1.5 MiB per
//! object, and a run that cannot record its steps must not go on.

use super::*;

/// Most bytes a run's status may take as JSON. The API server stores at most 1.5 MiB per
/// object; the rest is left for the metadata and spec (the snapshot is in the status).
pub const MAX_STATUS_BYTES: usize = 1024 * 1024;

/// The reason of a run whose status outgrew [`MAX_STATUS_BYTES`] (or that the API server
/// refused as too large).
pub const STATUS_TOO_LARGE: &str = WeirReason::StatusTooLarge.as_str();

/// Drops what can make a status large: step results and per-item details (each item's
/// phase and child stay).
fn shrink(status: &mut PipelineRunStatus) {
    for s in &mut status.steps {
        s.result = None;
        for i in &mut s.items {
            i.result = None;
            i.message = None;
        }
    }
}

/// The status to write instead of one the API server refused as too large: shrunk, and the
/// run failed with `StatusTooLarge` (unfinished steps cancelled). The next reconcile sees a
/// finished run and deletes its children that still run.
pub fn too_large(mut status: PipelineRunStatus, now: Timestamp, detail: &str) -> PipelineRunStatus {
    shrink(&mut status);
    lifecycle::cancel_unfinished(&mut status, WeirReason::StatusTooLarge, now);
    let message = format!("the API server refused the run's status as too large: {detail}");
    status.phase = RunPhase::Failed;
    status.message = Some(message.clone());
    status.completion_time.get_or_insert(Time(now));
    set_condition(
        &mut status.conditions,
        cond::COMPLETE,
        true,
        STATUS_TOO_LARGE,
        &message,
        status.observed_generation,
        now,
    );
    status
}

impl Planner<'_> {
    /// A status past [`MAX_STATUS_BYTES`] could not be written (the API server refuses
    /// objects over 1.5 MiB), and a run that cannot record its steps must not go on: it
    /// fails with `StatusTooLarge`, its live children are deleted, and the results and item
    /// details that made it large are dropped so that this status can be written.
    pub(super) fn bound_status(&mut self) {
        let size = |s: &PipelineRunStatus| serde_json::to_vec(s).map_or(usize::MAX, |v| v.len());
        let bytes = size(&self.status);
        if bytes <= MAX_STATUS_BYTES {
            return;
        }
        let msg = format!(
            "the run's status would take {bytes} bytes, over the limit of {MAX_STATUS_BYTES}; \
             step results and item details were dropped"
        );
        shrink(&mut self.status);
        if !self.status.phase.is_finished() {
            lifecycle::cancel_unfinished(&mut self.status, WeirReason::StatusTooLarge, self.now);
            self.plan.apply.clear();
            self.delete_live_children(|_| true);
            self.fail_run(STATUS_TOO_LARGE, msg);
        }
    }
}
