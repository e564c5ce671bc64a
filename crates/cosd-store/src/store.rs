//! [`Store`]: one metadata store plus one blob store, and the write protocol between them.

use crate::blob::{BlobStore, ByteStream, FsBlobs};
use crate::hash::HashingStream;
use crate::meta::{MetaStore, ObjectAttrs, ObjectRecord, RedbMeta, Segment};
use crate::{Result, StoreError};
use futures_util::{stream, StreamExt, TryStreamExt};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The storage a server runs on. Cheap to clone; clones share the backends.
#[derive(Clone)]
pub struct Store {
    pub meta: Arc<dyn MetaStore>,
    pub blobs: Arc<dyn BlobStore>,
}

/// What a successful write committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// The new entry.
    pub record: ObjectRecord,
    /// The entry it replaced, whose blobs have already been deleted (or left to the sweep).
    pub replaced: Option<ObjectRecord>,
}

impl Store {
    /// Combines any metadata backend with any blob backend.
    pub fn new(meta: Arc<dyn MetaStore>, blobs: Arc<dyn BlobStore>) -> Self {
        Self { meta, blobs }
    }

    /// The embedded default: `<data_dir>/meta.redb` and blob files under `<data_dir>/blobs`.
    pub fn open_embedded(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let meta = RedbMeta::open(&data_dir.join("meta.redb"))?;
        let blobs = FsBlobs::open(&data_dir.join("blobs"))?;
        Ok(Self::new(Arc::new(meta), Arc::new(blobs)))
    }

    /// Stores `body` as `bucket/key`, replacing any existing entry.
    ///
    /// The body streams into a new blob while it is hashed; the entry is committed only once
    /// the blob is durable and the digest matches `expected_md5`, so a failure at any step
    /// leaves the previous object intact (and at worst an orphan blob for the sweep).
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        expected_md5: Option<[u8; 16]>,
        attrs: ObjectAttrs,
    ) -> Result<PutResult> {
        // Checked first so a PUT to a missing bucket writes no blob; checked again at commit.
        if self.meta.get_bucket(bucket).await?.is_none() {
            return Err(StoreError::NoSuchBucket);
        }
        let blob = uuid::Uuid::new_v4().simple().to_string();
        let (hashing, digest) = HashingStream::new(body);
        self.blobs.write(&blob, Box::pin(hashing)).await?;
        let Some(digest) = digest.get() else {
            self.discard(&blob).await;
            return Err(io::Error::other("the blob store did not read the body to its end").into());
        };
        if expected_md5.is_some_and(|md5| md5 != digest.md5) {
            self.discard(&blob).await;
            return Err(StoreError::BadDigest);
        }
        let record = ObjectRecord {
            segments: vec![Segment {
                blob: blob.clone(),
                size: digest.size,
            }],
            size: digest.size,
            etag: hex::encode(digest.md5),
            crc64: digest.crc64,
            modified_ms: now_ms(),
            attrs,
            version_id: None,
        };
        let replaced = match self.meta.put_object(bucket, key, record.clone()).await {
            Ok(replaced) => replaced,
            Err(e) => {
                self.discard(&blob).await;
                return Err(e);
            }
        };
        if let Some(old) = &replaced {
            self.discard_all(old).await;
        }
        Ok(PutResult { record, replaced })
    }

    /// Streams `len` bytes of the object starting at `offset`, across its segments.
    ///
    /// The first segment is opened before returning, so a missing blob is an error the caller
    /// can still report as such; later segments are opened as the stream reaches them.
    pub async fn read(&self, rec: &ObjectRecord, offset: u64, len: u64) -> Result<ByteStream> {
        let total: u64 = rec.segments.iter().map(|s| s.size).sum();
        if offset.checked_add(len).is_none_or(|end| end > total) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("range {offset}+{len} is beyond the object's {total} bytes"),
            )
            .into());
        }
        let mut pieces = pieces(&rec.segments, offset, len).into_iter();
        let Some((blob, start, n)) = pieces.next() else {
            return Ok(Box::pin(stream::empty()));
        };
        let first = self.blobs.read(&blob, start, n).await?;
        let blobs = self.blobs.clone();
        let rest = stream::iter(pieces)
            .then(move |(blob, start, n)| {
                let blobs = blobs.clone();
                async move { blobs.read(&blob, start, n).await.map_err(into_io) }
            })
            .try_flatten();
        Ok(Box::pin(first.chain(rest)))
    }

    /// Copies an object's content into a new entry with `attrs`. The data is copied into a
    /// blob of its own: entries never share blobs, so deleting one never breaks another. The
    /// copy's ETag is the MD5 of the content, as for a PUT, even from a multipart source.
    pub async fn copy_object(
        &self,
        src_rec: &ObjectRecord,
        dst_bucket: &str,
        dst_key: &str,
        attrs: ObjectAttrs,
    ) -> Result<PutResult> {
        let body = self.read(src_rec, 0, src_rec.size).await?;
        self.put_object(dst_bucket, dst_key, body, None, attrs)
            .await
    }

    /// Deletes an entry, then its blobs; returns the entry if it existed.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let removed = self.meta.delete_object(bucket, key).await?;
        if let Some(rec) = &removed {
            self.discard_all(rec).await;
        }
        Ok(removed)
    }

    /// Deletes every blob older than `grace` that no entry references, returning how many.
    ///
    /// The grace period protects blobs still being written or not yet committed, including by
    /// other nodes sharing the backends. A blob's age counts from its last write, so the grace
    /// must exceed the longest stall of an upload plus the time its commit takes.
    pub async fn sweep_orphans(&self, grace: Duration) -> Result<usize> {
        let before = SystemTime::now().checked_sub(grace).unwrap_or(UNIX_EPOCH);
        let mut removed = 0;
        for blob in self.blobs.list_older_than(before).await? {
            if self.meta.blob_in_use(&blob).await? {
                continue;
            }
            // One stubborn blob must not stop the sweep; the next sweep retries it.
            match self.blobs.delete(&blob).await {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(blob, error = %e, "could not delete an orphan blob"),
            }
        }
        Ok(removed)
    }

    /// Deletes a blob no entry references. A failure is only logged: the sweep retries it.
    async fn discard(&self, blob: &str) {
        if let Err(e) = self.blobs.delete(blob).await {
            tracing::warn!(blob, error = %e, "could not delete an unreferenced blob; the sweep will");
        }
    }

    async fn discard_all(&self, rec: &ObjectRecord) {
        for blob in rec.blob_ids() {
            self.discard(blob).await;
        }
    }
}

/// The (blob, offset, length) reads that cover `[offset, offset + len)` of `segments`.
fn pieces(segments: &[Segment], offset: u64, len: u64) -> Vec<(String, u64, u64)> {
    let end = offset + len;
    let mut out = Vec::new();
    let mut seg_start = 0u64;
    for seg in segments {
        let seg_end = seg_start + seg.size;
        let from = offset.max(seg_start);
        let to = end.min(seg_end);
        if from < to {
            out.push((seg.blob.clone(), from - seg_start, to - from));
        }
        seg_start = seg_end;
    }
    out
}

/// A stream item must be an `io::Error`; keep I/O errors as they are and wrap the rest.
fn into_io(e: StoreError) -> io::Error {
    match e {
        StoreError::Io(e) | StoreError::Body(e) => e,
        e => io::Error::other(e),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_exactly_the_range() {
        let segs: Vec<Segment> = [("a", 3), ("empty", 0), ("b", 4), ("c", 2)]
            .iter()
            .map(|(b, n)| Segment {
                blob: b.to_string(),
                size: *n,
            })
            .collect();
        let p = |o, l| pieces(&segs, o, l);
        assert_eq!(
            p(0, 9),
            vec![("a".into(), 0, 3), ("b".into(), 0, 4), ("c".into(), 0, 2)]
        );
        assert_eq!(p(2, 2), vec![("a".into(), 2, 1), ("b".into(), 0, 1)]);
        assert_eq!(p(3, 4), vec![("b".into(), 0, 4)]);
        assert_eq!(p(8, 1), vec![("c".into(), 1, 1)]);
        assert_eq!(p(5, 0), vec![]);
    }

    #[tokio::test]
    async fn embedded_store_passes_the_conformance_suite_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_embedded(dir.path()).unwrap();
        crate::testing::conformance(&store).await;
        let before = crate::testing::snapshot(&store).await;
        drop(store);
        let store = Store::open_embedded(dir.path()).unwrap();
        assert_eq!(crate::testing::snapshot(&store).await, before);
    }
}
