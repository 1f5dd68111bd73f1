//! Files → YAML documents as JSON values, each knowing its file and the lines of its keys;
//! and the one-line problem reports (`FILE:LINE: PATH: MESSAGE`) everything else produces.

use std::fmt;

use serde_json::Value;

use super::yaml::{LineIndex, split};

/// A file's name (as the user wrote it, for messages) and its bytes.
#[derive(Debug, Clone)]
pub struct Source {
    /// How messages name the file.
    pub name: String,
    /// Its content; anything at all, checked for UTF-8 here.
    pub bytes: Vec<u8>,
}

/// One problem, as `weir check` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub file: String,
    /// The line (1-based): the field's own line when known, else its document's.
    pub line: Option<usize>,
    /// The column, for YAML syntax errors only.
    pub column: Option<usize>,
    /// The field path inside the resource (`spec.steps[2].dependsOn`), if the problem has one.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// One line, whatever the file: line breaks in names, keys and messages are escaped.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", one_line(&self.file))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        if let Some(path) = &self.path {
            write!(f, ": {}", one_line(path))?;
        }
        write!(f, ": {}", one_line(&self.message))
    }
}

fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        text.replace('\n', "\\n").replace('\r', "\\r").into()
    } else {
        text.into()
    }
}

/// One YAML document holding something (empty documents are dropped).
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// The file's name.
    pub file: String,
    /// The file's line where the document's content starts.
    pub start_line: usize,
    /// Its content.
    pub value: Value,
    lines: LineIndex,
}

impl Document {
    /// The file line of line `n` of the literal block scalar (`key: |`) at `path`.
    pub fn block_line(&self, path: &str, n: usize) -> Option<usize> {
        self.lines.block_line(path, n)
    }

    /// A finding about `path` in this document, on the path's line when it can be found.
    pub fn finding(&self, path: &str, message: impl Into<String>) -> Finding {
        let line = self
            .lines
            .find(path)
            .filter(|l| *l >= self.start_line)
            .unwrap_or(self.start_line);
        self.finding_at(line, path, message)
    }

    /// A finding about `path` on a given line.
    pub fn finding_at(&self, line: usize, path: &str, message: impl Into<String>) -> Finding {
        Finding {
            file: self.file.clone(),
            line: Some(line),
            column: None,
            path: (!path.is_empty()).then(|| path.to_string()),
            message: message.into(),
        }
    }
}

/// Reads every document of every source. Problems that stop a file or a document from being
/// read at all (not UTF-8, YAML syntax, values serde-saphyr refuses) are findings; the
/// documents that could be read are returned either way.
pub(crate) fn load(sources: &[Source]) -> (Vec<Document>, Vec<Finding>) {
    let mut docs = Vec::new();
    let mut findings = Vec::new();
    for source in sources {
        let before = docs.len();
        let seen_problem = findings.len();
        load_one(source, &mut docs, &mut findings);
        if docs.len() == before && findings.len() == seen_problem {
            findings.push(Finding {
                file: source.name.clone(),
                line: Some(1),
                column: None,
                path: None,
                message: "no resources in this file (it is empty or holds only empty documents)"
                    .into(),
            });
        }
    }
    (docs, findings)
}

fn load_one(source: &Source, docs: &mut Vec<Document>, findings: &mut Vec<Finding>) {
    let file_finding = |line: usize, column: Option<usize>, message: String| Finding {
        file: source.name.clone(),
        line: Some(line),
        column,
        path: None,
        message,
    };
    let text = match std::str::from_utf8(&source.bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let valid = source.bytes.get(..at).unwrap_or_default();
            let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
            let column = 1 + valid.iter().rev().take_while(|b| **b != b'\n').count();
            findings.push(file_finding(
                line,
                Some(column),
                format!("not a YAML file: invalid UTF-8 at byte {at}"),
            ));
            return;
        }
    };
    let (raws, syntax) = split(text);
    for raw in raws {
        match serde_saphyr::from_str::<Value>(raw.text) {
            Ok(Value::Null) => {}
            Ok(value) => docs.push(Document {
                file: source.name.clone(),
                start_line: raw.content_line,
                value,
                lines: raw.lines,
            }),
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
                let message = e.without_snippet().to_string();
                let message = message.lines().next().unwrap_or_default();
                let suffix = format!(" at line {line}, column {column}");
                let message = message.strip_suffix(&suffix).unwrap_or(message);
                findings.push(file_finding(
                    raw.start_line + line.max(1) - 1,
                    Some(column.max(1)),
                    format!("invalid YAML: {message}"),
                ));
            }
        }
    }
    if let Some(e) = syntax {
        findings.push(file_finding(
            e.line,
            Some(e.column),
            format!("invalid YAML: {}", strip_position(&e.message)),
        ));
    }
}

/// The parser's message without its own "at line X column Y" (the finding has them).
fn strip_position(message: &str) -> &str {
    match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &[u8]) -> Vec<Source> {
        vec![Source {
            name: "f.yaml".into(),
            bytes: text.to_vec(),
        }]
    }

    fn lines(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn empty_files_are_reported() {
        for text in [&b""[..], b"---\n", b"---\n---\n", b"# only a comment\n"] {
            let (docs, findings) = load(&src(text));
            assert!(docs.is_empty());
            assert_eq!(
                lines(&findings),
                ["f.yaml:1: no resources in this file (it is empty or holds only empty documents)"]
            );
        }
    }

    #[test]
    fn binary_garbage_is_one_finding() {
        let (docs, findings) = load(&src(b"a: 1\n\xff\xfe\x00garbage"));
        assert!(docs.is_empty());
        assert_eq!(
            lines(&findings),
            ["f.yaml:2:1: not a YAML file: invalid UTF-8 at byte 5"]
        );
    }

    #[test]
    fn findings_stay_on_one_line() {
        let f = Finding {
            file: "a\nb".into(),
            line: Some(1),
            column: None,
            path: Some("x\ry".into()),
            message: "two\nlines".into(),
        };
        assert_eq!(f.to_string(), "a\\nb:1: x\\ry: two\\nlines");
    }

    #[test]
    fn value_errors_point_into_the_file() {
        let (docs, findings) = load(&src(b"a: 1\n---\nb: 1\nb: 2\n"));
        assert_eq!(docs.len(), 1);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .to_string()
                .starts_with("f.yaml:4:1: invalid YAML: duplicate mapping key"),
            "{}",
            findings[0]
        );
    }
}
