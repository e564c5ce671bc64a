//! The blob contract: immutable byte blobs named by unique ids.

mod fs;
mod location;
mod opendal_blobs;

pub use fs::FsBlobs;
pub use location::{BlobLocation, OpenDalConfig};
pub use opendal_blobs::OpenDalBlobs;

use crate::Result;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

/// A stream of body bytes. Errors are `io::Error`s; a protocol layer that fails a body (for
/// example on a bad chunk signature) wraps its own error with `io::Error::other`.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Immutable blobs. Ids are chosen by the caller and never reused.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Writes the whole stream as blob `id` and makes it durable before returning the size.
    /// If the stream fails, nothing is left behind and the stream's error is returned as
    /// [`crate::StoreError::Body`].
    async fn write(&self, id: &str, body: ByteStream) -> Result<u64>;
    /// Streams `len` bytes of blob `id` starting at `offset`.
    async fn read(&self, id: &str, offset: u64, len: u64) -> Result<ByteStream>;
    /// Deletes a blob; deleting a missing blob is not an error.
    async fn delete(&self, id: &str) -> Result<()>;
    /// Ids of blobs last written before `before` (candidates for the orphan sweep).
    async fn list_older_than(&self, before: SystemTime) -> Result<Vec<String>>;
}

/// Opens the blob store a `--blobs` location names.
pub fn open(location: &BlobLocation) -> Result<Arc<dyn BlobStore>> {
    Ok(match location {
        BlobLocation::Dir(dir) => Arc::new(FsBlobs::open(dir)?),
        BlobLocation::OpenDal(config) => Arc::new(OpenDalBlobs::open(config)?),
    })
}
