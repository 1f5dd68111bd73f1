//! Property tests on random DAGs.
//!
//! The oracles here are written independently of the crate's code (per-rule
//! predicates, a naive topological sort) so that a shared mistake is unlikely.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;

use proptest::prelude::*;
use weir_dag::{Graph, Node, NodeState, Problem, Readiness, RunOutcome, TriggerRule};

const MAX_STEPS: usize = 12;

/// A random DAG: step `s{k}` may depend only on steps `s{j}` with `j < k`
/// (so there is no cycle), declared in a shuffled order (so declaration order
/// says nothing about the dependencies).
fn arb_dag() -> impl Strategy<Value = Vec<Node>> {
    (1..=MAX_STEPS).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::bool::weighted(0.3), n * n),
            prop::collection::vec(prop::sample::select(TriggerRule::ALL.to_vec()), n),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        )
            .prop_map(move |(edges, rules, declared)| {
                declared
                    .iter()
                    .map(|&k| {
                        let deps = (0..k)
                            .filter(|&j| edges[k * n + j])
                            .map(|j| format!("s{j}"));
                        Node::new(format!("s{k}"), deps).with_rule(rules[k])
                    })
                    .collect()
            })
    })
}

/// The lowest-index step whose upstreams were all emitted, repeatedly.
fn naive_order(graph: &Graph) -> Vec<usize> {
    let mut done = vec![false; graph.len()];
    let mut order = Vec::new();
    while order.len() < graph.len() {
        let next = (0..graph.len())
            .find(|&i| !done[i] && graph.upstream(i).iter().all(|&u| done[u]))
            .unwrap();
        done[next] = true;
        order.push(next);
    }
    order
}

fn is_failure(s: NodeState) -> bool {
    matches!(s, NodeState::Failed | NodeState::UpstreamFailed)
}

fn finished(s: NodeState) -> bool {
    !matches!(s, NodeState::Pending | NodeState::Active)
}

/// May a step with this rule start, given its upstreams' states?
fn allowed(rule: TriggerRule, ups: &[NodeState]) -> bool {
    use NodeState::{Skipped, Succeeded};
    if ups.is_empty() {
        return true;
    }
    match rule {
        TriggerRule::AllSuccess => ups.iter().all(|&s| s == Succeeded),
        TriggerRule::AllFailed => ups.iter().all(|&s| is_failure(s)),
        TriggerRule::AllDone => ups.iter().all(|&s| finished(s)),
        TriggerRule::OneSuccess => ups.contains(&Succeeded),
        TriggerRule::OneFailed => ups.iter().any(|&s| is_failure(s)),
        TriggerRule::NoneFailed => ups.iter().all(|&s| s == Succeeded || s == Skipped),
        TriggerRule::NoneSkipped => ups.iter().all(|&s| finished(s) && s != Skipped),
        TriggerRule::Always => true,
    }
}

/// Could the step ever be allowed, whatever its unfinished upstreams do?
/// Tries every way they could finish.
fn ever_allowed(rule: TriggerRule, ups: &[NodeState]) -> bool {
    let outcomes = [
        NodeState::Succeeded,
        NodeState::Failed,
        NodeState::Skipped,
        NodeState::UpstreamFailed,
    ];
    let open: Vec<usize> = (0..ups.len()).filter(|&k| !finished(ups[k])).collect();
    let mut trial = ups.to_vec();
    let combos = outcomes.len().pow(u32::try_from(open.len()).unwrap());
    (0..combos).any(|mut c| {
        for &k in &open {
            trial[k] = outcomes[c % outcomes.len()];
            c /= outcomes.len();
        }
        allowed(rule, &trial)
    })
}

fn upstream_states(graph: &Graph, i: usize, states: &[NodeState]) -> Vec<NodeState> {
    graph.upstream(i).iter().map(|&u| states[u]).collect()
}

/// Checks one readiness answer against the oracles and returns the states
/// with its skips and upstream failures applied.
fn check_round(
    graph: &Graph,
    states: &[NodeState],
    r: &Readiness,
    cap: Option<NonZeroUsize>,
) -> Result<Vec<NodeState>, TestCaseError> {
    let mut seen = BTreeSet::new();
    let listed = r.start.iter().chain(&r.skip).chain(&r.upstream_failed);
    for &i in listed.chain(&r.throttled) {
        prop_assert!(seen.insert(i), "step {} in two lists: {:?}", i, r);
        prop_assert_eq!(states[i], NodeState::Pending);
    }
    let mut after = states.to_vec();
    for &i in &r.skip {
        after[i] = NodeState::Skipped;
    }
    for &i in &r.upstream_failed {
        after[i] = NodeState::UpstreamFailed;
    }
    for (i, &state) in states.iter().enumerate() {
        if state != NodeState::Pending {
            continue;
        }
        let rule = graph.node(i).rule;
        let ups = upstream_states(graph, i, &after);
        if r.start.contains(&i) || r.throttled.contains(&i) {
            prop_assert!(allowed(rule, &ups), "{} started too early: {:?}", i, ups);
        } else if r.skip.contains(&i) || r.upstream_failed.contains(&i) {
            prop_assert!(
                !ever_allowed(rule, &ups),
                "{} given up too early: {:?}",
                i,
                ups
            );
        } else {
            // Waiting is right only while the rule is unmet yet reachable.
            prop_assert!(!allowed(rule, &ups), "{} left waiting: {:?}", i, ups);
            prop_assert!(ever_allowed(rule, &ups), "{} not given up: {:?}", i, ups);
        }
    }
    let active = states.iter().filter(|&&s| s == NodeState::Active).count();
    if let Some(cap) = cap {
        prop_assert!(active + r.start.len() <= cap.get().max(active));
    }
    if !r.throttled.is_empty() {
        prop_assert!(active + r.start.len() >= cap.map_or(usize::MAX, NonZeroUsize::get));
    }
    Ok(after)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn topological_order_respects_every_edge_and_declaration_order(nodes in arb_dag()) {
        let graph = Graph::new(nodes).unwrap();
        let order = graph.topological_order();
        let mut position = vec![usize::MAX; graph.len()];
        for (p, &i) in order.iter().enumerate() {
            prop_assert_eq!(position[i], usize::MAX, "step {} appears twice", i);
            position[i] = p;
        }
        for i in 0..graph.len() {
            for &u in graph.upstream(i) {
                prop_assert!(position[u] < position[i], "{} must come before {}", u, i);
            }
        }
        prop_assert_eq!(order.to_vec(), naive_order(&graph));
    }

    #[test]
    fn downstream_closure_is_exactly_the_transitive_dependents(nodes in arb_dag()) {
        let graph = Graph::new(nodes).unwrap();
        for i in 0..graph.len() {
            let closure = graph.downstream_closure(i);
            let set: BTreeSet<usize> = closure.iter().copied().collect();
            prop_assert_eq!(set.len(), closure.len(), "no duplicates");
            prop_assert!(!set.contains(&i));
            // Closed: whatever depends on a member (or on i) is a member.
            for &j in closure.iter().chain([i].iter()) {
                for &d in graph.downstream(j) {
                    prop_assert!(set.contains(&d), "{} depends on {} but is missing", d, j);
                }
            }
            // Minimal: every member depends on i or on another member.
            for &j in &closure {
                prop_assert!(graph.upstream(j).iter().any(|u| *u == i || set.contains(u)));
            }
            let order = graph.topological_order();
            let in_order: Vec<usize> = order.iter().copied().filter(|j| set.contains(j)).collect();
            prop_assert_eq!(closure, in_order);
        }
    }

    /// Runs a whole pipeline: readiness, then random outcomes for some active
    /// steps, until nothing is left to do.
    #[test]
    fn readiness_drives_every_run_to_a_sound_end(
        nodes in arb_dag(),
        cap in prop::option::of(1usize..4),
        dice in prop::collection::vec(0u8..8, 64),
    ) {
        let graph = Graph::new(nodes).unwrap();
        let cap = cap.and_then(NonZeroUsize::new);
        let mut states = vec![NodeState::Pending; graph.len()];
        let mut roll = dice.iter().cycle();
        let mut rounds = 0;
        loop {
            rounds += 1;
            prop_assert!(rounds <= 4 * MAX_STEPS + 4, "run did not terminate: {:?}", states);
            let r = graph.readiness(&states, cap).unwrap();

            let mut after = check_round(&graph, &states, &r, cap)?;
            for &i in &r.start {
                after[i] = NodeState::Active;
            }
            states = after;
            let running: Vec<usize> =
                (0..graph.len()).filter(|&i| states[i] == NodeState::Active).collect();
            if running.is_empty() {
                break;
            }
            // Finish some active steps; always at least the first, so the
            // run moves on.
            for (k, &i) in running.iter().enumerate() {
                let d = *roll.next().unwrap();
                states[i] = match d {
                    0..=3 => NodeState::Succeeded,
                    4 | 5 => NodeState::Failed,
                    6 => NodeState::Skipped,
                    _ if k == 0 => NodeState::Succeeded,
                    _ => NodeState::Active,
                };
            }
        }

        prop_assert!(states.iter().all(|&s| finished(s)), "unfinished: {:?}", states);
        prop_assert!(graph.readiness(&states, cap).unwrap().is_empty());
        let leaf_failed = (0..graph.len()).any(|i| graph.is_leaf(i) && is_failure(states[i]));
        let want = if leaf_failed { RunOutcome::Failed } else { RunOutcome::Succeeded };
        prop_assert_eq!(graph.outcome(&states).unwrap(), want);
    }

    /// Adding "a depends on b" where b already depends on a (maybe
    /// transitively) closes a loop; it must be reported through that edge.
    #[test]
    fn injected_back_edge_is_reported_as_a_cycle(nodes in arb_dag(), pick in any::<usize>()) {
        prop_assume!(nodes.len() >= 2);
        let graph = Graph::new(nodes.clone()).unwrap();
        let pairs: Vec<(usize, usize)> = (0..graph.len())
            .flat_map(|a| graph.downstream_closure(a).into_iter().map(move |b| (a, b)))
            .collect();
        let mut nodes = nodes;
        let (a, b) = match pairs.get(pick % pairs.len().max(1)) {
            Some(&pair) => pair,
            None => {
                // No edges at all: make one first.
                let name = nodes[0].name.clone();
                nodes[1].depends_on.push(name);
                (0, 1)
            }
        };
        let (a_name, b_name) = (nodes[a].name.clone(), nodes[b].name.clone());
        nodes[a].depends_on.push(b_name.clone());

        let err = Graph::new(nodes).unwrap_err();
        prop_assert!(!err.problems.is_empty());
        for problem in &err.problems {
            let Problem::Cycle { steps } = problem else {
                return Err(TestCaseError::fail(format!("not a cycle: {problem}")));
            };
            // Every loop goes through the new edge: b, then a (a depends on b).
            let through = (0..steps.len())
                .any(|k| steps[k] == b_name && steps[(k + 1) % steps.len()] == a_name);
            prop_assert!(through, "{} does not go {} -> {}", problem, b_name, a_name);
        }
    }
}
