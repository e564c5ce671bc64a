//! [`RedbMeta`]: the embedded metadata store, one redb file on the local disk.
//!
//! Every method is one redb transaction run on the blocking thread pool (redb is synchronous
//! and fsyncs on commit, which must not stall the async workers). Write transactions use redb's
//! default `Durability::Immediate`, so a commit that returned survives a crash or `kill -9`.
//! Settings live beside the database in `settings/` (see [`FileSettings`] for why).

use super::settings_files::FileSettings;
use super::{
    BucketRecord, Completed, MetaStore, ObjectRecord, PartRecord, ScanFrom, Setting, UploadRecord,
    UploadsFrom,
};
use crate::{Result, StoreError};
use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

/// Bucket name → JSON [`BucketRecord`].
const BUCKETS: TableDefinition<&str, &[u8]> = TableDefinition::new("buckets");
/// `bucket 0x00 kind` → configuration document.
const CONFIGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bucket_configs");
/// `bucket 0x00 key` → JSON [`ObjectRecord`]. Bucket names never contain 0x00, so one bucket's
/// entries form one contiguous range ordered by the key's bytes.
const OBJECTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("objects");
/// [`upload_key`] → JSON [`UploadRecord`]: one bucket's uploads in key, then upload id order.
const UPLOADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("uploads");
/// [`upload_key`] `0x00` big-endian part number → JSON [`PartRecord`]: an upload's parts in
/// ascending order (upload ids never contain 0x00, so one upload's parts are one range).
const PARTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("parts");
/// Blob id → (), for every blob an object entry or an uploaded part references. Kept in the
/// same transaction as the entries, so [`MetaStore::blob_in_use`] is exact and the orphan
/// sweep never deletes live data.
const BLOB_REFS: TableDefinition<&str, ()> = TableDefinition::new("blob_refs");

/// The embedded [`MetaStore`] on a redb database file.
#[derive(Clone)]
pub struct RedbMeta {
    db: Arc<Database>,
    settings: FileSettings,
}

impl RedbMeta {
    /// Opens (or creates) the database at `path` and makes sure every table exists, so read
    /// transactions never meet a missing table. Settings go in `settings/` beside it.
    pub fn open(path: &Path) -> Result<Self> {
        let settings = FileSettings::open(&path.with_file_name("settings"))?;
        let db = Database::create(path).map_err(meta_err)?;
        let tx = db.begin_write().map_err(meta_err)?;
        tx.open_table(BUCKETS).map_err(meta_err)?;
        tx.open_table(CONFIGS).map_err(meta_err)?;
        tx.open_table(OBJECTS).map_err(meta_err)?;
        tx.open_table(UPLOADS).map_err(meta_err)?;
        tx.open_table(PARTS).map_err(meta_err)?;
        tx.open_table(BLOB_REFS).map_err(meta_err)?;
        tx.commit().map_err(meta_err)?;
        Ok(Self {
            db: Arc::new(db),
            settings,
        })
    }

    /// Runs `f` on the blocking pool with the database.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        blocking(move || f(&db)).await
    }

    /// Runs `f` in one write transaction and commits it if `f` succeeds.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        self.run(move |db| {
            let tx = db.begin_write().map_err(meta_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(meta_err)?;
            Ok(out)
        })
        .await
    }
}

/// Maps any redb error; I/O failures stay [`StoreError::Io`] so callers see them as such.
fn meta_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(e) => StoreError::Io(e),
        e => StoreError::Meta(e.to_string()),
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::Meta(format!("encoding a record: {e}")))
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Meta(format!("decoding a record: {e}")))
}

/// `bucket 0x00 rest`: the key of a per-bucket row in [`CONFIGS`] and [`OBJECTS`].
fn scoped_key(bucket: &str, rest: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1 + rest.len());
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k.extend_from_slice(rest.as_bytes());
    k
}

/// Ends an escaped key in [`upload_key`]; sorts below every escaped key byte that can follow.
const KEY_END: [u8; 2] = [0, 1];
/// Just past [`KEY_END`]: where the rows of the next key begin.
const PAST_KEY: [u8; 2] = [0, 2];

/// `bucket 0x00 escaped-key 0x00 0x01`: the first possible row of `key` in [`UPLOADS`].
///
/// Keys may contain 0x00, so it is escaped as `0x00 0xFF` and the key ends with `0x00 0x01`:
/// rows then sort by key and then upload id exactly, and a key prefix is a byte prefix.
fn key_start(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = escaped_key(bucket, key);
    k.extend_from_slice(&KEY_END);
    k
}

fn escaped_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + key.len() + 4);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    for &b in key.as_bytes() {
        k.push(b);
        if b == 0 {
            k.push(0xFF);
        }
    }
    k
}

/// The row of one upload in [`UPLOADS`]; `None` for an id no upload can have.
fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Option<Vec<u8>> {
    if upload_id.as_bytes().contains(&0) {
        return None;
    }
    let mut k = key_start(bucket, key);
    k.extend_from_slice(upload_id.as_bytes());
    Some(k)
}

/// The row of part `number` of the upload whose row is `upload`.
fn part_key(upload: &[u8], number: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(upload.len() + 5);
    k.extend_from_slice(upload);
    k.push(0);
    k.extend_from_slice(&number.to_be_bytes());
    k
}

/// Whether a table has a row starting with `prefix`.
fn any_with_prefix(table: &redb::Table<'_, &[u8], &[u8]>, prefix: &[u8]) -> Result<bool> {
    match table.range(prefix..).map_err(meta_err)?.next() {
        Some(row) => Ok(row.map_err(meta_err)?.0.value().starts_with(prefix)),
        None => Ok(false),
    }
}

/// Removes every part of an upload, returning them in ascending order.
fn take_parts(tx: &WriteTransaction, upload: &[u8]) -> Result<Vec<PartRecord>> {
    let mut parts = tx.open_table(PARTS).map_err(meta_err)?;
    let start = part_key(upload, 0);
    let end = part_key(upload, u32::MAX);
    let mut taken = Vec::new();
    for row in parts
        .extract_from_if(start.as_slice()..=end.as_slice(), |_, _| true)
        .map_err(meta_err)?
    {
        taken.push(from_json(row.map_err(meta_err)?.1.value())?);
    }
    Ok(taken)
}

fn upload_exists(tx: &WriteTransaction, upload: &[u8]) -> Result<bool> {
    let uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
    let found = uploads.get(upload).map_err(meta_err)?;
    Ok(found.is_some())
}

/// Inserts an object entry and moves the blob references from the entry it replaces.
fn commit_object(
    tx: &WriteTransaction,
    key: &[u8],
    rec: &ObjectRecord,
) -> Result<Option<ObjectRecord>> {
    let value = to_json(rec)?;
    let mut objects = tx.open_table(OBJECTS).map_err(meta_err)?;
    let replaced: Option<ObjectRecord> = objects
        .insert(key, value.as_slice())
        .map_err(meta_err)?
        .map(|v| from_json(v.value()))
        .transpose()?;
    let mut refs = tx.open_table(BLOB_REFS).map_err(meta_err)?;
    // Old references go first, so a blob both entries name stays referenced.
    for blob in replaced.iter().flat_map(ObjectRecord::blob_ids) {
        refs.remove(blob).map_err(meta_err)?;
    }
    for blob in rec.blob_ids() {
        refs.insert(blob, ()).map_err(meta_err)?;
    }
    Ok(replaced)
}

fn unreference<'a>(tx: &WriteTransaction, blobs: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut refs = tx.open_table(BLOB_REFS).map_err(meta_err)?;
    for blob in blobs {
        refs.remove(blob).map_err(meta_err)?;
    }
    Ok(())
}

fn bucket_exists(tx: &WriteTransaction, bucket: &str) -> Result<bool> {
    let buckets = tx.open_table(BUCKETS).map_err(meta_err)?;
    let found = buckets.get(bucket).map_err(meta_err)?;
    Ok(found.is_some())
}

#[async_trait]
impl MetaStore for RedbMeta {
    async fn create_bucket(&self, bucket: BucketRecord) -> Result<()> {
        let value = to_json(&bucket)?;
        self.write(move |tx| {
            let mut buckets = tx.open_table(BUCKETS).map_err(meta_err)?;
            if let Some(existing) = buckets.get(bucket.name.as_str()).map_err(meta_err)? {
                let existing: BucketRecord = from_json(existing.value())?;
                return Err(StoreError::BucketExists {
                    owner: existing.owner,
                });
            }
            buckets
                .insert(bucket.name.as_str(), value.as_slice())
                .map_err(meta_err)?;
            Ok(())
        })
        .await
    }

    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        let name = name.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let buckets = tx.open_table(BUCKETS).map_err(meta_err)?;
            let found = buckets.get(name.as_str()).map_err(meta_err)?;
            found.map(|v| from_json(v.value())).transpose()
        })
        .await
    }

    async fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        self.run(|db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let buckets = tx.open_table(BUCKETS).map_err(meta_err)?;
            let rows = buckets.iter().map_err(meta_err)?;
            rows.map(|row| from_json(row.map_err(meta_err)?.1.value()))
                .collect()
        })
        .await
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.write(move |tx| {
            let mut buckets = tx.open_table(BUCKETS).map_err(meta_err)?;
            if buckets.get(name.as_str()).map_err(meta_err)?.is_none() {
                return Err(StoreError::NoSuchBucket);
            }
            let scope = scoped_key(&name, "");
            let objects = tx.open_table(OBJECTS).map_err(meta_err)?;
            let uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
            if any_with_prefix(&objects, &scope)? || any_with_prefix(&uploads, &scope)? {
                return Err(StoreError::BucketNotEmpty);
            }
            let mut configs = tx.open_table(CONFIGS).map_err(meta_err)?;
            configs
                .retain_in(scope.as_slice().., |k, _| !k.starts_with(&scope))
                .map_err(meta_err)?;
            buckets.remove(name.as_str()).map_err(meta_err)?;
            Ok(())
        })
        .await
    }

    async fn get_bucket_config(&self, bucket: &str, kind: &str) -> Result<Option<Vec<u8>>> {
        let key = scoped_key(bucket, kind);
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let configs = tx.open_table(CONFIGS).map_err(meta_err)?;
            let found = configs.get(key.as_slice()).map_err(meta_err)?;
            Ok(found.map(|v| v.value().to_vec()))
        })
        .await
    }

    async fn put_bucket_config(
        &self,
        bucket: &str,
        kind: &str,
        value: Option<Vec<u8>>,
    ) -> Result<()> {
        let bucket = bucket.to_owned();
        let key = scoped_key(&bucket, kind);
        self.write(move |tx| {
            if !bucket_exists(tx, &bucket)? {
                return Err(StoreError::NoSuchBucket);
            }
            let mut configs = tx.open_table(CONFIGS).map_err(meta_err)?;
            match value {
                Some(v) => configs.insert(key.as_slice(), v.as_slice()),
                None => configs.remove(key.as_slice()),
            }
            .map_err(meta_err)?;
            Ok(())
        })
        .await
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let key = scoped_key(bucket, key);
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let objects = tx.open_table(OBJECTS).map_err(meta_err)?;
            let found = objects.get(key.as_slice()).map_err(meta_err)?;
            found.map(|v| from_json(v.value())).transpose()
        })
        .await
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        rec: ObjectRecord,
    ) -> Result<Option<ObjectRecord>> {
        let bucket = bucket.to_owned();
        let key = scoped_key(&bucket, key);
        self.write(move |tx| {
            if !bucket_exists(tx, &bucket)? {
                return Err(StoreError::NoSuchBucket);
            }
            commit_object(tx, &key, &rec)
        })
        .await
    }

    async fn replace_object(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<ObjectRecord>,
        rec: ObjectRecord,
    ) -> Result<bool> {
        let bucket = bucket.to_owned();
        let key = scoped_key(&bucket, key);
        self.write(move |tx| {
            if !bucket_exists(tx, &bucket)? {
                return Err(StoreError::NoSuchBucket);
            }
            let current: Option<ObjectRecord> = {
                let objects = tx.open_table(OBJECTS).map_err(meta_err)?;
                let found = objects.get(key.as_slice()).map_err(meta_err)?;
                found.map(|v| from_json(v.value())).transpose()?
            };
            if current != expected {
                return Ok(false);
            }
            commit_object(tx, &key, &rec)?;
            Ok(true)
        })
        .await
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let key = scoped_key(bucket, key);
        self.write(move |tx| {
            let mut objects = tx.open_table(OBJECTS).map_err(meta_err)?;
            let removed: Option<ObjectRecord> = objects
                .remove(key.as_slice())
                .map_err(meta_err)?
                .map(|v| from_json(v.value()))
                .transpose()?;
            unreference(tx, removed.iter().flat_map(ObjectRecord::blob_ids))?;
            Ok(removed)
        })
        .await
    }

    async fn scan_objects(
        &self,
        bucket: &str,
        prefix: &str,
        from: ScanFrom<'_>,
        limit: usize,
    ) -> Result<Vec<(String, ObjectRecord)>> {
        let scope = scoped_key(bucket, prefix);
        let start = match from {
            ScanFrom::After(k) if k >= prefix => Bound::Excluded(scoped_key(bucket, k)),
            ScanFrom::AtLeast(k) if k > prefix => Bound::Included(scoped_key(bucket, k)),
            _ => Bound::Included(scope.clone()),
        };
        let skip = bucket.len() + 1;
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let objects = tx.open_table(OBJECTS).map_err(meta_err)?;
            let start = start.as_ref().map(Vec::as_slice);
            let rows = objects
                .range::<&[u8]>((start, Bound::Unbounded))
                .map_err(meta_err)?;
            let mut out = Vec::new();
            for row in rows.take(limit) {
                let (k, v) = row.map_err(meta_err)?;
                let k = k.value();
                if !k.starts_with(&scope) {
                    break;
                }
                let key = std::str::from_utf8(&k[skip..])
                    .map_err(|_| StoreError::Meta("object key is not UTF-8".into()))?;
                out.push((key.to_owned(), from_json(v.value())?));
            }
            Ok(out)
        })
        .await
    }

    async fn create_upload(&self, bucket: &str, upload: UploadRecord) -> Result<()> {
        let bucket = bucket.to_owned();
        let row = upload_key(&bucket, &upload.key, &upload.upload_id)
            .ok_or_else(|| StoreError::Meta("an upload id must not contain 0x00".into()))?;
        let value = to_json(&upload)?;
        self.write(move |tx| {
            if !bucket_exists(tx, &bucket)? {
                return Err(StoreError::NoSuchBucket);
            }
            let mut uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
            uploads
                .insert(row.as_slice(), value.as_slice())
                .map_err(meta_err)?;
            Ok(())
        })
        .await
    }

    async fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<UploadRecord>> {
        let Some(row) = upload_key(bucket, key, upload_id) else {
            return Ok(None);
        };
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
            let found = uploads.get(row.as_slice()).map_err(meta_err)?;
            found.map(|v| from_json(v.value())).transpose()
        })
        .await
    }

    async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: PartRecord,
    ) -> Result<Option<PartRecord>> {
        let upload = upload_key(bucket, key, upload_id).ok_or(StoreError::NoSuchUpload)?;
        let value = to_json(&part)?;
        self.write(move |tx| {
            if !upload_exists(tx, &upload)? {
                return Err(StoreError::NoSuchUpload);
            }
            let mut parts = tx.open_table(PARTS).map_err(meta_err)?;
            let replaced: Option<PartRecord> = parts
                .insert(part_key(&upload, part.number).as_slice(), value.as_slice())
                .map_err(meta_err)?
                .map(|v| from_json(v.value()))
                .transpose()?;
            unreference(tx, replaced.iter().map(|p| p.blob.as_str()))?;
            let mut refs = tx.open_table(BLOB_REFS).map_err(meta_err)?;
            refs.insert(part.blob.as_str(), ()).map_err(meta_err)?;
            Ok(replaced)
        })
        .await
    }

    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<PartRecord>> {
        let upload = upload_key(bucket, key, upload_id).ok_or(StoreError::NoSuchUpload)?;
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
            if uploads.get(upload.as_slice()).map_err(meta_err)?.is_none() {
                return Err(StoreError::NoSuchUpload);
            }
            let Some(first) = after.checked_add(1) else {
                return Ok(Vec::new());
            };
            let parts = tx.open_table(PARTS).map_err(meta_err)?;
            let (start, end) = (part_key(&upload, first), part_key(&upload, u32::MAX));
            let rows = parts
                .range(start.as_slice()..=end.as_slice())
                .map_err(meta_err)?;
            rows.take(limit)
                .map(|row| from_json(row.map_err(meta_err)?.1.value()))
                .collect()
        })
        .await
    }

    async fn scan_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        from: UploadsFrom<'_>,
        limit: usize,
    ) -> Result<Vec<UploadRecord>> {
        let scope = escaped_key(bucket, prefix);
        let start = match from {
            UploadsFrom::Start => Bound::Included(scope.clone()),
            UploadsFrom::AtKey(k) => Bound::Included(key_start(bucket, k)),
            UploadsFrom::AfterKey(k) => {
                let mut past = escaped_key(bucket, k);
                past.extend_from_slice(&PAST_KEY);
                Bound::Included(past)
            }
            UploadsFrom::After { key, upload_id } => match upload_key(bucket, key, upload_id) {
                Some(row) => Bound::Excluded(row),
                // No id sorts after one holding 0x00 within its key: skip the key.
                None => Bound::Included(key_start(bucket, key)),
            },
        };
        // A start below the prefix means the prefix's first row.
        let start = match start {
            Bound::Included(b) | Bound::Excluded(b) if b < scope => Bound::Included(scope.clone()),
            other => other,
        };
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
            let start = start.as_ref().map(Vec::as_slice);
            let rows = uploads
                .range::<&[u8]>((start, Bound::Unbounded))
                .map_err(meta_err)?;
            let mut out = Vec::new();
            for row in rows.take(limit) {
                let (k, v) = row.map_err(meta_err)?;
                if !k.value().starts_with(&scope) {
                    break;
                }
                out.push(from_json(v.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartRecord>> {
        let upload = upload_key(bucket, key, upload_id).ok_or(StoreError::NoSuchUpload)?;
        self.write(move |tx| {
            let mut uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
            if uploads
                .remove(upload.as_slice())
                .map_err(meta_err)?
                .is_none()
            {
                return Err(StoreError::NoSuchUpload);
            }
            let parts = take_parts(tx, &upload)?;
            unreference(tx, parts.iter().map(|p| p.blob.as_str()))?;
            Ok(parts)
        })
        .await
    }

    async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        rec: ObjectRecord,
    ) -> Result<Completed> {
        let upload = upload_key(bucket, key, upload_id).ok_or(StoreError::NoSuchUpload)?;
        let object = scoped_key(bucket, key);
        self.write(move |tx| {
            let mut uploads = tx.open_table(UPLOADS).map_err(meta_err)?;
            if uploads
                .remove(upload.as_slice())
                .map_err(meta_err)?
                .is_none()
            {
                return Err(StoreError::NoSuchUpload);
            }
            let named: HashSet<&str> = rec.blob_ids().collect();
            let (used, unused): (Vec<PartRecord>, Vec<PartRecord>) = take_parts(tx, &upload)?
                .into_iter()
                .partition(|p| named.contains(p.blob.as_str()));
            if used.len() != rec.segments.len() {
                // Returning the error drops the transaction: nothing above is committed.
                return Err(StoreError::InvalidPart);
            }
            unreference(tx, unused.iter().map(|p| p.blob.as_str()))?;
            let replaced = commit_object(tx, &object, &rec)?;
            Ok(Completed { replaced, unused })
        })
        .await
    }

    async fn blob_in_use(&self, blob: &str) -> Result<bool> {
        let blob = blob.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let refs = tx.open_table(BLOB_REFS).map_err(meta_err)?;
            Ok(refs.get(blob.as_str()).map_err(meta_err)?.is_some())
        })
        .await
    }

    async fn get_setting(&self, name: &str) -> Result<Option<Setting>> {
        let (settings, name) = (self.settings.clone(), name.to_owned());
        blocking(move || settings.get(&name)).await
    }

    async fn put_setting(&self, name: &str, value: Vec<u8>, expected: u64) -> Result<bool> {
        let (settings, name) = (self.settings.clone(), name.to_owned());
        blocking(move || settings.put(&name, &value, expected)).await
    }
}

/// Runs blocking file I/O on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Meta(format!("metadata task failed: {e}")))?
}
