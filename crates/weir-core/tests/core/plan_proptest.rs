//! Property test of the planner as a state machine: random small DAGs (random trigger
//! rules, retries, fan-outs, a step cap) with random child outcomes, driven reconcile by
//! reconcile like the controller would, sometimes losing a status patch. The run always
//! ends, every step ends, and no child name is ever applied with two different contents.

use crate::common;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use weir_api::v1alpha1::{ForEach, PipelineSpec, TriggerRule};

const RULES: [TriggerRule; 8] = [
    TriggerRule::AllSuccess,
    TriggerRule::AllFailed,
    TriggerRule::AllDone,
    TriggerRule::OneSuccess,
    TriggerRule::OneFailed,
    TriggerRule::NoneFailed,
    TriggerRule::NoneSkipped,
    TriggerRule::Always,
];

/// One random step: which earlier steps it depends on (bit mask), its rule, its retry
/// limit, and its forEach item count (`None`: no forEach).
type StepGen = (u8, usize, u32, Option<usize>);

fn spec_of(steps: &[StepGen], cap: Option<u32>) -> PipelineSpec {
    let mut spec = dag(&[]);
    for (i, (mask, rule, limit, items)) in steps.iter().enumerate() {
        let mut s = job_step(&format!("s{i}"));
        s.depends_on = (0..i)
            .filter(|d| mask & (1 << d) != 0)
            .map(|d| format!("s{d}"))
            .collect();
        s.trigger_rule = RULES[*rule];
        if *limit > 0 {
            s.retries = Some(retries(*limit, "", 1));
        }
        s.for_each = items.map(|n| ForEach {
            items: Some((0..n).map(|k| json!(k)).collect()),
            ..Default::default()
        });
        spec.steps.push(s);
    }
    spec.concurrency.max_parallel_steps = cap;
    spec
}

/// A stable pseudo-random bit per child name, so outcomes do not depend on the order the
/// planner happens to create children in.
fn fails(seed: u64, name: &str) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.is_multiple_of(3)
}

fn steps_strategy() -> impl Strategy<Value = Vec<StepGen>> {
    prop::collection::vec(
        (
            any::<u8>(),
            0..RULES.len(),
            0u32..=2,
            prop::option::weighted(0.3, 0usize..=3),
        ),
        1..=6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_dags_always_finish(
        steps in steps_strategy(),
        cap in prop::option::of(1u32..=3),
        seed in any::<u64>(),
        crash_mask in any::<u64>(),
    ) {
        let mut w = World::new(spec_of(&steps, cap));
        w.admit();
        let mut finished = false;
        for round in 0..200u32 {
            if crash_mask & (1 << (round % 64)) != 0 {
                w.crash_after_apply();
                let p = w.reconcile();
                // What the lost reconcile created exists now: the replay adopts it.
                prop_assert!(p.apply.is_empty(), "replay after a lost patch applied {:?}", applied(&p));
            } else {
                w.reconcile();
            }
            if let Some(cap) = cap {
                let running = w
                    .children
                    .iter()
                    .filter(|c| !c.deleting && !c.state.phase.is_terminal())
                    .count();
                prop_assert!(running <= cap as usize, "{} running over a cap of {}", running, cap);
            }
            let status = w.run.status.clone().unwrap_or_default();
            if status.phase.is_finished() {
                for s in &status.steps {
                    prop_assert!(s.phase.is_finished(), "step {} ended {:?}", s.name, s.phase);
                }
                let total = status.steps.len();
                prop_assert_eq!(status.progress, Some(format!("{total}/{total}")));
                finished = true;
                break;
            }
            let running: Vec<String> = w
                .children
                .iter()
                .filter(|c| !c.deleting && !c.state.phase.is_terminal())
                .map(|c| c.name.clone())
                .collect();
            for name in running {
                if fails(seed, &name) {
                    w.fail(&name, "Error");
                } else {
                    w.succeed(&name);
                }
            }
            w.advance(1);
        }
        prop_assert!(finished, "not finished after {} reconciles", w.reconciles);

        // Finished means finished: nothing more is created.
        w.advance(3600);
        let p = w.reconcile();
        prop_assert!(p.apply.is_empty());
        prop_assert!(p.status.phase.is_finished());
    }
}
