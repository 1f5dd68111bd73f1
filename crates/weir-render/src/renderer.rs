//! The minijinja environment: built-in templates, user-template cache, limits.

use std::io;
use std::sync::{PoisonError, RwLock};

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Template, UndefinedBehavior, Value};

use crate::builtin::{Builtin, PARTIALS, TemplateSource};
use crate::cache::TemplateCache;
use crate::error::{RenderError, TemplateError};

/// The work one render may do, in minijinja fuel: one per instruction plus one
/// per 64 bytes of data the template creates (strings built with `~` or `*`,
/// lists, output). The built-ins need about a thousand. The bound makes
/// `{% for i in range(99999) %}` nested a few times fail fast instead of
/// stalling a reconcile, and caps what a template can allocate near 32 MiB.
const FUEL: u64 = 500_000;

/// Upper bound on rendered text. etcd refuses objects above ~1.5 MiB, so a
/// larger manifest could never be applied; stopping early also caps memory.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// How many distinct user templates stay compiled.
const DEFAULT_CACHE_CAPACITY: usize = 256;

/// Macro and include nesting a template may use. Kept well below minijinja's
/// default so deep recursion cannot exhaust a small thread stack.
const RECURSION_LIMIT: usize = 64;

/// Renders weir's templates. Build one and share it (`&Renderer` is `Sync`).
#[derive(Debug)]
pub struct Renderer {
    inner: RwLock<Inner>,
    /// A built-in that failed to compile. Tests keep this `None`; should it
    /// happen anyway, rendering a built-in reports it instead of the renderer
    /// panicking at start-up.
    broken: Option<TemplateError>,
}

#[derive(Debug)]
struct Inner {
    env: Environment<'static>,
    cache: TemplateCache,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl Renderer {
    /// A renderer with the built-in templates and a cache of 256 user templates.
    pub fn new() -> Self {
        Renderer::with_cache_capacity(DEFAULT_CACHE_CAPACITY)
    }

    /// A renderer keeping at most `capacity` compiled user templates.
    pub fn with_cache_capacity(capacity: usize) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Debug mode keeps the failing source and byte range on errors, which is
        // how errors name the column and the undefined expression.
        env.set_debug(true);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        // Manifests are YAML, never HTML, whatever a ConfigMap key is called.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.add_filter("tojson", crate::json::tojson);
        // The same settings bench/jinja2_render.py gives Jinja2, so block tags on
        // their own lines leave no blank lines or stray indentation in the YAML.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build();
        let mut broken = None;
        match syntax {
            Ok(syntax) => env.set_syntax(syntax),
            Err(err) => broken = Some(TemplateError::from_minijinja("<syntax>", &err)),
        }
        let builtins = Builtin::ALL.map(|b| (b.name(), b.source()));
        for (name, source) in PARTIALS.into_iter().chain(builtins) {
            if let Err(err) = env.add_template(name, source) {
                broken.get_or_insert_with(|| TemplateError::from_minijinja(name, &err));
            }
        }
        Renderer {
            inner: RwLock::new(Inner {
                env,
                cache: TemplateCache::new(capacity),
            }),
            broken,
        }
    }

    /// Renders template text under `name` (used only in errors) to a string.
    /// The compiled template is cached by content, so calling this again with the
    /// same text does not parse it again.
    pub fn render_str<C: serde::Serialize>(
        &self,
        name: &str,
        source: &str,
        ctx: &C,
    ) -> Result<String, RenderError> {
        self.render_inline(name, source, &Value::from(Serde(ctx)))
    }

    /// Compiles `source` without rendering it, so a Pipeline naming a broken
    /// template can be marked invalid before any run needs it. The compiled
    /// template is cached like a rendered one.
    pub fn check(&self, source: &TemplateSource) -> Result<(), RenderError> {
        match source {
            TemplateSource::Builtin(_) => self
                .broken
                .clone()
                .map_or(Ok(()), |err| Err(RenderError::Template(Box::new(err)))),
            TemplateSource::Inline { name, text } => self.compiled_inline(name, text).map(drop),
        }
    }

    /// Renders a built-in or user template to text.
    pub fn render_text<C: serde::Serialize>(
        &self,
        source: &TemplateSource,
        ctx: &C,
    ) -> Result<String, RenderError> {
        self.render_source(source, &Value::from(Serde(ctx)))
    }

    /// Renders `source` with a context already converted to a minijinja value.
    pub(crate) fn render_source(
        &self,
        source: &TemplateSource,
        ctx: &Value,
    ) -> Result<String, RenderError> {
        match source {
            TemplateSource::Builtin(builtin) => self.render_builtin(*builtin, ctx),
            TemplateSource::Inline { name, text } => self.render_inline(name, text, ctx),
        }
    }

    /// Renders a built-in; a renderer whose built-ins did not all compile
    /// reports that error for every built-in.
    fn render_builtin(&self, builtin: Builtin, ctx: &Value) -> Result<String, RenderError> {
        let name = builtin.name();
        if let Some(err) = &self.broken {
            return Err(RenderError::Template(Box::new(err.clone())));
        }
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let template = inner
            .env
            .get_template(name)
            .map_err(|err| template_error(name, name, &err))?;
        render(&template, name, ctx)
    }

    fn render_inline(&self, name: &str, text: &str, ctx: &Value) -> Result<String, RenderError> {
        let key = TemplateCache::key(name, text);
        {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(rendered) = inner.render_cached(key, name, text, ctx) {
                return rendered;
            }
        }
        self.compiled_inline(name, text)?;
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        match inner.render_cached(key, name, text, ctx) {
            Some(rendered) => rendered,
            // Not kept (a hash collision, or evicted already): correct beats cached.
            None => render_aside(&inner.env, name, text, ctx),
        }
    }

    /// Makes sure `text` is compiled and cached, or reports why it does not compile.
    fn compiled_inline(&self, name: &str, text: &str) -> Result<(), RenderError> {
        let key = TemplateCache::key(name, text);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(internal) = inner.cache.get(key) {
            // Cached, possibly by another thread while we waited for the lock.
            let cached = inner
                .env
                .get_template(internal)
                .is_ok_and(|t| t.source() == text);
            if !cached {
                guarded(name, true, || {
                    inner
                        .env
                        .template_from_named_str(name, text)
                        .map(drop)
                        .map_err(|err| template_error(name, name, &err))
                })?;
            }
            return Ok(());
        }
        let internal = TemplateCache::internal_name(name, key);
        guarded(name, true, || {
            inner
                .env
                .add_template_owned(internal.clone(), text.to_owned())
                .map_err(|err| template_error(name, &internal, &err))
        })?;
        for evicted in inner.cache.insert(key, internal) {
            inner.env.remove_template(&evicted);
        }
        Ok(())
    }

    /// Renders a one-off template (a templated string inside a manifest value),
    /// bypassing the cache: these are small and many.
    pub(crate) fn render_uncached(
        &self,
        name: &str,
        text: &str,
        ctx: &Value,
    ) -> Result<String, RenderError> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        render_aside(&inner.env, name, text, ctx)
    }

    /// How many user templates are compiled and cached right now.
    pub fn cached_templates(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.cache.len()
    }
}

impl Inner {
    /// Renders the cached compile of `text`, or `None` when it is not cached.
    fn render_cached(
        &self,
        key: u64,
        name: &str,
        text: &str,
        ctx: &Value,
    ) -> Option<Result<String, RenderError>> {
        let template = self.env.get_template(self.cache.get(key)?).ok()?;
        (template.source() == text).then(|| render(&template, name, ctx))
    }
}

/// Compiles and renders `text` without keeping the compiled template.
fn render_aside(
    env: &Environment<'static>,
    name: &str,
    text: &str,
    ctx: &Value,
) -> Result<String, RenderError> {
    let template = guarded(name, true, || {
        env.template_from_named_str(name, text)
            .map_err(|err| template_error(name, name, &err))
    })?;
    render(&template, name, ctx)
}

/// Runs a call into minijinja, turning a panic inside it into an error naming the template.
/// minijinja is not meant to panic on any input, but it can: 3.1.0 hits `unreachable!()`
/// compiling `{% import "x" as a*b %}` (found by fuzz/ render_template). A user's template
/// must never take the controller down with it.
fn guarded<T>(
    name: &str,
    compiling: bool,
    call: impl FnOnce() -> Result<T, RenderError>,
) -> Result<T, RenderError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let doing = if compiling { "compiling" } else { "rendering" };
        Err(RenderError::Template(Box::new(TemplateError {
            template: name.to_owned(),
            inner: None,
            line: None,
            column: None,
            undefined: None,
            syntax: compiling,
            message: format!(
                "the template engine failed {doing} this template ({detail}); \
                 rewrite the construct it chokes on"
            ),
        })))
    })
}

fn template_error(display: &str, internal: &str, err: &minijinja::Error) -> RenderError {
    let mut translated = TemplateError::from_minijinja(internal, err);
    translated.template = display.to_owned();
    RenderError::Template(Box::new(translated))
}

/// Renders into a buffer that refuses to grow past [`MAX_OUTPUT_BYTES`].
fn render(template: &Template<'_, '_>, display: &str, ctx: &Value) -> Result<String, RenderError> {
    // Output is usually smaller than the template text; reserving that much
    // saves the reallocations of growing from empty.
    let mut out = LimitedBuffer {
        buf: Vec::with_capacity(template.source().len().min(MAX_OUTPUT_BYTES)),
        overflowed: false,
    };
    let result = guarded(display, false, || {
        Ok(template.render_captured_to(ctx, &mut out))
    })?;
    if out.overflowed {
        return Err(RenderError::TooLarge {
            template: display.to_owned(),
            limit: MAX_OUTPUT_BYTES,
        });
    }
    result.map_err(|err| template_error(display, template.name(), &err))?;
    // minijinja only ever writes whole `str`s, so this cannot fail; if it did,
    // the lossy text would still fail YAML parsing rather than panic.
    Ok(String::from_utf8(out.buf)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()))
}

struct LimitedBuffer {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for LimitedBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("rendered output too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
