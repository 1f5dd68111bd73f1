//! The test files of `weir_data::testdata`, written to the file system.

use std::fs::File;
use std::path::Path;

pub use weir_data::testdata::{ID_NULLABLE, NESTED, NESTED_ZIP64, PRICE_DOUBLE, PRICE_INT64, wide};

/// Writes `rows` rows of `message` to `path` (creating its directory) in `row_groups` groups.
pub fn write(path: &Path, message: &str, rows: usize, row_groups: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    weir_data::testdata::write(File::create(path).unwrap(), message, rows, row_groups).unwrap();
}
