//! Cutting an upload's bytes into parts, shared by the S3 and GCS uploads.

use bytes::{Bytes, BytesMut};

/// Bytes written but not sent yet. A part is handed out only once more than a part's worth
/// is held, so the last part is never empty: `complete` always has bytes to send with the
/// final request (GCS finishes a resumable upload with its last chunk).
#[derive(Debug)]
pub(crate) struct PartBuffer {
    part_size: usize,
    held: BytesMut,
    /// Bytes handed out as full parts so far.
    sent: u64,
}

impl PartBuffer {
    pub(crate) fn new(part_size: usize) -> Self {
        PartBuffer {
            part_size,
            held: BytesMut::new(),
            sent: 0,
        }
    }

    /// Adds `data`; then take the parts to send with [`PartBuffer::next_part`].
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.held.extend_from_slice(data);
    }

    /// A full part to send now, if more than a part's worth is held (one write may fill
    /// several).
    pub(crate) fn next_part(&mut self) -> Option<Bytes> {
        if self.held.len() > self.part_size {
            let part = self.held.split_to(self.part_size).freeze();
            self.sent += part.len() as u64;
            Some(part)
        } else {
            None
        }
    }

    /// True while no part has been handed out: the whole object is still here.
    pub(crate) fn nothing_sent(&self) -> bool {
        self.sent == 0
    }

    /// Offset of the first held byte in the object.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Bytes held, not yet handed out.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// The rest, for the final request.
    pub(crate) fn finish(&mut self) -> Bytes {
        self.held.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::PartBuffer;

    #[test]
    fn parts_are_full_and_the_last_is_never_empty() {
        let mut buf = PartBuffer::new(4);
        let mut parts = Vec::new();
        for chunk in [&b"ab"[..], b"cd", b"efghijkl"] {
            buf.push(chunk);
            while let Some(p) = buf.next_part() {
                parts.push(p);
            }
        }
        assert_eq!(parts, vec![&b"abcd"[..], b"efgh"]);
        assert_eq!(buf.sent(), 8);
        assert_eq!(buf.finish(), &b"ijkl"[..]);
    }
}
