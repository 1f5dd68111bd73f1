//! `weir render` and `weir check`: everything that needs no cluster. The code lives in the
//! `weir_cli` library of this package (src/lib.rs, src/offline/), where the fuzz target and
//! the tests reach it too.

pub use weir_cli::offline::{CheckArgs, RenderArgs, check, render};
