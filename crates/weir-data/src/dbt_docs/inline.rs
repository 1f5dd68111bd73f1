//! dbt's docs site as one file: `index.html` with `manifest.json` and `catalog.json` in it.
//!
//! dbt-docs (the site `dbt docs generate` copies to `target/index.html`, dbt 1.7 and later)
//! loads its two data files through a table whose values start as the string placeholders
//! `"MANIFEST.JSON INLINE DATA"` and `"CATALOG.JSON INLINE DATA"`: a value that is an object
//! instead of a string is used as the file's data, and the file is not fetched. That is how
//! `dbt docs generate --static` builds its `static_index.html`, and what this module does:
//! each quoted placeholder becomes the file's JSON text. Nothing else in the page changes.
//!
//! The JSON is checked first (it must be an object), and written so that it cannot end the
//! `<script>` element it lands in: every `<` becomes `\u003c`, and U+2028/U+2029 become
//! `\u2028`/`\u2029`. In JSON text those characters occur only inside strings, where the
//! escapes mean the same characters.

use bytes::Bytes;

/// The placeholder of `manifest.json`, without its quotes.
pub const MANIFEST_PLACEHOLDER: &str = "MANIFEST.JSON INLINE DATA";
/// The placeholder of `catalog.json`, without its quotes.
pub const CATALOG_PLACEHOLDER: &str = "CATALOG.JSON INLINE DATA";

/// Why a page or a data file cannot be inlined (the caller names the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InlineError {
    /// The page has no placeholder for one of the files.
    #[error(
        "no \"{0}\" placeholder: not the docs site of dbt 1.7 or later (`dbt docs generate` writes it)"
    )]
    NoPlaceholder(&'static str),
    /// A data file is not JSON.
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// A data file is JSON but not an object.
    #[error("not a JSON object")]
    NotObject,
}

/// A data file's JSON, checked and escaped for a `<script>` element.
pub fn script_json(json: &[u8]) -> Result<Bytes, InlineError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(json)
        .map_err(|e| InlineError::NotJson(e.to_string()))?;
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(InlineError::NotObject);
    }
    Ok(escape(json))
}

fn escape(json: &[u8]) -> Bytes {
    let needs = json.contains(&b'<') || json.windows(2).any(|w| w == [0xE2, 0x80]);
    if !needs {
        return Bytes::copy_from_slice(json);
    }
    let mut out = Vec::with_capacity(json.len() + json.len() / 16);
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            0xE2 if json.get(i + 1) == Some(&0x80) && json.get(i + 2) == Some(&0xA8) => {
                out.extend_from_slice(b"\\u2028");
                i += 2;
            }
            0xE2 if json.get(i + 1) == Some(&0x80) && json.get(i + 2) == Some(&0xA9) => {
                out.extend_from_slice(b"\\u2029");
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Bytes::from(out)
}

/// The page with every quoted placeholder (`"…"` or `'…'`) replaced by its file's JSON, as the
/// pieces to upload in order (the data files are not copied again).
pub fn inline(page: &str, manifest: &Bytes, catalog: &Bytes) -> Result<Vec<Bytes>, InlineError> {
    let mut found = (false, false);
    let mut pieces = Vec::new();
    let mut rest = page;
    while let Some((at, len, is_manifest)) = next_placeholder(rest) {
        pieces.push(Bytes::copy_from_slice(&rest.as_bytes()[..at]));
        if is_manifest {
            found.0 = true;
            pieces.push(manifest.clone());
        } else {
            found.1 = true;
            pieces.push(catalog.clone());
        }
        rest = &rest[at + len..];
    }
    pieces.push(Bytes::copy_from_slice(rest.as_bytes()));
    match found {
        (false, _) => Err(InlineError::NoPlaceholder(MANIFEST_PLACEHOLDER)),
        (_, false) => Err(InlineError::NoPlaceholder(CATALOG_PLACEHOLDER)),
        (true, true) => Ok(pieces),
    }
}

/// The first quoted placeholder in `text`: its offset, its length with the quotes, and
/// whether it is the manifest's.
fn next_placeholder(text: &str) -> Option<(usize, usize, bool)> {
    [MANIFEST_PLACEHOLDER, CATALOG_PLACEHOLDER]
        .into_iter()
        .flat_map(|name| ['"', '\''].map(move |q| (name, q)))
        .filter_map(|(name, q)| {
            let quoted = format!("{q}{name}{q}");
            text.find(&quoted)
                .map(|at| (at, quoted.len(), name == MANIFEST_PLACEHOLDER))
        })
        .min_by_key(|(at, _, _)| *at)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn joined(pieces: &[Bytes]) -> String {
        String::from_utf8(pieces.concat()).unwrap()
    }

    #[test]
    fn placeholders_become_the_json() {
        let page = r#"<script>var f={manifest:"MANIFEST.JSON INLINE DATA",catalog:'CATALOG.JSON INLINE DATA'};</script>"#;
        let m = script_json(br#"{"nodes": {}}"#).unwrap();
        let c = script_json(b" {\"a\":1}\n").unwrap();
        assert_eq!(
            joined(&inline(page, &m, &c).unwrap()),
            "<script>var f={manifest:{\"nodes\": {}},catalog: {\"a\":1}\n};</script>"
        );
    }

    #[test]
    fn every_occurrence_is_replaced() {
        let page =
            r#""CATALOG.JSON INLINE DATA" "MANIFEST.JSON INLINE DATA" "CATALOG.JSON INLINE DATA""#;
        let out = joined(&inline(page, &Bytes::from("{1}"), &Bytes::from("{2}")).unwrap());
        assert_eq!(out, "{2} {1} {2}");
    }

    #[test]
    fn a_page_without_placeholders_is_refused() {
        let m = Bytes::from("{}");
        assert_eq!(
            inline("<html>manifest.json</html>", &m, &m).unwrap_err(),
            InlineError::NoPlaceholder(MANIFEST_PLACEHOLDER)
        );
        // Unquoted, the text is not the placeholder dbt-docs compares with.
        assert_eq!(
            inline(
                "\"MANIFEST.JSON INLINE DATA\" CATALOG.JSON INLINE DATA",
                &m,
                &m
            )
            .unwrap_err(),
            InlineError::NoPlaceholder(CATALOG_PLACEHOLDER)
        );
    }

    #[test]
    fn json_cannot_close_the_script() {
        let json = "{\"sql\": \"</script><script>alert(1)</script> <!-- \u{2028}\u{2029} é\"}";
        let out = script_json(json.as_bytes()).unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(!text.contains('<'), "{text}");
        assert!(
            !text.contains('\u{2028}') && !text.contains('\u{2029}'),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(text).unwrap();
        let want: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, want);
    }

    #[test]
    fn bad_json_is_refused() {
        assert!(matches!(
            script_json(b"{\"nodes\": ").unwrap_err(),
            InlineError::NotJson(m) if m.contains("line 1")
        ));
        assert_eq!(script_json(b"[1]").unwrap_err(), InlineError::NotObject);
        assert_eq!(script_json(b"null").unwrap_err(), InlineError::NotObject);
    }
}
