//! One error type for every verb, and what it means for the exit code: a verb that fails
//! prints `error: …` on stderr and exits with 1 (clap's own usage errors exit with 2).

use std::fmt;
use std::process::ExitCode;

/// Why a verb failed, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(String);

impl CliError {
    /// An error saying `message`.
    pub fn new(message: impl fmt::Display) -> Self {
        CliError(message.to_string())
    }

    /// The exit code of a verb that failed: 1, as for every failure so far; scripts and the
    /// end-to-end suite test for it.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }

    /// Prints the error as `error: …` on stderr and gives its exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.0);
        self.exit_code()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// Reports `message` as a [`CliError`]: the verbs' one way out on failure.
pub fn fail(message: impl fmt::Display) -> ExitCode {
    CliError::new(message).report()
}
