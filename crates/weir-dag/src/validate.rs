//! Validation of a pipeline's steps, reporting every problem at once: a user
//! who gets one error per `kubectl apply` fixes a five-mistake pipeline in
//! five round trips.

use std::collections::{HashMap, HashSet};

use crate::cycles;
use crate::graph::Node;

/// One thing wrong with a pipeline's steps. Each names the step(s) involved;
/// a step with an empty name is named by its index, as `#2`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A step has an empty name, so nothing can depend on it and its children
    /// could not be named.
    #[error("the step at index {index} has an empty name")]
    EmptyName {
        /// Declaration index of the step.
        index: usize,
    },
    /// Several steps share a name; dependencies on it would be ambiguous.
    #[error("step name `{name}` is used by more than one step (indexes {})", join(.indexes))]
    DuplicateName {
        /// The shared name.
        name: String,
        /// Declaration indices of every step using it, ascending.
        indexes: Vec<usize>,
    },
    /// A step lists itself in `depends_on`.
    #[error("step `{step}` depends on itself")]
    SelfDependency {
        /// The step.
        step: String,
    },
    /// A step depends on a name no step has.
    #[error("step `{step}` depends on `{dependency}`, which is not a step of this pipeline{}",
        .suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownDependency {
        /// The step with the bad dependency.
        step: String,
        /// The name it depends on.
        dependency: String,
        /// An existing step with a close name (small edit distance), if any.
        suggestion: Option<String>,
    },
    /// Steps depend on each other in a loop, so none of them could ever start.
    /// `steps[k + 1]` depends on `steps[k]`, and `steps[0]` on the last one;
    /// the list starts at the earliest-declared step of the loop. Each loop is
    /// reported once.
    #[error("dependency cycle: {} -> {} (each step depends on the one before it)",
        .steps.join(" -> "), .steps.first().map(String::as_str).unwrap_or_default())]
    Cycle {
        /// The steps of the loop, in dependency order.
        steps: Vec<String>,
    },
}

/// Every problem found in a pipeline's steps (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid step graph: {}", join_problems(.problems))]
pub struct InvalidGraph {
    /// The problems, grouped by kind: empty names, duplicate names, then each
    /// step's dependency problems in declaration order, then cycles.
    pub problems: Vec<Problem>,
}

/// What validation learned that the graph keeps.
pub(crate) struct Resolved {
    pub(crate) by_name: HashMap<String, usize>,
    /// Direct dependencies of each step, deduplicated, by ascending index.
    pub(crate) upstream: Vec<Vec<usize>>,
}

/// Checks the steps; on success, returns their resolved dependencies.
pub(crate) fn check(nodes: &[Node]) -> Result<Resolved, InvalidGraph> {
    let mut problems = Vec::new();

    // The first declaration of a duplicated name keeps it, so that the other
    // checks still run and report what they can.
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut duplicates: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if node.name.is_empty() {
            problems.push(Problem::EmptyName { index: i });
            continue;
        }
        if let Some(&first) = by_name.get(&node.name) {
            match duplicates.iter_mut().find(|(name, _)| *name == node.name) {
                Some((_, indexes)) => indexes.push(i),
                None => duplicates.push((&node.name, vec![first, i])),
            }
        } else {
            by_name.insert(node.name.clone(), i);
        }
    }
    problems.extend(
        duplicates
            .into_iter()
            .map(|(name, indexes)| Problem::DuplicateName {
                name: name.to_owned(),
                indexes,
            }),
    );

    let mut upstream = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let mut ups = Vec::new();
        let mut seen = HashSet::new();
        for dep in &node.depends_on {
            if !seen.insert(dep.as_str()) {
                continue;
            }
            if !node.name.is_empty() && *dep == node.name {
                problems.push(Problem::SelfDependency {
                    step: node.name.clone(),
                });
            } else if let Some(&u) = by_name.get(dep) {
                ups.push(u);
            } else {
                problems.push(Problem::UnknownDependency {
                    step: label(nodes, i),
                    dependency: dep.clone(),
                    suggestion: suggest(dep, &node.name, nodes).map(str::to_owned),
                });
            }
        }
        ups.sort_unstable();
        upstream.push(ups);
    }

    // Self-dependencies were left out of the edges so each loop is reported
    // exactly once, as a SelfDependency rather than also as a cycle.
    let mut downstream = vec![Vec::new(); nodes.len()];
    for (i, ups) in upstream.iter().enumerate() {
        for &u in ups {
            downstream[u].push(i);
        }
    }
    for cycle in cycles::find(&downstream) {
        let steps = cycle.into_iter().map(|i| label(nodes, i)).collect();
        problems.push(Problem::Cycle { steps });
    }

    if problems.is_empty() {
        Ok(Resolved { by_name, upstream })
    } else {
        Err(InvalidGraph { problems })
    }
}

/// The name to show for step `i`: its name, or `#i` when it has none.
fn label(nodes: &[Node], i: usize) -> String {
    match nodes.get(i) {
        Some(node) if !node.name.is_empty() => node.name.clone(),
        _ => format!("#{i}"),
    }
}

/// The declared step name closest to `missing`, if it is close enough to be
/// a likely typo: at most one edit per three characters (as rustc does), and
/// fewer edits than `missing` has characters, so `a` never suggests `b`. The
/// step itself is never suggested (that would be a self-dependency).
fn suggest<'a>(missing: &str, own: &str, nodes: &'a [Node]) -> Option<&'a str> {
    let len = missing.chars().count();
    let budget = len.max(3) / 3;
    nodes
        .iter()
        .map(|n| n.name.as_str())
        .filter(|name| !name.is_empty() && *name != own)
        .map(|name| (edit_distance(missing, name), name))
        .filter(|&(d, _)| d <= budget && d < len)
        // min_by_key keeps the first of equals: the earliest-declared step.
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name)
}

/// Levenshtein distance over characters, with two rows of memory.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let replace = prev[j] + usize::from(ca != cb);
            cur[j + 1] = replace.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn join(indexes: &[usize]) -> String {
    let parts: Vec<String> = indexes.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

fn join_problems(problems: &[Problem]) -> String {
    let parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("load", "load"), 0);
        assert_eq!(edit_distance("lod", "load"), 1);
        assert_eq!(edit_distance("extarct", "extract"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
    }
}
