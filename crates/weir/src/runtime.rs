//! The async runtime the cluster verbs run on: one per process, with the TLS crypto provider
//! installed first.

use std::process::ExitCode;

/// Runs `fut` to completion on a new multi-threaded runtime.
pub fn block_on(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    // One crypto provider for every TLS connection; a second would panic at the first call.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
