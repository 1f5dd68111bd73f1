//! A fake dbt target directory (`dbt-target/`): a small index.html that loads manifest.json
//! and catalog.json through dbt-docs' placeholders, the two files (the manifest's SQL holds a
//! `</script>` and a U+2028), and an Elementary report.

use std::path::Path;

/// The stand-in for dbt-docs' index.html.
pub const INDEX: &str = include_str!("dbt-target/index.html");
/// The manifest.
pub const MANIFEST: &str = include_str!("dbt-target/manifest.json");
/// The catalog.
pub const CATALOG: &str = include_str!("dbt-target/catalog.json");
/// The Elementary report.
pub const ELEMENTARY: &str = include_str!("dbt-target/elementary_report.html");

/// Writes the fake target directory to `dir` (created), with the Elementary report or not.
pub fn write_target(dir: &Path, elementary: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("index.html"), INDEX)?;
    std::fs::write(dir.join("manifest.json"), MANIFEST)?;
    std::fs::write(dir.join("catalog.json"), CATALOG)?;
    if elementary {
        std::fs::write(dir.join("elementary_report.html"), ELEMENTARY)?;
    }
    // Beside the docs, as in a real target directory: never uploaded.
    std::fs::write(dir.join("run_results.json"), "{}")
}

/// The inlined data of an uploaded page: the `INLINE_FILES` object of the fake index.html,
/// parsed. Both entries are objects when the page fetches nothing.
pub fn inline_files(page: &str) -> Option<serde_json::Value> {
    let start = page.find("var INLINE_FILES = ")? + "var INLINE_FILES = ".len();
    let end = start + page[start..].find(";\nfunction loadFile")?;
    serde_json::from_str(&page[start..end]).ok()
}

/// Checks an uploaded page: the fake index.html with both placeholders replaced by the
/// files' JSON (so its loader finds objects and fetches nothing), escaped so the manifest's
/// `</script>` cannot end the script, and otherwise unchanged. The error says what is wrong.
pub fn check_self_contained(page: &str) -> Result<(), String> {
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    if page.contains("INLINE DATA") {
        return Err("a placeholder is left".into());
    }
    let files = inline_files(page).ok_or("INLINE_FILES is not JSON")?;
    if Some(&files["manifest"]) != json(MANIFEST).as_ref()
        || Some(&files["catalog"]) != json(CATALOG).as_ref()
    {
        return Err(format!("the inlined data differs from the files: {files}"));
    }
    if page.matches("</script>").count() != 1 || page.contains('\u{2028}') {
        return Err("the inlined JSON is not escaped for a <script>".into());
    }
    let head = INDEX.split_once("var INLINE_FILES").map(|(h, _)| h);
    let tail = INDEX
        .split_once("CATALOG.JSON INLINE DATA\"}")
        .map(|(_, t)| t);
    match (head, tail) {
        (Some(h), Some(t)) if page.starts_with(h) && page.ends_with(t) => Ok(()),
        _ => Err("the page around the data is not dbt's".into()),
    }
}
