//! Three cosd nodes sharing one PostgreSQL database and one blob directory, a client spreading
//! requests over them, concurrent writers, and one node killed with SIGKILL mid-run and
//! restarted: no acknowledged write may be lost, no object torn, and every node must agree.
//!
//! Needs `COSD_TEST_POSTGRES_URL` (scripts/test starts a throw-away PostgreSQL and sets it).

mod common;

use common::*;
use cosd_store::testing::TestDatabase;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BUCKET: &str = "multinode-1250000000";
const WRITERS: usize = 6;
/// Writes per writer; each writer rewrites a few keys of its own and a few shared hot keys.
const WRITES_PER_WRITER: usize = 60;
const OWN_KEYS: usize = 10;
const HOT_KEYS: usize = 3;
/// The whole run is bounded, whatever the machine's speed.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A body that names itself: its first line says which write made it, and the rest is derived
/// from that line, so any byte out of place (a torn or mixed object) is detected.
fn body_for(tag: &str) -> Vec<u8> {
    let mut body = format!("{tag}\n").into_bytes();
    let mut h = Md5::digest(tag.as_bytes()).to_vec();
    while body.len() < 48 * 1024 {
        body.extend_from_slice(&h);
        h = Md5::digest(&h).to_vec();
    }
    body
}

/// Checks that `body` is whole and returns the tag of the write that made it.
fn tag_of(body: &[u8]) -> String {
    let line = body.split(|&b| b == b'\n').next().unwrap();
    let tag = String::from_utf8(line.to_vec()).expect("tag is UTF-8");
    assert_eq!(body, body_for(&tag).as_slice(), "torn object for {tag}");
    tag
}

struct Node {
    server: Option<Server>,
    data_dir: PathBuf,
}

/// The cluster's current addresses; a restarted node announces a new port.
type Addrs = Arc<Mutex<Vec<SocketAddr>>>;

/// A node on the shared database and blob location, whatever backend the suite runs on.
fn start_node(data_dir: &std::path::Path, meta: &str, blobs: &str) -> Server {
    let args = ["--meta", meta, "--blobs", blobs].map(String::from);
    Server::start_with(data_dir, &[], &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_one_killed_mid_run() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let meta = db.url.clone();
    let tmp = tempfile::tempdir().unwrap();
    let blobs = format!("fs://{}", tmp.path().join("shared-blobs").display());
    let mut nodes: Vec<Node> = (0..3)
        .map(|i| {
            let data_dir = tmp.path().join(format!("node{i}"));
            Node {
                server: Some(start_node(&data_dir, &meta, &blobs)),
                data_dir,
            }
        })
        .collect();
    let addrs: Addrs = Arc::new(Mutex::new(
        nodes
            .iter()
            .map(|n| n.server.as_ref().unwrap().addr)
            .collect(),
    ));
    let first = nodes[0].server.as_ref().unwrap();
    create_bucket(first, BUCKET).await;

    // Per key, every tag written, and the last one a node acknowledged.
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let attempted: Arc<Mutex<BTreeMap<String, Vec<String>>>> = Arc::default();
    let deadline = Instant::now() + RUN_LIMIT;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (addrs, acked, attempted) = (addrs.clone(), acked.clone(), attempted.clone());
        writers.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0usize, 0usize);
            for i in 0..WRITES_PER_WRITER {
                if Instant::now() > deadline {
                    break;
                }
                let key = if i % 4 == 3 {
                    format!("hot/{}", i % HOT_KEYS)
                } else {
                    format!("w{w}/k{}", i % OWN_KEYS)
                };
                let tag = format!("{key} by writer {w} write {i}");
                attempted
                    .lock()
                    .unwrap()
                    .entry(key.clone())
                    .or_default()
                    .push(tag.clone());
                let addr = addrs.lock().unwrap()[(w + i) % 3];
                if put(addr, &key, body_for(&tag)).await {
                    ok += 1;
                    // Own keys have one writer, so the acknowledgement order is the write order.
                    if !key.starts_with("hot/") {
                        acked.lock().unwrap().insert(key, tag);
                    }
                } else {
                    failed += 1;
                }
            }
            (ok, failed)
        }));
    }

    // Kill node 1 once the writers are under way, and bring it back a little later.
    tokio::time::sleep(Duration::from_millis(700)).await;
    nodes[1].server.as_mut().unwrap().kill();
    eprintln!("multinode: node 1 killed with SIGKILL");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let restarted = start_node(&nodes[1].data_dir, &meta, &blobs);
    addrs.lock().unwrap()[1] = restarted.addr;
    nodes[1].server = Some(restarted);
    eprintln!("multinode: node 1 restarted");

    let (mut ok, mut failed) = (0, 0);
    for w in writers {
        let (o, f) = w.await.unwrap();
        ok += o;
        failed += f;
    }
    eprintln!("multinode: {ok} writes acknowledged, {failed} failed (the killed node's)");
    assert!(
        ok > WRITERS * WRITES_PER_WRITER / 2,
        "too few writes went through"
    );

    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let mut listings = Vec::new();
    for node in &nodes {
        let server = node.server.as_ref().unwrap();
        let listing = list_all(server).await;
        for (key, tags) in &attempted {
            let resp = send(
                server.addr,
                cos_signed(server, "GET", &format!("/{BUCKET}/{key}"), &[], &[]),
            )
            .await;
            let Some(last_acked) = acked.get(key) else {
                // A hot key, or an own key whose every write failed: whatever is there must be
                // one whole write that was attempted.
                if resp.status == 200 {
                    assert!(tags.contains(&tag_of(&resp.body)), "{key}: unknown content");
                }
                continue;
            };
            assert_eq!(resp.status, 200, "{key} lost on {}", server.addr);
            let tag = tag_of(&resp.body);
            // The last acknowledged write or a later attempt whose answer was lost in the kill.
            let pos = |t: &String| tags.iter().position(|x| x == t).unwrap();
            assert!(tags.contains(&tag), "{key}: unknown content {tag}");
            assert!(
                pos(&tag) >= pos(last_acked),
                "{key}: {tag} is older than acknowledged {last_acked}"
            );
            assert!(
                listing.contains_key(key),
                "{key} missing from the listing of {}",
                server.addr
            );
        }
        listings.push(listing);
    }
    assert!(
        listings.windows(2).all(|w| w[0] == w[1]),
        "nodes disagree on the listing"
    );
    eprintln!(
        "multinode: 3 nodes agree on {} keys; every acknowledged write readable and whole",
        listings[0].len()
    );
}

/// Whether a PUT through `addr` was acknowledged; a refused or cut connection is not.
async fn put(addr: SocketAddr, key: &str, body: Vec<u8>) -> bool {
    let req = cos_signed_at(
        addr,
        &TestKey::root(),
        "PUT",
        &format!("/{BUCKET}/{key}"),
        &[],
        &[],
    )
    .body(body);
    let attempt = tokio::time::timeout(Duration::from_secs(30), try_send(addr, req));
    matches!(attempt.await, Ok(Ok(resp)) if resp.status == 200)
}

/// Key → ETag of the whole bucket as one node lists it.
async fn list_all(server: &Server) -> BTreeMap<String, String> {
    let resp = send(
        server.addr,
        cos_signed(
            server,
            "GET",
            &format!("/{BUCKET}"),
            &[("max-keys", "1000")],
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.xml("IsTruncated").as_deref(), Some("false"));
    let text = resp.text();
    text.split("<Contents>")
        .skip(1)
        .map(|entry| {
            let field = |tag: &str| {
                let open = format!("<{tag}>");
                let start = entry.find(&open).unwrap() + open.len();
                let end = entry[start..].find(&format!("</{tag}>")).unwrap() + start;
                entry[start..end].to_string()
            };
            (field("Key"), field("ETag"))
        })
        .collect()
}
