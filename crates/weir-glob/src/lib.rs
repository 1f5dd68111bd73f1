//! weir-glob: glob patterns over object keys, matched against the part of a key below a
//! listed prefix. One meaning for `weir-data schema-groups --glob` and for the `pattern` of a
//! Pipeline's bucket trigger, so a pattern that works in one works the same in the other.
//!
//! `*` matches any run of characters within one path segment (it does not cross `/`), `?` one
//! character other than `/`, and `**` any run of characters across segments; `**/` also
//! matches no directory at all, so `**/*.parquet` finds Parquet files at every depth and
//! `*.parquet` only those directly under the prefix ([`Glob::matches`]). Character classes
//! and braces are refused rather than taken literally, so a pattern never silently matches
//! less than it seems to.
//!
//! Bucket triggers read a pattern the way `.gitignore` does ([`Glob::matches_at_any_depth`]):
//! one without `/` matches the key's last segment at any depth, so `*.parquet` starts runs
//! for `a.parquet` and `dt=1/a.parquet` alike; one with `/` is anchored at the prefix.
//!
//! This crate has no dependencies and does no I/O: weir-core checks trigger patterns with it.

/// A checked glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    /// Checks `pattern`; the error says what is not supported.
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("an empty glob matches nothing".to_owned());
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\'))
        {
            return Err(format!(
                "glob {pattern:?}: {c:?} is not supported (only *, ** and ?)"
            ));
        }
        Ok(Glob {
            pattern: pattern.chars().collect(),
        })
    }

    /// Whether `key` (relative to the prefix) matches, anchored at the prefix: `*.parquet`
    /// matches `a.parquet` but not `dt=1/a.parquet` (weir-data's `--glob`).
    pub fn matches(&self, key: &str) -> bool {
        let key: Vec<char> = key.chars().collect();
        matches(&self.pattern, &key)
    }

    /// Whether `key` (relative to the prefix) matches, as a bucket trigger reads its
    /// `pattern`: a pattern without `/` is matched against the key's last segment, at any
    /// depth (`*.parquet` matches `dt=1/a.parquet`); one with `/` is anchored, as
    /// [`Glob::matches`].
    pub fn matches_at_any_depth(&self, key: &str) -> bool {
        if self.pattern.contains(&'/') {
            return self.matches(key);
        }
        let name = key.rsplit('/').next().unwrap_or(key);
        self.matches(name)
    }
}

fn matches(p: &[char], s: &[char]) -> bool {
    match p {
        [] => s.is_empty(),
        ['*', '*', '/', rest @ ..] => {
            // Zero directories, or skip to just after any later '/'.
            matches(rest, s)
                || s.iter()
                    .enumerate()
                    .any(|(i, &c)| c == '/' && matches(rest, &s[i + 1..]))
        }
        ['*', '*', rest @ ..] => (0..=s.len()).any(|i| matches(rest, &s[i..])),
        ['*', rest @ ..] => {
            let segment_end = s.iter().position(|&c| c == '/').unwrap_or(s.len());
            (0..=segment_end).any(|i| matches(rest, &s[i..]))
        }
        ['?', rest @ ..] => s.first().is_some_and(|&c| c != '/') && matches(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && matches(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn stars_stay_in_their_segment_and_double_stars_cross() {
        let table = [
            ("*.parquet", "a.parquet", true),
            ("*.parquet", "dt=1/a.parquet", false),
            ("*.parquet", "a.parquet.tmp", false),
            ("**/*.parquet", "a.parquet", true),
            ("**/*.parquet", "dt=1/h=2/a.parquet", true),
            ("dt=*/*.parquet", "dt=1/a.parquet", true),
            ("dt=*/*.parquet", "dt=1/x/a.parquet", false),
            ("**", "anything/at/all", true),
            ("part-????.parquet", "part-0001.parquet", true),
            ("part-????.parquet", "part-01/1.parquet", false),
            ("_SUCCESS", "_SUCCESS", true),
        ];
        for (pattern, key, want) in table {
            let glob = Glob::new(pattern).unwrap();
            assert_eq!(glob.matches(key), want, "{pattern} vs {key}");
        }
    }

    #[test]
    fn trigger_patterns_without_a_slash_match_at_any_depth() {
        let table = [
            ("*.parquet", "a.parquet", true),
            ("*.parquet", "dt=1/h=2/a.parquet", true),
            ("*.parquet", "dt=1/a.parquet.tmp", false),
            ("*.parquet", "a.parquet/", false),
            ("_SUCCESS", "dt=1/_SUCCESS", true),
            ("dt=*/*.parquet", "dt=1/a.parquet", true),
            ("dt=*/*.parquet", "x/dt=1/a.parquet", false),
            ("**/*.csv", "a/b/c.csv", true),
        ];
        for (pattern, key, want) in table {
            let glob = Glob::new(pattern).unwrap();
            assert_eq!(glob.matches_at_any_depth(key), want, "{pattern} vs {key}");
        }
    }

    #[test]
    fn classes_and_braces_are_refused() {
        assert!(Glob::new("[ab].parquet").is_err());
        assert!(Glob::new("{a,b}.parquet").is_err());
        assert!(Glob::new("").is_err());
    }
}
