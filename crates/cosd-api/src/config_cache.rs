//! Bucket configurations the request path consults on every request — the CORS rules, the ACL
//! and the bucket policy — kept in memory, parsed, so that a preflight or an authorization
//! decision does no storage I/O for them in the common case.
//!
//! A change made through this node invalidates the bucket's entry at once. Changes made through
//! other nodes sharing the store arrive on the store's change feed
//! ([`cosd_store::MetaStore::changes`]); they are applied before every lookup, so an entry
//! outlives its configuration only as long as the feed takes to deliver (well under a second).
//! Invalidation bumps a generation counter, and a load that started before the bump does not
//! store its (possibly stale) result, so a slow load can never resurrect an old configuration.

use crate::acl::Acl;
use crate::cors::CorsConfiguration;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::policy::Policy;
use cosd_store::{Change, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast::{self, error::TryRecvError};

/// Storage name of the CORS configuration document.
pub const CORS: &str = "cors";
/// Storage name of the bucket ACL (JSON of its grants).
pub const ACL: &str = "acl";
/// Storage name of the bucket policy (the JSON document as put).
pub const POLICY: &str = "policy";
/// Most buckets kept; past this the cache starts over (it only ever holds copies).
const MAX_ENTRIES: usize = 65_536;

/// What the request path needs to know about a bucket's configuration.
#[derive(Debug, Default)]
pub struct BucketConfig {
    /// The CORS rules; `None` when the bucket has none (or does not exist).
    pub cors: Option<CorsConfiguration>,
    /// The bucket's ACL; `None` when it has none (private).
    pub acl: Option<Acl>,
    /// The bucket policy; `None` when it has none.
    pub policy: Option<Policy>,
}

/// The per-node cache of [`BucketConfig`]s.
#[derive(Default)]
pub struct ConfigCache {
    entries: Mutex<HashMap<String, Arc<BucketConfig>>>,
    generation: AtomicU64,
    /// Changes other nodes made; `None` when only this process changes the store.
    changes: Option<Mutex<broadcast::Receiver<Change>>>,
}

impl ConfigCache {
    /// A cache following `changes`, the store's change feed (if it has one).
    pub fn new(changes: Option<broadcast::Receiver<Change>>) -> Self {
        ConfigCache {
            changes: changes.map(Mutex::new),
            ..Self::default()
        }
    }

    /// The configuration of `bucket`, from memory or, on a miss, from the store.
    pub async fn get(&self, store: &Store, bucket: &str) -> ApiResult<Arc<BucketConfig>> {
        self.apply_changes();
        if let Some(hit) = self.lock().get(bucket) {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = Arc::new(load(store, bucket).await?);
        let mut entries = self.lock();
        if self.generation.load(Ordering::Acquire) == generation {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(bucket.to_string(), loaded.clone());
        }
        Ok(loaded)
    }

    /// Replaces (`Some`) or removes (`None`) one of `bucket`'s configuration documents in the
    /// store, then forgets the cached copy so this node sees the change at once (other nodes
    /// follow the store's change feed).
    pub async fn put(
        &self,
        store: &Store,
        bucket: &str,
        kind: &str,
        value: Option<Vec<u8>>,
    ) -> ApiResult<()> {
        store
            .meta
            .put_bucket_config(bucket, kind, value)
            .await
            .map_err(crate::ops::store_error)?;
        self.invalidate(bucket);
        Ok(())
    }

    /// Forgets `bucket`'s entry; call after changing any of its configurations.
    pub fn invalidate(&self, bucket: &str) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(bucket);
    }

    /// Forgets every entry.
    fn invalidate_all(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Drops the entries the change feed says changed. Bounded: the feed buffers a fixed
    /// number of changes, and a receiver that fell further behind sees `Lagged` once.
    fn apply_changes(&self) {
        let Some(changes) = &self.changes else {
            return;
        };
        let mut changes = unpoisoned(changes.lock());
        loop {
            match changes.try_recv() {
                Ok(Change::Bucket(bucket)) => self.invalidate(&bucket),
                Ok(Change::Setting(_)) => {}
                Ok(Change::Everything) | Err(TryRecvError::Lagged(_)) => self.invalidate_all(),
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<BucketConfig>>> {
        unpoisoned(self.entries.lock())
    }
}

/// A panic while holding one of the cache's locks cannot leave what it guards inconsistent
/// (every critical section is a single map or channel operation), so a poisoned lock is
/// still usable.
fn unpoisoned<T>(locked: std::sync::LockResult<MutexGuard<'_, T>>) -> MutexGuard<'_, T> {
    locked.unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn load(store: &Store, bucket: &str) -> ApiResult<BucketConfig> {
    let cors = load_kind(store, bucket, CORS, |b| {
        CorsConfiguration::parse(b).map_err(|e| e.to_string())
    })
    .await?;
    let acl = load_kind(store, bucket, ACL, |b| {
        Acl::from_json(b).map_err(|e| e.to_string())
    })
    .await?;
    let policy = load_kind(store, bucket, POLICY, |b| {
        Policy::parse(b, bucket).map_err(|e| e.to_string())
    })
    .await?;
    Ok(BucketConfig { cors, acl, policy })
}

/// One stored configuration, parsed. One that no longer parses fails the request rather than
/// being skipped: skipping a policy could let in what it denies.
async fn load_kind<T>(
    store: &Store,
    bucket: &str,
    kind: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, String>,
) -> ApiResult<Option<T>> {
    match store.meta.get_bucket_config(bucket, kind).await {
        Ok(Some(bytes)) => parse(&bytes).map(Some).map_err(|e| {
            tracing::error!(bucket, kind, error = %e, "stored bucket configuration does not parse");
            ApiError::new(ErrorCode::InternalError)
        }),
        Ok(None) | Err(cosd_store::StoreError::NoSuchBucket) => Ok(None),
        Err(e) => Err(crate::ops::store_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &[u8] = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
        <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

    #[tokio::test]
    async fn changes_from_the_feed_drop_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_embedded(dir.path()).unwrap();
        let bucket = "feed-1250000000";
        store
            .meta
            .create_bucket(cosd_store::BucketRecord {
                name: bucket.into(),
                owner: "1250000000".into(),
                region: "ap-guangzhou".into(),
                created_ms: 1,
            })
            .await
            .unwrap();
        let (feed, rx) = broadcast::channel(2);
        let cache = ConfigCache::new(Some(rx));
        assert!(cache.get(&store, bucket).await.unwrap().cors.is_none());
        // Another node changes the rules: this cache knows only through the feed.
        let meta = &store.meta;
        meta.put_bucket_config(bucket, CORS, Some(RULES.to_vec()))
            .await
            .unwrap();
        assert!(cache.get(&store, bucket).await.unwrap().cors.is_none());
        feed.send(Change::Setting("accounts".into())).unwrap();
        assert!(cache.get(&store, bucket).await.unwrap().cors.is_none());
        feed.send(Change::Bucket(bucket.into())).unwrap();
        assert!(cache.get(&store, bucket).await.unwrap().cors.is_some());

        // A feed that overflowed forgets everything.
        meta.put_bucket_config(bucket, CORS, None).await.unwrap();
        for other in ["a", "b", "c"] {
            feed.send(Change::Bucket(other.into())).unwrap();
        }
        assert!(cache.get(&store, bucket).await.unwrap().cors.is_none());
        meta.put_bucket_config(bucket, CORS, Some(RULES.to_vec()))
            .await
            .unwrap();
        feed.send(Change::Everything).unwrap();
        assert!(cache.get(&store, bucket).await.unwrap().cors.is_some());
    }
}
