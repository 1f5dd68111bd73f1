//! Table tests of every trigger rule against Airflow's `TriggerRuleDep`.

use weir_dag::Decision::{self, Run, Skip, UpstreamFailed as Uf, Wait};
use weir_dag::{NodeState, TriggerRule};

use crate::states;

/// Checks each `(upstream states, expected decision)` row, in every order of
/// the upstreams (a rule must not care about their order).
fn check(rule: TriggerRule, table: &[(&str, Decision)]) {
    for &(ups, want) in table {
        let ups = states(ups);
        for perm in permutations(&ups) {
            assert_eq!(
                rule.decide(perm.clone()),
                want,
                "{rule:?} with upstreams {perm:?}"
            );
        }
    }
}

fn permutations(items: &[NodeState]) -> Vec<Vec<NodeState>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for k in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(k);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            out.push(tail);
        }
    }
    out
}

#[test]
fn no_upstream_runs_under_every_rule() {
    for rule in TriggerRule::ALL {
        assert_eq!(rule.decide([]), Run, "{rule:?}");
    }
}

#[test]
fn all_success() {
    assert_eq!(TriggerRule::default(), TriggerRule::AllSuccess);
    check(
        TriggerRule::AllSuccess,
        &[
            ("S", Run),
            ("SSS", Run),
            ("P", Wait),
            ("SA", Wait),
            ("SP", Wait),
            ("F", Uf),
            ("U", Uf),
            // Gives up at the first failure, without waiting for the others.
            ("FA", Uf),
            ("UP", Uf),
            ("K", Skip),
            ("KA", Skip),
            ("SK", Skip),
            // A failure outranks a skip.
            ("FK", Uf),
        ],
    );
}

#[test]
fn all_failed() {
    check(
        TriggerRule::AllFailed,
        &[
            ("F", Run),
            ("U", Run),
            ("FU", Run),
            ("FA", Wait),
            ("P", Wait),
            ("S", Skip),
            ("K", Skip),
            // Skips as soon as one upstream cannot fail any more.
            ("SA", Skip),
            ("FK", Skip),
            ("FS", Skip),
        ],
    );
}

#[test]
fn all_done() {
    check(
        TriggerRule::AllDone,
        &[
            ("S", Run),
            ("F", Run),
            ("K", Run),
            ("U", Run),
            ("SFKU", Run),
            ("SA", Wait),
            ("FP", Wait),
        ],
    );
}

#[test]
fn one_success() {
    check(
        TriggerRule::OneSuccess,
        &[
            ("S", Run),
            // Starts at the first success, without waiting for the others.
            ("SA", Run),
            ("SP", Run),
            ("SF", Run),
            ("SK", Run),
            ("FA", Wait),
            ("KA", Wait),
            ("P", Wait),
            ("K", Skip),
            ("KK", Skip),
            ("F", Uf),
            ("U", Uf),
            ("FK", Uf),
        ],
    );
}

#[test]
fn one_failed() {
    check(
        TriggerRule::OneFailed,
        &[
            ("F", Run),
            ("U", Run),
            // Starts at the first failure, without waiting for the others.
            ("FA", Run),
            ("UP", Run),
            ("FS", Run),
            ("SA", Wait),
            ("KP", Wait),
            ("S", Skip),
            ("K", Skip),
            ("SK", Skip),
        ],
    );
}

#[test]
fn none_failed() {
    check(
        TriggerRule::NoneFailed,
        &[
            ("S", Run),
            ("SK", Run),
            // Unlike all_success, it runs even when every upstream skipped.
            ("K", Run),
            ("KK", Run),
            ("SA", Wait),
            ("KP", Wait),
            ("F", Uf),
            ("U", Uf),
            ("FA", Uf),
            ("SKF", Uf),
        ],
    );
}

#[test]
fn none_skipped() {
    check(
        TriggerRule::NoneSkipped,
        &[
            ("S", Run),
            // Failures do not stop it.
            ("F", Run),
            ("SFU", Run),
            ("SA", Wait),
            ("FP", Wait),
            ("K", Skip),
            ("KA", Skip),
            ("SK", Skip),
            ("FK", Skip),
        ],
    );
}

#[test]
fn always() {
    check(
        TriggerRule::Always,
        &[
            ("P", Run),
            ("A", Run),
            ("PA", Run),
            ("S", Run),
            ("F", Run),
            ("K", Run),
            ("U", Run),
        ],
    );
}

/// Every rule decides once all upstreams finished; this is why a valid graph
/// can never stall with pending steps and nothing active.
#[test]
fn no_rule_waits_once_every_upstream_finished() {
    let finished = states("SFKU");
    for rule in TriggerRule::ALL {
        for a in &finished {
            for b in &finished {
                for c in &finished {
                    let ups = [*a, *b, *c];
                    assert_ne!(rule.decide(ups), Wait, "{rule:?} with {ups:?}");
                }
            }
        }
    }
}

#[test]
fn names_are_airflows() {
    let names: Vec<&str> = TriggerRule::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "all_success",
            "all_failed",
            "all_done",
            "one_success",
            "one_failed",
            "none_failed",
            "none_skipped",
            "always"
        ]
    );
}
