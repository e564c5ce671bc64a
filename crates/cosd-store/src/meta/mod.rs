//! The metadata contract: buckets, bucket configurations, the ordered object index, and
//! multipart uploads with their parts.

mod pg;
mod redb_store;
mod settings_files;
pub use settings_files::FileSettings;

pub use pg::PgMeta;
pub use redb_store::RedbMeta;

use crate::{Result, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

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
    /// Made by APPEND Object, which may extend it; any other write makes an object normal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub appendable: bool,
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
    /// The object's own ACL; `None` inherits the bucket's (COS's `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<AclGrant>>,
}

/// One grant of an access control list, as stored: who, and which permission. The protocol
/// layer gives the strings their meaning (grantee `*` is everyone, `authenticated` every
/// signed-in account, otherwise an APPID; permissions are COS's `READ`, `WRITE`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclGrant {
    pub grantee: String,
    pub permission: String,
}

impl ObjectRecord {
    /// The blob ids this entry references.
    pub fn blob_ids(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|s| s.blob.as_str())
    }
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub key: String,
    pub upload_id: String,
    /// What the completed object will carry, as given when the upload was initiated.
    pub attrs: ObjectAttrs,
    /// The account that initiated the upload.
    pub initiator: String,
    /// Initiation time, milliseconds since the Unix epoch.
    pub initiated_ms: i64,
}

/// One uploaded part of a multipart upload, stored as a blob of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub number: u32,
    pub blob: String,
    pub size: u64,
    /// Hex MD5 of the part (its ETag, without quotes).
    pub etag: String,
    pub crc64: u64,
    /// Upload time, milliseconds since the Unix epoch.
    pub modified_ms: i64,
}

/// What completing an upload changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The object entry the completed object replaced.
    pub replaced: Option<ObjectRecord>,
    /// Parts that were uploaded but left out of the object; nothing references their blobs.
    pub unused: Vec<PartRecord>,
}

/// A deployment-wide document (the account list, the key that signs temporary credentials),
/// with a version that every successful write increases by one, for compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: Vec<u8>,
    /// 1 after the first write; a missing setting counts as version 0.
    pub version: u64,
}

/// Something a node may hold a copy of changed in the store, possibly through another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A bucket was created or deleted, or one of its configurations changed.
    Bucket(String),
    /// A deployment-wide setting changed.
    Setting(String),
    /// The feed lost track of what changed (it fell behind): drop every copy.
    Everything,
}

/// Checks a setting name: a short `[a-z0-9_-]` word, so every backend can use it as a file
/// name or a key as it is.
pub(crate) fn check_setting_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Meta(format!("invalid setting name {name:?}")))
    }
}

/// Where a scan of the uploads starts. Uploads are ordered by key, then by upload id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadsFrom<'a> {
    /// From the first upload of the prefix.
    Start,
    /// At the first upload of this key, or after it.
    AtKey(&'a str),
    /// Past every upload of this key.
    AfterKey(&'a str),
    /// Strictly after this upload.
    After { key: &'a str, upload_id: &'a str },
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
    /// if any object or multipart upload exists, [`crate::StoreError::NoSuchBucket`] if it does not exist. The
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
    /// Commits `rec` only if the entry of `key` is still `expected` (`None`: no entry), so a
    /// read-modify-write such as an append cannot lose a concurrent change. Returns whether it
    /// committed; the replaced entry's blobs that `rec` no longer names are unreferenced then.
    async fn replace_object(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<ObjectRecord>,
        rec: ObjectRecord,
    ) -> Result<bool>;
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

    /// Records a new multipart upload; [`crate::StoreError::NoSuchBucket`] if the bucket is gone.
    async fn create_upload(&self, bucket: &str, upload: UploadRecord) -> Result<()>;
    /// The upload `upload_id` of `key`, if it is in progress.
    async fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<UploadRecord>>;
    /// Records a part, returning the same-numbered part it replaced (whose blob nothing
    /// references any more). [`crate::StoreError::NoSuchUpload`] if the upload is not in
    /// progress, for example because it was completed or aborted while the part streamed.
    async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: PartRecord,
    ) -> Result<Option<PartRecord>>;
    /// Up to `limit` parts numbered above `after`, in ascending order;
    /// [`crate::StoreError::NoSuchUpload`] if the upload is not in progress.
    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<PartRecord>>;
    /// Up to `limit` uploads whose key starts with `prefix`, ordered by key and then upload
    /// id, beginning where `from` says.
    async fn scan_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        from: UploadsFrom<'_>,
        limit: usize,
    ) -> Result<Vec<UploadRecord>>;
    /// Removes an upload and all its parts, returning the parts (whose blobs nothing
    /// references any more); [`crate::StoreError::NoSuchUpload`] if it is not in progress.
    async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartRecord>>;
    /// Completes an upload in one transaction: checks that every segment of `rec` is the blob
    /// of a part the upload still has ([`crate::StoreError::InvalidPart`] if a part was
    /// replaced meanwhile), removes the upload with all its parts, and commits `rec` as the
    /// entry of `key`. [`crate::StoreError::NoSuchUpload`] if the upload is not in progress.
    async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        rec: ObjectRecord,
    ) -> Result<Completed>;

    /// Whether any object entry or uploaded part references this blob (used by the orphan
    /// sweep, which must never collect the parts of an upload in progress).
    async fn blob_in_use(&self, blob: &str) -> Result<bool>;

    /// A deployment-wide setting, shared by every node using this store. Names are short
    /// `[a-z0-9_-]` words.
    async fn get_setting(&self, name: &str) -> Result<Option<Setting>>;
    /// Writes `value` as setting `name` if its version is still `expected` (0: it does not
    /// exist yet); returns whether it wrote. Callers read, change and retry on `false`, so two
    /// admins (or nodes) never lose each other's change. Settings must be writable while a
    /// server is running on the same store (the admin commands rely on it).
    async fn put_setting(&self, name: &str, value: Vec<u8>, expected: u64) -> Result<bool>;

    /// A feed of the changes to buckets, their configurations and settings that other
    /// processes make, so that a node's caches can drop stale copies (changes this process
    /// makes may appear too). A receiver that lags behind must treat it as
    /// [`Change::Everything`]. `None` when no other server can share this store (the embedded
    /// backend is locked to one process), so local invalidation is all a cache needs.
    fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        None
    }
}
