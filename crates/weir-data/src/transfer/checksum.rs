//! Checksums of a transfer: computed while the bytes stream through, and compared with what
//! the stores report.
//!
//! CRC32C is the common currency: GCS keeps one for every object, and weir-blob uploads every
//! S3 object with a whole-object CRC32C (checked by the server before the object appears).
//! MD5 (a GCS object, an S3 ETag of a plain single-part upload) and CRC32 (the AWS SDKs'
//! default for single-part uploads) are computed too when that is what the source reports,
//! so a source written by another tool is still checked against its own checksum.

use crc_fast::{CrcAlgorithm, Digest as Crc};
use md5::{Digest as _, Md5};
use weir_blob::Checksums;

/// What two objects' checksums say about their contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// A checksum both have is equal (the name of the first one compared).
    Same(&'static str),
    /// A checksum both have differs.
    Different(&'static str),
    /// They have no checksum in common.
    Unknown,
}

/// Compares the checksums two stores report, strongest first: CRC32C, MD5, CRC32.
pub fn compare(a: &Checksums, b: &Checksums) -> Comparison {
    fn pick<T: PartialEq>(name: &'static str, a: Option<T>, b: Option<T>) -> Option<Comparison> {
        match (a, b) {
            (Some(a), Some(b)) if a == b => Some(Comparison::Same(name)),
            (Some(_), Some(_)) => Some(Comparison::Different(name)),
            _ => None,
        }
    }
    pick("crc32c", a.crc32c, b.crc32c)
        .or_else(|| pick("md5", a.md5, b.md5))
        .or_else(|| pick("crc32", a.crc32, b.crc32))
        .unwrap_or(Comparison::Unknown)
}

/// True when `sums` holds any checksum at all.
pub fn any(sums: &Checksums) -> bool {
    sums.crc32c.is_some() || sums.md5.is_some() || sums.crc32.is_some()
}

/// Checksums of a byte stream, computed as it goes by. Always CRC32C; MD5 and CRC32 only
/// when asked for (they cost CPU, and only matter against a source that has no CRC32C).
pub struct Hasher {
    crc32c: Crc,
    md5: Option<Md5>,
    crc32: Option<Crc>,
    bytes: u64,
}

impl Hasher {
    /// A hasher that can be compared with `expected` (the source's own checksums).
    pub fn for_source(expected: &Checksums) -> Self {
        let no_crc32c = expected.crc32c.is_none();
        Hasher {
            crc32c: Crc::new(CrcAlgorithm::Crc32Iscsi),
            md5: (no_crc32c && expected.md5.is_some()).then(Md5::new),
            crc32: (no_crc32c && expected.md5.is_none() && expected.crc32.is_some())
                .then(|| Crc::new(CrcAlgorithm::Crc32IsoHdlc)),
            bytes: 0,
        }
    }

    /// Adds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.crc32c.update(data);
        if let Some(md5) = &mut self.md5 {
            md5.update(data);
        }
        if let Some(crc32) = &mut self.crc32 {
            crc32.update(data);
        }
        self.bytes += data.len() as u64;
    }

    /// Bytes seen so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The checksums of everything seen.
    pub fn finish(self) -> Checksums {
        let mut sums = Checksums::default();
        // A CRC32 fits in 32 bits; crc-fast widens every CRC to 64.
        sums.crc32c = Some(self.crc32c.finalize() as u32);
        sums.md5 = self.md5.map(|m| {
            let mut out = [0u8; 16];
            out.copy_from_slice(&m.finalize());
            out
        });
        sums.crc32 = self.crc32.map(|c| c.finalize() as u32);
        sums
    }
}

/// A checksum for messages and the summary: `crc32c:1a2b3c4d`.
pub fn describe(sums: &Checksums) -> String {
    match (sums.crc32c, sums.md5, sums.crc32) {
        (Some(c), _, _) => format!("crc32c:{c:08x}"),
        (None, Some(m), _) => format!("md5:{}", hex(&m)),
        (None, None, Some(c)) => format!("crc32:{c:08x}"),
        (None, None, None) => "none".to_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(crc32c: Option<u32>, md5: Option<[u8; 16]>) -> Checksums {
        let mut s = Checksums::default();
        s.crc32c = crc32c;
        s.md5 = md5;
        s
    }

    #[test]
    fn the_strongest_common_checksum_decides() {
        assert_eq!(
            compare(&sums(Some(1), Some([0; 16])), &sums(Some(1), Some([9; 16]))),
            Comparison::Same("crc32c")
        );
        assert_eq!(
            compare(&sums(None, Some([0; 16])), &sums(Some(1), Some([9; 16]))),
            Comparison::Different("md5")
        );
        assert_eq!(
            compare(&sums(None, Some([0; 16])), &sums(Some(1), None)),
            Comparison::Unknown
        );
    }

    #[test]
    fn the_hasher_computes_what_the_source_can_be_checked_with() {
        // The well-known check values of "123456789".
        let mut h = Hasher::for_source(&sums(None, Some([0; 16])));
        h.update(b"1234");
        h.update(b"56789");
        assert_eq!(h.bytes(), 9);
        let got = h.finish();
        assert_eq!(got.crc32c, Some(0xe306_9283));
        assert_eq!(
            got.md5.map(|m| hex(&m)).as_deref(),
            Some("25f9e794323b453885f5181f1b624d0b")
        );
        let mut crc32_only = Checksums::default();
        crc32_only.crc32 = Some(0);
        let mut h = Hasher::for_source(&crc32_only);
        h.update(b"123456789");
        assert_eq!(h.finish().crc32, Some(0xcbf4_3926));
    }
}
