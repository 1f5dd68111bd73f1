//! Graph validation: each problem's message, all problems at once, and the
//! accessors of a valid graph.

use weir_dag::{Graph, InvalidGraph, Node, Problem, TriggerRule};

fn problems(nodes: Vec<Node>) -> Vec<String> {
    let err: InvalidGraph = Graph::new(nodes).expect_err("graph should be invalid");
    err.problems.iter().map(ToString::to_string).collect()
}

fn none() -> [&'static str; 0] {
    []
}

#[test]
fn empty_name() {
    let got = problems(vec![Node::new("a", none()), Node::new("", ["a"])]);
    assert_eq!(got, ["the step at index 1 has an empty name"]);
}

#[test]
fn duplicate_names_are_reported_once_per_name() {
    let got = problems(vec![
        Node::new("a", none()),
        Node::new("b", none()),
        Node::new("a", none()),
        Node::new("a", none()),
        Node::new("b", none()),
    ]);
    assert_eq!(
        got,
        [
            "step name `a` is used by more than one step (indexes 0, 2, 3)",
            "step name `b` is used by more than one step (indexes 1, 4)",
        ]
    );
}

#[test]
fn self_dependency_is_not_also_a_cycle() {
    let got = problems(vec![Node::new("a", ["a", "a"])]);
    assert_eq!(got, ["step `a` depends on itself"]);
}

#[test]
fn unknown_dependency_suggests_a_close_name() {
    let got = problems(vec![
        Node::new("extract", none()),
        Node::new("load", ["extarct"]),
        Node::new("report", ["lod", "publish"]),
    ]);
    assert_eq!(
        got,
        [
            "step `load` depends on `extarct`, which is not a step of this pipeline \
             (did you mean `extract`?)",
            "step `report` depends on `lod`, which is not a step of this pipeline \
             (did you mean `load`?)",
            "step `report` depends on `publish`, which is not a step of this pipeline",
        ]
    );
}

#[test]
fn unknown_dependency_never_suggests_the_step_itself_or_a_far_name() {
    let err = Graph::new(vec![
        Node::new("b", none()),
        Node::new("load", ["loa", "a"]),
    ])
    .expect_err("unknown dependencies");
    assert_eq!(
        err.problems,
        [
            // `load` is one edit away but would be a self-dependency.
            Problem::UnknownDependency {
                step: "load".into(),
                dependency: "loa".into(),
                suggestion: None,
            },
            // One edit away from `b`, but that is the whole name.
            Problem::UnknownDependency {
                step: "load".into(),
                dependency: "a".into(),
                suggestion: None,
            },
        ]
    );
}

#[test]
fn unnamed_step_is_named_by_its_index() {
    let got = problems(vec![Node::new("", ["nope"])]);
    assert_eq!(
        got,
        [
            "the step at index 0 has an empty name",
            "step `#0` depends on `nope`, which is not a step of this pipeline",
        ]
    );
}

#[test]
fn cycle_is_named_from_its_first_declared_step() {
    // b depends on a, c on b, a on c.
    let got = problems(vec![
        Node::new("c", ["b"]),
        Node::new("a", ["c"]),
        Node::new("b", ["a"]),
        Node::new("d", ["a"]),
    ]);
    assert_eq!(
        got,
        ["dependency cycle: c -> a -> b -> c (each step depends on the one before it)"]
    );
}

#[test]
fn each_cycle_is_reported_once() {
    // Two loops sharing `a`: a -> b -> a and a -> c -> a.
    let got = problems(vec![
        Node::new("a", ["b", "c"]),
        Node::new("b", ["a"]),
        Node::new("c", ["a"]),
    ]);
    assert_eq!(
        got,
        [
            "dependency cycle: a -> b -> a (each step depends on the one before it)",
            "dependency cycle: a -> c -> a (each step depends on the one before it)",
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = Graph::new(vec![
        Node::new("a", ["b"]),
        Node::new("b", ["a", "zzz"]),
        Node::new("a", none()),
        Node::new("c", ["c"]),
        Node::new("", none()),
    ])
    .expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid step graph: the step at index 4 has an empty name; \
         step name `a` is used by more than one step (indexes 0, 2); \
         step `b` depends on `zzz`, which is not a step of this pipeline; \
         step `c` depends on itself; \
         dependency cycle: a -> b -> a (each step depends on the one before it)"
    );
}

#[test]
fn empty_pipeline_is_valid() {
    let graph = Graph::new(Vec::new()).unwrap();
    assert!(graph.is_empty());
    assert!(graph.topological_order().is_empty());
}

#[test]
fn valid_graph_accessors() {
    // Declared out of order on purpose: `report` first.
    let graph = Graph::new(vec![
        Node::new("report", ["load", "check", "load"]),
        Node::new("extract", none()),
        Node::new("load", ["extract"]),
        Node::new("check", ["extract"]).with_rule(TriggerRule::AllDone),
        Node::new("notify", none()).with_rule(TriggerRule::Always),
    ])
    .unwrap();
    assert_eq!(graph.len(), 5);
    assert_eq!(graph.index_of("check"), Some(3));
    assert_eq!(graph.index_of("nope"), None);
    assert_eq!(graph.node(3).rule, TriggerRule::AllDone);
    // A dependency listed twice counts once.
    assert_eq!(graph.upstream(0), [2, 3]);
    assert_eq!(graph.downstream(1), [2, 3]);
    assert!(graph.is_leaf(0) && graph.is_leaf(4) && !graph.is_leaf(2));
    // Peers keep declaration order: extract before notify, load before check.
    assert_eq!(graph.topological_order(), [1, 2, 3, 0, 4]);
    assert_eq!(graph.downstream_closure(1), [2, 3, 0]);
    assert_eq!(graph.downstream_closure(2), [0]);
    assert!(graph.downstream_closure(0).is_empty());
}
