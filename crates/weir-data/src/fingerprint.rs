//! A Parquet schema as canonical text and a short fingerprint of it.
//!
//! The text has one line per field, depth first in file order: the dotted path, repetition
//! (nullability), the physical type (or `group`), the logical and converted annotations and,
//! where they apply, the fixed length, precision and scale. Row counts, statistics, encodings,
//! field ids and the root's name are left out: files a reader can read with one schema get
//! one fingerprint. Column order counts, as it does in the file. The text uses the `parquet`
//! crate's names, so fingerprints compare within one build of weir-data, not across versions.

use std::fmt::Write as _;

use parquet::schema::types::Type;
use sha2::{Digest, Sha256};

/// How many hex digits of the SHA-256 the short fingerprint keeps (48 bits: a collision among
/// a few thousand schemas is negligible).
const SHORT_LEN: usize = 12;

/// The canonical text of a schema rooted at `root` (the message type).
pub fn canonical(root: &Type) -> String {
    let mut text = String::new();
    for field in root.get_fields() {
        describe(field, "", &mut text);
    }
    text
}

/// The short fingerprint of a canonical text: the first hex digits of its SHA-256.
pub fn short(canonical: &str) -> String {
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(SHORT_LEN);
    for byte in digest.iter().take(SHORT_LEN / 2) {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn describe(field: &Type, parent: &str, out: &mut String) {
    let info = field.get_basic_info();
    let path = if parent.is_empty() {
        info.name().to_owned()
    } else {
        format!("{parent}.{}", info.name())
    };
    // Every field below the root has a repetition; `?` marks a malformed one.
    let repetition = if info.has_repetition() {
        info.repetition().to_string()
    } else {
        "?".to_owned()
    };
    let logical = info
        .logical_type_ref()
        .map_or_else(|| "-".to_owned(), |l| format!("{l:?}"));
    let converted = info.converted_type();
    match field {
        Type::PrimitiveType {
            physical_type,
            type_length,
            scale,
            precision,
            ..
        } => {
            let _ = writeln!(
                out,
                "{path:?} {repetition} {physical_type} logical={logical} converted={converted} \
                 length={type_length} precision={precision} scale={scale}"
            );
        }
        Type::GroupType { fields, .. } => {
            let _ = writeln!(
                out,
                "{path:?} {repetition} group logical={logical} converted={converted} fields={}",
                fields.len()
            );
            for child in fields {
                describe(child, &path, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use parquet::schema::parser::parse_message_type;

    use super::{canonical, short};

    fn fingerprint(message: &str) -> String {
        short(&canonical(&parse_message_type(message).unwrap()))
    }

    #[test]
    fn only_the_schema_counts() {
        let a = "message spark_schema { optional int64 price; required binary id (STRING); }";
        let renamed_root = "message schema { optional int64 price; required binary id (STRING); }";
        assert_eq!(fingerprint(a), fingerprint(renamed_root));
        assert_eq!(fingerprint(a).len(), 12);
    }

    #[test]
    fn types_nullability_annotations_and_nesting_differ() {
        let base = "message m { optional int64 price; }";
        let others = [
            "message m { optional double price; }",
            "message m { required int64 price; }",
            "message m { optional int64 price (TIMESTAMP(MILLIS,true)); }",
            "message m { optional int64 cost; }",
            "message m { optional group price { optional int64 price; } }",
            "message m { optional int64 price; optional int64 extra; }",
        ];
        for other in others {
            assert_ne!(fingerprint(base), fingerprint(other), "{other}");
        }
    }
}
