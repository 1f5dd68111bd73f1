//! Readiness (which steps to start, skip or fail now) and the outcome of a
//! run, computed from the step states the planner observed.

use std::num::NonZeroUsize;

use crate::graph::Graph;
use crate::state::{Decision, NodeState};

/// The states slice handed to the graph does not have one state per step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one state per step ({expected}), got {got}")]
pub struct StateCountMismatch {
    /// Steps in the graph.
    pub expected: usize,
    /// States given.
    pub got: usize,
}

/// What the planner should do now. Every list is in topological order and a
/// step appears in at most one list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Pending steps to start now (create their first attempt).
    pub start: Vec<usize>,
    /// Pending steps to mark `Skipped`.
    pub skip: Vec<usize>,
    /// Pending steps to mark `UpstreamFailed`.
    pub upstream_failed: Vec<usize>,
    /// Pending steps whose rule is met but that the concurrency cap holds
    /// back; they stay `Pending` (useful for a "waiting for a slot" message).
    pub throttled: Vec<usize>,
}

impl Readiness {
    /// True when nothing is to change; with no step `Active` this means the
    /// run is over (a valid graph never stalls).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.start.is_empty() && self.skip.is_empty() && self.upstream_failed.is_empty()
    }
}

/// Where a run stands, judged from its step states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    /// Some step is `Pending` or `Active`.
    Running,
    /// Every step finished and every leaf `Succeeded` or was `Skipped`.
    Succeeded,
    /// Every step finished and some leaf `Failed` or is `UpstreamFailed`.
    Failed,
}

impl Graph {
    /// Decides, for every `Pending` step, whether to start, skip or fail it.
    ///
    /// `states` is indexed like the graph. Skips and upstream failures are
    /// propagated to a fixpoint in this one call (in `a -> b -> c` with `a`
    /// failed, `b` and `c` both come back as upstream-failed), and a step
    /// whose rule is met only thanks to such a change (an `AllDone` cleanup
    /// after them, say) is started in the same call.
    ///
    /// `max_parallel` caps how many steps may be `Active` at once: the steps
    /// to start are those whose rule is met, the earliest in topological order
    /// first, up to the cap minus the steps already `Active`; the rest are
    /// `throttled`. The cap never delays a skip or an upstream failure. Steps
    /// returned in `start` must be reported `Active` from then on.
    pub fn readiness(
        &self,
        states: &[NodeState],
        max_parallel: Option<NonZeroUsize>,
    ) -> Result<Readiness, StateCountMismatch> {
        self.check_len(states)?;
        // One pass in topological order reaches the fixpoint: a step's
        // decision depends only on its upstreams, which come before it and
        // are already final for this call.
        let mut now = states.to_vec();
        let mut out = Readiness::default();
        let mut runnable = Vec::new();
        for &i in self.topological_order() {
            if now[i] != NodeState::Pending {
                continue;
            }
            let upstream = self.upstream(i).iter().map(|&u| now[u]);
            match self.node(i).rule.decide(upstream) {
                Decision::Wait => {}
                // A step about to start stays Pending in `now`: for its
                // downstream rules, Pending and Active both mean "not done".
                Decision::Run => runnable.push(i),
                Decision::Skip => {
                    now[i] = NodeState::Skipped;
                    out.skip.push(i);
                }
                Decision::UpstreamFailed => {
                    now[i] = NodeState::UpstreamFailed;
                    out.upstream_failed.push(i);
                }
            }
        }
        let active = states.iter().filter(|&&s| s == NodeState::Active).count();
        let slots = max_parallel.map_or(usize::MAX, |cap| cap.get().saturating_sub(active));
        out.throttled = runnable.split_off(slots.min(runnable.len()));
        out.start = runnable;
        Ok(out)
    }

    /// Where the run stands. It is `Running` while any step is `Pending` or
    /// `Active`. Once all have finished it follows Airflow's leaf rule: it
    /// `Failed` if any leaf (a step nothing depends on) failed or is
    /// upstream-failed, and `Succeeded` otherwise.
    ///
    /// Consequently a failure that a downstream step handles does not fail
    /// the run: if `load` fails and its only downstream `cleanup` (rule
    /// `AllDone`) succeeds, the run succeeded. That is Airflow's behaviour,
    /// and it lets a pipeline declare a failure expected.
    pub fn outcome(&self, states: &[NodeState]) -> Result<RunOutcome, StateCountMismatch> {
        self.check_len(states)?;
        if states.iter().any(|s| !s.is_finished()) {
            return Ok(RunOutcome::Running);
        }
        let leaf_failed = (0..self.len()).any(|i| self.is_leaf(i) && states[i].is_failure());
        Ok(if leaf_failed {
            RunOutcome::Failed
        } else {
            RunOutcome::Succeeded
        })
    }

    fn check_len(&self, states: &[NodeState]) -> Result<(), StateCountMismatch> {
        if states.len() == self.len() {
            Ok(())
        } else {
            Err(StateCountMismatch {
                expected: self.len(),
                got: states.len(),
            })
        }
    }
}
