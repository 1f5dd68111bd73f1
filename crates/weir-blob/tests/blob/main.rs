//! weir-blob's tests: the conformance suite on `file://`, and what only the file system does.
//! (The S3 and GCS runs of the suite are in the end-to-end crate, next to their servers.)

// A panic is how a test fail; the workspace's unwrap/expect lints are for library code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod file;
mod gcs_retry;

use weir_blob::conformance::{Expect, PART_SIZE, Subject};
use weir_blob::{BlobUri, Options};

/// An empty directory of the case's own under cargo's per-target temp dir, as a file store.
async fn file_subject(case: &str) -> Subject {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("weir-blob")
        .join(case);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let uri = BlobUri::parse(&format!("file://{}/", dir.display())).unwrap();
    let options = Options {
        part_size: PART_SIZE,
        ..Options::default()
    };
    Subject {
        store: weir_blob::open(&uri, &options).await.unwrap(),
        root: uri.key().to_owned(),
        missing_bucket: None,
        expect: Expect {
            md5: false,
            crc32c: false,
        },
    }
}

mod conformance {
    use super::file_subject;
    weir_blob::conformance_tests!(file_subject);
}
