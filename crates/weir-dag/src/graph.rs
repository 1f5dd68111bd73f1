//! The validated step graph: steps by index, their edges both ways, and one
//! fixed topological order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::rules::TriggerRule;
use crate::validate::{self, InvalidGraph};

/// One step as the pipeline declares it; `weir-core` builds these from the CRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The step's name, unique within the pipeline and not empty.
    pub name: String,
    /// Names of the steps this one depends on. Order does not matter, and a
    /// name listed twice counts once (so a rule never counts an upstream twice).
    pub depends_on: Vec<String>,
    /// When the step may start, given the states of `depends_on`.
    pub rule: TriggerRule,
}

impl Node {
    /// A step under the default rule ([`TriggerRule::AllSuccess`]).
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        depends_on: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            depends_on: depends_on.into_iter().map(Into::into).collect(),
            rule: TriggerRule::default(),
        }
    }

    /// The same step under another rule.
    #[must_use]
    pub fn with_rule(mut self, rule: TriggerRule) -> Self {
        self.rule = rule;
        self
    }
}

/// A pipeline's steps, known to form a DAG with every dependency resolved.
///
/// Steps are addressed by their declaration index (`0..len()`); every slice
/// of states this crate takes is aligned with those indices. Methods taking an
/// index panic if it is out of range, as slice indexing does: indices only
/// come from this graph, so a bad one is a bug in the caller.
#[derive(Debug, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
    by_name: HashMap<String, usize>,
    upstream: Vec<Vec<usize>>,
    downstream: Vec<Vec<usize>>,
    order: Vec<usize>,
    /// `position[i]` is where step `i` sits in `order`, to sort by it cheaply.
    position: Vec<usize>,
}

impl Graph {
    /// Validates the steps and builds the graph, or returns every problem
    /// found (empty or duplicate names, unknown or self dependencies, cycles)
    /// so the user can fix them all in one edit.
    pub fn new(nodes: Vec<Node>) -> Result<Self, InvalidGraph> {
        let resolved = validate::check(&nodes)?;
        let upstream = resolved.upstream;
        let mut downstream = vec![Vec::new(); nodes.len()];
        for (i, ups) in upstream.iter().enumerate() {
            for &u in ups {
                downstream[u].push(i);
            }
        }
        let order = topological_order(&upstream, &downstream);
        let mut position = vec![0; nodes.len()];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos;
        }
        Ok(Self {
            nodes,
            by_name: resolved.by_name,
            upstream,
            downstream,
            order,
            position,
        })
    }

    /// Number of steps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True for a pipeline with no steps (valid; its runs succeed at once).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// All steps, in declaration order.
    #[must_use]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The step at index `i`.
    #[must_use]
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// The index of the step called `name`, if there is one.
    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The steps `i` depends on directly, by ascending index.
    #[must_use]
    pub fn upstream(&self, i: usize) -> &[usize] {
        &self.upstream[i]
    }

    /// The steps that depend on `i` directly, by ascending index.
    #[must_use]
    pub fn downstream(&self, i: usize) -> &[usize] {
        &self.downstream[i]
    }

    /// True if no step depends on `i`; the run outcome is judged on these.
    #[must_use]
    pub fn is_leaf(&self, i: usize) -> bool {
        self.downstream[i].is_empty()
    }

    /// Every step, upstreams before downstreams. Among steps free to go at
    /// the same point, the one declared first comes first, so the order is
    /// stable under edits that do not touch the dependencies.
    #[must_use]
    pub fn topological_order(&self) -> &[usize] {
        &self.order
    }

    /// Every step that depends on `i`, directly or transitively, in
    /// topological order and without `i` itself. `weir retry --step` re-runs
    /// `i` and exactly these.
    #[must_use]
    pub fn downstream_closure(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![i];
        let mut found = Vec::new();
        while let Some(v) = stack.pop() {
            for &w in &self.downstream[v] {
                if !seen[w] {
                    seen[w] = true;
                    found.push(w);
                    stack.push(w);
                }
            }
        }
        self.sort_topologically(&mut found);
        found
    }

    /// Sorts step indices by their place in [`Graph::topological_order`].
    fn sort_topologically(&self, steps: &mut [usize]) {
        steps.sort_unstable_by_key(|&i| self.position[i]);
    }
}

/// Kahn's algorithm, always taking the lowest ready index next so that peers
/// keep their declaration order. The graph is acyclic here (validation
/// rejected cycles), so every step is emitted.
fn topological_order(upstream: &[Vec<usize>], downstream: &[Vec<usize>]) -> Vec<usize> {
    let mut missing: Vec<usize> = upstream.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = missing
        .iter()
        .enumerate()
        .filter(|&(_, &m)| m == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(upstream.len());
    while let Some(Reverse(v)) = ready.pop() {
        order.push(v);
        for &w in &downstream[v] {
            missing[w] -= 1;
            if missing[w] == 0 {
                ready.push(Reverse(w));
            }
        }
    }
    order
}
