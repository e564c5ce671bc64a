//! Two cosd nodes sharing one PostgreSQL database (`--meta`) and one data directory (so one
//! blob directory): what one node acknowledges the other serves, and a bucket configuration
//! changed through one takes effect on the other within a second. Needs
//! `COSD_TEST_POSTGRES_URL` (skipped without it, except under `CI=true`).

mod common;

use common::{cos_signed, create_bucket, send, Request, Server};
use cosd_store::testing::TestDatabase;
use std::time::{Duration, Instant};

const BUCKET: &str = "nodes-1250000000";

const RULES: &str =
    "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>\
    <AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>";

fn preflight() -> Request {
    Request::new("OPTIONS", &format!("/{BUCKET}/page.html"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "PUT")
        .header("connection", "close")
}

/// Sends preflights to `node` every 10 ms until one is answered `status` (at most 5 s), and
/// returns how long that took.
async fn until_preflight(node: &Server, status: u16) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if send(node.addr, preflight()).await.status == status {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("node {} never answered the preflight {status}", node.addr);
}

#[tokio::test]
async fn two_nodes_share_objects_and_cors_changes() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env = [("COSD_META", db.url.as_str())];
    let a = Server::start_on(dir.path(), &env);
    let b = Server::start_on(dir.path(), &env);

    // Read-your-writes across nodes.
    create_bucket(&a, BUCKET).await;
    let path = format!("/{BUCKET}/dir/key.txt");
    let put = send(
        a.addr,
        cos_signed(&a, "PUT", &path, &[], &[]).body("from a"),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let got = send(b.addr, cos_signed(&b, "GET", &path, &[], &[])).await;
    assert_eq!((got.status, got.text().as_str()), (200, "from a"));
    let list = send(
        b.addr,
        cos_signed(&b, "GET", &format!("/{BUCKET}"), &[("prefix", "dir/")], &[]),
    )
    .await;
    assert_eq!(list.xml("Key").as_deref(), Some("dir/key.txt"));
    let del = send(
        b.addr,
        cos_signed(&b, "DELETE", &format!("/{BUCKET}"), &[], &[]),
    )
    .await;
    assert_eq!(del.status, 409, "{}", del.text());

    // B caches "no CORS rules"; A puts rules, then removes them.
    assert_eq!(send(b.addr, preflight()).await.status, 403);
    let put = send(
        a.addr,
        cos_signed(
            &a,
            "PUT",
            &format!("/{BUCKET}"),
            &[("cors", "")],
            &[("content-type", "application/xml")],
        )
        .body(RULES),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let allowed_after = until_preflight(&b, 200).await;
    let del = send(
        a.addr,
        cos_signed(&a, "DELETE", &format!("/{BUCKET}"), &[("cors", "")], &[]),
    )
    .await;
    assert_eq!(del.status, 204, "{}", del.text());
    let refused_after = until_preflight(&b, 403).await;
    println!(
        "CORS change through node A took effect on node B after {allowed_after:?} (put) and {refused_after:?} (delete)"
    );
    assert!(allowed_after < Duration::from_secs(1) && refused_after < Duration::from_secs(1));
    drop((a, b));
    db.drop_database().await;
}
