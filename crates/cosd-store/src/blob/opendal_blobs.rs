//! [`OpenDalBlobs`]: blobs in any service Apache OpenDAL reaches (a shared file system, S3 and
//! S3-compatible stores, …), under the same names as [`super::FsBlobs`]: `<id[0..2]>/<id>`.
//!
//! Bodies stream both ways. A write goes through OpenDAL's writer: for S3 a single PUT when
//! the body fits in one part, otherwise a multipart upload of [`PART_SIZE`] parts with at most
//! [`PART_CONCURRENCY`] in flight, so one write holds at most about
//! `PART_SIZE * (PART_CONCURRENCY + 1)` bytes. It returns once the service has acknowledged the
//! whole blob (S3: the PUT or CompleteMultipartUpload answered); for the file-system service,
//! whose writer fsyncs the file but not the directory entry, the directories are fsynced here
//! as well. Transient errors are retried ([`RetryLayer`]) and every call is bounded in time
//! ([`TimeoutLayer`]).

use super::fs::{fan_out, valid_id};
use super::location::OpenDalConfig;
use super::{BlobStore, ByteStream};
use crate::{Result, StoreError};
use async_trait::async_trait;
use futures_util::{stream, StreamExt, TryStreamExt};
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{EntryMode, Operator, Writer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Part size of a multipart write: S3's smallest part, so one write holds little.
const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts of one write uploaded at once.
const PART_CONCURRENCY: usize = 2;
/// Longest one service call other than a data transfer may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a data transfer may go without progress.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Tries of a call that failed with a transient error.
const RETRIES: usize = 4;

/// A [`BlobStore`] on an OpenDAL operator.
#[derive(Clone)]
pub struct OpenDalBlobs {
    op: Operator,
    /// The root directory when the service is the local file system, whose directory entries
    /// this backend makes durable itself.
    fs_root: Option<PathBuf>,
}

impl std::fmt::Debug for OpenDalBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenDalBlobs({})", self.op.info().scheme())
    }
}

impl OpenDalBlobs {
    /// Builds the operator. Unknown options of the compiled-in services are refused rather
    /// than ignored, and no error message shows an option's value.
    pub fn open(config: &OpenDalConfig) -> Result<Self> {
        install_defaults();
        check_options(config)?;
        let mut options = config.options.clone();
        if config.scheme == "s3" {
            // The instance metadata service is a network call cosd never makes unless asked:
            // credentials come from the location or the AWS_* environment variables.
            options
                .entry("disable_ec2_metadata".into())
                .or_insert_with(|| "true".into());
        }
        let op = Operator::via_iter(&config.scheme, options)
            .map_err(|e| invalid(format!("cannot open blob store {config}: {e}")))?
            .layer(
                TimeoutLayer::new()
                    .with_timeout(CALL_TIMEOUT)
                    .with_io_timeout(IO_TIMEOUT),
            )
            .layer(RetryLayer::new().with_jitter().with_max_times(RETRIES));
        let fs_root = (config.scheme == "fs")
            .then(|| config.options.get("root").map(PathBuf::from))
            .flatten();
        if let Some(root) = &fs_root {
            std::fs::create_dir_all(root)?;
        }
        Ok(Self { op, fs_root })
    }

    /// The path of blob `id`; ids become path components, so only plain names are accepted.
    fn path(id: &str) -> io::Result<String> {
        if !valid_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid blob id {id:?}"),
            ));
        }
        Ok(format!("{}/{id}", fan_out(id)))
    }

    /// Makes a new file's directory entries durable: its fan-out directory, and the root that
    /// holds the fan-out directory in case this write created it.
    async fn sync_dirs(&self, id: &str) -> Result<()> {
        let Some(root) = self.fs_root.clone() else {
            return Ok(());
        };
        let fan = root.join(fan_out(id));
        tokio::task::spawn_blocking(move || {
            std::fs::File::open(fan)?.sync_all()?;
            std::fs::File::open(root)?.sync_all()
        })
        .await
        .map_err(io::Error::other)??;
        Ok(())
    }
}

/// Registers the compiled-in services and installs the HTTP client, with ring as its TLS
/// provider (ring builds far lighter than rustls' default). All process-wide and idempotent.
fn install_defaults() {
    // An error means a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    opendal::init_default_registry();
    opendal_http_transport_reqwest::install_default();
}

/// Refuses options the compiled-in services do not know (OpenDAL would silently ignore a
/// misspelt one). Only names are reported, never values.
fn check_options(config: &OpenDalConfig) -> Result<()> {
    let known = match config.scheme.as_str() {
        "fs" => field_names(opendal::services::FsConfig::default()),
        "s3" => field_names(opendal::services::S3Config::default()),
        "memory" => field_names(opendal::services::MemoryConfig::default()),
        other => {
            return Err(invalid(format!(
                "the OpenDAL service {other:?} is not compiled into this cosd (compiled in: fs, s3, memory)"
            )))
        }
    };
    let unknown: Vec<&str> = config
        .options
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains_key(*k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "unknown option(s) {} for the OpenDAL {} service; it takes: {}",
        unknown.join(", "),
        config.scheme,
        known.keys().cloned().collect::<Vec<_>>().join(", ")
    )))
}

/// The option names of a service configuration: its serialized field names.
fn field_names(config: impl Serialize) -> BTreeMap<String, serde_json::Value> {
    match serde_json::to_value(config) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

fn invalid(msg: String) -> StoreError {
    StoreError::Io(io::Error::new(io::ErrorKind::InvalidInput, msg))
}

fn io_err(e: opendal::Error) -> StoreError {
    StoreError::Io(e.into())
}

/// A write in progress. Unless closed, its partial blob is discarded, also when the write
/// future is dropped midway (the client went away): the upload is aborted and whatever the
/// service already holds under the path is deleted, in the background.
struct PendingWrite {
    op: Operator,
    path: String,
    writer: Option<Writer>,
}

impl PendingWrite {
    async fn close(mut self) -> Result<()> {
        if let Some(mut w) = self.writer.take() {
            if let Err(e) = w.close().await {
                discard(self.op.clone(), self.path.clone(), w).await;
                return Err(io_err(e));
            }
        }
        Ok(())
    }

    async fn discard(mut self) {
        if let Some(w) = self.writer.take() {
            discard(self.op.clone(), self.path.clone(), w).await;
        }
    }
}

impl Drop for PendingWrite {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(discard(self.op.clone(), self.path.clone(), w));
            }
        }
    }
}

async fn discard(op: Operator, path: String, mut writer: Writer) {
    // Aborting is unsupported by some services (fs without a temporary directory writes in
    // place); the delete then removes the partial file.
    let _ = writer.abort().await;
    if let Err(e) = op.delete(&path).await {
        tracing::warn!(path, error = %e, "could not remove a partial blob; the sweep will");
    }
}

#[async_trait]
impl BlobStore for OpenDalBlobs {
    async fn write(&self, id: &str, mut body: ByteStream) -> Result<u64> {
        let path = Self::path(id)?;
        let mut writer = self.op.writer_with(&path);
        // Parts only where the service writes in parts: elsewhere (fs) a chunk size would
        // just hold bytes back.
        if self.op.info().capability().write_can_multi {
            writer = writer.chunk(PART_SIZE).concurrent(PART_CONCURRENCY);
        }
        let writer = writer.await.map_err(io_err)?;
        let mut pending = PendingWrite {
            op: self.op.clone(),
            path,
            writer: Some(writer),
        };
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let written = match chunk {
                Ok(chunk) => {
                    size += chunk.len() as u64;
                    let w = pending.writer.as_mut().expect("open until closed");
                    w.write(chunk).await.map_err(io_err)
                }
                Err(e) => Err(StoreError::Body(e)),
            };
            if let Err(e) = written {
                pending.discard().await;
                return Err(e);
            }
        }
        pending.close().await?;
        self.sync_dirs(id).await?;
        Ok(size)
    }

    async fn read(&self, id: &str, offset: u64, len: u64) -> Result<ByteStream> {
        let path = Self::path(id)?;
        let end = offset
            .checked_add(len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "read range overflows"))?;
        if len == 0 {
            self.op.stat(&path).await.map_err(io_err)?;
            return Ok(Box::pin(stream::empty()));
        }
        let mut bytes = self
            .op
            .reader(&path)
            .await
            .map_err(io_err)?
            .into_bytes_stream(offset..end)
            .await
            .map_err(io_err)?;
        // The first chunk is awaited here, so that a missing blob is an error before a reply
        // starts, and the service has the blob open before the caller streams it.
        let first = bytes.try_next().await?;
        let all = stream::iter(first.map(Ok)).chain(bytes);
        Ok(exactly(Box::pin(all), len, path))
    }

    async fn delete(&self, id: &str) -> Result<()> {
        let path = Self::path(id)?;
        self.op.delete(&path).await.map_err(io_err)
    }

    async fn list_older_than(&self, before: SystemTime) -> Result<Vec<String>> {
        let mut entries = self
            .op
            .lister_with("")
            .recursive(true)
            .await
            .map_err(io_err)?;
        let mut ids = Vec::new();
        while let Some(entry) = entries.try_next().await.map_err(io_err)? {
            let meta = entry.metadata();
            if meta.mode() != EntryMode::FILE {
                continue;
            }
            let Some((fan, id)) = entry.path().split_once('/') else {
                continue;
            };
            if !valid_id(id) || fan != fan_out(id) {
                continue;
            }
            let modified = match meta.last_modified() {
                Some(t) => SystemTime::from(t),
                // A listing without times (rare services) costs a stat per blob.
                None => match self.op.stat(entry.path()).await {
                    Ok(m) => m
                        .last_modified()
                        .map_or(SystemTime::now(), SystemTime::from),
                    Err(e) if e.kind() == opendal::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err(e)),
                },
            };
            if modified < before {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }
}

/// Passes `bytes` through, failing unless it yields exactly `len` bytes: a service answers a
/// range past a blob's end with a short body, which must not pass for the blob's content.
fn exactly(bytes: ByteStream, len: u64, path: String) -> ByteStream {
    Box::pin(stream::try_unfold(
        (bytes, 0u64),
        move |(mut bytes, seen)| {
            let path = path.clone();
            async move {
                match bytes.try_next().await? {
                    Some(chunk) if seen + chunk.len() as u64 <= len => {
                        let seen = seen + chunk.len() as u64;
                        Ok(Some((chunk, (bytes, seen))))
                    }
                    None if seen == len => Ok(None),
                    _ => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("blob {path}: the service did not return exactly {len} bytes"),
                    )),
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::BlobLocation;
    use bytes::Bytes;

    fn fs_blobs(dir: &std::path::Path) -> OpenDalBlobs {
        let location: BlobLocation = format!("fs://{}", dir.display()).parse().unwrap();
        let BlobLocation::OpenDal(config) = location else {
            panic!("not an OpenDAL location");
        };
        OpenDalBlobs::open(&config).unwrap()
    }

    fn body(chunks: Vec<io::Result<Bytes>>) -> ByteStream {
        Box::pin(stream::iter(chunks))
    }

    async fn read_all(
        blobs: &OpenDalBlobs,
        id: &str,
        offset: u64,
        len: u64,
    ) -> io::Result<Vec<u8>> {
        let chunks: Vec<Bytes> = blobs
            .read(id, offset, len)
            .await
            .map_err(io::Error::other)?
            .try_collect()
            .await?;
        Ok(chunks.concat())
    }

    #[tokio::test]
    async fn uses_the_fs_blobs_layout_so_either_backend_reads_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = fs_blobs(dir.path());
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let parts = data
            .chunks(65_536)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        assert_eq!(blobs.write("abc123", body(parts)).await.unwrap(), 3_000_000);
        assert!(dir.path().join("ab").join("abc123").is_file());
        let native = super::super::FsBlobs::open(dir.path()).unwrap();
        let back: Vec<Bytes> = native
            .read("abc123", 1_000_000, 10)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(back.concat(), &data[1_000_000..1_000_010]);
        assert_eq!(
            read_all(&blobs, "abc123", 2_999_990, 10).await.unwrap(),
            &data[2_999_990..]
        );
        assert_eq!(
            read_all(&blobs, "abc123", 0, 3_000_000).await.unwrap(),
            data
        );
    }

    #[tokio::test]
    async fn short_and_missing_blobs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = fs_blobs(dir.path());
        blobs
            .write("short", body(vec![Ok(Bytes::from_static(b"12345"))]))
            .await
            .unwrap();
        assert!(read_all(&blobs, "short", 2, 10).await.is_err());
        assert!(blobs.read("missing", 0, 0).await.is_err());
        assert!(read_all(&blobs, "missing", 0, 1).await.is_err());
        assert!(blobs.read("short", u64::MAX, 2).await.is_err());
        blobs.delete("short").await.unwrap();
        blobs.delete("short").await.unwrap();
        assert!(blobs.read("short", 0, 0).await.is_err());
    }

    #[tokio::test]
    async fn a_body_of_the_wrong_length_is_an_error() {
        let chunks = || {
            body(vec![
                Ok(Bytes::from_static(b"abc")),
                Ok(Bytes::from_static(b"de")),
            ])
        };
        let all: Vec<Bytes> = exactly(chunks(), 5, "p".into())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.concat(), b"abcde");
        for len in [4, 6] {
            let err = exactly(chunks(), len, "p".into())
                .try_collect::<Vec<Bytes>>()
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        }
    }

    #[tokio::test]
    async fn refuses_ids_that_are_not_plain_names() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = fs_blobs(dir.path());
        for id in ["", "..", "../x", "a/b", "a.b"] {
            assert!(blobs.write(id, body(vec![])).await.is_err());
            assert!(blobs.read(id, 0, 0).await.is_err());
            assert!(blobs.delete(id).await.is_err());
        }
    }

    #[tokio::test]
    async fn dropped_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = fs_blobs(dir.path());
        let never_ends: ByteStream =
            Box::pin(stream::iter([Ok(Bytes::from_static(b"x"))]).chain(stream::pending()));
        let mut write = blobs.write("abandoned", never_ends);
        let waited = tokio::time::timeout(Duration::from_millis(200), &mut write).await;
        assert!(waited.is_err());
        drop(write);
        for _ in 0..100 {
            if blobs
                .list_older_than(SystemTime::now() + Duration::from_secs(60))
                .await
                .unwrap()
                .is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the abandoned blob was not removed");
    }

    #[test]
    fn unknown_services_and_options_are_refused_without_showing_values() {
        let open = |s: &str| {
            let BlobLocation::OpenDal(config) = s.parse::<BlobLocation>().unwrap() else {
                panic!("not an OpenDAL location");
            };
            OpenDalBlobs::open(&config).unwrap_err().to_string()
        };
        let err = open("opendal:gcs?bucket=b");
        assert!(
            err.contains("not compiled into") && err.contains("fs, s3, memory"),
            "{err}"
        );
        let err = open("s3://b?region=r&endpiont=http://127.0.0.1:1&secret_access_key=hunter2");
        assert!(
            err.contains("endpiont") && err.contains("endpoint"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn passes_the_conformance_suite_on_the_fs_service() {
        let dir = tempfile::tempdir().unwrap();
        let meta = crate::RedbMeta::open(&dir.path().join("meta.redb")).unwrap();
        let blobs = fs_blobs(&dir.path().join("blobs"));
        let store = crate::Store::new(std::sync::Arc::new(meta), std::sync::Arc::new(blobs));
        crate::testing::conformance(&store).await;
        let before = crate::testing::snapshot(&store).await;
        drop(store);
        let meta = crate::RedbMeta::open(&dir.path().join("meta.redb")).unwrap();
        let blobs = fs_blobs(&dir.path().join("blobs"));
        let store = crate::Store::new(std::sync::Arc::new(meta), std::sync::Arc::new(blobs));
        assert_eq!(crate::testing::snapshot(&store).await, before);
    }
}
