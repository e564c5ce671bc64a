//! The PostgreSQL schema and its migrations.
//!
//! Each migration is a list of idempotent statements (`IF NOT EXISTS`, `ON CONFLICT DO
//! NOTHING`) recorded in `cosd_migrations` once it ran. Several nodes may start at once: they
//! may run the same statements together, which is harmless, and a statement that loses a race
//! on the catalog (PostgreSQL reports a duplicate object or key for two concurrent `CREATE
//! TABLE IF NOT EXISTS`) is retried. No advisory lock is needed, so CockroachDB and YugabyteDB
//! run the same migrations.
//!
//! Keys and upload ids are `BYTEA`: object keys may hold any UTF-8 including NUL, which `TEXT`
//! cannot store, and byte order is what the embedded backend lists in, whatever the
//! database's collation. Records are JSON in `BYTEA` (not `JSONB`, which rejects `\u0000` and
//! reorders nothing we need), so later fields need no migration.

use super::{db_err, is_retryable};
use crate::{Result, StoreError};
use std::time::Duration;
use tokio_postgres::Client;

/// The migrations, in order; the index plus one is the version.
const MIGRATIONS: &[&[&str]] = &[&[
    "CREATE TABLE IF NOT EXISTS cosd_buckets (
        name TEXT PRIMARY KEY,
        record BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cosd_bucket_configs (
        bucket TEXT NOT NULL,
        kind TEXT NOT NULL,
        value BYTEA NOT NULL,
        PRIMARY KEY (bucket, kind))",
    "CREATE TABLE IF NOT EXISTS cosd_objects (
        bucket TEXT NOT NULL,
        key BYTEA NOT NULL,
        record BYTEA NOT NULL,
        PRIMARY KEY (bucket, key))",
    "CREATE TABLE IF NOT EXISTS cosd_uploads (
        bucket TEXT NOT NULL,
        key BYTEA NOT NULL,
        upload_id BYTEA NOT NULL,
        record BYTEA NOT NULL,
        PRIMARY KEY (bucket, key, upload_id))",
    "CREATE TABLE IF NOT EXISTS cosd_parts (
        bucket TEXT NOT NULL,
        key BYTEA NOT NULL,
        upload_id BYTEA NOT NULL,
        number INT8 NOT NULL,
        record BYTEA NOT NULL,
        PRIMARY KEY (bucket, key, upload_id, number))",
    // Every blob an object entry or an uploaded part references, changed in the same
    // transaction as the entries, so the orphan sweep's question has an exact answer.
    "CREATE TABLE IF NOT EXISTS cosd_blob_refs (blob TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS cosd_settings (
        name TEXT PRIMARY KEY,
        value BYTEA NOT NULL,
        version INT8 NOT NULL)",
    // The change feed: one counter row, raised by every change of a bucket, a bucket
    // configuration or a setting, and the log of what each generation changed.
    "CREATE TABLE IF NOT EXISTS cosd_change_counter (
        id INT8 PRIMARY KEY,
        generation INT8 NOT NULL)",
    "INSERT INTO cosd_change_counter (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS cosd_change_log (
        generation INT8 PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        at_ms INT8 NOT NULL)",
]];

/// How often one statement is tried when concurrent starts race on the catalog.
const ATTEMPTS: u32 = 10;

/// Brings the schema up to date; safe to run from several nodes at once and again later.
pub(super) async fn migrate(client: &Client) -> Result<()> {
    run(
        client,
        "CREATE TABLE IF NOT EXISTS cosd_migrations (version INT8 PRIMARY KEY, applied_ms INT8 NOT NULL)",
    )
    .await?;
    let applied: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM cosd_migrations", &[])
        .await
        .map_err(db_err)?
        .get(0);
    if applied > MIGRATIONS.len() as i64 {
        return Err(StoreError::Meta(format!(
            "the database has schema version {applied}, newer than this cosd knows ({}): upgrade cosd",
            MIGRATIONS.len()
        )));
    }
    for (index, statements) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        for statement in *statements {
            run(client, statement).await?;
        }
        run(
            client,
            &format!(
                "INSERT INTO cosd_migrations (version, applied_ms) VALUES ({}, {}) ON CONFLICT (version) DO NOTHING",
                index + 1,
                crate::store::now_ms()
            ),
        )
        .await?;
    }
    Ok(())
}

/// Runs one idempotent statement, retrying when a concurrent start raced it.
async fn run(client: &Client, statement: &str) -> Result<()> {
    let mut attempt = 0;
    loop {
        match client.batch_execute(statement).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt + 1 < ATTEMPTS && (raced(&e) || is_retryable(&e)) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            }
            Err(e) => return Err(db_err(e)),
        }
    }
}

/// Whether a `CREATE … IF NOT EXISTS` failed only because another session created the same
/// object at the same moment (unique violation on the catalog, duplicate table or object).
fn raced(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::DUPLICATE_TABLE
            || *c == SqlState::DUPLICATE_OBJECT
    })
}
