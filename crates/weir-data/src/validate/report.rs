//! The data docs: one self-contained HTML page (inline CSS, no script, nothing fetched) with
//! the verdict and a row per expectation (status, parameters, observed value, counts, a
//! sample of unexpected values), written anywhere weir-blob writes. A static page, so the
//! bucket the seed's docs app served from (or `weir ui`) can serve it as it is.

use std::fmt::Write as _;

use serde_json::Value;
use weir_blob::{BlobUri, Options};

use super::result::{ExpectationResult, Validation};
use crate::error::Result;
use crate::schema_groups::directory_prefix;

/// The page's name when `--report` is a directory.
pub const INDEX: &str = "index.html";

/// Writes the report for `v` to `uri` (an `.html` object, or a directory that gets
/// `index.html`); returns the page's URI.
pub async fn upload(v: &Validation, uri: &BlobUri, options: &Options) -> Result<String> {
    let key = if uri.key().ends_with(".html") {
        uri.key().to_owned()
    } else {
        format!("{}{INDEX}", directory_prefix(uri))
    };
    let store = weir_blob::open(uri, options).await?;
    let page = render(v, &store.uri(&key).to_string());
    store.put(&key, page.into_bytes().into()).await?;
    Ok(store.uri(&key).to_string())
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#555;margin:0 0 16px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:600;color:#fff}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}
.stats{display:flex;gap:24px;margin:16px 0}
.stats div{border:1px solid #d0d7de;border-radius:6px;padding:8px 16px}
.stats b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top;max-width:24em;overflow-wrap:anywhere}
th{background:#f6f8fa}
tr.fail td.status{background:#ffebe9;color:#cf222e;font-weight:600}
tr.pass td.status{background:#dafbe1;color:#1a7f37;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.num,td.status{white-space:nowrap}
code{font:12px ui-monospace,Menlo,monospace}
";

/// The page.
pub fn render(v: &Validation, self_uri: &str) -> String {
    let mut html = String::with_capacity(8192 + v.results.len() * 512);
    let verdict = if v.threshold_met { "pass" } else { "fail" };
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n\
         <h1>{title}</h1>\n<p class=\"meta\">{data} · {files} {format} file(s) · {rows} rows · \
         {secs:.2}s · <code>{me}</code></p>\n\
         <span class=\"verdict {verdict}\" id=\"verdict\">{word}: {ok} of {all} expectations \
         succeeded ({pct:.1}%, threshold {thr:.1}%)</span>\n\
         <div class=\"stats\"><div><b>{all}</b>evaluated</div><div><b>{ok}</b>succeeded</div>\
         <div><b>{bad}</b>failed</div></div>\n",
        title = esc(&format!("Validation of {}", v.suite_name)),
        data = esc(&v.data.uri),
        files = v.data.files,
        format = esc(&v.data.format),
        rows = v.data.rows,
        secs = v.data.seconds,
        me = esc(self_uri),
        word = if v.threshold_met { "PASSED" } else { "FAILED" },
        ok = v.statistics.successful_expectations,
        all = v.statistics.evaluated_expectations,
        bad = v.statistics.unsuccessful_expectations,
        pct = v.success_fraction * 100.0,
        thr = v.threshold * 100.0,
    );
    html.push_str(
        "<table id=\"expectations\"><thead><tr><th>#</th><th>status</th><th>expectation</th>\
         <th>column</th><th>parameters</th><th>observed</th><th>unexpected</th>\
         <th>unexpected %</th><th>sample of unexpected values</th></tr></thead><tbody>\n",
    );
    for (i, r) in v.results.iter().enumerate() {
        row(&mut html, i + 1, r);
    }
    html.push_str("</tbody></table>\n</body></html>\n");
    html
}

fn row(html: &mut String, n: usize, r: &ExpectationResult) {
    let kwargs = &r.expectation_config.kwargs;
    let columns: Vec<String> = ["column", "column_A", "column_B", "column_list"]
        .iter()
        .filter_map(|k| kwargs.get(*k))
        .map(plain)
        .collect();
    let params: Vec<String> = kwargs
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "column" | "column_A" | "column_B" | "column_list"
            )
        })
        .map(|(k, v)| format!("{k}={}", plain(v)))
        .collect();
    let get = |k: &str| r.result.get(k).filter(|v| !v.is_null());
    let percent = get("unexpected_percent")
        .and_then(Value::as_f64)
        .map(|p| format!("{p:.2}"))
        .unwrap_or_default();
    let sample = get("partial_unexpected_list")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(plain).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let class = if r.success { "pass" } else { "fail" };
    let _ = writeln!(
        html,
        "<tr class=\"{class}\"><td class=\"num\">{n}</td><td class=\"status\">{status}</td>\
         <td><code>{kind}</code></td><td>{cols}</td><td><code>{params}</code></td>\
         <td><code>{observed}</code></td><td class=\"num\">{unexpected}</td>\
         <td class=\"num\">{percent}</td><td><code>{sample}</code></td></tr>",
        status = if r.success {
            "✔ passed"
        } else {
            "✘ failed"
        },
        kind = esc(&r.expectation_config.kind),
        cols = esc(&columns.join(", ")),
        params = esc(&params.join(" ")),
        observed = esc(&get("observed_value").map(plain).unwrap_or_default()),
        unexpected = get("unexpected_count").map(plain).unwrap_or_default(),
        percent = esc(&percent),
        sample = esc(&sample),
    );
}

/// Longest value shown in a cell; the JSON result has it whole.
const MAX_CELL_CHARS: usize = 400;

/// A value as a reader wants it: strings without quotes, lists joined with ", ", the rest
/// as JSON; cut at [`MAX_CELL_CHARS`].
fn plain(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    match text.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// HTML-escapes text for element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
