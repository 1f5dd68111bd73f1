//! A store that counts the requests passed to the store it wraps, so tests check the
//! request count independently of weir-data's own summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use weir_blob::{BlobUri, ByteStream, ObjectMeta, Result, Store, Upload};

/// Requests by kind.
#[derive(Debug, Default)]
pub struct Counts {
    reads: AtomicU64,
    heads: AtomicU64,
    whole: AtomicU64,
}

impl Counts {
    /// Ranged reads (`get_range`, `get_tail`).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
    /// `head` requests, including the one a `get_tail` without a size sends.
    pub fn heads(&self) -> u64 {
        self.heads.load(Ordering::SeqCst)
    }
    /// Whole-object reads.
    pub fn whole(&self) -> u64 {
        self.whole.load(Ordering::SeqCst)
    }
}

/// A [`Store`] that counts the requests it passes on.
#[derive(Debug)]
pub struct Counting {
    inner: Box<dyn Store>,
    /// The counts so far, shared.
    pub counts: Arc<Counts>,
}

impl Counting {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Store>) -> Self {
        Counting {
            inner,
            counts: Arc::default(),
        }
    }
}

#[async_trait]
impl Store for Counting {
    fn uri(&self, key: &str) -> BlobUri {
        self.inner.uri(key)
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        start_after: Option<&'a str>,
    ) -> BoxStream<'a, Result<ObjectMeta>> {
        self.inner.list(prefix, start_after)
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        self.counts.heads.fetch_add(1, Ordering::SeqCst);
        self.inner.head(key).await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        self.counts.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_range(key, offset, len).await
    }

    async fn get_tail(&self, key: &str, len: u64, size: Option<u64>) -> Result<Bytes> {
        if size.is_none() {
            self.counts.heads.fetch_add(1, Ordering::SeqCst);
        }
        self.counts.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_tail(key, len, size).await
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream> {
        self.counts.whole.fetch_add(1, Ordering::SeqCst);
        self.inner.get_stream(key).await
    }

    async fn writer(&self, key: &str) -> Result<Box<dyn Upload>> {
        self.inner.writer(key).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }
}
