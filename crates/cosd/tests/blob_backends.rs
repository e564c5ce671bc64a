//! Black-box tests of `--blobs`: cosd storing its blobs in another cosd through OpenDAL's S3
//! service (path-style requests to a loopback IP, SigV4), and start-up errors for bad
//! locations.

mod common;

use common::{cos_signed, create_bucket, send, Response, Server, SECRET_ID, SECRET_KEY};
use cosd_store::{BlobLocation, OpenDalBlobs, RedbMeta, Store};
use md5::Digest;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The bucket on the backing server that holds the front server's blobs.
const BLOB_BUCKET: &str = "blobs-1250000000";
/// The front server's root inside it.
const ROOT: &str = "node-b";
const BUCKET: &str = "data-1250000000";
const MIB: usize = 1024 * 1024;

fn filled(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// How long the front server keeps blobs it let go of (short, so the test sees them go).
const RETIRE: &str = "5s";

/// The front server: blobs in `BLOB_BUCKET/ROOT` on `backing`, keys from the AWS_*
/// environment variables (not in the URL); blobs it lets go of are deleted `retire` later.
fn start_front(data_dir: &std::path::Path, backing: &Server, retire: &str) -> Server {
    let location = format!(
        "s3://{BLOB_BUCKET}/{ROOT}?endpoint=http://{}&region=ap-guangzhou",
        backing.addr
    );
    Server::start_with(
        data_dir,
        &[
            ("AWS_ACCESS_KEY_ID", SECRET_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ],
        &[
            "--blobs".into(),
            location,
            "--retire-blobs-after".into(),
            retire.into(),
        ],
    )
}

async fn put(s: &Server, key: &str, data: &[u8]) {
    let resp = send(
        s.addr,
        cos_signed(s, "PUT", &format!("/{BUCKET}/{key}"), &[], &[]).body(data.to_vec()),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
}

async fn get(s: &Server, key: &str, headers: &[(&str, &str)]) -> Response {
    send(
        s.addr,
        cos_signed(s, "GET", &format!("/{BUCKET}/{key}"), &[], headers),
    )
    .await
}

/// How many blobs the backing server holds for the front server.
async fn backing_blobs(backing: &Server) -> usize {
    backing_listing(backing).await.matches("<Key>").count()
}

/// The backing server's listing of the front server's blobs (one page).
async fn backing_listing(backing: &Server) -> String {
    let prefix = format!("{ROOT}/");
    let resp = send(
        backing.addr,
        cos_signed(
            backing,
            "GET",
            &format!("/{BLOB_BUCKET}"),
            &[("prefix", &prefix), ("max-keys", "1000")],
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.xml("IsTruncated").as_deref(), Some("false"));
    resp.text()
}

/// Waits (at most 5 s) for the backing server to hold `expected` blobs of the front server.
async fn assert_backing_blobs(backing: &Server, expected: usize) {
    for _ in 0..150 {
        if backing_blobs(backing).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(backing_blobs(backing).await, expected);
}

#[tokio::test]
async fn cosd_stores_its_blobs_in_cosd_over_s3() {
    let backing_dir = tempfile::tempdir().unwrap();
    let backing = Server::start_with(backing_dir.path(), &[], &[]);
    create_bucket(&backing, BLOB_BUCKET).await;
    let front_dir = tempfile::tempdir().unwrap();
    let mut front = start_front(front_dir.path(), &backing, RETIRE);
    let s = &front;
    create_bucket(s, BUCKET).await;

    // A small object (one PUT to the backing server) and one of 12 MiB (OpenDAL's multipart
    // writer: three parts of at most 5 MiB).
    let small = b"hello through two servers".to_vec();
    let big = filled(7, 12 * MIB);
    put(s, "small.txt", &small).await;
    put(s, "big.bin", &big).await;
    assert_eq!(get(s, "small.txt", &[]).await.body, small);
    let listing = backing_listing(&backing).await;
    assert!(
        listing.contains("-3&quot;</ETag>") || listing.contains("-3\"</ETag>"),
        "the big blob went up in three parts: {listing}"
    );
    let whole = get(s, "big.bin", &[]).await;
    assert_eq!(whole.status, 200);
    assert!(whole.body == big, "the big object reads back whole");
    // A range across the backing object's first part boundary.
    let from = 5 * MIB - 10;
    let range = format!("bytes={from}-{}", from + 19);
    let part = get(s, "big.bin", &[("range", &range)]).await;
    assert_eq!(part.status, 206);
    assert!(part.body == big[from..from + 20]);

    // A multipart upload through the front server: each part is a blob of its own.
    let key = format!("/{BUCKET}/mp");
    let init = send(s.addr, cos_signed(s, "POST", &key, &[("uploads", "")], &[])).await;
    let id = init.xml("UploadId").expect("UploadId");
    let (p1, p2) = (filled(1, MIB), filled(2, 10));
    let mut etags = Vec::new();
    for (n, data) in [("1", &p1), ("2", &p2)] {
        let params = [("partNumber", n), ("uploadId", id.as_str())];
        let resp = send(
            s.addr,
            cos_signed(s, "PUT", &key, &params, &[]).body(data.clone()),
        )
        .await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        etags.push(resp.header("etag").unwrap().to_string());
    }
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        etags[0], etags[1]
    );
    let done = send(
        s.addr,
        cos_signed(s, "POST", &key, &[("uploadId", &id)], &[]).body(body),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(get(s, "mp", &[]).await.body == [p1.clone(), p2.clone()].concat());

    // A server-side copy streams the source into a new blob.
    let copy = send(
        s.addr,
        cos_signed(
            s,
            "PUT",
            &format!("/{BUCKET}/big-copy"),
            &[],
            &[("x-cos-copy-source", &format!("{BUCKET}/big.bin"))],
        ),
    )
    .await;
    assert_eq!(copy.status, 200, "{}", copy.text());
    // small, big, two parts, the copy.
    assert_backing_blobs(&backing, 5).await;

    // A restart of the front server finds everything on the backing server.
    front.kill();
    let front = start_front(front_dir.path(), &backing, RETIRE);
    let s = &front;
    assert_eq!(get(s, "small.txt", &[]).await.body, small);
    assert!(get(s, "big-copy", &[]).await.body == big);
    assert!(get(s, "mp", &[]).await.body == [p1, p2].concat());

    // Deletes through the front server remove the blobs on the backing server, once they have
    // been retired for a while (another node may still be reading them).
    for key in ["small.txt", "big.bin"] {
        let resp = send(
            s.addr,
            cos_signed(s, "DELETE", &format!("/{BUCKET}/{key}"), &[], &[]),
        )
        .await;
        assert_eq!(resp.status, 204);
    }
    assert_eq!(get(s, "big.bin", &[]).await.status, 404);
    assert_eq!(
        backing_blobs(&backing).await,
        5,
        "deleted before their retirement"
    );
    assert_backing_blobs(&backing, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_racing_overwrites_see_one_whole_version_through_s3() {
    let backing_dir = tempfile::tempdir().unwrap();
    let backing = Server::start_with(backing_dir.path(), &[], &[]);
    create_bucket(&backing, BLOB_BUCKET).await;
    let front_dir = tempfile::tempdir().unwrap();
    // Blobs deleted at once, so that reads really race the deletions (GET's re-read is what
    // keeps them whole then).
    let front = std::sync::Arc::new(start_front(front_dir.path(), &backing, "0"));
    create_bucket(&front, BUCKET).await;
    let versions: Vec<Vec<u8>> = (0..4).map(|i| filled(i, 256 * 1024 + i as usize)).collect();
    put(&front, "race", &versions[0]).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for v in versions.clone() {
        let s = front.clone();
        writers.push(tokio::spawn(async move {
            for _ in 0..5 {
                put(&s, "race", &v).await;
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (s, done, versions) = (front.clone(), done.clone(), versions.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0;
            // Every read of an old version races the deletion of its blob after the overwrite.
            while reads < 500 && (reads == 0 || !done.load(std::sync::atomic::Ordering::SeqCst)) {
                let got = get(&s, "race", &[]).await;
                assert_eq!(got.status, 200, "{}", got.text());
                let i = versions.iter().position(|v| got.body == v[..]);
                let i = i.expect("a read returned one whole version");
                let etag = format!("\"{}\"", hex::encode(md5::Md5::digest(&versions[i])));
                assert_eq!(got.header("etag"), Some(etag.as_str()));
                reads += 1;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
}

#[tokio::test]
async fn opendal_s3_at_cosd_passes_the_store_conformance_suite() {
    let backing_dir = tempfile::tempdir().unwrap();
    let backing = Server::start_with(backing_dir.path(), &[], &[]);
    create_bucket(&backing, BLOB_BUCKET).await;
    let location = format!(
        "s3://{BLOB_BUCKET}/conformance?endpoint=http://{}&region=ap-guangzhou&access_key_id={SECRET_ID}&secret_access_key={SECRET_KEY}",
        backing.addr
    );
    let BlobLocation::OpenDal(config) = location.parse().unwrap() else {
        panic!("not an OpenDAL location");
    };
    let meta_dir = tempfile::tempdir().unwrap();
    let meta = RedbMeta::open(&meta_dir.path().join("meta.redb")).unwrap();
    let blobs = OpenDalBlobs::open(&config).unwrap();
    let store = Store::new(Arc::new(meta), Arc::new(blobs));
    cosd_store::testing::conformance(&store).await;
}

#[test]
fn bad_blob_locations_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (location, expected) in [
        ("gcs://bucket", "unknown blob location scheme"),
        ("opendal:hdfs?name_node=x", "not compiled into"),
        (
            "s3://b?region=r&endpoint=http://127.0.0.1:1&secret_access_key=hunter2&acess_key_id=x",
            "acess_key_id",
        ),
        ("fs://relative/dir", "absolute directory"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cosd"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(["--blobs", location])
            .env("COSD_SECRET_ID", SECRET_ID)
            .env("COSD_SECRET_KEY", SECRET_KEY)
            .stdin(Stdio::null())
            .output()
            .expect("run cosd");
        assert!(!out.status.success(), "{location} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{location}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
