//! The vocabulary shared by the planner and this crate: what a step is doing
//! now, and what should happen to a step that has not started.

/// What a step of one run is doing, as the planner observed it.
///
/// The planner owns these states (it reads them from the run's status and
/// from the step's Jobs); this crate only reads them and says what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeState {
    /// Not started: no child object was created for it yet.
    Pending,
    /// Started and not finished: running, or waiting for a retry. A step stays
    /// `Active` across its retries because, for its downstream steps, it is not
    /// done until its last attempt is.
    Active,
    /// Finished successfully (its last attempt succeeded).
    Succeeded,
    /// Finished unsuccessfully after its last attempt.
    Failed,
    /// Will not run: its trigger rule said so, or it chose to skip itself.
    Skipped,
    /// Will not run because an upstream failure made its trigger rule
    /// impossible to meet. Counted as a failure by downstream rules and by the
    /// run outcome, like Airflow's `upstream_failed`.
    UpstreamFailed,
}

impl NodeState {
    /// True once the step can no longer change on its own (Airflow's
    /// "finished" states); trigger rules count only these.
    #[must_use]
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Pending | Self::Active)
    }

    /// True for the states a run counts as failures (Airflow's
    /// `failed_states`): `Failed` and `UpstreamFailed`.
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::UpstreamFailed)
    }
}

/// What to do with a `Pending` step, from its trigger rule and its upstream
/// states (see [`crate::TriggerRule::decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Not yet: some upstream step is still pending or active and its outcome
    /// could change the answer.
    Wait,
    /// The rule is met: the step may start (subject to the concurrency cap).
    Run,
    /// The rule can never be met and nothing failed: mark it `Skipped`.
    Skip,
    /// The rule can never be met because something failed upstream: mark it
    /// `UpstreamFailed`.
    UpstreamFailed,
}
