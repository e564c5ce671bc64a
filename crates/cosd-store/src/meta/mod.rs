//! The metadata contract: buckets, bucket configurations and the ordered object index.

mod redb_store;

pub use redb_store::RedbMeta;

use crate::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A bucket. `name` is the full wire name, `<name>-<appid>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRecord {
    pub name: String,
    /// The owning account's APPID.
    pub owner: String,
    pub region: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// One stretch of an object's bytes, stored as a blob. A plain PUT makes one segment; a
/// completed multipart upload points at its parts, one segment each, so completing never copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub blob: String,
    pub size: u64,
}

/// The standard HTTP content headers an object keeps and returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHeaders {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// An entry of the object index. Serialized with serde and `#[serde(default)]` on later
/// additions, so versions, ACLs and tags can join without a migration of old entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub segments: Vec<Segment>,
    pub size: u64,
    /// Hex MD5 of the content (or `<hex>-<parts>` for multipart), without quotes.
    pub etag: String,
    /// CRC-64/ECMA-182 (the XZ variant COS clients verify) of the whole content.
    pub crc64: u64,
    /// Last modification, milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// What the client set on the object; flattened so the stored JSON keeps one flat shape.
    #[serde(flatten)]
    pub attrs: ObjectAttrs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// The client-chosen attributes of an object: what a PUT or a copy with `REPLACED` metadata
/// sets, kept apart from what the store measures (size, digests, segments).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttrs {
    #[serde(default)]
    pub content: ContentHeaders,
    /// User metadata, names lower-cased and without the `x-cos-meta-` prefix, in request order.
    #[serde(default)]
    pub user_meta: Vec<(String, String)>,
    pub storage_class: String,
}

impl ObjectRecord {
    /// The blob ids this entry references.
    pub fn blob_ids(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|s| s.blob.as_str())
    }
}

/// Where an index scan starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFrom<'a> {
    /// From the first key of the prefix.
    Start,
    /// Strictly after this key.
    After(&'a str),
    /// At this key or after it.
    AtLeast(&'a str),
}

/// Buckets, their configurations and the object index.
///
/// Every method is one transaction. Implementations must be safe to share between tasks and,
/// for scale-out backends, between processes.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// Creates a bucket; [`crate::StoreError::BucketExists`] if the name is taken.
    async fn create_bucket(&self, bucket: BucketRecord) -> Result<()>;
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>>;
    /// All buckets, ordered by name.
    async fn list_buckets(&self) -> Result<Vec<BucketRecord>>;
    /// Deletes an empty bucket and its configurations; [`crate::StoreError::BucketNotEmpty`]
    /// if any object exists, [`crate::StoreError::NoSuchBucket`] if it does not exist. The
    /// emptiness check and the delete are one transaction, so a concurrent PUT cannot slip in.
    async fn delete_bucket(&self, name: &str) -> Result<()>;

    /// A bucket configuration document (`cors`, `acl`, `policy`, …) as stored bytes.
    async fn get_bucket_config(&self, bucket: &str, kind: &str) -> Result<Option<Vec<u8>>>;
    /// Replaces (`Some`) or removes (`None`) a bucket configuration document;
    /// [`crate::StoreError::NoSuchBucket`] if the bucket does not exist, so no configuration
    /// outlives its bucket.
    async fn put_bucket_config(
        &self,
        bucket: &str,
        kind: &str,
        value: Option<Vec<u8>>,
    ) -> Result<()>;

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>>;
    /// Commits an object entry, returning the entry it replaced (whose blobs the caller may
    /// now delete). [`crate::StoreError::NoSuchBucket`] if the bucket is gone.
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        rec: ObjectRecord,
    ) -> Result<Option<ObjectRecord>>;
    /// Removes an object entry, returning it if it existed.
    async fn delete_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>>;
    /// Up to `limit` entries whose key starts with `prefix`, in byte order of the key,
    /// beginning where `from` says (a `from` key below `prefix` means the prefix's first key).
    async fn scan_objects(
        &self,
        bucket: &str,
        prefix: &str,
        from: ScanFrom<'_>,
        limit: usize,
    ) -> Result<Vec<(String, ObjectRecord)>>;

    /// Whether any object entry references this blob (used by the orphan sweep).
    async fn blob_in_use(&self, blob: &str) -> Result<bool>;
}
