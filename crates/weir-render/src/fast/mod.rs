//! Built-in templates compiled by hand into Rust.
//!
//! minijinja interprets a template instruction by instruction, looking filters
//! and tests up by name and allocating a value for every intermediate result.
//! For the built-in `job` template, which the controller renders for every step
//! attempt, that costs about twenty times what producing the text does. [`job`]
//! writes the same text directly.
//!
//! A compiled template is only an optimisation: it returns `None` ("let the
//! interpreter do it") for anything it is not certain to render exactly like
//! minijinja with the renderer's settings — an undefined name, a value of an
//! unexpected kind, a key order it cannot be sure of, a loop long enough for
//! fuel to matter, output over the size limit. Errors and odd inputs therefore
//! always come from the interpreter, with its messages. To keep the two from
//! drifting, the helpers here call minijinja's own operations wherever they
//! exist (`get_attr`, `is_true`, `kind`, map lookups, iteration) and values are
//! written by the `tojson` filter's own writer. tests/render/fast_job.rs renders many
//! contexts both ways and requires byte-identical text.

mod job;

pub(crate) use job::job;

use minijinja::Value;
use minijinja::value::{ValueIter, ValueKind};

use crate::renderer::MAX_OUTPUT_BYTES;

/// Loop iterations one compiled render may do, summed over all its loops.
/// Longer inputs go to the interpreter, whose fuel limit decides them; up to
/// this many, a render uses a small fraction of the fuel (tested in renderer.rs).
const MAX_ITEMS: usize = 1_000;

/// The text being rendered, and the loop iterations spent so far.
struct Out {
    text: String,
    items: usize,
}

impl Out {
    fn new() -> Self {
        Out {
            // The bench context renders about 2.3 KB.
            text: String::with_capacity(4096),
            items: 0,
        }
    }

    /// Template text, copied as it is.
    fn raw(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// `{{ value | tojson }}`; `None` where the filter would fail.
    fn json(&mut self, value: &Value) -> Option<()> {
        crate::json::write_json(&mut self.text, value).ok()
    }

    /// Spends `n` loop iterations; `None` once over [`MAX_ITEMS`].
    fn spend(&mut self, n: usize) -> Option<()> {
        self.items = self.items.checked_add(n)?;
        (self.items <= MAX_ITEMS).then_some(())
    }

    /// The rendered text, or `None` where the interpreter would report it too large.
    fn finish(self) -> Option<String> {
        (self.text.len() <= MAX_OUTPUT_BYTES).then_some(self.text)
    }
}

/// `parent.key` as the interpreter evaluates it in strict mode: the value,
/// [`Value::UNDEFINED`] when absent (or `parent` has no attributes), and `None`
/// where evaluating it is an error (`parent` undefined, the value invalid).
fn get(parent: &Value, key: &str) -> Option<Value> {
    let value = parent.get_attr(key).ok()?;
    (value.kind() != ValueKind::Invalid).then_some(value)
}

/// `value` where the template writes `value is defined`.
fn defined(value: &Value) -> bool {
    !value.is_undefined()
}

/// The truth of `value` in an `if`, `and` or `or`; strict mode makes an
/// undefined value an error, so `None`.
fn truthy(value: &Value) -> Option<bool> {
    defined(value).then(|| value.is_true())
}

/// `{% for item in value %}` over a list: its items, after spending one
/// iteration each. `None` for anything but a list (maps iterate their keys and
/// strings their characters; the built-ins never mean either).
fn list(out: &mut Out, value: &Value) -> Option<ValueIter> {
    if value.kind() != ValueKind::Seq {
        return None;
    }
    out.spend(value.len()?)?;
    value.try_iter().ok()
}

/// `value | dictsort`: the pairs of a map sorted by key, for keys minijinja is
/// known to order the same way.
///
/// minijinja sorts keys case-insensitively, with `str::to_ascii_lowercase`
/// (or, with its `unicode` feature, Unicode case folding). Both agree on ASCII
/// keys, and their order is total once no two keys differ only in case, so
/// those are the only maps taken; anything else (a non-string, non-ASCII or
/// case-duplicate key, a non-map) is `None`.
fn dictsort(out: &mut Out, value: &Value) -> Option<Vec<(Value, Value)>> {
    if value.kind() != ValueKind::Map {
        return None;
    }
    out.spend(value.len()?)?;
    let mut pairs: Vec<(Value, Value)> = Vec::with_capacity(value.len()?);
    for (key, item) in value.as_object()?.try_iter_pairs()? {
        let ascii = key.kind() == ValueKind::String && key.as_str().is_some_and(str::is_ascii);
        if !ascii || item.kind() == ValueKind::Invalid {
            return None;
        }
        pairs.push((key, item));
    }
    fn folded(key: &Value) -> impl Iterator<Item = u8> + '_ {
        let text = key.as_str().unwrap_or_default();
        text.bytes().map(|byte| byte.to_ascii_lowercase())
    }
    // No two keys compare equal (checked next), so an unstable sort gives
    // minijinja's (stable) order.
    pairs.sort_unstable_by(|(a, _), (b, _)| folded(a).cmp(folded(b)));
    let unique = pairs.windows(2).all(|pair| match pair {
        [(a, _), (b, _)] => folded(a).ne(folded(b)),
        _ => true,
    });
    unique.then_some(pairs)
}
