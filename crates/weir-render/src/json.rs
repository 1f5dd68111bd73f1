//! The `tojson` filter weir's templates use to put values into YAML.
//!
//! minijinja's own `tojson` has two problems here. In strict mode undefined
//! values still reach filters (so that `default` works) and it writes them as
//! `null`, so `image: {{ job.imagee | tojson }}` would render `image: null`
//! instead of failing. And it writes characters YAML does not allow in a
//! document (C1 controls, DEL, U+FFFE) raw, so a parameter holding one would
//! make the whole manifest unparsable. This writer escapes those, errors on
//! undefined values, and — skipping minijinja's keyword-argument handling —
//! is the cheapest filter call in the built-ins, which call it dozens of times.

use std::fmt::Write as _;

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};

/// Containers nested deeper than this are refused rather than recursed into.
const MAX_DEPTH: usize = 128;

/// `value | tojson`: one line of JSON (which is YAML), HTML-safe like Jinja2's,
/// so `'` never appears and the text can also sit inside single quotes in a shell.
pub(crate) fn tojson(value: &Value, indent: Option<Value>) -> Result<Value, Error> {
    if indent.is_some() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "tojson(indent) is not supported: a manifest value must stay on one line",
        ));
    }
    let mut out = String::new();
    write_json(&mut out, value)?;
    Ok(Value::from_safe_string(out))
}

/// Appends what `value | tojson` renders to `out`. On an error `out` may hold
/// part of the value.
fn write_json(out: &mut String, value: &Value) -> Result<(), Error> {
    write_value(out, value, 0)
}

fn write_value(out: &mut String, value: &Value, depth: usize) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Undefined => Err(undefined(value)),
        ValueKind::None => {
            out.push_str("null");
            Ok(())
        }
        ValueKind::Bool => {
            out.push_str(if value.is_true() { "true" } else { "false" });
            Ok(())
        }
        ValueKind::Number => {
            write_number(out, value);
            Ok(())
        }
        ValueKind::String | ValueKind::Plain => {
            match value.as_str() {
                Some(text) => write_str(out, text),
                None => write_str(out, &value.to_string()),
            }
            Ok(())
        }
        ValueKind::Bytes => {
            let bytes = value.as_bytes().unwrap_or_default();
            out.push('[');
            for (index, byte) in bytes.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{byte}");
            }
            out.push(']');
            Ok(())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            enter(depth)?;
            out.push('[');
            for (index, item) in value.try_iter()?.enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_value(out, &item, depth + 1)?;
            }
            out.push(']');
            Ok(())
        }
        ValueKind::Map => {
            enter(depth)?;
            out.push('{');
            let pairs = value.as_object().and_then(|object| object.try_iter_pairs());
            for (index, (key, item)) in pairs.into_iter().flatten().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                match key.as_str() {
                    Some(key) => write_str(out, key),
                    // JSON keys are strings; numbers and booleans become their text.
                    None => write_str(out, &key.to_string()),
                }
                out.push_str(": ");
                write_value(out, &item, depth + 1)?;
            }
            out.push('}');
            Ok(())
        }
        // An invalid value carries a serialization error; converting it surfaces
        // that. Kinds added to minijinja later land here too.
        _ => match i64::try_from(value.clone()) {
            Err(err) => Err(err),
            Ok(_) => Err(Error::new(
                ErrorKind::BadSerialization,
                "value cannot be written as JSON",
            )),
        },
    }
}

fn enter(depth: usize) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::new(
            ErrorKind::BadSerialization,
            format!("value nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(())
}

/// An error that remembers where the undefined value came from: minijinja only
/// attaches that origin inside its own conversions, so one is provoked, and the
/// engine then names the expression (`job.imagee`) rather than the filter.
fn undefined(value: &Value) -> Error {
    match i64::try_from(value.clone()) {
        Err(err) => err,
        Ok(_) => Error::new(ErrorKind::UndefinedError, "tojson of an undefined value"),
    }
}

fn write_number(out: &mut String, value: &Value) {
    if value.is_integer() {
        // Integers print as their digits (i64, u64 or 128-bit).
        let _ = write!(out, "{value}");
        return;
    }
    match f64::try_from(value.clone()) {
        // `{:?}` keeps a `.0` or an exponent, so YAML reads a float back.
        Ok(float) if float.is_finite() => {
            let _ = write!(out, "{float:?}");
        }
        _ => out.push_str("null"),
    }
}

/// Bytes that may start something to escape: ASCII controls and specials, DEL,
/// and the lead bytes of the non-ASCII characters escaped below (C1 controls
/// start with 0xC2, U+2028/U+2029 with 0xE2, U+FEFF/U+FFFE/U+FFFF with 0xEF).
/// Checking bytes against a table keeps plain text on a fast path.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    let mut index = 0;
    let specials = [b'"', b'\\', b'<', b'>', b'&', b'\'', 0x7f, 0xc2, 0xe2, 0xef];
    while index < specials.len() {
        table[specials[index] as usize] = true;
        index += 1;
    }
    table
};

/// A JSON string literal that is also a valid YAML double-quoted scalar.
fn write_str(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        if !SPECIAL[usize::from(bytes[index])] {
            index += 1;
            continue;
        }
        // `index` is at a char boundary: only ASCII bytes and lead bytes are special.
        let Some(ch) = text.get(index..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        let width = ch.len_utf8();
        let escape = match ch {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            // HTML-safe like Jinja2's tojson; `'` matters for shell quoting.
            '<' | '>' | '&' | '\'' => "",
            // Outside YAML's printable set, or read as line breaks by YAML 1.1.
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => "",
            '\u{fffe}' | '\u{ffff}' => "",
            _ => {
                index += width;
                continue;
            }
        };
        out.push_str(&text[start..index]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", u32::from(ch));
        } else {
            out.push_str(escape);
        }
        index += width;
        start = index;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: Value) -> String {
        match tojson(&value, None) {
            Ok(out) => out.to_string(),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn strings_escape_json_html_and_yaml_specials() {
        assert_eq!(json(Value::from("a\"b\\c\nd")), r#""a\"b\\c\nd""#);
        assert_eq!(json(Value::from("<&'>")), r#""\u003c\u0026\u0027\u003e""#);
        assert_eq!(
            json(Value::from("\u{85}\u{7f}\u{2028}\u{fffe}")),
            r#""\u0085\u007f\u2028\ufffe""#
        );
        assert_eq!(json(Value::from("héllo ✓")), "\"héllo ✓\"");
    }

    #[test]
    fn numbers_and_containers() {
        assert_eq!(json(Value::from(3)), "3");
        assert_eq!(json(Value::from(u64::MAX)), u64::MAX.to_string());
        assert_eq!(json(Value::from(2.0)), "2.0");
        assert_eq!(json(Value::from(f64::NAN)), "null");
        assert_eq!(json(Value::from(vec![1, 2])), "[1, 2]");
        let map = Value::from(std::collections::BTreeMap::from([
            ("b", Value::from(true)),
            ("a", Value::from(())),
        ]));
        assert_eq!(json(map), r#"{"a": null, "b": true}"#);
    }

    #[test]
    fn undefined_is_an_error() {
        assert!(json(Value::UNDEFINED).starts_with("error:"));
        let nested = Value::from(vec![Value::UNDEFINED]);
        assert!(json(nested).starts_with("error:"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut value = Value::from(1);
        for _ in 0..200 {
            value = Value::from(vec![value]);
        }
        assert!(json(value).contains("deeper than"));
    }
}
