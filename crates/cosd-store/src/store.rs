//! [`Store`]: one metadata store plus one blob store, and the write protocol between them.

use crate::blob::{BlobStore, ByteStream, FsBlobs};
use crate::hash::{crc64_combine, BlobDigest, Crc64Concat, HashingStream};
use crate::meta::{
    MetaStore, ObjectAttrs, ObjectRecord, PartRecord, RedbMeta, Segment, UploadRecord, UploadsFrom,
};
use crate::{Result, StoreError};
use futures_util::{stream, StreamExt, TryStreamExt};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Most appends an appendable object takes: each adds a segment, and the entry holding them all
/// is rewritten on every append, so the count is bounded like a multipart upload's parts.
pub const MAX_APPENDS: usize = 10_000;

/// Most blobs waiting out their retirement (see [`Store::retire_replaced_blobs_after`]); past
/// this, the orphan sweep collects them instead.
const RETIRE_QUEUE: usize = 65_536;

/// The storage a server runs on. Cheap to clone; clones share the backends.
#[derive(Clone)]
pub struct Store {
    pub meta: Arc<dyn MetaStore>,
    pub blobs: Arc<dyn BlobStore>,
    /// How long blobs of replaced or deleted entries live on, and the queue they wait in.
    retire: Option<(Duration, mpsc::Sender<(Instant, String)>)>,
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
        Self {
            meta,
            blobs,
            retire: None,
        }
    }

    /// Deletes the blobs of replaced and deleted entries only `delay` after the change, instead
    /// of at once. For stores that other nodes read, or that live behind a network: a GET on
    /// another node may still be streaming such a blob (a local file stays readable after it
    /// is unlinked; a remote object or another host's file does not). At most
    /// [`RETIRE_QUEUE`] blobs wait; beyond that, and after a crash, the orphan sweep collects
    /// them. Spawns the deleting task, so it needs a Tokio runtime.
    pub fn retire_replaced_blobs_after(mut self, delay: Duration) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Instant, String)>(RETIRE_QUEUE);
        let blobs = self.blobs.clone();
        tokio::spawn(async move {
            // Every blob waits the same delay, so they come due in the order they arrive.
            while let Some((due, blob)) = rx.recv().await {
                tokio::time::sleep_until(due).await;
                if let Err(e) = blobs.delete(&blob).await {
                    tracing::warn!(blob, error = %e, "could not delete a retired blob; the sweep will");
                }
            }
        });
        self.retire = Some((delay, tx));
        self
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
        let (blob, digest) = self.write_blob(body, expected_md5).await?;
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
            appendable: false,
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

    /// Streams `body` into a new blob while hashing it, and checks it against `expected_md5`.
    /// Once this returns, the blob is durable; on any failure nothing is left behind.
    async fn write_blob(
        &self,
        body: ByteStream,
        expected_md5: Option<[u8; 16]>,
    ) -> Result<(String, BlobDigest)> {
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
        Ok((blob, digest))
    }

    /// Starts a multipart upload of `key`. The id is 128 random bits behind the initiation
    /// time, so it cannot be guessed and a key's uploads list oldest first.
    pub async fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        attrs: ObjectAttrs,
        initiator: &str,
    ) -> Result<UploadRecord> {
        let initiated_ms = now_ms();
        let upload = UploadRecord {
            key: key.to_owned(),
            upload_id: format!("{initiated_ms:013}{}", uuid::Uuid::new_v4().simple()),
            attrs,
            initiator: initiator.to_owned(),
            initiated_ms,
        };
        self.meta.create_upload(bucket, upload.clone()).await?;
        Ok(upload)
    }

    /// Stores `body` as part `number` of an upload, replacing a part of the same number.
    ///
    /// The write protocol of [`Store::put_object`]: the part's blob is durable before the part
    /// is recorded, and the replaced part's blob is deleted after.
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        body: ByteStream,
        expected_md5: Option<[u8; 16]>,
    ) -> Result<PartRecord> {
        // Checked first so a part of an unknown upload writes no blob; checked again at commit.
        if self
            .meta
            .get_upload(bucket, key, upload_id)
            .await?
            .is_none()
        {
            return Err(StoreError::NoSuchUpload);
        }
        let (blob, digest) = self.write_blob(body, expected_md5).await?;
        let part = PartRecord {
            number,
            blob,
            size: digest.size,
            etag: hex::encode(digest.md5),
            crc64: digest.crc64,
            modified_ms: now_ms(),
        };
        match self
            .meta
            .put_part(bucket, key, upload_id, part.clone())
            .await
        {
            Ok(replaced) => {
                if let Some(old) = replaced {
                    self.discard(&old.blob).await;
                }
                Ok(part)
            }
            Err(e) => {
                self.discard(&part.blob).await;
                Err(e)
            }
        }
    }

    /// Every part of an upload, in ascending order (at most 10,000 for a COS client).
    pub async fn all_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartRecord>> {
        const PAGE: usize = 1000;
        let mut parts: Vec<PartRecord> = Vec::new();
        loop {
            let after = parts.last().map_or(0, |p| p.number);
            let page = self
                .meta
                .list_parts(bucket, key, upload_id, after, PAGE)
                .await?;
            let done = page.len() < PAGE;
            parts.extend(page);
            if done {
                return Ok(parts);
            }
        }
    }

    /// Completes an upload as the object made of `parts` (chosen and checked by the caller),
    /// in this order. The entry points at the parts' blobs, so no data is copied; its ETag is
    /// the multipart ETag and its CRC-64 is combined from the parts' without reading them.
    /// Blobs of parts left out, and of the replaced object, are deleted after the commit.
    pub async fn complete_upload(
        &self,
        bucket: &str,
        upload: &UploadRecord,
        parts: Vec<PartRecord>,
    ) -> Result<PutResult> {
        // Parts of many different sizes make the CRC combination cost up to seconds of CPU
        // (equal sizes share one operator): keep it off the async workers.
        let (parts, etag, crc64) = tokio::task::spawn_blocking(move || {
            let etag = multipart_etag(&parts);
            let mut crc64 = Crc64Concat::default();
            for p in &parts {
                crc64.push(p.crc64, p.size);
            }
            (parts, etag, crc64.value())
        })
        .await
        .map_err(|e| StoreError::Meta(format!("combining the parts' digests failed: {e}")))?;
        let size = parts.iter().map(|p| p.size).sum();
        let record = ObjectRecord {
            segments: parts
                .into_iter()
                .map(|p| Segment {
                    blob: p.blob,
                    size: p.size,
                })
                .collect(),
            size,
            etag: etag?,
            crc64,
            modified_ms: now_ms(),
            attrs: upload.attrs.clone(),
            version_id: None,
            appendable: false,
        };
        let done = self
            .meta
            .complete_upload(bucket, &upload.key, &upload.upload_id, record.clone())
            .await?;
        for part in &done.unused {
            self.discard(&part.blob).await;
        }
        if let Some(old) = &done.replaced {
            self.discard_all(old).await;
        }
        Ok(PutResult {
            record,
            replaced: done.replaced,
        })
    }

    /// Aborts an upload: its record and parts go in one commit, then the parts' blobs.
    pub async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        for part in self.meta.abort_upload(bucket, key, upload_id).await? {
            self.discard(&part.blob).await;
        }
        Ok(())
    }

    /// APPEND Object: adds `body` at `position` of the appendable object `key`, creating it
    /// (with `attrs`) at position 0. The bytes go into a new blob that becomes one more segment;
    /// earlier data is never rewritten, and the CRC-64 is combined rather than recomputed.
    ///
    /// The ETag cannot be the MD5 of the whole content without re-reading it, so it chains the
    /// appends' MD5s: after appends `a1..an` it is `hex(h_n)-n` with `h_1 = md5(a1)` and
    /// `h_k = md5(h_(k-1) ‖ md5(a_k))`. It changes with every append, and its `-n` tells
    /// clients, as for a multipart ETag, that it is not the content's MD5.
    pub async fn append_object(
        &self,
        bucket: &str,
        key: &str,
        position: u64,
        body: ByteStream,
        expected_md5: Option<[u8; 16]>,
        attrs: ObjectAttrs,
    ) -> Result<ObjectRecord> {
        let current = self.meta.get_object(bucket, key).await?;
        check_append(current.as_ref(), position)?;
        if current.is_none() && self.meta.get_bucket(bucket).await?.is_none() {
            return Err(StoreError::NoSuchBucket);
        }
        let (blob, digest) = self.write_blob(body, expected_md5).await?;
        let record = match &current {
            // Appending nothing changes nothing.
            Some(rec) if digest.size == 0 => {
                self.discard(&blob).await;
                return Ok(rec.clone());
            }
            Some(rec) => appended(rec, blob.clone(), &digest),
            None => ObjectRecord {
                segments: vec![Segment {
                    blob: blob.clone(),
                    size: digest.size,
                }],
                size: digest.size,
                etag: append_etag(None, &digest.md5, 1),
                crc64: digest.crc64,
                modified_ms: now_ms(),
                attrs,
                version_id: None,
                appendable: true,
            },
        };
        match self
            .meta
            .replace_object(bucket, key, current, record.clone())
            .await
        {
            Ok(true) => Ok(record),
            Ok(false) => {
                // Another write got there first: report against what it left.
                self.discard(&blob).await;
                let now = self.meta.get_object(bucket, key).await?;
                check_append(now.as_ref(), position)?;
                Err(StoreError::PositionNotEqualToLength {
                    length: now.map_or(0, |r| r.size),
                })
            }
            Err(e) => {
                self.discard(&blob).await;
                Err(e)
            }
        }
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

    /// Aborts every multipart upload initiated more than `older_than` ago and deletes its
    /// parts' blobs; returns how many it aborted. Several nodes may run it at once: an upload
    /// that another node aborted or completed meanwhile is skipped.
    pub async fn abort_stale_uploads(&self, older_than: Duration) -> Result<usize> {
        const PAGE: usize = 1000;
        let age = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms().saturating_sub(age);
        let mut aborted = 0;
        for bucket in self.meta.list_buckets().await? {
            let mut from: Option<(String, String)> = None;
            loop {
                let start = match &from {
                    Some((key, upload_id)) => UploadsFrom::After { key, upload_id },
                    None => UploadsFrom::Start,
                };
                let page = self
                    .meta
                    .scan_uploads(&bucket.name, "", start, PAGE)
                    .await?;
                for up in page.iter().filter(|u| u.initiated_ms < cutoff) {
                    match self
                        .abort_upload(&bucket.name, &up.key, &up.upload_id)
                        .await
                    {
                        Ok(()) => aborted += 1,
                        Err(StoreError::NoSuchUpload) => {}
                        Err(e) => return Err(e),
                    }
                }
                match page.last() {
                    Some(last) if page.len() == PAGE => {
                        from = Some((last.key.clone(), last.upload_id.clone()));
                    }
                    _ => break,
                }
            }
        }
        Ok(aborted)
    }

    /// Deletes a blob no entry references. A failure is only logged: the sweep retries it.
    async fn discard(&self, blob: &str) {
        if let Err(e) = self.blobs.delete(blob).await {
            tracing::warn!(blob, error = %e, "could not delete an unreferenced blob; the sweep will");
        }
    }

    /// Lets go of the blobs of an entry that readers may have seen: at once, or after the
    /// retirement delay when one is set.
    async fn discard_all(&self, rec: &ObjectRecord) {
        for blob in rec.blob_ids() {
            match &self.retire {
                Some((delay, queue)) => {
                    if queue
                        .try_send((Instant::now() + *delay, blob.to_owned()))
                        .is_err()
                    {
                        tracing::debug!(blob, "retirement queue full; the sweep will collect it");
                    }
                }
                None => self.discard(blob).await,
            }
        }
    }
}

/// Whether an append at `position` may extend `current`.
fn check_append(current: Option<&ObjectRecord>, position: u64) -> Result<()> {
    let length = match current {
        Some(rec) if !rec.appendable => return Err(StoreError::NotAppendable),
        Some(rec) if rec.segments.len() >= MAX_APPENDS => {
            return Err(StoreError::AppendLimit(
                "it already holds the most appends allowed",
            ))
        }
        Some(rec) => rec.size,
        None => 0,
    };
    if position != length {
        return Err(StoreError::PositionNotEqualToLength { length });
    }
    Ok(())
}

/// `rec` with one more segment, as a successful append leaves it.
fn appended(rec: &ObjectRecord, blob: String, digest: &BlobDigest) -> ObjectRecord {
    let mut next = rec.clone();
    next.segments.push(Segment {
        blob,
        size: digest.size,
    });
    next.size += digest.size;
    next.crc64 = crc64_combine(rec.crc64, digest.crc64, digest.size);
    next.etag = append_etag(Some(&rec.etag), &digest.md5, next.segments.len());
    next.modified_ms = now_ms();
    next
}

/// The ETag of an appendable object after its `n`th append (see [`Store::append_object`]).
fn append_etag(previous: Option<&str>, md5: &[u8; 16], n: usize) -> String {
    use md5::{Digest, Md5};
    let chained: [u8; 16] = match previous {
        None => *md5,
        Some(etag) => {
            let mut prev = [0u8; 16];
            // Only ever our own `hex-n` form; a foreign value simply chains from zeros.
            let _ = hex::decode_to_slice(etag.split('-').next().unwrap_or(""), &mut prev);
            let mut h = Md5::new();
            h.update(prev);
            h.update(md5);
            h.finalize().into()
        }
    };
    format!("{}-{n}", hex::encode(chained))
}

/// The ETag of a completed multipart upload: the MD5 of the parts' binary MD5s, then `-n`.
pub(crate) fn multipart_etag(parts: &[PartRecord]) -> Result<String> {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for part in parts {
        let mut md5 = [0u8; 16];
        hex::decode_to_slice(&part.etag, &mut md5)
            .map_err(|_| StoreError::Meta(format!("part {} has a malformed ETag", part.number)))?;
        h.update(md5);
    }
    Ok(format!("{}-{}", hex::encode(h.finalize()), parts.len()))
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

pub(crate) fn now_ms() -> i64 {
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

    fn part(number: u32, data: &[u8]) -> PartRecord {
        use md5::{Digest, Md5};
        PartRecord {
            number,
            blob: format!("b{number}"),
            size: data.len() as u64,
            etag: hex::encode(Md5::digest(data)),
            crc64: crate::crc64(data),
            modified_ms: 0,
        }
    }

    #[test]
    fn multipart_etag_is_the_md5_of_the_part_md5s() {
        use md5::{Digest, Md5};
        let parts = [part(1, b"a"), part(2, b"b")];
        let mut joined = hex::decode(&parts[0].etag).unwrap();
        joined.extend(hex::decode(&parts[1].etag).unwrap());
        let expected = format!("{}-2", hex::encode(Md5::digest(&joined)));
        assert_eq!(multipart_etag(&parts).unwrap(), expected);
        assert_eq!(
            multipart_etag(&[part(1, b"hello")]).unwrap(),
            format!("{}-1", hex::encode(Md5::digest(Md5::digest(b"hello"))))
        );
        let mut bad = part(1, b"a");
        bad.etag = "zz".into();
        assert!(multipart_etag(&[bad]).is_err());
    }

    #[test]
    fn append_etags_chain_and_count() {
        use md5::{Digest, Md5};
        let m1: [u8; 16] = Md5::digest(b"one").into();
        let m2: [u8; 16] = Md5::digest(b"two").into();
        let first = append_etag(None, &m1, 1);
        assert_eq!(first, format!("{}-1", hex::encode(m1)));
        let mut chained = m1.to_vec();
        chained.extend(m2);
        assert_eq!(
            append_etag(Some(&first), &m2, 2),
            format!("{}-2", hex::encode(Md5::digest(&chained)))
        );
    }

    #[tokio::test]
    async fn retired_blobs_outlive_their_entry_by_the_delay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_embedded(dir.path())
            .unwrap()
            .retire_replaced_blobs_after(Duration::from_secs(3));
        let bucket = crate::meta::BucketRecord {
            name: "b-1250000000".into(),
            owner: "1250000000".into(),
            region: "r".into(),
            created_ms: 0,
        };
        store.meta.create_bucket(bucket).await.unwrap();
        let body = |data: &'static [u8]| -> ByteStream {
            Box::pin(stream::once(
                async move { Ok(bytes::Bytes::from_static(data)) },
            ))
        };
        let attrs = ObjectAttrs {
            storage_class: "STANDARD".into(),
            ..ObjectAttrs::default()
        };
        let first = store
            .put_object("b-1250000000", "k", body(b"old"), None, attrs.clone())
            .await
            .unwrap();
        let second = store
            .put_object("b-1250000000", "k", body(b"new"), None, attrs)
            .await
            .unwrap();
        let old = first.record.segments[0].blob.clone();
        let readable = |blob: String| {
            let blobs = store.blobs.clone();
            async move { blobs.read(&blob, 0, 3).await.is_ok() }
        };
        // Replaced, yet a reader that looked the entry up just before can still read it...
        assert!(readable(old.clone()).await);
        // ...until the delay has passed (polled, bounded).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while readable(old.clone()).await {
            assert!(
                std::time::Instant::now() < deadline,
                "retired blob never deleted"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let current: Vec<bytes::Bytes> = store
            .read(&second.record, 0, 3)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(current.concat(), b"new");
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
