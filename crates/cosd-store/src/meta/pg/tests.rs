//! [`PgMeta`] against a throw-away PostgreSQL (`COSD_TEST_POSTGRES_URL`): the conformance
//! suite at both isolation levels, and what several nodes sharing one database must get right.
//! Each test has a database of its own.

use super::*;
use crate::testing::{conformance, snapshot, TestDatabase};
use crate::{ByteStream, FsBlobs, ObjectAttrs, Store};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;

fn store(meta: PgMeta, blobs: &std::path::Path) -> Store {
    Store::new(Arc::new(meta), Arc::new(FsBlobs::open(blobs).unwrap()))
}

fn body(data: &[u8]) -> ByteStream {
    let data = Bytes::copy_from_slice(data);
    Box::pin(futures_util::stream::iter([Ok(data)]))
}

fn bucket(name: &str) -> BucketRecord {
    BucketRecord {
        name: name.into(),
        owner: "1250000000".into(),
        region: "ap-guangzhou".into(),
        created_ms: 1,
    }
}

async fn conformance_at(serializable: bool) {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let blobs = tempfile::tempdir().unwrap();
    let s = store(
        PgMeta::connect_as(&db.url, serializable).await.unwrap(),
        blobs.path(),
    );
    conformance(&s).await;
    let before = snapshot(&s).await;
    drop(s);
    let s = store(PgMeta::connect(&db.url).await.unwrap(), blobs.path());
    assert_eq!(snapshot(&s).await, before);
    drop(s);
    db.drop_database().await;
}

#[tokio::test]
async fn passes_the_conformance_suite_at_read_committed() {
    conformance_at(false).await;
}

#[tokio::test]
async fn passes_the_conformance_suite_when_serializable() {
    conformance_at(true).await;
}

#[tokio::test]
async fn migrations_run_concurrently_and_again() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let starts = (0..4).map(|_| PgMeta::connect(&db.url));
    let nodes: Vec<PgMeta> = futures_util::future::try_join_all(starts).await.unwrap();
    let again = PgMeta::connect(&db.url).await.unwrap();
    let client = again.client().await.unwrap();
    let versions: Vec<i64> = client
        .query("SELECT version FROM cosd_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1]);
    let counters: i64 = client
        .query_one("SELECT count(*) FROM cosd_change_counter", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(counters, 1);
    drop((client, nodes, again));
    db.drop_database().await;
}

#[tokio::test]
async fn two_nodes_writing_one_key_leave_one_whole_object_and_exact_refs() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let blobs = tempfile::tempdir().unwrap();
    let a = store(PgMeta::connect(&db.url).await.unwrap(), blobs.path());
    let b = store(PgMeta::connect(&db.url).await.unwrap(), blobs.path());
    let name = "race-1250000000";
    a.meta.create_bucket(bucket(name)).await.unwrap();
    const WRITERS: usize = 16;
    let writes = (0..WRITERS).map(|i| {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            let data = vec![i as u8; 1000 + i];
            node.put_object(name, "k", body(&data), None, ObjectAttrs::default())
                .await
                .map(|p| p.record)
        }
    });
    let written: Vec<ObjectRecord> = futures_util::future::try_join_all(writes).await.unwrap();
    let last = a.meta.get_object(name, "k").await.unwrap().unwrap();
    assert!(written.contains(&last));
    // Whole: the content is one writer's bytes, all of them.
    let i = last.size as usize - 1000;
    let read: Vec<Bytes> =
        futures_util::TryStreamExt::try_collect(b.read(&last, 0, last.size).await.unwrap())
            .await
            .unwrap();
    assert_eq!(read.concat(), vec![i as u8; 1000 + i]);
    // Exact: only the survivor's blob is referenced, and it is the only blob left.
    for rec in &written {
        let blob = &rec.segments[0].blob;
        assert_eq!(b.meta.blob_in_use(blob).await.unwrap(), rec == &last);
    }
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    let left = a.blobs.list_older_than(future).await.unwrap();
    assert_eq!(left, vec![last.segments[0].blob.clone()]);
    drop((a, b));
    db.drop_database().await;
}

#[tokio::test]
async fn delete_bucket_racing_writes_never_strands_an_entry() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let a = PgMeta::connect(&db.url).await.unwrap();
    let b = PgMeta::connect(&db.url).await.unwrap();
    let rec = |blob: &str| ObjectRecord {
        segments: vec![crate::Segment {
            blob: blob.into(),
            size: 1,
        }],
        size: 1,
        etag: "e".into(),
        crc64: 0,
        modified_ms: 1,
        attrs: ObjectAttrs::default(),
        version_id: None,
        appendable: false,
    };
    let (mut deleted, mut refused) = (0, 0);
    for round in 0..40 {
        let name = format!("gone{round}-1250000000");
        a.create_bucket(bucket(&name)).await.unwrap();
        let blob = format!("blob{round}");
        let upload = UploadRecord {
            key: "u".into(),
            upload_id: format!("up{round}"),
            attrs: ObjectAttrs::default(),
            initiator: "1".into(),
            initiated_ms: 1,
        };
        let (put, up, del) = tokio::join!(
            a.put_object(&name, "k", rec(&blob)),
            a.create_upload(&name, upload),
            b.delete_bucket(&name)
        );
        match del {
            Ok(()) => {
                deleted += 1;
                assert!(matches!(put, Err(StoreError::NoSuchBucket)), "{put:?}");
                assert!(matches!(up, Err(StoreError::NoSuchBucket)), "{up:?}");
                assert!(!a.blob_in_use(&blob).await.unwrap());
            }
            Err(StoreError::BucketNotEmpty) => {
                refused += 1;
                assert!(a.get_bucket(&name).await.unwrap().is_some());
                assert!(put.is_ok() || up.is_ok());
            }
            Err(e) => panic!("delete_bucket: {e}"),
        }
    }
    let client = a.client().await.unwrap();
    let stranded: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM cosd_objects o WHERE NOT EXISTS \
               (SELECT 1 FROM cosd_buckets b WHERE b.name = o.bucket)) + \
             (SELECT count(*) FROM cosd_uploads u WHERE NOT EXISTS \
               (SELECT 1 FROM cosd_buckets b WHERE b.name = u.bucket))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stranded, 0);
    println!("delete_bucket racing writes: {deleted} deleted first, {refused} refused");
    drop((client, a, b));
    db.drop_database().await;
}

#[tokio::test]
async fn a_change_through_one_node_reaches_the_other_within_a_second() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let a = PgMeta::connect(&db.url).await.unwrap();
    let b = PgMeta::connect(&db.url).await.unwrap();
    let name = "feed-1250000000";
    a.create_bucket(bucket(name)).await.unwrap();
    let mut changes = b.changes().unwrap();
    // The creation itself arrives first.
    let first = tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, Change::Bucket(name.into()));
    let mut delays = Vec::new();
    for i in 0..5u8 {
        let started = Instant::now();
        a.put_bucket_config(name, "cors", Some(vec![i]))
            .await
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), changes.recv())
            .await
            .unwrap()
            .unwrap();
        delays.push(started.elapsed());
        assert_eq!(got, Change::Bucket(name.into()));
        assert_eq!(
            b.get_bucket_config(name, "cors").await.unwrap(),
            Some(vec![i])
        );
    }
    assert!(a.put_setting("accounts", b"x".to_vec(), 0).await.unwrap());
    let got = tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, Change::Setting("accounts".into()));
    println!(
        "change propagation, LISTEN/NOTIFY (commit to delivery on the other node): {delays:?}"
    );
    assert!(delays.iter().all(|d| *d < Duration::from_secs(1)));

    // Without notifications (as on CockroachDB or YugabyteDB) the poll alone must do it.
    let quiet = PgMeta {
        notify: false,
        ..PgMeta::connect(&db.url).await.unwrap()
    };
    let mut delays = Vec::new();
    for i in 0..5u8 {
        let started = Instant::now();
        quiet
            .put_bucket_config(name, "cors", Some(vec![i]))
            .await
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), changes.recv())
            .await
            .unwrap()
            .unwrap();
        delays.push(started.elapsed());
        assert_eq!(got, Change::Bucket(name.into()));
    }
    println!(
        "change propagation, polling every {POLL:?}: {delays:?}",
        POLL = feed::POLL_EVERY
    );
    assert!(delays.iter().all(|d| *d < Duration::from_secs(1)));
    drop((a, b, quiet));
    db.drop_database().await;
}

#[tokio::test]
async fn a_feed_that_fell_behind_the_log_reports_everything() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let a = PgMeta::connect(&db.url).await.unwrap();
    let mut changes = a.changes().unwrap();
    let name = "lost-1250000000";
    a.create_bucket(bucket(name)).await.unwrap();
    a.put_bucket_config(name, "cors", Some(vec![1]))
        .await
        .unwrap();
    // As if the trim had run before this node read the log.
    let client = a.client().await.unwrap();
    client
        .batch_execute("DELETE FROM cosd_change_log")
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .unwrap()
        .unwrap();
    // Either the notification beat the delete (both changes replayed) or it did not.
    if got == Change::Bucket(name.into()) {
        let second = changes.recv().await.unwrap();
        assert_eq!(second, Change::Bucket(name.into()));
    } else {
        assert_eq!(got, Change::Everything);
    }
    drop((client, a));
    db.drop_database().await;
}

#[tokio::test]
async fn sweeps_and_stale_upload_cleanup_from_two_nodes_at_once() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let blobs = tempfile::tempdir().unwrap();
    let a = store(PgMeta::connect(&db.url).await.unwrap(), blobs.path());
    let b = store(PgMeta::connect(&db.url).await.unwrap(), blobs.path());
    let name = "sweep-1250000000";
    a.meta.create_bucket(bucket(name)).await.unwrap();
    let live = a
        .put_object(name, "live", body(b"live"), None, ObjectAttrs::default())
        .await
        .unwrap()
        .record;
    let mut uploads = Vec::new();
    for i in 0..6 {
        let up = b
            .create_upload(name, &format!("up{i}"), ObjectAttrs::default(), "1")
            .await
            .unwrap();
        b.upload_part(name, &up.key, &up.upload_id, 1, body(b"part"), None)
            .await
            .unwrap();
        uploads.push(up);
    }
    for i in 0..4 {
        a.blobs
            .write(&format!("orphan{i}"), body(b"orphan"))
            .await
            .unwrap();
    }
    // File times may be as coarse as a second: let every blob be older than "now".
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Both nodes sweep and clean up at once, with no grace: everything unreferenced goes, every
    // upload is aborted exactly once between them, live data stays.
    let (sa, sb, ua, ub) = tokio::join!(
        a.sweep_orphans(Duration::ZERO),
        b.sweep_orphans(Duration::ZERO),
        a.abort_stale_uploads(Duration::ZERO),
        b.abort_stale_uploads(Duration::ZERO)
    );
    assert!(sa.unwrap() + sb.unwrap() >= 4);
    assert_eq!(ua.unwrap() + ub.unwrap(), uploads.len());
    for up in &uploads {
        assert_eq!(
            a.meta
                .get_upload(name, &up.key, &up.upload_id)
                .await
                .unwrap(),
            None
        );
    }
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    let left = a.blobs.list_older_than(future).await.unwrap();
    assert_eq!(left, vec![live.segments[0].blob.clone()]);
    // An upload younger than the cutoff is kept.
    let fresh = a
        .create_upload(name, "fresh", ObjectAttrs::default(), "1")
        .await
        .unwrap();
    assert_eq!(
        b.abort_stale_uploads(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert!(a
        .meta
        .get_upload(name, "fresh", &fresh.upload_id)
        .await
        .unwrap()
        .is_some());
    drop((a, b));
    db.drop_database().await;
}

#[test]
fn successors_bound_prefix_scans() {
    assert_eq!(successor(b"a/"), Some(b"a0".to_vec()));
    assert_eq!(successor(b"a\xff"), Some(b"b".to_vec()));
    assert_eq!(successor(b"\xff\xff"), None);
    assert_eq!(successor(b""), None);
}
