//! Deterministic names: children `{run}-{step}[-{index}]-{attempt}`, scheduled runs
//! `{pipeline}-{yyyymmddhhmm}` ([`crate::schedule::run_name`]).
//!
//! The name is a function of the run, the step, the item and the attempt only, so a
//! controller that restarts after any crash computes the same name again and server-side
//! apply finds the object instead of creating a second one.

/// Longest name a child may have. Jobs put their name into a label on every pod, and label
/// values are limited to 63 characters.
pub const MAX_NAME: usize = 63;

/// The name of the child that carries out `attempt` of `step` (item `index` for forEach).
///
/// Names that would be longer than [`MAX_NAME`] keep their suffix (step, index, attempt —
/// what a human needs to tell children apart) and shorten the run part, adding a hash of
/// the full name so two long run names never collide.
pub fn child_name(run: &str, step: &str, index: Option<u32>, attempt: u32) -> String {
    let suffix = match index {
        Some(i) => format!("{step}-{i}-{attempt}"),
        None => format!("{step}-{attempt}"),
    };
    fit_name(run, &suffix)
}

/// `{head}-{suffix}`, or when that is longer than [`MAX_NAME`], the suffix kept whole with
/// `head` shortened and a hash of the full name added, so two long heads never collide
/// (`{head-prefix}-{hash}-{suffix}`). Deterministic and DNS-safe for DNS-safe inputs.
pub fn fit_name(head: &str, suffix: &str) -> String {
    let full = format!("{head}-{suffix}");
    if full.len() <= MAX_NAME {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(full.as_bytes()) as u32);
    // head prefix + "-" + hash + "-" + suffix must fit.
    let room = MAX_NAME.saturating_sub(suffix.len() + hash.len() + 2);
    let prefix: String = head.chars().take(room).collect();
    let prefix = prefix.trim_end_matches(['-', '.']);
    if prefix.is_empty() {
        // The suffix alone is too long (a 40-character step with a huge index): keep the
        // hash and as much of the suffix as fits, still deterministic and DNS-safe.
        let tail: String = suffix
            .chars()
            .rev()
            .take(MAX_NAME - hash.len() - 1)
            .collect();
        let tail: String = tail.chars().rev().collect();
        return format!("{hash}-{}", tail.trim_start_matches('-'));
    }
    format!("{prefix}-{hash}-{suffix}")
}

/// 64-bit FNV-1a: tiny, stable across releases and platforms (unlike `DefaultHasher`).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_plain() {
        assert_eq!(
            child_name("nightly-abc12", "load", None, 1),
            "nightly-abc12-load-1"
        );
        assert_eq!(child_name("r", "spark", Some(3), 2), "r-spark-3-2");
    }

    #[test]
    fn long_names_fit_and_stay_distinct() {
        let run_a = "a".repeat(60);
        let run_b = format!("{}b", "a".repeat(59));
        let a = child_name(&run_a, "transform", Some(12), 3);
        let b = child_name(&run_b, "transform", Some(12), 3);
        assert!(a.len() <= MAX_NAME && b.len() <= MAX_NAME, "{a} / {b}");
        assert_ne!(a, b);
        assert!(a.ends_with("-transform-12-3"));
        assert_eq!(
            a,
            child_name(&run_a, "transform", Some(12), 3),
            "deterministic"
        );
    }

    #[test]
    fn pathological_suffixes_still_fit() {
        let step = "s".repeat(40);
        let name = child_name(&"r".repeat(63), &step, Some(u32::MAX), u32::MAX);
        assert!(name.len() <= MAX_NAME, "{name}");
        assert!(!name.starts_with('-') && !name.ends_with('-'));
    }
}
