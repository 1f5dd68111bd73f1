//! Prints a built-in template rendered with a JSON context file, e.g.
//! `cargo run -p weir-render --example render_builtin -- job bench/job_context.json`.
//! bench/render.sh diffs this against Jinja2's rendering of the same text.

use std::process::ExitCode;

use weir_render::{Builtin, Renderer, TemplateSource};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, context] = args.as_slice() else {
        eprintln!("usage: render_builtin <job|spark|dbt> <context.json>");
        return ExitCode::from(2);
    };
    let result = name
        .parse::<Builtin>()
        .map_err(|err| err.to_string())
        .and_then(|builtin| {
            let text =
                std::fs::read_to_string(context).map_err(|err| format!("{context}: {err}"))?;
            let ctx: serde_json::Value =
                serde_json::from_str(&text).map_err(|err| format!("{context}: {err}"))?;
            Renderer::new()
                .render_text(&TemplateSource::Builtin(builtin), &ctx)
                .map_err(|err| err.to_string())
        });
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}
