//! The loopback object-store servers of `tests/cluster/objstore.sh`: moto (S3) and
//! gcp-storage-emulator (GCS).

use std::path::Path;
use std::time::Duration;

use crate::cluster::runtime_dir;

/// Where the servers listen.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// S3 endpoint, e.g. `http://127.0.0.1:PORT`; path-style, region `us-east-1`, any keys.
    pub s3: String,
    /// GCS JSON API endpoint, e.g. `http://127.0.0.1:PORT` (what `STORAGE_EMULATOR_HOST` takes).
    pub gcs: String,
    /// S3 region, e.g. `us-east-1`.
    pub s3_region: String,
    /// S3 access key id (moto takes any).
    pub s3_access_key_id: String,
    /// S3 secret access key (moto takes any).
    pub s3_secret_access_key: String,
}

/// The endpoints from `WEIR_S3_ENDPOINT` / `WEIR_GCS_ENDPOINT` (and `WEIR_S3_REGION`,
/// `WEIR_S3_ACCESS_KEY_ID`, `WEIR_S3_SECRET_ACCESS_KEY`, which default to moto's
/// `us-east-1` / `test` / `test`), falling back to the
/// `objstore.env` that `objstore.sh up` writes into the runtime directory.
pub fn endpoints() -> Endpoints {
    let file = runtime_dir().join("objstore.env");
    let from_file = std::fs::read_to_string(&file).unwrap_or_default();
    let lookup = |key: &str| {
        std::env::var(key)
            .ok()
            .or_else(|| env_file_value(&from_file, key))
            .unwrap_or_else(|| missing(key, &file))
    };
    let optional = |key: &str, default: &str| {
        std::env::var(key)
            .ok()
            .or_else(|| env_file_value(&from_file, key))
            .unwrap_or_else(|| default.to_owned())
    };
    Endpoints {
        s3: lookup("WEIR_S3_ENDPOINT"),
        gcs: lookup("WEIR_GCS_ENDPOINT"),
        // moto takes any region and keys: these have defaults, the endpoints do not.
        s3_region: optional("WEIR_S3_REGION", "us-east-1"),
        s3_access_key_id: optional("WEIR_S3_ACCESS_KEY_ID", "test"),
        s3_secret_access_key: optional("WEIR_S3_SECRET_ACCESS_KEY", "test"),
    }
}

fn missing(key: &str, file: &Path) -> String {
    panic!(
        "{key} is not set and not in {}; start the servers with `make objstore-up`",
        file.display()
    )
}

/// `KEY=value` from a dotenv-style file (comments and blank lines skipped).
fn env_file_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
}

/// An HTTP client for the servers: no proxy from the environment (they are on loopback),
/// and timeouts so a hung server fails the test instead of stalling it.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}

/// An `Authorization` header moto accepts in place of a real SigV4 signature (it checks
/// none). moto answers 403 to an unsigned GET of an object, so reads need one.
pub const S3_FAKE_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
     Credential=test/20260101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::env_file_value;

    #[test]
    fn reads_dotenv_values() {
        let text =
            "# comment\nWEIR_S3_ENDPOINT=http://127.0.0.1:1\n\nWEIR_GCS_ENDPOINT = http://x:2 \n";
        assert_eq!(
            env_file_value(text, "WEIR_S3_ENDPOINT").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            env_file_value(text, "WEIR_GCS_ENDPOINT").as_deref(),
            Some("http://x:2")
        );
        assert_eq!(env_file_value(text, "NOPE"), None);
    }
}
