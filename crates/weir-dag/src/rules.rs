//! Trigger rules: when a step may start, judged from its upstream steps.
//!
//! The semantics are Airflow's (`airflow/utils/trigger_rule.py` and the
//! `TriggerRuleDep` that evaluates it with `flag_upstream_failed` set, as the
//! scheduler does), so that a pipeline ported from Airflow behaves the same.

use crate::state::{Decision, NodeState};

/// When a step may start, judged from the states of the steps it depends on.
///
/// Rules count only *finished* upstreams (`Succeeded`, `Failed`, `Skipped`,
/// `UpstreamFailed`); `Pending` and `Active` ones are "not done yet". In each
/// table below "failed" means `Failed` or `UpstreamFailed` — Airflow counts
/// both — and the first matching row wins.
///
/// Two cases bypass the tables, as in Airflow: a step with **no upstream** is
/// `Run` under every rule, and [`TriggerRule::Always`] is always `Run`.
///
/// Note that several rules decide before every upstream is done: `AllSuccess`
/// gives up at the first failure or skip, `OneSuccess` starts at the first
/// success and `OneFailed` at the first failure, while the others run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TriggerRule {
    /// Every upstream succeeded (Airflow `all_success`, the default).
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | any failed (even while others are still active) | `UpstreamFailed` |
    /// | any `Skipped` | `Skip` |
    /// | all `Succeeded` | `Run` |
    /// | otherwise | `Wait` |
    #[default]
    AllSuccess,
    /// Every upstream failed (Airflow `all_failed`): for cleanup or alerting
    /// steps that only make sense when everything before them broke.
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | any `Succeeded` or `Skipped` | `Skip` |
    /// | all failed | `Run` |
    /// | otherwise | `Wait` |
    AllFailed,
    /// Every upstream finished, however (Airflow `all_done`).
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | all finished | `Run` |
    /// | otherwise | `Wait` |
    AllDone,
    /// At least one upstream succeeded (Airflow `one_success`); starts at the
    /// first success without waiting for the others.
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | all finished and all `Skipped` | `Skip` |
    /// | all finished and none `Succeeded` | `UpstreamFailed` |
    /// | any `Succeeded` | `Run` |
    /// | otherwise | `Wait` |
    OneSuccess,
    /// At least one upstream failed (Airflow `one_failed`); starts at the
    /// first failure without waiting for the others.
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | all finished and none failed | `Skip` |
    /// | any failed | `Run` |
    /// | otherwise | `Wait` |
    OneFailed,
    /// No upstream failed: each succeeded or was skipped (Airflow
    /// `none_failed`). Unlike `AllSuccess` it runs after skipped branches —
    /// even when *every* upstream was skipped.
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | any failed (even while others are still active) | `UpstreamFailed` |
    /// | all `Succeeded` or `Skipped` | `Run` |
    /// | otherwise | `Wait` |
    NoneFailed,
    /// No upstream was skipped (Airflow `none_skipped`); failures do not stop
    /// it.
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | any `Skipped` (even while others are still active) | `Skip` |
    /// | all finished | `Run` |
    /// | otherwise | `Wait` |
    NoneSkipped,
    /// No dependency at all (Airflow `always`): `Run` at once, even while its
    /// upstreams are still pending. Its `depends_on` only orders the graph
    /// (topological order, `downstream_closure`).
    ///
    /// | upstreams | decision |
    /// |---|---|
    /// | anything | `Run` |
    Always,
}

impl TriggerRule {
    /// Every rule, in declaration order (for exhaustive tests and for mapping
    /// API enums onto this one).
    pub const ALL: [Self; 8] = [
        Self::AllSuccess,
        Self::AllFailed,
        Self::AllDone,
        Self::OneSuccess,
        Self::OneFailed,
        Self::NoneFailed,
        Self::NoneSkipped,
        Self::Always,
    ];

    /// Airflow's name for the rule (`all_success`, …), for messages that users
    /// coming from Airflow will recognise.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllSuccess => "all_success",
            Self::AllFailed => "all_failed",
            Self::AllDone => "all_done",
            Self::OneSuccess => "one_success",
            Self::OneFailed => "one_failed",
            Self::NoneFailed => "none_failed",
            Self::NoneSkipped => "none_skipped",
            Self::Always => "always",
        }
    }

    /// What to do with a `Pending` step that has this rule, given the current
    /// states of its upstream steps (one entry per upstream; for a fanned-out
    /// upstream the planner may pass one entry per child, which is how
    /// Airflow counts mapped task instances).
    #[must_use]
    pub fn decide<I>(self, upstream: I) -> Decision
    where
        I: IntoIterator<Item = NodeState>,
    {
        let t = Tally::of(upstream);
        if t.total == 0 || self == Self::Always {
            return Decision::Run;
        }
        let all_done = t.done == t.total;
        match self {
            Self::AllSuccess if t.failed > 0 => Decision::UpstreamFailed,
            Self::AllSuccess if t.skipped > 0 => Decision::Skip,
            Self::AllSuccess if t.succeeded == t.total => Decision::Run,

            Self::AllFailed if t.succeeded + t.skipped > 0 => Decision::Skip,
            Self::AllFailed if t.failed == t.total => Decision::Run,

            Self::AllDone if all_done => Decision::Run,

            Self::OneSuccess if all_done && t.skipped == t.total => Decision::Skip,
            Self::OneSuccess if all_done && t.succeeded == 0 => Decision::UpstreamFailed,
            Self::OneSuccess if t.succeeded > 0 => Decision::Run,

            Self::OneFailed if all_done && t.failed == 0 => Decision::Skip,
            Self::OneFailed if t.failed > 0 => Decision::Run,

            Self::NoneFailed if t.failed > 0 => Decision::UpstreamFailed,
            Self::NoneFailed if t.succeeded + t.skipped == t.total => Decision::Run,

            Self::NoneSkipped if t.skipped > 0 => Decision::Skip,
            Self::NoneSkipped if all_done => Decision::Run,

            _ => Decision::Wait,
        }
    }
}

/// Counts of upstream states, the only thing Airflow's rules look at.
#[derive(Default)]
struct Tally {
    total: usize,
    done: usize,
    succeeded: usize,
    /// `Failed` and `UpstreamFailed` together: no rule tells them apart.
    failed: usize,
    skipped: usize,
}

impl Tally {
    fn of<I: IntoIterator<Item = NodeState>>(states: I) -> Self {
        let mut t = Self::default();
        for state in states {
            t.total += 1;
            t.done += usize::from(state.is_finished());
            match state {
                NodeState::Succeeded => t.succeeded += 1,
                NodeState::Failed | NodeState::UpstreamFailed => t.failed += 1,
                NodeState::Skipped => t.skipped += 1,
                NodeState::Pending | NodeState::Active => {}
            }
        }
        t
    }
}
