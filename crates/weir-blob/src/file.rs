//! `file://`: the local file system as a store rooted at `/`.
//!
//! Writes go to a hidden temporary file in the object's directory and are renamed into place
//! when complete, so a reader sees the old object or the new one, never a partial one; listing
//! skips those temporary files.

use std::io::{ErrorKind, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{BlobUri, ByteStream, Checksums, Error, ObjectMeta, Result, Store, Upload};

/// Marks an unfinished upload's file name: `.{name}.weir-upload-{pid}-{n}`.
const TEMP_MARK: &str = ".weir-upload-";
/// Bytes per chunk of a streamed read.
const CHUNK: usize = 256 << 10;

#[derive(Debug)]
pub(crate) struct FileStore {
    root: BlobUri,
}

impl FileStore {
    pub(crate) fn new() -> Self {
        FileStore {
            // "file:///" always parses; the store is the whole file system.
            root: BlobUri::parse("file:///").unwrap_or_else(|_| unreachable!()),
        }
    }

    fn uri_string(&self, key: &str) -> String {
        self.uri(key).to_string()
    }

    /// The path of `key`. Keys with empty, `.` or `..` segments name no object: they would
    /// alias other keys (and listing could never return them).
    fn path(&self, key: &str) -> Result<PathBuf> {
        if key.is_empty()
            || key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(Error::InvalidUri {
                uri: self.uri_string(key),
                reason: "a file key must not be empty or hold empty, '.' or '..' segments"
                    .to_owned(),
            });
        }
        Ok(Path::new("/").join(key))
    }

    fn io(&self, key: &str, source: std::io::Error) -> Error {
        match source.kind() {
            ErrorKind::NotFound => Error::NotFound {
                uri: self.uri_string(key),
            },
            ErrorKind::PermissionDenied => Error::PermissionDenied {
                uri: self.uri_string(key),
                message: source.to_string(),
            },
            _ => Error::Io {
                uri: self.uri_string(key),
                source,
            },
        }
    }

    /// Every file key under `prefix`, sorted. A directory walk is not in key order ('-' sorts
    /// before '/'), so all keys are collected, then sorted.
    async fn keys(&self, prefix: &str) -> Result<Vec<(String, std::fs::Metadata)>> {
        // Walk from the deepest directory the prefix names entirely.
        let dir_key = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let mut pending = vec![dir_key.to_owned()];
        let mut found = Vec::new();
        while let Some(dir) = pending.pop() {
            let path = Path::new("/").join(&dir);
            let mut entries = match tokio::fs::read_dir(&path).await {
                Ok(entries) => entries,
                Err(e)
                    if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory =>
                {
                    continue;
                }
                Err(e) => return Err(self.io(&dir, e)),
            };
            while let Some(entry) = entries.next_entry().await.map_err(|e| self.io(&dir, e))? {
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue; // not UTF-8: no key can name it
                };
                let key = if dir.is_empty() {
                    name.clone()
                } else {
                    format!("{dir}/{name}")
                };
                // Prune subtrees the prefix excludes.
                if !(key.starts_with(prefix) || prefix.starts_with(&format!("{key}/"))) {
                    continue;
                }
                let file_type = entry.file_type().await.map_err(|e| self.io(&key, e))?;
                if file_type.is_dir() {
                    // Symlinked directories are not followed: a link to an ancestor would loop.
                    pending.push(key);
                    continue;
                }
                if !key.starts_with(prefix) || name.contains(TEMP_MARK) {
                    continue;
                }
                // A symlink to a file is the file (head and get follow it too).
                match tokio::fs::metadata(entry.path()).await {
                    Ok(meta) if meta.is_file() => found.push((key, meta)),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {} // deleted meanwhile, or dangling
                    Err(e) => return Err(self.io(&key, e)),
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }
}

fn object_meta(key: String, meta: &std::fs::Metadata) -> ObjectMeta {
    ObjectMeta {
        key,
        size: meta.len(),
        etag: None,
        // A rename-into-place gives a new inode; the modification time covers in-place edits.
        generation: Some(format!(
            "{}.{}.{}",
            meta.ino(),
            meta.mtime(),
            meta.mtime_nsec()
        )),
        last_modified: jiff::Timestamp::new(meta.mtime(), meta.mtime_nsec() as i32).ok(),
        checksums: Checksums::default(),
    }
}

#[async_trait]
impl Store for FileStore {
    fn uri(&self, key: &str) -> BlobUri {
        self.root.with_key(key)
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        start_after: Option<&'a str>,
    ) -> BoxStream<'a, Result<ObjectMeta>> {
        stream::once(async move {
            let keys = self.keys(prefix).await?;
            Ok::<_, Error>(stream::iter(
                keys.into_iter()
                    .filter(move |(key, _)| start_after.is_none_or(|after| key.as_str() > after))
                    .map(|(key, meta)| Ok(object_meta(key, &meta))),
            ))
        })
        .map(|listed| match listed {
            Ok(items) => items.left_stream(),
            Err(e) => stream::iter([Err(e)]).right_stream(),
        })
        .flatten()
        .boxed()
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let path = self.path(key)?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| self.io(key, e))?;
        if !meta.is_file() {
            return Err(Error::NotFound {
                uri: self.uri_string(key),
            });
        }
        Ok(object_meta(key.to_owned(), &meta))
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let path = self.path(key)?;
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| self.io(key, e))?;
        let size = file.metadata().await.map_err(|e| self.io(key, e))?.len();
        if offset >= size {
            return Err(Error::RangeNotSatisfiable {
                uri: self.uri_string(key),
                offset,
                size,
            });
        }
        file.seek(SeekFrom::Start(offset))
            .await
            .map_err(|e| self.io(key, e))?;
        let want = len.min(size - offset);
        let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
        (&mut file)
            .take(want)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| self.io(key, e))?;
        Ok(buf.into())
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream> {
        let path = self.path(key)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| self.io(key, e))?;
        let uri = self.uri_string(key);
        Ok(
            stream::try_unfold((file, uri), |(mut file, uri)| async move {
                let mut buf = BytesMut::with_capacity(CHUNK);
                let n = file.read_buf(&mut buf).await.map_err(|source| Error::Io {
                    uri: uri.clone(),
                    source,
                })?;
                Ok((n > 0).then(|| (buf.freeze(), (file, uri))))
            })
            .boxed(),
        )
    }

    async fn writer(&self, key: &str) -> Result<Box<dyn Upload>> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let path = self.path(key)?;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(Error::InvalidUri {
                uri: self.uri_string(key),
                reason: "no file name".to_owned(),
            });
        };
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| self.io(key, e))?;
        let temp = dir.join(format!(
            ".{}{TEMP_MARK}{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = tokio::fs::File::create_new(&temp)
            .await
            .map_err(|e| self.io(key, e))?;
        Ok(Box::new(FileUpload {
            store_root: self.root.clone(),
            key: key.to_owned(),
            path,
            temp: Some(temp),
            file: Some(file),
        }))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(self.io(key, e)),
            _ => Ok(()),
        }
    }
}

struct FileUpload {
    store_root: BlobUri,
    key: String,
    path: PathBuf,
    /// The temporary file while the upload is open; `None` once renamed or removed.
    temp: Option<PathBuf>,
    file: Option<tokio::fs::File>,
}

impl FileUpload {
    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            uri: self.store_root.with_key(&self.key).to_string(),
            source,
        }
    }

    fn file(&mut self) -> Result<&mut tokio::fs::File> {
        match self.file.as_mut() {
            Some(file) => Ok(file),
            None => Err(Error::Io {
                uri: self.store_root.with_key(&self.key).to_string(),
                source: std::io::Error::other("the upload is closed"),
            }),
        }
    }
}

#[async_trait]
impl Upload for FileUpload {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let result = self.file()?.write_all(&data).await;
        result.map_err(|e| self.io(e))
    }

    async fn complete(mut self: Box<Self>) -> Result<ObjectMeta> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| self.io(std::io::Error::other("closed")))?;
        // Durable before visible: a crash after the rename must not leave a short file.
        file.flush().await.map_err(|e| self.io(e))?;
        file.sync_all().await.map_err(|e| self.io(e))?;
        drop(file);
        let temp = self
            .temp
            .take()
            .ok_or_else(|| self.io(std::io::Error::other("closed")))?;
        if let Err(e) = tokio::fs::rename(&temp, &self.path).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(self.io(e));
        }
        let meta = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| self.io(e))?;
        Ok(object_meta(self.key.clone(), &meta))
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        self.file = None;
        if let Some(temp) = self.temp.take() {
            tokio::fs::remove_file(&temp)
                .await
                .map_err(|e| self.io(e))?;
        }
        Ok(())
    }
}

impl Drop for FileUpload {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            // Best effort: the file is hidden from listings either way.
            let _ = std::fs::remove_file(temp);
        }
    }
}
