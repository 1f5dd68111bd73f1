//! Glob patterns over object keys, matched against the part of a key below the listed prefix.
//!
//! `*` matches any run of characters within one path segment (it does not cross `/`), `?` one
//! character other than `/`, and `**` any run of characters across segments; `**/` also
//! matches no directory at all, so `**/*.parquet` finds Parquet files at every depth and
//! `*.parquet` only those directly under the prefix. Character classes and braces are refused
//! rather than taken literally, so a pattern never silently matches less than it seems to.

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

    /// A bucket trigger's pattern: one without `/` matches the last segment of a key at any
    /// depth (`*.parquet` finds `a.parquet` and `dt=1/a.parquet`), like a `.gitignore` line;
    /// one with `/` matches the whole key below the prefix, as [`Glob::new`] does.
    pub fn any_depth(pattern: &str) -> Result<Self, String> {
        match pattern.contains('/') {
            true => Self::new(pattern),
            false => {
                Self::new(pattern)?;
                Self::new(&format!("**/{pattern}"))
            }
        }
    }

    /// Whether `key` (relative to the prefix) matches.
    pub fn matches(&self, key: &str) -> bool {
        let key: Vec<char> = key.chars().collect();
        matches(&self.pattern, &key)
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
            ("dt=*/*.parquet", "dt=1/x/a.parquet", false),
            ("_SUCCESS", "x/_SUCCESS", true),
        ];
        for (pattern, key, want) in table {
            let glob = Glob::any_depth(pattern).unwrap();
            assert_eq!(glob.matches(key), want, "{pattern} vs {key}");
        }
        assert!(Glob::any_depth("[a].csv").is_err());
    }

    #[test]
    fn classes_and_braces_are_refused() {
        assert!(Glob::new("[ab].parquet").is_err());
        assert!(Glob::new("{a,b}.parquet").is_err());
        assert!(Glob::new("").is_err());
    }
}
