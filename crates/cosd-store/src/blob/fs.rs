//! [`FsBlobs`]: blobs as files on the local file system, `<dir>/<id[0..2]>/<id>`.
//!
//! The two-character fan-out keeps directories small. Files are written in place under their
//! final name with `create_new` (ids are unique, so there is no rename step); a crash mid-write
//! leaves a partial file that no entry references, which the orphan sweep removes.

use super::{BlobStore, ByteStream};
use crate::{Result, StoreError};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{stream, StreamExt};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Largest chunk [`FsBlobs::read`] yields.
const READ_CHUNK: u64 = 256 * 1024;
/// Body bytes gathered before one hop to the blocking pool writes them: large enough to
/// amortize the hop over small network chunks, small enough to bound a write's memory.
const WRITE_BATCH: usize = 1024 * 1024;
/// Longest accepted blob id.
const MAX_ID_LEN: usize = 128;

/// A [`BlobStore`] on a local directory.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    dir: PathBuf,
}

/// A blob file being written. Unless kept, it is removed, also when the write future is
/// dropped midway (the client went away), so an abandoned upload leaves nothing behind.
struct PartialFile(Option<PathBuf>);

impl PartialFile {
    fn keep(mut self) {
        self.0 = None;
    }

    async fn discard(mut self) {
        if let Some(path) = self.0.take() {
            // A join error means the removal panicked; the sweep collects the file then.
            let _ = tokio::task::spawn_blocking(move || remove_partial(&path)).await;
        }
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            // No await in drop: remove in the background when a runtime is at hand.
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || remove_partial(&path))),
                Err(_) => remove_partial(&path),
            }
        }
    }
}

impl FsBlobs {
    /// Opens the blob directory, creating it if needed.
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The file of blob `id`. Ids become path components, so anything but
    /// `[0-9a-zA-Z_-]{1,128}` is refused rather than trusted.
    fn path(&self, id: &str) -> io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid blob id {id:?}"),
            ));
        }
        Ok(self.dir.join(fan_out(id)).join(id))
    }
}

pub(super) fn valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The fan-out directory name of a (valid, hence ASCII) id.
pub(super) fn fan_out(id: &str) -> &str {
    &id[..id.len().min(2)]
}

/// Creates the new, empty file of a blob, making a newly created fan-out directory durable.
fn create_file(path: &Path) -> io::Result<File> {
    let fan_dir = parent(path)?;
    match fs::create_dir(fan_dir) {
        Ok(()) => File::open(parent(fan_dir)?)?.sync_all()?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    OpenOptions::new().write(true).create_new(true).open(path)
}

fn parent(path: &Path) -> io::Result<&Path> {
    path.parent()
        .ok_or_else(|| io::Error::other(format!("{} has no parent", path.display())))
}

/// Copies `body` into `file` in batches on the blocking pool, then makes the file and its
/// directory entry durable. No thread waits on the client between batches.
async fn fill(file: File, path: &Path, mut body: ByteStream) -> Result<u64> {
    let file = Arc::new(file);
    let mut batch = Vec::new();
    let mut batch_len = 0;
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(StoreError::Body)?;
        size += chunk.len() as u64;
        batch_len += chunk.len();
        batch.push(chunk);
        if batch_len >= WRITE_BATCH {
            let (file, chunks) = (file.clone(), std::mem::take(&mut batch));
            batch_len = 0;
            blocking(move || write_chunks(&file, &chunks)).await?;
        }
    }
    let fan_dir = parent(path)?.to_path_buf();
    blocking(move || {
        write_chunks(&file, &batch)?;
        file.sync_all()?;
        File::open(fan_dir)?.sync_all()
    })
    .await?;
    Ok(size)
}

fn write_chunks(mut file: &File, chunks: &[Bytes]) -> io::Result<()> {
    chunks.iter().try_for_each(|c| file.write_all(c))
}

fn remove_partial(path: &Path) {
    if let Err(e) = remove_ignoring_missing(path) {
        tracing::warn!(path = %path.display(), error = %e, "could not remove a partial blob; the sweep will");
    }
}

fn remove_ignoring_missing(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Ids of the blob files in `dir` last modified before `before`. Runs on the blocking pool.
fn list_older(dir: &Path, before: SystemTime) -> io::Result<Vec<String>> {
    let mut ids = Vec::new();
    for fan in fs::read_dir(dir)? {
        let fan = fan?;
        if !fan.file_type()?.is_dir() {
            continue;
        }
        let fan_name = fan.file_name();
        for entry in fs::read_dir(fan.path())? {
            let entry = entry?;
            let Ok(id) = entry.file_name().into_string() else {
                continue;
            };
            if !valid_id(&id) || fan_name != fan_out(&id) {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) => m,
                // Deleted since the directory was read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_file() && meta.modified()? < before {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// The next chunk of a read with `left` bytes to go: at most [`READ_CHUNK`] bytes.
fn read_chunk(file: &mut File, left: u64) -> io::Result<Bytes> {
    // At most READ_CHUNK, so the cast is lossless.
    let mut buf = vec![0; left.min(READ_CHUNK) as usize];
    file.read_exact(&mut buf)?;
    Ok(Bytes::from(buf))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
        .map_err(StoreError::Io)
}

#[async_trait]
impl BlobStore for FsBlobs {
    async fn write(&self, id: &str, body: ByteStream) -> Result<u64> {
        let path = self.path(id)?;
        let file = blocking({
            let path = path.clone();
            move || create_file(&path)
        })
        .await?;
        let partial = PartialFile(Some(path.clone()));
        let written = fill(file, &path, body).await;
        match written {
            Ok(_) => partial.keep(),
            Err(_) => partial.discard().await,
        }
        written
    }

    async fn read(&self, id: &str, offset: u64, len: u64) -> Result<ByteStream> {
        let path = self.path(id)?;
        let id = id.to_owned();
        // One hop to the blocking pool opens, checks and reads the first chunk, so a small
        // object needs no other (tokio::fs would take one each for open, metadata, seek and
        // read: the hand-offs, not the I/O, were most of a small GET's time).
        let (file, first) = blocking(move || {
            let mut file = File::open(&path)?;
            let size = file.metadata()?.len();
            if offset.checked_add(len).is_none_or(|end| end > size) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("blob {id} has {size} bytes, range {offset}+{len} requested"),
                ));
            }
            file.seek(io::SeekFrom::Start(offset))?;
            let first = read_chunk(&mut file, len)?;
            Ok((file, first))
        })
        .await?;
        let rest = len - first.len() as u64;
        let head = stream::iter((!first.is_empty()).then_some(Ok(first)));
        let tail = stream::try_unfold((file, rest), |(mut file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let (file, chunk) = tokio::task::spawn_blocking(move || {
                read_chunk(&mut file, left).map(|chunk| (file, chunk))
            })
            .await
            .map_err(io::Error::other)??;
            let left = left - chunk.len() as u64;
            Ok(Some((chunk, (file, left))))
        });
        Ok(Box::pin(head.chain(tail)))
    }

    async fn delete(&self, id: &str) -> Result<()> {
        let path = self.path(id)?;
        blocking(move || remove_ignoring_missing(&path)).await
    }

    async fn list_older_than(&self, before: SystemTime) -> Result<Vec<String>> {
        let dir = self.dir.clone();
        blocking(move || list_older(&dir, before)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    fn body(chunks: Vec<io::Result<Bytes>>) -> ByteStream {
        Box::pin(stream::iter(chunks))
    }

    fn files_under(dir: &Path) -> usize {
        fs::read_dir(dir)
            .unwrap()
            .map(|fan| fs::read_dir(fan.unwrap().path()).unwrap().count())
            .sum()
    }

    #[tokio::test]
    async fn rejects_ids_that_are_not_plain_names() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let long = "a".repeat(129);
        for id in ["", "..", "../x", "a/b", "a\\b", "a.b", "ü", long.as_str()] {
            let err = blobs.write(id, body(vec![])).await.unwrap_err();
            assert!(
                matches!(err, StoreError::Io(ref e) if e.kind() == io::ErrorKind::InvalidInput)
            );
            assert!(blobs.read(id, 0, 0).await.is_err());
            assert!(blobs.delete(id).await.is_err());
        }
        assert!(blobs.write("a", body(vec![])).await.is_ok());
        assert!(blobs.write(&"Z_-9".repeat(32), body(vec![])).await.is_ok());
    }

    #[tokio::test]
    async fn writes_reads_in_bounded_chunks_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
        let parts = data
            .chunks(100_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        assert_eq!(blobs.write("abc123", body(parts)).await.unwrap(), 2_500_000);
        assert!(dir.path().join("ab").join("abc123").is_file());

        let chunks: Vec<Bytes> = blobs
            .read("abc123", 0, 2_500_000)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert!(chunks.iter().all(|c| c.len() as u64 <= READ_CHUNK));
        assert_eq!(chunks.concat(), data);
        let part: Vec<Bytes> = blobs
            .read("abc123", 1_300_001, 5)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(part.concat(), &data[1_300_001..1_300_006]);
        assert!(blobs.read("abc123", 2_499_999, 2).await.is_err());
        assert!(blobs.read("abc123", u64::MAX, 2).await.is_err());

        // Ids are never reused: a second write under the same id is refused, and the
        // refusal leaves the existing blob alone.
        assert!(blobs.write("abc123", body(vec![])).await.is_err());
        assert!(blobs.read("abc123", 0, 2_500_000).await.is_ok());

        blobs.delete("abc123").await.unwrap();
        blobs.delete("abc123").await.unwrap();
        assert!(blobs.read("abc123", 0, 0).await.is_err());
    }

    #[tokio::test]
    async fn failed_body_leaves_nothing_and_keeps_the_error() {
        #[derive(Debug, thiserror::Error)]
        #[error("bad chunk signature")]
        struct BadChunk;

        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let parts = vec![
            Ok(Bytes::from_static(b"partial")),
            Err(io::Error::other(BadChunk)),
        ];
        let err = blobs.write("failing", body(parts)).await.unwrap_err();
        let StoreError::Body(e) = err else {
            panic!("expected a body error, got {err:?}");
        };
        assert!(e.get_ref().unwrap().downcast_ref::<BadChunk>().is_some());
        assert_eq!(files_under(dir.path()), 0);
    }

    #[tokio::test]
    async fn dropped_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let never_ends: ByteStream =
            Box::pin(stream::iter([Ok(Bytes::from_static(b"x"))]).chain(stream::pending()));
        let mut write = blobs.write("abandoned", never_ends);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(200), &mut write).await;
        assert!(waited.is_err());
        assert_eq!(files_under(dir.path()), 1);
        // Dropping the write, as hyper does when the client goes away, removes its file.
        drop(write);
        for _ in 0..100 {
            if files_under(dir.path()) == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the abandoned blob file was not removed");
    }

    #[tokio::test]
    async fn lists_only_blobs_older_than_the_cutoff() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        blobs
            .write("old1", body(vec![Ok(Bytes::from_static(b"1"))]))
            .await
            .unwrap();
        let cutoff = SystemTime::now() + std::time::Duration::from_millis(20);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        blobs.write("new1", body(vec![])).await.unwrap();
        fs::write(dir.path().join("stray-file"), b"").unwrap();
        fs::write(dir.path().join("ol").join("not.a.blob"), b"").unwrap();
        assert_eq!(
            blobs.list_older_than(cutoff).await.unwrap(),
            vec!["old1".to_owned()]
        );
    }
}
