//! A YAML file as documents, each with its own text and the line of every key in it.
//!
//! Values come from serde-saphyr (the same YAML reading as everywhere else in weir); this
//! module only walks the parser's events once to learn where each document starts and ends
//! and on which line each key and list item sits, so a problem found in the JSON value
//! (`spec.steps[2].dependsOn`) can point at the line to fix.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};

/// Deeper paths than this are not indexed: problems there point at the nearest indexed
/// ancestor. serde-saphyr refuses documents nested deeper than 64 levels anyway.
const MAX_INDEXED_DEPTH: usize = 128;

/// At most this many keys and items are indexed per file; larger files still parse, their
/// later problems fall back to an ancestor's or the document's line.
const MAX_INDEXED_NODES: usize = 200_000;

/// One YAML document of a file.
#[derive(Debug, Clone)]
pub(crate) struct RawDocument<'a> {
    /// The document's own text (from its start to its end marker).
    pub text: &'a str,
    /// The file's line (1-based) where the document's text starts (its `---`, if any).
    pub start_line: usize,
    /// The file's line of the document's content (after any `---`), for problems about the
    /// document as a whole.
    pub content_line: usize,
    /// Where its keys and items are.
    pub lines: LineIndex,
}

/// A YAML syntax error, with the file's line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Line in the file.
    pub line: usize,
    /// Column in the file.
    pub column: usize,
    /// What the parser said.
    pub message: String,
}

/// The line of each key (`spec.steps`) and list item (`spec.steps[2]`) of a document.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineIndex {
    lines: HashMap<String, usize>,
    /// Literal block scalars (`key: |`): the line of their text's first line, so a line
    /// inside an inline template maps to a line of the file.
    blocks: HashMap<String, usize>,
}

impl LineIndex {
    /// The file line of line `n` (1-based) of the literal block scalar at `path`.
    pub fn block_line(&self, path: &str, n: usize) -> Option<usize> {
        let first = self.blocks.get(path)?;
        (first + n).checked_sub(1)
    }

    /// The line of `path`, or of its nearest indexed ancestor. Paths are written like
    /// serde_path_to_error writes them: `spec.steps[2].retries.limit`.
    pub fn find(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(line) = self.lines.get(path) {
                return Some(*line);
            }
            path = parent(path)?;
        }
    }
}

/// `a.b[2]` → `a.b`, `a.b` → `a`, `a` → none.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Splits `text` into documents. Documents before a syntax error are returned with it.
pub(crate) fn split(text: &str) -> (Vec<RawDocument<'_>>, Option<SyntaxError>) {
    let mut walk = Walk::default();
    let mut docs = Vec::new();
    let mut start: Option<Marker> = None;
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(ok) => ok,
            Err(e) => {
                let mark = e.marker();
                let info = e.info();
                let message = if info.is_empty() {
                    format!("{:?}", e.kind())
                } else {
                    info
                };
                let error = SyntaxError {
                    line: mark.line().max(1),
                    column: mark.col() + 1,
                    message,
                };
                return (docs, Some(error));
            }
        };
        match event {
            Event::DocumentStart(..) => {
                start = Some(span.start);
                walk = Walk::default();
            }
            Event::DocumentEnd => {
                let Some(begin) = start.take() else { continue };
                let from = byte_offset(text, &begin);
                let to = byte_offset(text, &span.end).max(from);
                let start_line = begin.line().max(1);
                let walked = std::mem::take(&mut walk);
                docs.push(RawDocument {
                    text: text.get(from..to).unwrap_or_default(),
                    start_line,
                    content_line: walked.root_line.unwrap_or(start_line),
                    lines: walked.index,
                });
            }
            Event::MappingStart(..) => {
                walk.note_root(span.start.line());
                walk.open(span.start.line(), Frame::map);
            }
            Event::SequenceStart(..) => {
                walk.note_root(span.start.line());
                walk.open(span.start.line(), Frame::seq);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                walk.stack.pop();
            }
            Event::Scalar(value, style, ..) => {
                walk.note_root(span.start.line());
                let literal = style == ScalarStyle::Literal;
                walk.scalar(&value, span.start.line(), literal);
            }
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                walk.scalar("", span.start.line(), false);
            }
            _ => {}
        }
    }
    (docs, None)
}

/// The byte offset of a parser position; the parser counts characters and, for string
/// input, bytes too.
fn byte_offset(text: &str, mark: &Marker) -> usize {
    match mark.byte_offset() {
        Some(b) if text.is_char_boundary(b) => b,
        _ => text
            .char_indices()
            .nth(mark.index())
            .map_or(text.len(), |(b, _)| b),
    }
}

/// A mapping or sequence being walked.
#[derive(Debug)]
struct Frame {
    path: String,
    seq: bool,
    /// Mappings: the key whose value comes next, if a key was just read.
    key: Option<String>,
    /// Sequences: the next item's index.
    next: usize,
}

impl Frame {
    fn map(path: String) -> Frame {
        Frame {
            path,
            seq: false,
            key: None,
            next: 0,
        }
    }

    fn seq(path: String) -> Frame {
        Frame {
            path,
            seq: true,
            key: None,
            next: 0,
        }
    }
}

#[derive(Debug, Default)]
struct Walk {
    stack: Vec<Frame>,
    index: LineIndex,
    /// The line of the document's root node.
    root_line: Option<usize>,
}

impl Walk {
    fn note_root(&mut self, line: usize) {
        if self.stack.is_empty() && self.root_line.is_none() {
            self.root_line = Some(line.max(1));
        }
    }

    /// A collection starts: work out its path as a value, then descend.
    fn open(&mut self, line: usize, frame: fn(String) -> Frame) {
        let path = match self.stack.last_mut() {
            // A mapping or sequence used as a key: odd, but valid YAML. Its insides are
            // indexed under `?` so they never shadow a real path.
            Some(top) if !top.seq && top.key.is_none() => {
                top.key = Some("?".into());
                join_key(&top.path, "?")
            }
            _ => self.value_path(line).unwrap_or_default(),
        };
        self.stack.push(frame(path));
    }

    /// A scalar (or alias): a key, a value or a list item.
    fn scalar(&mut self, text: &str, line: usize, literal: bool) {
        if let Some(top) = self.stack.last_mut()
            && !top.seq
            && top.key.is_none()
        {
            let path = join_key(&top.path, text);
            top.key = Some(text.to_string());
            self.record(path, line);
            return;
        }
        let path = self.value_path(line);
        if let Some(path) = path
            && literal
            && self.index.blocks.len() < MAX_INDEXED_NODES
        {
            // The parser points at the first line with text; leading empty lines come first.
            let blank = text.chars().take_while(|c| *c == '\n').count();
            self.index
                .blocks
                .insert(path, line.saturating_sub(blank).max(1));
        }
    }

    /// The path of the value that starts now; records list items' lines.
    fn value_path(&mut self, line: usize) -> Option<String> {
        let top = self.stack.last_mut()?;
        if top.seq {
            let path = format!("{}[{}]", top.path, top.next);
            top.next += 1;
            self.record(path.clone(), line);
            Some(path)
        } else {
            let key = top.key.take().unwrap_or_default();
            Some(join_key(&top.path, &key))
        }
    }

    fn record(&mut self, path: String, line: usize) {
        if self.stack.len() <= MAX_INDEXED_DEPTH && self.index.lines.len() < MAX_INDEXED_NODES {
            self.index.lines.entry(path).or_insert(line.max(1));
        }
    }
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# leading comment
apiVersion: weir.dev/v1alpha1
kind: Pipeline
spec:
  steps:
    - name: a
      dependsOn: [b]
    - name: b
---
kind: ConfigMap
data:
  t: |
    x
";

    #[test]
    fn documents_keep_their_start_lines_and_text() {
        let (docs, err) = split(TEXT);
        assert_eq!(err, None);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].start_line, 2);
        assert!(docs[0].text.starts_with("apiVersion"));
        assert_eq!(docs[1].start_line, 9);
        assert_eq!(docs[1].content_line, 10);
        assert!(docs[1].text.starts_with("---\nkind: ConfigMap"));
    }

    #[test]
    fn keys_and_items_have_their_lines() {
        let (docs, _) = split(TEXT);
        let l = &docs[0].lines;
        assert_eq!(l.find("spec.steps"), Some(5));
        assert_eq!(l.find("spec.steps[1]"), Some(8));
        assert_eq!(l.find("spec.steps[0].dependsOn"), Some(7));
        assert_eq!(l.find("spec.steps[0].dependsOn[0]"), Some(7));
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(l.find("spec.steps[1].job.image"), Some(8));
        assert_eq!(l.find("nope"), None);
        assert_eq!(docs[1].lines.find("data.t"), Some(12));
        assert_eq!(docs[1].lines.block_line("data.t", 1), Some(13));
        let (docs, _) = split("a:\n  t: |\n\n\n    x\n");
        assert_eq!(docs[0].lines.block_line("a.t", 3), Some(5));
    }

    #[test]
    fn syntax_errors_have_a_line_and_column() {
        let (docs, err) = split("a: 1\n---\nb: [1\n");
        assert_eq!(docs.len(), 1);
        let err = err.unwrap_or_else(|| panic!("no error"));
        assert_eq!((err.line, err.column), (3, 4));
    }

    #[test]
    fn empty_and_marker_only_files_have_empty_documents() {
        assert!(split("").0.is_empty());
        let (docs, err) = split("---\n---\n");
        assert_eq!(err, None);
        assert_eq!(docs.len(), 2);
    }
}
