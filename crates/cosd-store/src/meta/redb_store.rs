//! [`RedbMeta`]: the embedded metadata store, one redb file on the local disk.
//!
//! Every method is one redb transaction run on the blocking thread pool (redb is synchronous
//! and fsyncs on commit, which must not stall the async workers). Write transactions use redb's
//! default `Durability::Immediate`, so a commit that returned survives a crash or `kill -9`.

use super::{BucketRecord, MetaStore, ObjectRecord, ScanFrom};
use crate::{Result, StoreError};
use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
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
/// Blob id → (), for every blob an object entry references. Kept in the same transaction as the
/// entries, so [`MetaStore::blob_in_use`] is exact and the orphan sweep never deletes live data.
const BLOB_REFS: TableDefinition<&str, ()> = TableDefinition::new("blob_refs");

/// The embedded [`MetaStore`] on a redb database file.
#[derive(Clone)]
pub struct RedbMeta {
    db: Arc<Database>,
}

impl RedbMeta {
    /// Opens (or creates) the database at `path` and makes sure every table exists, so read
    /// transactions never meet a missing table.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(meta_err)?;
        let tx = db.begin_write().map_err(meta_err)?;
        tx.open_table(BUCKETS).map_err(meta_err)?;
        tx.open_table(CONFIGS).map_err(meta_err)?;
        tx.open_table(OBJECTS).map_err(meta_err)?;
        tx.open_table(BLOB_REFS).map_err(meta_err)?;
        tx.commit().map_err(meta_err)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs `f` on the blocking pool with the database.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Meta(format!("metadata task failed: {e}")))?
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
            if let Some(row) = objects.range(scope.as_slice()..).map_err(meta_err)?.next() {
                if row.map_err(meta_err)?.0.value().starts_with(&scope) {
                    return Err(StoreError::BucketNotEmpty);
                }
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
        let value = to_json(&rec)?;
        self.write(move |tx| {
            if !bucket_exists(tx, &bucket)? {
                return Err(StoreError::NoSuchBucket);
            }
            let mut objects = tx.open_table(OBJECTS).map_err(meta_err)?;
            let replaced: Option<ObjectRecord> = objects
                .insert(key.as_slice(), value.as_slice())
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
            let mut refs = tx.open_table(BLOB_REFS).map_err(meta_err)?;
            for blob in removed.iter().flat_map(ObjectRecord::blob_ids) {
                refs.remove(blob).map_err(meta_err)?;
            }
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

    async fn blob_in_use(&self, blob: &str) -> Result<bool> {
        let blob = blob.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(meta_err)?;
            let refs = tx.open_table(BLOB_REFS).map_err(meta_err)?;
            Ok(refs.get(blob.as_str()).map_err(meta_err)?.is_some())
        })
        .await
    }
}
