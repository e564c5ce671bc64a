//! Storage for cosd.
//!
//! Two narrow traits keep backends interchangeable: [`MetaStore`] holds buckets, their
//! configurations and the ordered object index; [`BlobStore`] holds immutable byte blobs. Neither
//! knows about HTTP, and neither assumes a single process or a local path, so a scale-out backend
//! (a SQL database plus a shared blob service) can implement them too.
//!
//! [`Store`] combines one of each and owns the write protocol that makes crashes harmless:
//! stream the body into a new, uniquely named blob while hashing it, make it durable, commit the
//! index entry in one metadata transaction, and only then report success. The replaced blob is
//! removed after the commit; a crash in between leaves at worst an orphan blob, which
//! [`Store::sweep_orphans`] collects.
//!
//! Multipart uploads follow the same protocol per part; completing one commits an entry whose
//! segments are the parts' blobs, so no data is copied. APPEND Object adds a segment to an
//! appendable object the same way.

pub mod blob;
pub mod hash;
pub mod list;
pub mod meta;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use blob::{BlobLocation, BlobStore, ByteStream, FsBlobs, OpenDalBlobs, OpenDalConfig};
pub use hash::{crc64, crc64_combine, BlobDigest, Crc64Concat, DigestHandle, HashingStream};
pub use list::{list, list_uploads, ListPage, ListQuery, UploadPage, UploadQuery};
pub use meta::{
    AclGrant, BucketRecord, Change, Completed, ContentHeaders, FileSettings, MetaStore,
    ObjectAttrs, ObjectRecord, PartRecord, PgMeta, RedbMeta, ScanFrom, Segment, Setting,
    UploadRecord, UploadsFrom,
};
pub use store::{PutResult, Store};

/// Errors a storage operation can report. Protocol layers map these to COS error codes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("bucket does not exist")]
    NoSuchBucket,
    #[error("bucket already exists (owned by {owner})")]
    BucketExists { owner: String },
    #[error("bucket is not empty")]
    BucketNotEmpty,
    #[error("object does not exist")]
    NoSuchKey,
    #[error("content MD5 does not match the body")]
    BadDigest,
    #[error("multipart upload does not exist")]
    NoSuchUpload,
    /// A part a completion names is not (or no longer) the upload's part of that number.
    #[error("a part of the upload changed while it was being completed")]
    InvalidPart,
    /// An append to an object that APPEND Object did not create.
    #[error("object is not appendable")]
    NotAppendable,
    /// An append whose position is not the object's current length (0 for a new object).
    #[error("append position is not the object's length {length}")]
    PositionNotEqualToLength { length: u64 },
    /// An appendable object reached the most appends or bytes it may hold.
    #[error("appendable object is full: {0}")]
    AppendLimit(&'static str),
    /// The body stream itself failed (client went away, a chunk signature did not verify, the
    /// body was longer or shorter than announced). The inner error is what the stream reported,
    /// so the protocol layer can recover its own error type with `downcast`.
    #[error("request body: {0}")]
    Body(std::io::Error),
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("metadata store: {0}")]
    Meta(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
