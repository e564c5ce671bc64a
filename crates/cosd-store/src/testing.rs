//! The backend conformance suite: what every [`crate::MetaStore`] and [`crate::BlobStore`]
//! pair must do, as one function a backend's tests call with a fresh, empty [`Store`].
//! Enabled by the `testing` feature so other crates (and future backends) can reuse it from
//! their own tests.
//!
//! It panics on the first violation, like any test.

use crate::list::{list, list_uploads, ListQuery, UploadQuery};
use crate::meta::{
    BucketRecord, ContentHeaders, ObjectAttrs, ObjectRecord, PartRecord, ScanFrom, Segment,
    UploadRecord, UploadsFrom,
};
use crate::{ByteStream, Store, StoreError};
use bytes::Bytes;
use futures_util::{stream, TryStreamExt};
use std::collections::BTreeSet;
use std::io;
use std::time::{Duration, SystemTime};

/// Runs every check against `store`, which must start empty. It leaves a few buckets and
/// objects behind, so a persistent backend can compare [`snapshot`]s across a reopen.
pub async fn conformance(store: &Store) {
    buckets(store).await;
    configs(store).await;
    settings(store).await;
    objects(store).await;
    scan_bounds(store).await;
    bad_digest(store).await;
    failing_body(store).await;
    copy(store).await;
    ranged_reads_across_segments(store).await;
    listing(store).await;
    multipart(store).await;
    upload_listing(store).await;
    append(store).await;
    sweep(store).await;
}

/// Everything a store holds that the suite can enumerate: each bucket with its `cors`
/// configuration, its objects with their content, and its uploads in progress with their parts.
pub type Snapshot = Vec<(
    BucketRecord,
    Option<Vec<u8>>,
    Vec<(String, ObjectRecord, Vec<u8>)>,
    Vec<(UploadRecord, Vec<PartRecord>)>,
)>;

/// Reads back the whole store (see [`Snapshot`]).
pub async fn snapshot(store: &Store) -> Snapshot {
    let mut out = Vec::new();
    for b in store.meta.list_buckets().await.unwrap() {
        let cors = store.meta.get_bucket_config(&b.name, "cors").await.unwrap();
        let q = ListQuery {
            max_keys: usize::MAX,
            ..ListQuery::default()
        };
        let mut objects = Vec::new();
        for (key, rec) in list(store.meta.as_ref(), &b.name, &q)
            .await
            .unwrap()
            .objects
        {
            let content = read_all(store, &rec, 0, rec.size).await;
            objects.push((key, rec, content));
        }
        let q = UploadQuery {
            max_uploads: usize::MAX,
            ..UploadQuery::default()
        };
        let mut uploads = Vec::new();
        for up in list_uploads(store.meta.as_ref(), &b.name, &q)
            .await
            .unwrap()
            .uploads
        {
            let parts = store
                .all_parts(&b.name, &up.key, &up.upload_id)
                .await
                .unwrap();
            uploads.push((up, parts));
        }
        out.push((b, cors, objects, uploads));
    }
    out
}

fn bucket(name: &str) -> BucketRecord {
    BucketRecord {
        name: name.into(),
        owner: "1250000000".into(),
        region: "ap-guangzhou".into(),
        created_ms: 1_700_000_000_000,
    }
}

fn attrs(content_type: &str) -> ObjectAttrs {
    ObjectAttrs {
        content: ContentHeaders {
            content_type: Some(content_type.into()),
            ..ContentHeaders::default()
        },
        user_meta: vec![("color".into(), "blue".into()), ("a".into(), "1".into())],
        storage_class: "STANDARD".into(),
        acl: None,
    }
}

fn body(chunks: &[&[u8]]) -> ByteStream {
    let chunks: Vec<io::Result<Bytes>> = chunks
        .iter()
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(stream::iter(chunks))
}

async fn put(store: &Store, bucket: &str, key: &str, data: &[u8]) -> ObjectRecord {
    store
        .put_object(bucket, key, body(&[data]), None, attrs("text/plain"))
        .await
        .unwrap()
        .record
}

async fn read_all(store: &Store, rec: &ObjectRecord, offset: u64, len: u64) -> Vec<u8> {
    let chunks: Vec<Bytes> = store
        .read(rec, offset, len)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

/// Every blob the blob store holds, whatever its age.
async fn all_blobs(store: &Store) -> BTreeSet<String> {
    let future = SystemTime::now() + Duration::from_secs(24 * 3600);
    store
        .blobs
        .list_older_than(future)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn buckets(store: &Store) {
    let m = &store.meta;
    assert!(
        m.list_buckets().await.unwrap().is_empty(),
        "the suite needs an empty store"
    );
    for name in ["beta-1250000000", "alpha-1250000000", "gamma-1250000000"] {
        m.create_bucket(bucket(name)).await.unwrap();
    }
    let dup = m.create_bucket(bucket("alpha-1250000000")).await;
    assert!(matches!(dup, Err(StoreError::BucketExists { ref owner }) if owner == "1250000000"));
    assert_eq!(
        m.get_bucket("alpha-1250000000").await.unwrap(),
        Some(bucket("alpha-1250000000"))
    );
    assert_eq!(m.get_bucket("missing-1250000000").await.unwrap(), None);
    let names: Vec<String> = m
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(
        names,
        ["alpha-1250000000", "beta-1250000000", "gamma-1250000000"]
    );

    assert!(matches!(
        m.delete_bucket("missing-1250000000").await,
        Err(StoreError::NoSuchBucket)
    ));
    put(store, "beta-1250000000", "k", b"v").await;
    assert!(matches!(
        m.delete_bucket("beta-1250000000").await,
        Err(StoreError::BucketNotEmpty)
    ));
    store.delete_object("beta-1250000000", "k").await.unwrap();
    m.put_bucket_config("beta-1250000000", "cors", Some(b"<x/>".to_vec()))
        .await
        .unwrap();
    m.delete_bucket("beta-1250000000").await.unwrap();
    m.delete_bucket("gamma-1250000000").await.unwrap();
    assert_eq!(m.get_bucket("beta-1250000000").await.unwrap(), None);
    // A bucket created again under the same name starts without the old configuration.
    m.create_bucket(bucket("beta-1250000000")).await.unwrap();
    assert_eq!(
        m.get_bucket_config("beta-1250000000", "cors")
            .await
            .unwrap(),
        None
    );
    m.delete_bucket("beta-1250000000").await.unwrap();
    assert!(all_blobs(store).await.is_empty());
}

async fn configs(store: &Store) {
    let m = &store.meta;
    let b = "alpha-1250000000";
    assert_eq!(m.get_bucket_config(b, "cors").await.unwrap(), None);
    m.put_bucket_config(b, "cors", Some(b"one".to_vec()))
        .await
        .unwrap();
    m.put_bucket_config(b, "acl", Some(b"acl".to_vec()))
        .await
        .unwrap();
    m.put_bucket_config(b, "cors", Some(b"two".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        m.get_bucket_config(b, "cors").await.unwrap(),
        Some(b"two".to_vec())
    );
    m.put_bucket_config(b, "acl", None).await.unwrap();
    assert_eq!(m.get_bucket_config(b, "acl").await.unwrap(), None);
    assert_eq!(
        m.get_bucket_config(b, "cors").await.unwrap(),
        Some(b"two".to_vec())
    );
    let orphan = m
        .put_bucket_config("missing-1250000000", "cors", Some(vec![]))
        .await;
    assert!(matches!(orphan, Err(StoreError::NoSuchBucket)));
}

async fn settings(store: &Store) {
    let m = &store.meta;
    assert_eq!(m.get_setting("accounts").await.unwrap(), None);
    assert!(!m.put_setting("accounts", b"x".to_vec(), 1).await.unwrap());
    assert!(m.put_setting("accounts", b"one".to_vec(), 0).await.unwrap());
    assert!(!m
        .put_setting("accounts", b"lost".to_vec(), 0)
        .await
        .unwrap());
    assert!(m.put_setting("accounts", b"two".to_vec(), 1).await.unwrap());
    let got = m.get_setting("accounts").await.unwrap().unwrap();
    assert_eq!((got.value.as_slice(), got.version), (&b"two"[..], 2));
    assert_eq!(m.get_setting("token-key").await.unwrap(), None);
    // Racing writers that read the same version: exactly one wins.
    let racers = (0..8).map(|i| m.put_setting("race", vec![i], 0));
    let won = futures_util::future::join_all(racers).await;
    assert_eq!(won.into_iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
}

async fn objects(store: &Store) {
    let b = "alpha-1250000000";
    let key = "docs/日本語 ?&=.txt";
    let first = store
        .put_object(
            b,
            key,
            body(&[b"hello ", b"", b"world"]),
            None,
            attrs("text/plain"),
        )
        .await
        .unwrap();
    assert_eq!(first.replaced, None);
    let rec = first.record;
    assert_eq!(rec.size, 11);
    assert_eq!(rec.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    assert_eq!(rec.crc64, crate::crc64(b"hello world"));
    assert_eq!(rec.attrs, attrs("text/plain"));
    assert_eq!(rec.segments.len(), 1);
    assert!(rec.modified_ms > 0);
    assert_eq!(
        store.meta.get_object(b, key).await.unwrap(),
        Some(rec.clone())
    );
    assert_eq!(read_all(store, &rec, 0, 11).await, b"hello world");
    assert_eq!(read_all(store, &rec, 6, 5).await, b"world");
    assert!(store.read(&rec, 6, 6).await.is_err());
    assert!(store.meta.blob_in_use(&rec.segments[0].blob).await.unwrap());

    // Overwrite: the new entry wins and the old blob is gone. It carries an ACL, which the
    // record keeps.
    let with_acl = ObjectAttrs {
        acl: Some(vec![crate::AclGrant {
            grantee: "*".into(),
            permission: "READ".into(),
        }]),
        ..attrs("text/x")
    };
    let second = store
        .put_object(b, key, body(&[b"bye"]), Some(md5(b"bye")), with_acl.clone())
        .await
        .unwrap();
    assert_eq!(second.record.attrs, with_acl);
    assert_eq!(second.replaced, Some(rec.clone()));
    assert_eq!(
        store.meta.get_object(b, key).await.unwrap(),
        Some(second.record.clone())
    );
    assert_eq!(all_blobs(store).await, blob_set(&second.record));
    assert!(!store.meta.blob_in_use(&rec.segments[0].blob).await.unwrap());

    // An empty object.
    let empty = put(store, b, "empty", b"").await;
    assert_eq!(
        (empty.size, empty.etag.as_str()),
        (0, "d41d8cd98f00b204e9800998ecf8427e")
    );
    assert!(read_all(store, &empty, 0, 0).await.is_empty());

    // Delete: entry first, then blob; deleting again finds nothing.
    let removed = store.delete_object(b, key).await.unwrap();
    assert_eq!(removed, Some(second.record.clone()));
    assert_eq!(store.meta.get_object(b, key).await.unwrap(), None);
    assert_eq!(store.delete_object(b, key).await.unwrap(), None);
    assert_eq!(all_blobs(store).await, blob_set(&empty));

    // A PUT to a missing bucket fails before writing anything.
    let missing = store
        .put_object(
            "missing-1250000000",
            "k",
            body(&[b"x"]),
            None,
            ObjectAttrs::default(),
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NoSuchBucket)));
    assert_eq!(all_blobs(store).await, blob_set(&empty));
    store.delete_object(b, "empty").await.unwrap();
}

async fn scan_bounds(store: &Store) {
    let m = &store.meta;
    m.create_bucket(bucket("scan-1250000000")).await.unwrap();
    m.create_bucket(bucket("scan-1250000000x")).await.unwrap();
    for key in ["a", "a/1", "a/2", "a/3", "a0", "b", "\u{10FFFF}"] {
        put(store, "scan-1250000000", key, key.as_bytes()).await;
    }
    // A bucket whose name extends the other's must not leak into its scans.
    put(store, "scan-1250000000x", "a/9", b"").await;
    let scan = |prefix: &'static str, from: ScanFrom<'static>, limit: usize| async move {
        let rows = m
            .scan_objects("scan-1250000000", prefix, from, limit)
            .await
            .unwrap();
        rows.into_iter().map(|(k, _)| k).collect::<Vec<_>>()
    };
    assert_eq!(
        scan("", ScanFrom::Start, 100).await,
        ["a", "a/1", "a/2", "a/3", "a0", "b", "\u{10FFFF}"]
    );
    assert_eq!(
        scan("a/", ScanFrom::Start, 100).await,
        ["a/1", "a/2", "a/3"]
    );
    assert_eq!(scan("a/", ScanFrom::Start, 2).await, ["a/1", "a/2"]);
    assert_eq!(
        scan("a/", ScanFrom::After("a/1"), 100).await,
        ["a/2", "a/3"]
    );
    assert_eq!(
        scan("a/", ScanFrom::AtLeast("a/2"), 100).await,
        ["a/2", "a/3"]
    );
    assert_eq!(
        scan("a/", ScanFrom::After("a/15"), 100).await,
        ["a/2", "a/3"]
    );
    assert_eq!(
        scan("a/", ScanFrom::After("a"), 100).await,
        ["a/1", "a/2", "a/3"]
    );
    assert_eq!(
        scan("a/", ScanFrom::AtLeast("0"), 100).await,
        ["a/1", "a/2", "a/3"]
    );
    assert_eq!(
        scan("a/", ScanFrom::After("a/3"), 100).await,
        Vec::<String>::new()
    );
    assert_eq!(
        scan("a/", ScanFrom::AtLeast("b"), 100).await,
        Vec::<String>::new()
    );
    assert_eq!(scan("", ScanFrom::After("b"), 100).await, ["\u{10FFFF}"]);
    assert_eq!(scan("", ScanFrom::Start, 0).await, Vec::<String>::new());
    assert_eq!(scan("c", ScanFrom::Start, 100).await, Vec::<String>::new());
}

async fn bad_digest(store: &Store) {
    let b = "alpha-1250000000";
    let kept = put(store, b, "digest", b"original").await;
    let before = all_blobs(store).await;
    let bad = store
        .put_object(
            b,
            "digest",
            body(&[b"changed"]),
            Some(md5(b"other")),
            ObjectAttrs::default(),
        )
        .await;
    assert!(matches!(bad, Err(StoreError::BadDigest)));
    let fresh = store
        .put_object(
            b,
            "digest-new",
            body(&[b"changed"]),
            Some([0; 16]),
            ObjectAttrs::default(),
        )
        .await;
    assert!(matches!(fresh, Err(StoreError::BadDigest)));
    assert_eq!(
        store.meta.get_object(b, "digest").await.unwrap(),
        Some(kept)
    );
    assert_eq!(store.meta.get_object(b, "digest-new").await.unwrap(), None);
    assert_eq!(all_blobs(store).await, before);
}

/// The error a protocol layer would put in a failing body stream.
#[derive(Debug, thiserror::Error)]
#[error("chunk signature does not match")]
struct ChunkSignature;

async fn failing_body(store: &Store) {
    let b = "alpha-1250000000";
    let before = all_blobs(store).await;
    let chunks = vec![
        Ok(Bytes::from_static(b"some bytes")),
        Err(io::Error::other(ChunkSignature)),
    ];
    let failed = store
        .put_object(
            b,
            "failing",
            Box::pin(stream::iter(chunks)),
            None,
            ObjectAttrs::default(),
        )
        .await;
    let Err(StoreError::Body(e)) = failed else {
        panic!("expected StoreError::Body, got {failed:?}");
    };
    assert!(e
        .get_ref()
        .and_then(|e| e.downcast_ref::<ChunkSignature>())
        .is_some());
    assert_eq!(store.meta.get_object(b, "failing").await.unwrap(), None);
    assert_eq!(all_blobs(store).await, before);
}

async fn copy(store: &Store) {
    let b = "alpha-1250000000";
    let src = put(store, b, "copy-src", b"copied content").await;
    let copied = store
        .copy_object(&src, b, "copy-dst", attrs("image/png"))
        .await
        .unwrap();
    let dst = copied.record;
    assert_eq!(copied.replaced, None);
    assert_eq!(
        (dst.size, &dst.etag, dst.crc64),
        (src.size, &src.etag, src.crc64)
    );
    assert_eq!(dst.attrs, attrs("image/png"));
    assert!(blob_set(&dst).is_disjoint(&blob_set(&src)));
    store.delete_object(b, "copy-src").await.unwrap();
    assert_eq!(read_all(store, &dst, 0, dst.size).await, b"copied content");
    let missing = store
        .copy_object(&dst, "missing-1250000000", "k", ObjectAttrs::default())
        .await;
    assert!(matches!(missing, Err(StoreError::NoSuchBucket)));
}

async fn ranged_reads_across_segments(store: &Store) {
    let b = "alpha-1250000000";
    let parts: [&[u8]; 3] = [b"0123", b"456789", b"abcde"];
    let mut segments = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let blob = format!("segtest{i}");
        let size = store.blobs.write(&blob, body(&[part])).await.unwrap();
        segments.push(Segment { blob, size });
    }
    let whole = parts.concat();
    let rec = ObjectRecord {
        segments,
        size: whole.len() as u64,
        etag: "0123456789abcdef0123456789abcdef-3".into(),
        crc64: crate::crc64(&whole),
        modified_ms: 1,
        attrs: attrs("application/octet-stream"),
        version_id: None,
        appendable: false,
    };
    assert_eq!(
        store
            .meta
            .put_object(b, "multi", rec.clone())
            .await
            .unwrap(),
        None
    );
    let rec = store.meta.get_object(b, "multi").await.unwrap().unwrap();
    for (offset, len) in [
        (0, 15),
        (0, 4),
        (3, 2),
        (4, 6),
        (2, 11),
        (9, 6),
        (14, 1),
        (15, 0),
        (7, 0),
    ] {
        let expected = &whole[offset..offset + len];
        assert_eq!(
            read_all(store, &rec, offset as u64, len as u64).await,
            expected,
            "{offset}+{len}"
        );
    }
    assert!(store.read(&rec, 10, 6).await.is_err());
    assert!(store.read(&rec, u64::MAX, 2).await.is_err());
}

async fn listing(store: &Store) {
    let b = "scan-1250000000";
    let q = ListQuery {
        prefix: String::new(),
        delimiter: Some("/".into()),
        after: None,
        max_keys: 3,
    };
    let page = list(store.meta.as_ref(), b, &q).await.unwrap();
    let keys: Vec<&str> = page.objects.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "a0"]);
    assert_eq!(page.common_prefixes, ["a/"]);
    assert_eq!(page.next_marker.as_deref(), Some("a0"));
}

async fn sweep(store: &Store) {
    // Blob modification times may be as coarse as one second, hence the long waits.
    let live = all_blobs(store).await;
    store
        .blobs
        .write("orphanold", body(&[b"old"]))
        .await
        .unwrap();
    assert_eq!(
        store
            .sweep_orphans(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    store
        .blobs
        .write("orphannew", body(&[b"new"]))
        .await
        .unwrap();
    assert_eq!(
        store
            .sweep_orphans(Duration::from_millis(1500))
            .await
            .unwrap(),
        1
    );
    let mut expected = live;
    expected.insert("orphannew".into());
    assert_eq!(all_blobs(store).await, expected);
    store.blobs.delete("orphannew").await.unwrap();
}

async fn part(store: &Store, b: &str, up: &UploadRecord, n: u32, data: &[u8]) -> PartRecord {
    store
        .upload_part(b, &up.key, &up.upload_id, n, body(&[data]), Some(md5(data)))
        .await
        .unwrap()
}

async fn multipart(store: &Store) {
    let b = "alpha-1250000000";
    let key = "big/日本 ?&.bin";
    let before = all_blobs(store).await;
    let unknown = store
        .upload_part(b, key, "nope", 1, body(&[b"x"]), None)
        .await;
    assert!(matches!(unknown, Err(StoreError::NoSuchUpload)));
    let missing = store
        .create_upload("missing-1250000000", key, attrs("x/y"), "1")
        .await;
    assert!(matches!(missing, Err(StoreError::NoSuchBucket)));
    assert_eq!(all_blobs(store).await, before);

    let up = store
        .create_upload(b, key, attrs("video/mp4"), "100000001")
        .await
        .unwrap();
    assert!(up.upload_id.len() >= 32 && up.upload_id.bytes().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!((up.key.as_str(), up.initiator.as_str()), (key, "100000001"));
    let m = &store.meta;
    assert_eq!(
        m.get_upload(b, key, &up.upload_id).await.unwrap(),
        Some(up.clone())
    );
    assert_eq!(m.get_upload(b, "other", &up.upload_id).await.unwrap(), None);
    assert_eq!(m.get_upload(b, key, "a\0b").await.unwrap(), None);

    // Out of order; part 2 replaced (its first blob goes at once).
    let p3 = part(store, b, &up, 3, b"cc").await;
    let p1 = part(store, b, &up, 1, b"aaaa").await;
    let old2 = part(store, b, &up, 2, b"old").await;
    let p2 = part(store, b, &up, 2, b"bbb").await;
    assert_eq!((p2.size, p2.crc64), (3, crate::crc64(b"bbb")));
    assert_eq!(p2.etag, hex::encode(md5(b"bbb")));
    assert!(!all_blobs(store).await.contains(&old2.blob));
    for p in [&p1, &p2, &p3] {
        assert!(m.blob_in_use(&p.blob).await.unwrap(), "part {}", p.number);
    }
    // A part that fails its digest is not recorded and leaves no blob.
    let blobs = all_blobs(store).await;
    let bad = store
        .upload_part(b, key, &up.upload_id, 4, body(&[b"dd"]), Some([0; 16]))
        .await;
    assert!(matches!(bad, Err(StoreError::BadDigest)));
    assert_eq!(all_blobs(store).await, blobs);

    let list = |after, limit| m.list_parts(b, key, &up.upload_id, after, limit);
    assert_eq!(list(0, 2).await.unwrap(), [p1.clone(), p2.clone()]);
    assert_eq!(list(2, 2).await.unwrap(), vec![p3.clone()]);
    assert_eq!(list(1, 1000).await.unwrap(), [p2.clone(), p3.clone()]);
    assert!(list(u32::MAX, 10).await.unwrap().is_empty());
    assert_eq!(
        store.all_parts(b, key, &up.upload_id).await.unwrap(),
        [p1.clone(), p2.clone(), p3.clone()]
    );
    assert!(matches!(
        m.list_parts(b, key, "nope", 0, 10).await,
        Err(StoreError::NoSuchUpload)
    ));

    // A bucket holding only an upload in progress is not empty.
    let other = "mpuonly-1250000000";
    m.create_bucket(bucket(other)).await.unwrap();
    let lone = store
        .create_upload(other, "k", ObjectAttrs::default(), "1")
        .await
        .unwrap();
    part(store, other, &lone, 1, b"p").await;
    assert!(matches!(
        m.delete_bucket(other).await,
        Err(StoreError::BucketNotEmpty)
    ));
    store
        .abort_upload(other, "k", &lone.upload_id)
        .await
        .unwrap();
    m.delete_bucket(other).await.unwrap();

    // Complete with parts 1 and 3: part 2 is dropped, the object points at the parts' blobs.
    let replaced = put(store, b, key, b"previous").await;
    let done = store
        .complete_upload(b, &up, vec![p1.clone(), p3.clone()])
        .await
        .unwrap();
    let rec = done.record;
    assert_eq!(done.replaced, Some(replaced.clone()));
    assert_eq!(rec.size, 6);
    assert_eq!(rec.crc64, crate::crc64(b"aaaacc"));
    assert_eq!(
        rec.etag,
        crate::store::multipart_etag(&[p1.clone(), p3.clone()]).unwrap()
    );
    assert_eq!(
        rec.blob_ids().collect::<Vec<_>>(),
        [p1.blob.as_str(), p3.blob.as_str()]
    );
    assert_eq!(rec.attrs, attrs("video/mp4"));
    assert!(!rec.appendable);
    assert_eq!(m.get_object(b, key).await.unwrap(), Some(rec.clone()));
    assert_eq!(read_all(store, &rec, 0, 6).await, b"aaaacc");
    assert_eq!(read_all(store, &rec, 3, 2).await, b"ac");
    let blobs = all_blobs(store).await;
    assert!(!blobs.contains(&p2.blob) && !blobs.contains(&replaced.segments[0].blob));
    assert!(m.blob_in_use(&p1.blob).await.unwrap());
    assert_eq!(m.get_upload(b, key, &up.upload_id).await.unwrap(), None);
    let again = store.complete_upload(b, &up, vec![p1.clone()]).await;
    assert!(matches!(again, Err(StoreError::NoSuchUpload)));
    assert!(matches!(
        store.abort_upload(b, key, &up.upload_id).await,
        Err(StoreError::NoSuchUpload)
    ));

    // A completion naming a part that was replaced meanwhile changes nothing.
    let up2 = store
        .create_upload(b, "stale", ObjectAttrs::default(), "1")
        .await
        .unwrap();
    let stale = part(store, b, &up2, 1, b"x").await;
    let fresh = part(store, b, &up2, 1, b"y").await;
    let failed = store.complete_upload(b, &up2, vec![stale]).await;
    assert!(matches!(failed, Err(StoreError::InvalidPart)));
    assert_eq!(m.get_object(b, "stale").await.unwrap(), None);
    assert_eq!(
        store.all_parts(b, "stale", &up2.upload_id).await.unwrap(),
        vec![fresh.clone()]
    );
    // Abort removes the upload and its parts' blobs.
    store
        .abort_upload(b, "stale", &up2.upload_id)
        .await
        .unwrap();
    assert!(!all_blobs(store).await.contains(&fresh.blob));
    assert_eq!(
        m.get_upload(b, "stale", &up2.upload_id).await.unwrap(),
        None
    );
    let late = store
        .upload_part(b, "stale", &up2.upload_id, 2, body(&[b"z"]), None)
        .await;
    assert!(matches!(late, Err(StoreError::NoSuchUpload)));

    // Left in progress for the reopen check and the sweep (which must spare its part).
    let pending = store
        .create_upload(b, "pending", attrs("text/plain"), "1")
        .await
        .unwrap();
    part(store, b, &pending, 7, b"pending part").await;
    store.delete_object(b, key).await.unwrap();
}

async fn upload_listing(store: &Store) {
    let b = "uploads-1250000000";
    let m = &store.meta;
    m.create_bucket(bucket(b)).await.unwrap();
    let mut all = Vec::new();
    for key in ["a/2", "a", "a\0z", "b", "a/1", "a", "c/x/y"] {
        all.push(
            store
                .create_upload(b, key, ObjectAttrs::default(), "1")
                .await
                .unwrap(),
        );
    }
    all.sort_by(|x, y| (&x.key, &x.upload_id).cmp(&(&y.key, &y.upload_id)));
    let ids = |ups: &[UploadRecord]| -> Vec<(String, String)> {
        ups.iter()
            .map(|u| (u.key.clone(), u.upload_id.clone()))
            .collect()
    };
    let scan = |prefix: &'static str, from: UploadsFrom<'static>, limit| async move {
        ids(&m.scan_uploads(b, prefix, from, limit).await.unwrap())
    };
    assert_eq!(scan("", UploadsFrom::Start, 100).await, ids(&all));
    assert_eq!(
        all.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(),
        ["a", "a", "a\0z", "a/1", "a/2", "b", "c/x/y"]
    );
    assert_eq!(scan("", UploadsFrom::Start, 2).await, ids(&all[..2]));
    assert_eq!(scan("a/", UploadsFrom::Start, 100).await, ids(&all[3..5]));
    assert_eq!(
        scan("", UploadsFrom::AfterKey("a"), 100).await,
        ids(&all[2..])
    );
    assert_eq!(
        scan("", UploadsFrom::AtKey("a/"), 100).await,
        ids(&all[3..])
    );
    assert_eq!(
        scan("a", UploadsFrom::AtKey("0"), 100).await,
        ids(&all[..5])
    );
    let first = all[0].upload_id.clone();
    let after = m
        .scan_uploads(
            b,
            "",
            UploadsFrom::After {
                key: "a",
                upload_id: &first,
            },
            100,
        )
        .await
        .unwrap();
    assert_eq!(ids(&after), ids(&all[1..]));
    assert!(scan("d", UploadsFrom::Start, 100).await.is_empty());

    // Listing pages, with and without a delimiter, reproduce the whole listing once.
    for delimiter in ["", "/"] {
        let mut seen = Vec::new();
        let mut prefixes = Vec::new();
        let mut q = UploadQuery {
            delimiter: Some(delimiter.into()),
            max_uploads: 2,
            ..UploadQuery::default()
        };
        loop {
            let page = list_uploads(m.as_ref(), b, &q).await.unwrap();
            assert!(page.uploads.len() + page.common_prefixes.len() <= 2);
            seen.extend(ids(&page.uploads));
            prefixes.extend(page.common_prefixes);
            if !page.is_truncated {
                break;
            }
            q.key_marker = page.next_key_marker;
            q.upload_id_marker = page.next_upload_id_marker;
        }
        if delimiter.is_empty() {
            assert_eq!(seen, ids(&all));
        } else {
            assert_eq!(
                seen,
                ids(&[
                    all[0].clone(),
                    all[1].clone(),
                    all[2].clone(),
                    all[5].clone()
                ])
            );
            assert_eq!(prefixes, ["a/", "c/"]);
        }
    }
    // An upload-id marker without a key marker is ignored.
    let q = UploadQuery {
        upload_id_marker: Some(first),
        max_uploads: 1000,
        ..UploadQuery::default()
    };
    assert_eq!(
        list_uploads(m.as_ref(), b, &q).await.unwrap().uploads.len(),
        7
    );
    for up in &all {
        store.abort_upload(b, &up.key, &up.upload_id).await.unwrap();
    }
    m.delete_bucket(b).await.unwrap();
}

async fn append(store: &Store) {
    let b = "alpha-1250000000";
    let key = "log.txt";
    let app = |position: u64, data: &'static [u8]| {
        store.append_object(b, key, position, body(&[data]), None, attrs("text/log"))
    };
    assert!(matches!(
        app(5, b"x").await,
        Err(StoreError::PositionNotEqualToLength { length: 0 })
    ));
    let r1 = app(0, b"hello ").await.unwrap();
    assert!(r1.appendable);
    assert_eq!((r1.size, r1.crc64), (6, crate::crc64(b"hello ")));
    assert_eq!(r1.etag, format!("{}-1", hex::encode(md5(b"hello "))));
    assert_eq!(r1.attrs, attrs("text/log"));
    let r2 = store
        .append_object(
            b,
            key,
            6,
            body(&[b"wor", b"ld"]),
            Some(md5(b"world")),
            attrs("x/ignored"),
        )
        .await
        .unwrap();
    assert_eq!((r2.size, r2.segments.len()), (11, 2));
    assert_eq!(r2.crc64, crate::crc64(b"hello world"));
    assert!(r2.etag.ends_with("-2") && r2.etag != r1.etag);
    assert_eq!(
        r2.attrs,
        attrs("text/log"),
        "later appends keep the attributes"
    );
    assert_eq!(
        r2.segments[0], r1.segments[0],
        "earlier data is not rewritten"
    );
    assert_eq!(m_get(store, b, key).await, Some(r2.clone()));
    assert_eq!(read_all(store, &r2, 0, 11).await, b"hello world");
    let blobs = all_blobs(store).await;
    assert!(matches!(
        app(6, b"again").await,
        Err(StoreError::PositionNotEqualToLength { length: 11 })
    ));
    let bad = store
        .append_object(
            b,
            key,
            11,
            body(&[b"!"]),
            Some([0; 16]),
            ObjectAttrs::default(),
        )
        .await;
    assert!(matches!(bad, Err(StoreError::BadDigest)));
    assert_eq!(
        app(11, b"").await.unwrap(),
        r2,
        "an empty append changes nothing"
    );
    assert_eq!(all_blobs(store).await, blobs);
    assert_eq!(m_get(store, b, key).await, Some(r2.clone()));

    // A PUT makes the object normal; a normal object cannot be appended to.
    let normal = put(store, b, key, b"plain").await;
    assert!(!normal.appendable);
    assert!(matches!(app(5, b"x").await, Err(StoreError::NotAppendable)));
    assert!(matches!(
        store
            .append_object(
                "missing-1250000000",
                "k",
                0,
                body(&[b"x"]),
                None,
                ObjectAttrs::default()
            )
            .await,
        Err(StoreError::NoSuchBucket)
    ));
    store.delete_object(b, key).await.unwrap();

    // The compare-and-swap under appends.
    let m = &store.meta;
    let rec = |etag: &str| ObjectRecord {
        segments: vec![],
        size: 0,
        etag: etag.into(),
        crc64: 0,
        modified_ms: 1,
        attrs: ObjectAttrs::default(),
        version_id: None,
        appendable: true,
    };
    assert!(m.replace_object(b, "cas", None, rec("one")).await.unwrap());
    assert!(!m.replace_object(b, "cas", None, rec("two")).await.unwrap());
    assert!(!m
        .replace_object(b, "cas", Some(rec("zzz")), rec("two"))
        .await
        .unwrap());
    assert!(m
        .replace_object(b, "cas", Some(rec("one")), rec("two"))
        .await
        .unwrap());
    assert_eq!(m_get(store, b, "cas").await, Some(rec("two")));
    store.delete_object(b, "cas").await.unwrap();
}

async fn m_get(store: &Store, b: &str, key: &str) -> Option<ObjectRecord> {
    store.meta.get_object(b, key).await.unwrap()
}

fn md5(data: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    Md5::digest(data).into()
}

fn blob_set(rec: &ObjectRecord) -> BTreeSet<String> {
    rec.blob_ids().map(str::to_owned).collect()
}

/// A database of its own on the test PostgreSQL cluster, so tests run in parallel and leave
/// nothing behind. The cluster is named by `COSD_TEST_POSTGRES_URL` (`scripts/test` starts one
/// with `scripts/postgres`).
pub struct TestDatabase {
    /// The URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a fresh database. Without `COSD_TEST_POSTGRES_URL` it prints a notice and
    /// returns `None` (the test is skipped), except under `CI=true`, where a skipped backend
    /// would be a silent pass, so it panics.
    pub async fn create() -> Option<TestDatabase> {
        let Ok(admin_url) = std::env::var("COSD_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "COSD_TEST_POSTGRES_URL is not set: CI must test the PostgreSQL backend (scripts/test starts one)"
            );
            eprintln!(
                "skipped: COSD_TEST_POSTGRES_URL is not set (scripts/postgres start prints one)"
            );
            return None;
        };
        let name = format!("cosd_test_{}", uuid::Uuid::new_v4().simple());
        admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
        Some(TestDatabase {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        })
    }

    /// Drops the database (closing any connection still open to it).
    pub async fn drop_database(self) {
        admin(
            &self.admin_url,
            &format!("DROP DATABASE {} WITH (FORCE)", self.name),
        )
        .await;
    }
}

async fn admin(url: &str, statement: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to COSD_TEST_POSTGRES_URL");
    let driver = tokio::spawn(connection);
    client
        .batch_execute(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
    drop(client);
    let _ = driver.await;
}

/// `url` naming database `name` instead of its own.
pub fn with_database(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(scheme_end);
    let path = rest.find('/').unwrap_or(rest.len());
    let query = rest[path..].find('?').map_or("", |q| &rest[path + q..]);
    format!("{head}{}/{name}{query}", &rest[..path])
}
