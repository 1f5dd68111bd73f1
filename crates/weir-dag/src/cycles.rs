//! Finding dependency loops to report them by name.
//!
//! Listing every elementary cycle can take exponential time, so this reports,
//! for each step that lies on a loop, the shortest loop through it, with
//! duplicates (the same loop found from another of its steps) removed. Every
//! step on a loop is thus named in at least one reported loop, and a loop is
//! never reported twice.

use std::collections::VecDeque;

/// Loops in the graph whose edges are `downstream[u] = [v, …]` (v depends on
/// u). Each loop is a list of steps, `loop[k + 1]` depending on `loop[k]` and
/// `loop[0]` on the last, starting at its lowest index; loops come ordered by
/// that first index. Self-edges must have been removed.
pub(crate) fn find(downstream: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let component = strongly_connected(downstream);
    let mut sizes = vec![0usize; downstream.len()];
    for &c in &component {
        sizes[c] += 1;
    }
    let mut loops: Vec<Vec<usize>> = Vec::new();
    for start in 0..downstream.len() {
        // A step is on a loop exactly when its component has another step
        // (self-edges are excluded, so a lone step is never on one).
        if sizes[component[start]] < 2 {
            continue;
        }
        if let Some(found) = shortest_loop(downstream, &component, start) {
            let found = rotate_to_min(found);
            if !loops.contains(&found) {
                loops.push(found);
            }
        }
    }
    loops.sort();
    loops
}

/// Breadth-first search from `start` back to itself, staying inside its
/// strongly connected component (any loop through `start` does).
fn shortest_loop(
    downstream: &[Vec<usize>],
    component: &[usize],
    start: usize,
) -> Option<Vec<usize>> {
    let home = component[start];
    let mut parent: Vec<Option<usize>> = vec![None; downstream.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &downstream[v] {
            if component[w] != home {
                continue;
            }
            if w == start {
                let mut path = vec![v];
                let mut at = v;
                while let Some(p) = parent[at] {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            if parent[w].is_none() && w != start {
                parent[w] = Some(v);
                queue.push_back(w);
            }
        }
    }
    None
}

fn rotate_to_min(mut path: Vec<usize>) -> Vec<usize> {
    if let Some(k) = path
        .iter()
        .enumerate()
        .min_by_key(|&(_, &v)| v)
        .map(|(k, _)| k)
    {
        path.rotate_left(k);
    }
    path
}

/// Tarjan's algorithm, iterative so a long chain of steps cannot overflow
/// the stack. Returns the component id of each step.
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let n = adj.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut component = vec![UNSEEN; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut next_component = 0;
    // Each frame is a step and how many of its edges were already followed.
    let mut frames: Vec<(usize, usize)> = Vec::new();

    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        frames.push((root, 0));
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;

        while let Some(frame) = frames.last_mut() {
            let (v, edge) = *frame;
            if let Some(&w) = adj[v].get(edge) {
                frame.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    frames.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = next_component;
                    if w == v {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn reports_each_loop_once_from_its_lowest_step() {
        // 0 -> 1 -> 2 -> 0 and 1 -> 3 -> 1; 4 hangs off the first loop.
        let downstream = vec![vec![1], vec![2, 3], vec![0, 4], vec![1], vec![]];
        assert_eq!(find(&downstream), vec![vec![0, 1, 2], vec![1, 3]]);
    }

    #[test]
    fn acyclic_graph_has_no_loops() {
        let downstream = vec![vec![1, 2], vec![2], vec![]];
        assert!(find(&downstream).is_empty());
    }
}
