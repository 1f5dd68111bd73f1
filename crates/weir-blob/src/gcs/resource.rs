//! The JSON API's object resources, as far as weir reads them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::{Checksums, ObjectMeta};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListPage {
    #[serde(default)]
    pub(super) items: Vec<Resource>,
    pub(super) next_page_token: Option<String>,
}

/// An object resource of the JSON API (the fields weir reads).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Resource {
    pub(super) name: String,
    /// A decimal string in the API; a number or null from some emulators.
    size: Option<serde_json::Value>,
    generation: Option<String>,
    etag: Option<String>,
    md5_hash: Option<String>,
    crc32c: Option<String>,
    updated: Option<String>,
}

impl Resource {
    pub(super) fn into_meta(self) -> ObjectMeta {
        let size = match &self.size {
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        ObjectMeta {
            key: self.name,
            size: size.unwrap_or(0),
            etag: self.etag,
            generation: self.generation,
            last_modified: self.updated.and_then(|t| t.parse().ok()),
            checksums: Checksums {
                md5: self
                    .md5_hash
                    .and_then(|h| BASE64.decode(h).ok())
                    .and_then(|b| b.try_into().ok()),
                crc32c: self
                    .crc32c
                    .and_then(|h| BASE64.decode(h).ok())
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_be_bytes),
                crc32: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_a_resource_like_the_json_api_gives_it() {
        let resource: Resource = serde_json::from_str(
            r#"{"name":"a/b","size":"11","generation":"17","etag":"CAE=",
                "md5Hash":"XrY7u+Ae7tCTyyK7j1rNww==","crc32c":"yZRlqg==",
                "updated":"2026-01-02T03:04:05.678Z"}"#,
        )
        .unwrap();
        let meta = resource.into_meta();
        assert_eq!((meta.key.as_str(), meta.size), ("a/b", 11));
        assert_eq!(meta.generation.as_deref(), Some("17"));
        assert_eq!(meta.checksums.md5.map(|m| m[0]), Some(0x5e));
        assert_eq!(meta.checksums.crc32c, Some(0xc994_65aa));
        assert!(meta.last_modified.is_some());
    }
}
