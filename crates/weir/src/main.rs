//! `weir`: the controller and the command-line interface. Everything is in the `weir_cli`
//! library, one module per verb; this only hands it the command line.

fn main() -> std::process::ExitCode {
    weir_cli::cli::main()
}
