//! [`PgMeta`]: the metadata store on PostgreSQL, shared by any number of cosd nodes.
//!
//! Every trait method is one transaction (or one statement). The SQL is the common subset that
//! PostgreSQL, CockroachDB and YugabyteDB accept: plain tables with composite primary keys,
//! `INSERT … ON CONFLICT (…) DO NOTHING / DO UPDATE`, `SELECT … FOR SHARE / FOR UPDATE`, row
//! comparisons, `= ANY($1)` on arrays and one data-modifying CTE; no advisory locks, sequences,
//! stored functions, triggers or `LISTEN` that correctness depends on.
//!
//! Concurrency. Writers lock what they depend on: an object write holds its bucket's row
//! `FOR SHARE`, so `delete_bucket` (which takes it `FOR UPDATE`) waits for writes in flight and
//! then sees their entries; a part write holds its upload's row likewise against completion and
//! abort. On PostgreSQL the transactions run at `READ COMMITTED`, where each statement sees
//! what committed before it and these locks are exactly enough. On other engines (which may
//! map that level to snapshot isolation) they run `SERIALIZABLE`. Either way a serialization
//! failure or deadlock (SQLSTATE 40001, 40P01) runs the transaction again, at most
//! [`ATTEMPTS`] times.

mod feed;
mod schema;

use super::{
    check_setting_name, BucketRecord, Change, Completed, MetaStore, ObjectRecord, PartRecord,
    ScanFrom, Setting, UploadRecord, UploadsFrom,
};
use crate::{Result, StoreError};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Transaction};
use feed::Feed;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls};

/// Connections per node. Each request holds one for a single short transaction.
const POOL_SIZE: usize = 16;
/// How long a request waits for a free connection, or for a new one to open.
const POOL_WAIT: Duration = Duration::from_secs(30);
/// Most runs of one transaction that keeps meeting serialization failures.
const ATTEMPTS: u32 = 20;
/// Most times an upsert re-reads a row that a concurrent writer inserted under it.
const UPSERT_ROUNDS: u32 = 4;

/// The [`MetaStore`] on a PostgreSQL-protocol database.
pub struct PgMeta {
    pool: Pool,
    isolation: IsolationLevel,
    /// Whether change transactions also send a `NOTIFY` (PostgreSQL itself).
    notify: bool,
    feed: Feed,
}

impl PgMeta {
    /// Connects to `url` (`postgres://user:password@host:port/database?…`), brings the schema
    /// up to date and starts following the change feed.
    pub async fn connect(url: &str) -> Result<PgMeta> {
        Self::connect_as(url, false).await
    }

    /// As [`PgMeta::connect`]; `serializable` forces the isolation other engines get, so that
    /// path can be tested on PostgreSQL too.
    async fn connect_as(url: &str, serializable: bool) -> Result<PgMeta> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Meta(format!("invalid PostgreSQL URL: {e}")))?;
        config.application_name("cosd");
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|e| StoreError::Meta(format!("PostgreSQL pool: {e}")))?;
        let client = pool.get().await.map_err(pool_err)?;
        schema::migrate(&client).await?;
        let version: String = client
            .query_one("SELECT version()", &[])
            .await
            .map_err(db_err)?
            .get(0);
        drop(client);
        // YugabyteDB reports "PostgreSQL 11.2-YB-…", CockroachDB "CockroachDB …".
        let postgres = version.starts_with("PostgreSQL") && !version.contains("-YB-");
        let isolation = if postgres && !serializable {
            IsolationLevel::ReadCommitted
        } else {
            IsolationLevel::Serializable
        };
        let feed = Feed::start(pool.clone(), config, postgres).await?;
        Ok(PgMeta {
            pool,
            isolation,
            notify: postgres,
            feed,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

/// Runs `$body`, an expression using the open transaction `$tx`, in a write transaction and
/// commits it; runs it again on a serialization failure or deadlock, at most [`ATTEMPTS`]
/// times. An error from `$body` rolls back.
macro_rules! in_transaction {
    ($self:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            let result: TxResult<_> = async {
                let mut client = $self.client().await?;
                let $tx = client
                    .build_transaction()
                    .isolation_level($self.isolation)
                    .start()
                    .await?;
                let out = $body;
                $tx.commit().await?;
                Ok(out)
            }
            .await;
            match result {
                Err(e) if e.retryable() && attempt + 1 < ATTEMPTS => {
                    attempt += 1;
                    backoff(attempt).await;
                }
                other => break other.map_err(TxError::into_store),
            }
        }
    }};
}

/// What can end a transaction: a store-level outcome, or the database's error (some of which
/// mean "run it again").
enum TxError {
    Store(StoreError),
    Db(tokio_postgres::Error),
    /// Concurrent writers kept replacing a row under an upsert.
    Contention,
}

type TxResult<T> = std::result::Result<T, TxError>;

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        TxError::Db(e)
    }
}

impl TxError {
    fn retryable(&self) -> bool {
        match self {
            TxError::Store(_) => false,
            TxError::Db(e) => is_retryable(e),
            TxError::Contention => true,
        }
    }

    fn into_store(self) -> StoreError {
        match self {
            TxError::Store(e) => e,
            TxError::Db(e) => db_err(e),
            TxError::Contention => StoreError::Meta("too many concurrent writers".into()),
        }
    }
}

fn is_retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

fn db_err(e: tokio_postgres::Error) -> StoreError {
    // The plain Display of a server error is only "db error"; its details say what failed.
    match e.as_db_error() {
        Some(db) => StoreError::Meta(format!(
            "PostgreSQL: {} ({})",
            db.message(),
            db.code().code()
        )),
        None => StoreError::Meta(format!("PostgreSQL: {e}")),
    }
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Meta(format!("PostgreSQL connection: {e}"))
}

/// Waits a little, randomly, so that two transactions that collided do not collide again.
async fn backoff(attempt: u32) {
    let jitter = (uuid::Uuid::new_v4().as_u128() % 5) as u64;
    let ms = (u64::from(attempt.min(8)) * 5).saturating_add(jitter);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::Meta(format!("encoding a record: {e}")))
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Meta(format!("decoding a record: {e}")))
}

/// The smallest byte string above every string that starts with `prefix`; `None` if there is
/// none (an empty prefix, or only 0xFF bytes).
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The next `$n` placeholder after `params`.
fn next_param(params: &[&(dyn ToSql + Sync)]) -> String {
    format!("${}", params.len() + 1)
}

/// Holds the bucket's row `FOR SHARE` until the transaction ends, so it cannot be deleted
/// meanwhile; [`StoreError::NoSuchBucket`] if it does not exist.
async fn lock_bucket(tx: &Transaction<'_>, bucket: &str) -> TxResult<()> {
    let stmt = tx
        .prepare_cached("SELECT 1 FROM cosd_buckets WHERE name = $1 FOR SHARE")
        .await?;
    match tx.query_opt(&stmt, &[&bucket]).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NoSuchBucket.into()),
    }
}

/// Moves blob references from the blobs of a replaced entry to those of its successor; old
/// references go first, so a blob both name stays referenced.
async fn move_refs(tx: &Transaction<'_>, old: &[&str], new: &[&str]) -> TxResult<()> {
    if !old.is_empty() {
        let stmt = tx
            .prepare_cached("DELETE FROM cosd_blob_refs WHERE blob = ANY($1)")
            .await?;
        tx.execute(&stmt, &[&old]).await?;
    }
    if !new.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO cosd_blob_refs (blob) SELECT unnest($1::TEXT[]) ON CONFLICT (blob) DO NOTHING",
            )
            .await?;
        tx.execute(&stmt, &[&new]).await?;
    }
    Ok(())
}

/// Writes `value` as the row that `select` (locking it `FOR UPDATE`) reads, through `update`
/// when it exists and `insert` (`ON CONFLICT DO NOTHING`) when not, returning the value it
/// replaced. The first `params` are the row's key columns; `value` is the last parameter of
/// `update` and `insert`. When a concurrent writer inserts the row between the read and the
/// insert, the row is read (and locked) again, so the replaced value is never missed.
async fn upsert(
    tx: &Transaction<'_>,
    [select, update, insert]: [&str; 3],
    params: &[&(dyn ToSql + Sync)],
    value: &[u8],
) -> TxResult<Option<Vec<u8>>> {
    let mut with_value = params.to_vec();
    with_value.push(&value);
    for _ in 0..UPSERT_ROUNDS {
        let stmt = tx.prepare_cached(select).await?;
        if let Some(row) = tx.query_opt(&stmt, params).await? {
            let stmt = tx.prepare_cached(update).await?;
            tx.execute(&stmt, &with_value).await?;
            return Ok(Some(row.get(0)));
        }
        let stmt = tx.prepare_cached(insert).await?;
        if tx.execute(&stmt, &with_value).await? == 1 {
            return Ok(None);
        }
    }
    Err(TxError::Contention)
}

const OBJECT_UPSERT: [&str; 3] = [
    "SELECT record FROM cosd_objects WHERE bucket = $1 AND key = $2 FOR UPDATE",
    "UPDATE cosd_objects SET record = $3 WHERE bucket = $1 AND key = $2",
    "INSERT INTO cosd_objects (bucket, key, record) VALUES ($1, $2, $3) ON CONFLICT (bucket, key) DO NOTHING",
];

const PART_UPSERT: [&str; 3] = [
    "SELECT record FROM cosd_parts WHERE bucket = $1 AND key = $2 AND upload_id = $3 AND number = $4 FOR UPDATE",
    "UPDATE cosd_parts SET record = $5 WHERE bucket = $1 AND key = $2 AND upload_id = $3 AND number = $4",
    "INSERT INTO cosd_parts (bucket, key, upload_id, number, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (bucket, key, upload_id, number) DO NOTHING",
];

/// Commits `rec` as the entry of `key` and moves the blob references; returns the entry it
/// replaced.
async fn commit_object(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
    rec: &ObjectRecord,
) -> TxResult<Option<ObjectRecord>> {
    let value = to_json(rec)?;
    let replaced = upsert(tx, OBJECT_UPSERT, &[&bucket, &key.as_bytes()], &value).await?;
    let replaced: Option<ObjectRecord> = replaced.map(|v| from_json(&v)).transpose()?;
    let old: Vec<&str> = replaced.iter().flat_map(ObjectRecord::blob_ids).collect();
    move_refs(tx, &old, &rec.blob_ids().collect::<Vec<_>>()).await?;
    Ok(replaced)
}

/// Reads the entry of `key`, locking it so it cannot change before the transaction ends.
async fn locked_object(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
) -> TxResult<Option<ObjectRecord>> {
    let stmt = tx.prepare_cached(OBJECT_UPSERT[0]).await?;
    let row = tx.query_opt(&stmt, &[&bucket, &key.as_bytes()]).await?;
    Ok(row.map(|r| from_json(r.get(0))).transpose()?)
}

/// Removes an upload and all its parts, returning the parts in ascending order;
/// [`StoreError::NoSuchUpload`] if it is not in progress.
async fn take_upload(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> TxResult<Vec<PartRecord>> {
    let id = (bucket, key.as_bytes(), upload_id.as_bytes());
    let stmt = tx
        .prepare_cached(
            "DELETE FROM cosd_uploads WHERE bucket = $1 AND key = $2 AND upload_id = $3 RETURNING 1",
        )
        .await?;
    if tx.query_opt(&stmt, &[&id.0, &id.1, &id.2]).await?.is_none() {
        return Err(StoreError::NoSuchUpload.into());
    }
    let stmt = tx
        .prepare_cached(
            "DELETE FROM cosd_parts WHERE bucket = $1 AND key = $2 AND upload_id = $3 RETURNING number, record",
        )
        .await?;
    let mut rows = tx.query(&stmt, &[&id.0, &id.1, &id.2]).await?;
    rows.sort_by_key(|r| r.get::<_, i64>(0));
    Ok(rows
        .iter()
        .map(|r| from_json(r.get(1)))
        .collect::<Result<_>>()?)
}

async fn put_part_tx(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
    upload_id: &str,
    part: &PartRecord,
) -> TxResult<Option<PartRecord>> {
    let id = (bucket, key.as_bytes(), upload_id.as_bytes());
    let stmt = tx
        .prepare_cached(
            "SELECT 1 FROM cosd_uploads WHERE bucket = $1 AND key = $2 AND upload_id = $3 FOR SHARE",
        )
        .await?;
    if tx.query_opt(&stmt, &[&id.0, &id.1, &id.2]).await?.is_none() {
        return Err(StoreError::NoSuchUpload.into());
    }
    let value = to_json(part)?;
    let number = i64::from(part.number);
    let replaced = upsert(tx, PART_UPSERT, &[&id.0, &id.1, &id.2, &number], &value).await?;
    let replaced: Option<PartRecord> = replaced.map(|v| from_json(&v)).transpose()?;
    let old: Vec<&str> = replaced.iter().map(|p| p.blob.as_str()).collect();
    move_refs(tx, &old, &[part.blob.as_str()]).await?;
    Ok(replaced)
}

async fn complete_tx(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
    upload_id: &str,
    rec: &ObjectRecord,
) -> TxResult<Completed> {
    let named: HashSet<&str> = rec.blob_ids().collect();
    let (used, unused): (Vec<PartRecord>, Vec<PartRecord>) =
        take_upload(tx, bucket, key, upload_id)
            .await?
            .into_iter()
            .partition(|p| named.contains(p.blob.as_str()));
    if used.len() != rec.segments.len() {
        // Returning the error rolls the transaction back: the upload stays as it was.
        return Err(StoreError::InvalidPart.into());
    }
    let unused_blobs: Vec<&str> = unused.iter().map(|p| p.blob.as_str()).collect();
    move_refs(tx, &unused_blobs, &[]).await?;
    let replaced = commit_object(tx, bucket, key, rec).await?;
    Ok(Completed { replaced, unused })
}

async fn delete_bucket_tx(tx: &Transaction<'_>, name: &str, notify: bool) -> TxResult<()> {
    // Waits for object and upload writes holding the row `FOR SHARE`; what they committed is
    // visible to the next statement.
    let stmt = tx
        .prepare_cached("SELECT 1 FROM cosd_buckets WHERE name = $1 FOR UPDATE")
        .await?;
    if tx.query_opt(&stmt, &[&name]).await?.is_none() {
        return Err(StoreError::NoSuchBucket.into());
    }
    let stmt = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM cosd_objects WHERE bucket = $1) \
             OR EXISTS (SELECT 1 FROM cosd_uploads WHERE bucket = $1)",
        )
        .await?;
    if tx.query_one(&stmt, &[&name]).await?.get::<_, bool>(0) {
        return Err(StoreError::BucketNotEmpty.into());
    }
    for sql in [
        "DELETE FROM cosd_bucket_configs WHERE bucket = $1",
        "DELETE FROM cosd_buckets WHERE name = $1",
    ] {
        let stmt = tx.prepare_cached(sql).await?;
        tx.execute(&stmt, &[&name]).await?;
    }
    feed::record(tx, &Change::Bucket(name.to_owned()), notify).await
}

async fn create_bucket_tx(
    tx: &Transaction<'_>,
    bucket: &BucketRecord,
    notify: bool,
) -> TxResult<()> {
    let value = to_json(bucket)?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO cosd_buckets (name, record) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .await?;
    if tx.execute(&stmt, &[&bucket.name, &value]).await? == 0 {
        let stmt = tx
            .prepare_cached("SELECT record FROM cosd_buckets WHERE name = $1")
            .await?;
        return match tx.query_opt(&stmt, &[&bucket.name]).await? {
            Some(row) => {
                let existing: BucketRecord = from_json(row.get(0))?;
                Err(StoreError::BucketExists {
                    owner: existing.owner,
                }
                .into())
            }
            // Deleted again in between: try once more.
            None => Err(TxError::Contention),
        };
    }
    feed::record(tx, &Change::Bucket(bucket.name.clone()), notify).await
}

async fn put_config_tx(
    tx: &Transaction<'_>,
    bucket: &str,
    kind: &str,
    value: Option<&[u8]>,
    notify: bool,
) -> TxResult<()> {
    lock_bucket(tx, bucket).await?;
    match value {
        Some(v) => {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO cosd_bucket_configs (bucket, kind, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (bucket, kind) DO UPDATE SET value = excluded.value",
                )
                .await?;
            tx.execute(&stmt, &[&bucket, &kind, &v]).await?;
        }
        None => {
            let stmt = tx
                .prepare_cached("DELETE FROM cosd_bucket_configs WHERE bucket = $1 AND kind = $2")
                .await?;
            tx.execute(&stmt, &[&bucket, &kind]).await?;
        }
    }
    feed::record(tx, &Change::Bucket(bucket.to_owned()), notify).await
}

async fn put_setting_tx(
    tx: &Transaction<'_>,
    name: &str,
    value: &[u8],
    expected: u64,
    notify: bool,
) -> TxResult<bool> {
    let expected = i64::try_from(expected)
        .map_err(|_| StoreError::Meta(format!("setting version {expected} is out of range")))?;
    let written = if expected == 0 {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO cosd_settings (name, value, version) VALUES ($1, $2, 1) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .await?;
        tx.execute(&stmt, &[&name, &value]).await?
    } else {
        let stmt = tx
            .prepare_cached(
                "UPDATE cosd_settings SET value = $2, version = version + 1 \
                 WHERE name = $1 AND version = $3",
            )
            .await?;
        tx.execute(&stmt, &[&name, &value, &expected]).await?
    };
    if written == 1 {
        feed::record(tx, &Change::Setting(name.to_owned()), notify).await?;
    }
    Ok(written == 1)
}

#[async_trait]
impl MetaStore for PgMeta {
    async fn create_bucket(&self, bucket: BucketRecord) -> Result<()> {
        in_transaction!(self, |tx| create_bucket_tx(&tx, &bucket, self.notify)
            .await?)
    }

    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT record FROM cosd_buckets WHERE name = $1")
            .await
            .map_err(db_err)?;
        let row = client.query_opt(&stmt, &[&name]).await.map_err(db_err)?;
        row.map(|r| from_json(r.get(0))).transpose()
    }

    async fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT record FROM cosd_buckets", &[])
            .await
            .map_err(db_err)?;
        let mut buckets = rows
            .iter()
            .map(|r| from_json::<BucketRecord>(r.get(0)))
            .collect::<Result<Vec<_>>>()?;
        // By bytes, whatever the database's collation.
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(buckets)
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        in_transaction!(self, |tx| delete_bucket_tx(&tx, name, self.notify).await?)
    }

    async fn get_bucket_config(&self, bucket: &str, kind: &str) -> Result<Option<Vec<u8>>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT value FROM cosd_bucket_configs WHERE bucket = $1 AND kind = $2")
            .await
            .map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&bucket, &kind])
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn put_bucket_config(
        &self,
        bucket: &str,
        kind: &str,
        value: Option<Vec<u8>>,
    ) -> Result<()> {
        in_transaction!(self, |tx| put_config_tx(
            &tx,
            bucket,
            kind,
            value.as_deref(),
            self.notify
        )
        .await?)
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT record FROM cosd_objects WHERE bucket = $1 AND key = $2")
            .await
            .map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&bucket, &key.as_bytes()])
            .await
            .map_err(db_err)?;
        row.map(|r| from_json(r.get(0))).transpose()
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        rec: ObjectRecord,
    ) -> Result<Option<ObjectRecord>> {
        in_transaction!(self, |tx| {
            lock_bucket(&tx, bucket).await?;
            commit_object(&tx, bucket, key, &rec).await?
        })
    }

    async fn replace_object(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<ObjectRecord>,
        rec: ObjectRecord,
    ) -> Result<bool> {
        in_transaction!(self, |tx| {
            lock_bucket(&tx, bucket).await?;
            if locked_object(&tx, bucket, key).await? == expected {
                // With no entry expected, a concurrent insert shows up here as a replaced one.
                let replaced = commit_object(&tx, bucket, key, &rec).await?;
                if replaced != expected {
                    return Err(TxError::Contention);
                }
                true
            } else {
                false
            }
        })
    }

    async fn delete_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        in_transaction!(self, |tx| {
            let stmt = tx
                .prepare_cached(
                    "DELETE FROM cosd_objects WHERE bucket = $1 AND key = $2 RETURNING record",
                )
                .await?;
            let row = tx.query_opt(&stmt, &[&bucket, &key.as_bytes()]).await?;
            let removed: Option<ObjectRecord> = row.map(|r| from_json(r.get(0))).transpose()?;
            let blobs: Vec<&str> = removed.iter().flat_map(ObjectRecord::blob_ids).collect();
            move_refs(&tx, &blobs, &[]).await?;
            removed
        })
    }

    async fn scan_objects(
        &self,
        bucket: &str,
        prefix: &str,
        from: ScanFrom<'_>,
        limit: usize,
    ) -> Result<Vec<(String, ObjectRecord)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let prefix = prefix.as_bytes();
        let end = successor(prefix);
        let mut sql =
            String::from("SELECT key, record FROM cosd_objects WHERE bucket = $1 AND key >= $2");
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&bucket, &prefix];
        let start: &[u8];
        match from {
            ScanFrom::Start => {}
            ScanFrom::After(k) => {
                start = k.as_bytes();
                sql += &format!(" AND key > {}", next_param(&params));
                params.push(&start);
            }
            ScanFrom::AtLeast(k) => {
                start = k.as_bytes();
                sql += &format!(" AND key >= {}", next_param(&params));
                params.push(&start);
            }
        }
        if let Some(end) = &end {
            sql += &format!(" AND key < {}", next_param(&params));
            params.push(end);
        }
        let limit = sql_limit(limit);
        sql += &format!(" ORDER BY key LIMIT {}", next_param(&params));
        params.push(&limit);
        let client = self.client().await?;
        let stmt = client.prepare_cached(&sql).await.map_err(db_err)?;
        let rows = client.query(&stmt, &params).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let key = String::from_utf8(r.get(0))
                    .map_err(|_| StoreError::Meta("object key is not UTF-8".into()))?;
                Ok((key, from_json(r.get(1))?))
            })
            .collect()
    }

    async fn create_upload(&self, bucket: &str, upload: UploadRecord) -> Result<()> {
        let value = to_json(&upload)?;
        in_transaction!(self, |tx| {
            lock_bucket(&tx, bucket).await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO cosd_uploads (bucket, key, upload_id, record) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (bucket, key, upload_id) DO UPDATE SET record = excluded.record",
                )
                .await?;
            tx.execute(
                &stmt,
                &[
                    &bucket,
                    &upload.key.as_bytes(),
                    &upload.upload_id.as_bytes(),
                    &value,
                ],
            )
            .await?;
        })
    }

    async fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<UploadRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT record FROM cosd_uploads WHERE bucket = $1 AND key = $2 AND upload_id = $3",
            )
            .await
            .map_err(db_err)?;
        let row = client
            .query_opt(&stmt, &[&bucket, &key.as_bytes(), &upload_id.as_bytes()])
            .await
            .map_err(db_err)?;
        row.map(|r| from_json(r.get(0))).transpose()
    }

    async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: PartRecord,
    ) -> Result<Option<PartRecord>> {
        in_transaction!(self, |tx| put_part_tx(&tx, bucket, key, upload_id, &part)
            .await?)
    }

    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<PartRecord>> {
        // One statement, so the upload's existence and its parts come from one snapshot: a row
        // with a NULL record means the upload exists but has no part in the range.
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT p.record FROM cosd_uploads u LEFT JOIN cosd_parts p \
                 ON p.bucket = u.bucket AND p.key = u.key AND p.upload_id = u.upload_id AND p.number > $4 \
                 WHERE u.bucket = $1 AND u.key = $2 AND u.upload_id = $3 \
                 ORDER BY p.number LIMIT $5",
            )
            .await
            .map_err(db_err)?;
        let rows = client
            .query(
                &stmt,
                &[
                    &bucket,
                    &key.as_bytes(),
                    &upload_id.as_bytes(),
                    &i64::from(after),
                    // At least one row, so that the upload's shows even for a limit of 0.
                    &sql_limit(limit.max(1)),
                ],
            )
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            return Err(StoreError::NoSuchUpload);
        }
        rows.iter()
            .filter_map(|r| r.get::<_, Option<&[u8]>>(0))
            .take(limit)
            .map(from_json)
            .collect()
    }

    async fn scan_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        from: UploadsFrom<'_>,
        limit: usize,
    ) -> Result<Vec<UploadRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let prefix = prefix.as_bytes();
        let end = successor(prefix);
        let mut sql =
            String::from("SELECT record FROM cosd_uploads WHERE bucket = $1 AND key >= $2");
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&bucket, &prefix];
        let (start, id): (&[u8], &[u8]);
        match from {
            UploadsFrom::Start => {}
            UploadsFrom::AtKey(k) => {
                start = k.as_bytes();
                sql += &format!(" AND key >= {}", next_param(&params));
                params.push(&start);
            }
            UploadsFrom::AfterKey(k) => {
                start = k.as_bytes();
                sql += &format!(" AND key > {}", next_param(&params));
                params.push(&start);
            }
            UploadsFrom::After { key, upload_id } => {
                (start, id) = (key.as_bytes(), upload_id.as_bytes());
                let k = next_param(&params);
                params.push(&start);
                sql += &format!(" AND (key, upload_id) > ({k}, {})", next_param(&params));
                params.push(&id);
            }
        }
        if let Some(end) = &end {
            sql += &format!(" AND key < {}", next_param(&params));
            params.push(end);
        }
        let limit = sql_limit(limit);
        sql += &format!(" ORDER BY key, upload_id LIMIT {}", next_param(&params));
        params.push(&limit);
        let client = self.client().await?;
        let stmt = client.prepare_cached(&sql).await.map_err(db_err)?;
        let rows = client.query(&stmt, &params).await.map_err(db_err)?;
        rows.iter().map(|r| from_json(r.get(0))).collect()
    }

    async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartRecord>> {
        in_transaction!(self, |tx| {
            let parts = take_upload(&tx, bucket, key, upload_id).await?;
            let blobs: Vec<&str> = parts.iter().map(|p| p.blob.as_str()).collect();
            move_refs(&tx, &blobs, &[]).await?;
            parts
        })
    }

    async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        rec: ObjectRecord,
    ) -> Result<Completed> {
        in_transaction!(self, |tx| complete_tx(&tx, bucket, key, upload_id, &rec)
            .await?)
    }

    async fn blob_in_use(&self, blob: &str) -> Result<bool> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM cosd_blob_refs WHERE blob = $1)")
            .await
            .map_err(db_err)?;
        let row = client.query_one(&stmt, &[&blob]).await.map_err(db_err)?;
        Ok(row.get(0))
    }

    async fn get_setting(&self, name: &str) -> Result<Option<Setting>> {
        check_setting_name(name)?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT value, version FROM cosd_settings WHERE name = $1")
            .await
            .map_err(db_err)?;
        let row = client.query_opt(&stmt, &[&name]).await.map_err(db_err)?;
        Ok(row.map(|r| Setting {
            value: r.get(0),
            version: u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
        }))
    }

    async fn put_setting(&self, name: &str, value: Vec<u8>, expected: u64) -> Result<bool> {
        check_setting_name(name)?;
        in_transaction!(self, |tx| put_setting_tx(
            &tx,
            name,
            &value,
            expected,
            self.notify
        )
        .await?)
    }

    fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        Some(self.feed.subscribe())
    }
}

#[cfg(test)]
mod tests;
