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
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

/// Largest chunk [`FsBlobs::read`] yields.
const READ_CHUNK: u64 = 256 * 1024;
/// Chunks in flight between the body stream and the writer thread; bounds a write's memory.
const WRITE_QUEUE: usize = 4;
/// Longest accepted blob id.
const MAX_ID_LEN: usize = 128;

/// A [`BlobStore`] on a local directory.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    dir: PathBuf,
}

/// What the body side sends the writer thread. The writer keeps the file only after `End`: if
/// the channel closes without it (the body failed, or the write future was dropped because the
/// client went away) the writer removes the partial file itself.
enum Piece {
    Data(Bytes),
    End,
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

fn valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The fan-out directory name of a (valid, hence ASCII) id.
fn fan_out(id: &str) -> &str {
    &id[..id.len().min(2)]
}

/// Writes the pieces arriving on `rx` into a new file at `path` and makes it durable.
/// Runs on the blocking pool.
fn write_file(path: &Path, mut rx: mpsc::Receiver<Piece>) -> io::Result<u64> {
    let fan_dir = path
        .parent()
        .ok_or_else(|| io::Error::other("blob path has no parent"))?;
    let created_dir = match fs::create_dir(fan_dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e),
    };
    if created_dir {
        if let Some(root) = fan_dir.parent() {
            File::open(root)?.sync_all()?;
        }
    }
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    let written = fill(&mut file, &mut rx).and_then(|size| {
        file.sync_all()?;
        File::open(fan_dir)?.sync_all()?;
        Ok(size)
    });
    if written.is_err() {
        drop(file);
        remove_ignoring_missing(path)?;
    }
    written
}

/// Copies the pieces into `file` until `End`, returning the byte count.
fn fill(file: &mut File, rx: &mut mpsc::Receiver<Piece>) -> io::Result<u64> {
    let mut size = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Piece::Data(chunk)) => {
                file.write_all(&chunk)?;
                size += chunk.len() as u64;
            }
            Some(Piece::End) => return Ok(size),
            None => return Err(io::Error::other("blob write abandoned")),
        }
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
    async fn write(&self, id: &str, mut body: ByteStream) -> Result<u64> {
        let path = self.path(id)?;
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let writer = tokio::task::spawn_blocking(move || write_file(&path, rx));
        let mut body_error = None;
        while let Some(item) = body.next().await {
            match item {
                Ok(chunk) if chunk.is_empty() => {}
                // A send fails only when the writer stopped early; its result says why.
                Ok(chunk) => {
                    if tx.send(Piece::Data(chunk)).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    body_error = Some(e);
                    break;
                }
            }
        }
        if body_error.is_none() {
            // Ignored for the same reason: the writer's result is the answer.
            let _ = tx.send(Piece::End).await;
        }
        drop(tx);
        let written = writer.await.map_err(io::Error::other)?;
        match body_error {
            Some(e) => Err(StoreError::Body(e)),
            None => Ok(written?),
        }
    }

    async fn read(&self, id: &str, offset: u64, len: u64) -> Result<ByteStream> {
        let path = self.path(id)?;
        let mut file = tokio::fs::File::open(&path).await?;
        let size = file.metadata().await?.len();
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(StoreError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("blob {id} has {size} bytes, range {offset}+{len} requested"),
            )));
        }
        file.seek(io::SeekFrom::Start(offset)).await?;
        let chunks = stream::try_unfold((file, len), |(mut file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let n = left.min(READ_CHUNK);
            // n ≤ READ_CHUNK, so the cast is lossless.
            let mut buf = vec![0; n as usize];
            file.read_exact(&mut buf).await?;
            Ok(Some((Bytes::from(buf), (file, left - n))))
        });
        Ok(Box::pin(chunks))
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
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let parts = data
            .chunks(100_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        assert_eq!(blobs.write("abc123", body(parts)).await.unwrap(), 700_000);
        assert!(dir.path().join("ab").join("abc123").is_file());

        let chunks: Vec<Bytes> = blobs
            .read("abc123", 0, 700_000)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert!(chunks.iter().all(|c| c.len() as u64 <= READ_CHUNK));
        assert_eq!(chunks.concat(), data);
        let part: Vec<Bytes> = blobs
            .read("abc123", 300_001, 5)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(part.concat(), &data[300_001..300_006]);
        assert!(blobs.read("abc123", 699_999, 2).await.is_err());
        assert!(blobs.read("abc123", u64::MAX, 2).await.is_err());

        // Ids are never reused: a second write under the same id is refused.
        assert!(blobs.write("abc123", body(vec![])).await.is_err());

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
        let write = blobs.write("abandoned", never_ends);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(100), write)
                .await
                .is_err()
        );
        // The writer thread notices the closed channel and removes its file.
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
