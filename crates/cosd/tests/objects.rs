//! Black-box tests of buckets and objects over HTTP with COS-signed requests.

mod common;

use common::{cos_signed, create_bucket, send, Server};
use md5::{Digest, Md5};
use std::io::Write;

const BUCKET: &str = "photos-1250000000";

#[tokio::test]
async fn bucket_lifecycle() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let dup = send(
        s.addr,
        cos_signed(s, "PUT", &format!("/{BUCKET}"), &[], &[]),
    )
    .await;
    assert_eq!(
        (dup.status, dup.xml("Code").as_deref()),
        (409, Some("BucketAlreadyOwnedByYou"))
    );
    let bad = send(
        s.addr,
        cos_signed(s, "PUT", "/Bad_Name-1250000000", &[], &[]),
    )
    .await;
    assert_eq!(
        (bad.status, bad.xml("Code").as_deref()),
        (400, Some("InvalidBucketName"))
    );
    let other_appid = send(s.addr, cos_signed(s, "PUT", "/photos-1250000001", &[], &[])).await;
    assert_eq!(
        other_appid.xml("Code").as_deref(),
        Some("InvalidBucketName")
    );

    let head = send(
        s.addr,
        cos_signed(s, "HEAD", &format!("/{BUCKET}"), &[], &[]),
    )
    .await;
    assert_eq!(
        (head.status, head.header("x-cos-bucket-region")),
        (200, Some("ap-guangzhou"))
    );
    let loc = send(
        s.addr,
        cos_signed(s, "GET", &format!("/{BUCKET}"), &[("location", "")], &[]),
    )
    .await;
    assert_eq!(
        loc.xml("LocationConstraint").as_deref(),
        Some("ap-guangzhou")
    );
    let service = send(s.addr, cos_signed(s, "GET", "/", &[], &[])).await;
    assert_eq!(service.xml("Name").as_deref(), Some(BUCKET));

    let put = send(
        s.addr,
        cos_signed(s, "PUT", &format!("/{BUCKET}/k"), &[], &[]).body("x"),
    )
    .await;
    assert_eq!(put.status, 200);
    let not_empty = send(
        s.addr,
        cos_signed(s, "DELETE", &format!("/{BUCKET}"), &[], &[]),
    )
    .await;
    assert_eq!(
        (not_empty.status, not_empty.xml("Code").as_deref()),
        (409, Some("BucketNotEmpty"))
    );
    assert_eq!(
        send(
            s.addr,
            cos_signed(s, "DELETE", &format!("/{BUCKET}/k"), &[], &[])
        )
        .await
        .status,
        204
    );
    assert_eq!(
        send(
            s.addr,
            cos_signed(s, "DELETE", &format!("/{BUCKET}"), &[], &[])
        )
        .await
        .status,
        204
    );
    let gone = send(
        s.addr,
        cos_signed(s, "HEAD", &format!("/{BUCKET}"), &[], &[]),
    )
    .await;
    assert_eq!(gone.status, 404);
    let missing = send(
        s.addr,
        cos_signed(s, "GET", &format!("/{BUCKET}/k"), &[], &[]),
    )
    .await;
    assert_eq!(
        (missing.status, missing.xml("Code").as_deref()),
        (404, Some("NoSuchBucket"))
    );
}

#[tokio::test]
async fn put_get_head_with_metadata_ranges_and_conditions() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let md5 = base64_md5(&data);
    let path = format!("/{BUCKET}/dir/obj ①.bin");
    let put = send(
        s.addr,
        cos_signed(
            s,
            "PUT",
            &path,
            &[],
            &[
                ("content-type", "application/x-test"),
                ("content-md5", &md5),
                ("cache-control", "max-age=60"),
                ("x-cos-meta-author", "ann"),
                ("x-cos-meta-city", "深圳 Zürich"),
                ("x-cos-storage-class", "STANDARD_IA"),
            ],
        )
        .body(data.clone()),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let etag = format!("\"{}\"", hex::encode(Md5::digest(&data)));
    assert_eq!(put.header("etag"), Some(etag.as_str()));
    let crc = cosd_store::crc64(&data).to_string();
    assert_eq!(put.header("x-cos-hash-crc64ecma"), Some(crc.as_str()));

    let get = send(s.addr, cos_signed(s, "GET", &path, &[], &[])).await;
    assert_eq!(get.status, 200);
    assert_eq!(&get.body[..], &data[..]);
    assert_eq!(get.header("content-type"), Some("application/x-test"));
    assert_eq!(get.header("cache-control"), Some("max-age=60"));
    assert_eq!(get.header("x-cos-meta-author"), Some("ann"));
    let city = get
        .headers
        .get("x-cos-meta-city")
        .expect("non-ASCII metadata comes back");
    assert_eq!(city.as_bytes(), "深圳 Zürich".as_bytes());
    assert_eq!(get.header("x-cos-storage-class"), Some("STANDARD_IA"));
    assert_eq!(get.header("x-cos-hash-crc64ecma"), Some(crc.as_str()));
    assert!(get.header("last-modified").is_some());

    let head = send(s.addr, cos_signed(s, "HEAD", &path, &[], &[])).await;
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("100000"))
    );
    assert!(head.body.is_empty());

    let range = send(
        s.addr,
        cos_signed(s, "GET", &path, &[], &[("range", "bytes=10-19")]),
    )
    .await;
    assert_eq!(range.status, 206);
    assert_eq!(range.header("content-range"), Some("bytes 10-19/100000"));
    assert_eq!(&range.body[..], &data[10..20]);
    let beyond = send(
        s.addr,
        cos_signed(s, "GET", &path, &[], &[("range", "bytes=100000-")]),
    )
    .await;
    assert_eq!(
        (beyond.status, beyond.xml("Code").as_deref()),
        (416, Some("InvalidRange"))
    );

    let not_modified = send(
        s.addr,
        cos_signed(s, "GET", &path, &[], &[("if-none-match", &etag)]),
    )
    .await;
    assert_eq!(not_modified.status, 304);
    let failed = send(
        s.addr,
        cos_signed(s, "GET", &path, &[], &[("if-match", "\"0000\"")]),
    )
    .await;
    assert_eq!(
        (failed.status, failed.xml("Code").as_deref()),
        (412, Some("PreconditionFailed"))
    );
    let overridden = send(
        s.addr,
        cos_signed(
            s,
            "GET",
            &path,
            &[("response-content-type", "text/plain")],
            &[],
        ),
    )
    .await;
    assert_eq!(overridden.header("content-type"), Some("text/plain"));

    let bad_digest = send(
        s.addr,
        cos_signed(
            s,
            "PUT",
            &format!("/{BUCKET}/bad"),
            &[],
            &[("content-md5", &md5)],
        )
        .body("other bytes"),
    )
    .await;
    assert_eq!(
        (bad_digest.status, bad_digest.xml("Code").as_deref()),
        (400, Some("BadDigest"))
    );
    let absent = send(
        s.addr,
        cos_signed(s, "HEAD", &format!("/{BUCKET}/bad"), &[], &[]),
    )
    .await;
    assert_eq!(absent.status, 404, "a refused upload leaves no object");
}

#[tokio::test]
async fn keys_never_become_paths() {
    // The data directory sits two levels inside a private root, so a key that escaped through
    // `..` would land in a directory whose exact contents this test knows.
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("a").join("data");
    let server = Server::start_on(&data_dir, &[]);
    let s = &server;
    create_bucket(s, BUCKET).await;
    for key in ["../../escape", "../blobs/x", "/abs", "a/../../../b"] {
        let path = format!("/{BUCKET}/{key}");
        let put = send(
            s.addr,
            cos_signed(s, "PUT", &path, &[], &[]).body(key.to_string()),
        )
        .await;
        assert_eq!(put.status, 200, "{key}: {}", put.text());
        let get = send(s.addr, cos_signed(s, "GET", &path, &[], &[])).await;
        assert_eq!(get.text(), key);
    }
    assert_eq!(
        entries(root.path()),
        ["a"],
        "nothing was written outside the data directory"
    );
    assert_eq!(
        entries(&root.path().join("a")),
        ["data"],
        "nothing was written outside the data directory"
    );
}

#[tokio::test]
async fn listing_with_delimiter_and_paging() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    for key in ["a/1", "a/2", "b", "c/x/y", "d"] {
        assert_eq!(
            send(
                s.addr,
                cos_signed(s, "PUT", &format!("/{BUCKET}/{key}"), &[], &[])
            )
            .await
            .status,
            200
        );
    }
    let list = send(
        s.addr,
        cos_signed(s, "GET", &format!("/{BUCKET}"), &[("delimiter", "/")], &[]),
    )
    .await;
    let text = list.text();
    assert!(text.contains("<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes>"), "{text}");
    assert!(
        text.contains("<Key>b</Key>")
            && text.contains("<Key>d</Key>")
            && !text.contains("<Key>a/1</Key>"),
        "{text}"
    );

    let mut marker = String::new();
    let mut seen = Vec::new();
    loop {
        let page = send(
            s.addr,
            cos_signed(
                s,
                "GET",
                &format!("/{BUCKET}"),
                &[("max-keys", "2"), ("marker", &marker)],
                &[],
            ),
        )
        .await;
        let text = page.text();
        seen.extend(
            text.split("<Key>")
                .skip(1)
                .map(|k| k.split("</Key>").next().unwrap().to_string()),
        );
        if page.xml("IsTruncated").as_deref() != Some("true") {
            break;
        }
        marker = page
            .xml("NextMarker")
            .expect("truncated pages name the next marker");
    }
    assert_eq!(seen, ["a/1", "a/2", "b", "c/x/y", "d"]);
}

#[tokio::test]
async fn sigterm_lets_an_upload_in_flight_finish() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let body = vec![7u8; 200_000];
    let req = cos_signed(
        s,
        "PUT",
        &format!("/{BUCKET}/slow"),
        &[],
        &[("content-length", &body.len().to_string())],
    );
    // Send the head and half the body, then signal, then the rest.
    let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
    let mut head = format!("PUT {} HTTP/1.1\r\nhost: {}\r\n", req.target, s.addr);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body[..100_000]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.terminate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stream.write_all(&body[100_000..]).unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(
        status.success(),
        "cosd exits cleanly after SIGTERM: {status:?}"
    );
}

fn base64_md5(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(data))
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn announced_checksums_are_verified() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    // CRC-32 check value of "123456789", as S3 clients encode it.
    let good = cos_signed(
        s,
        "PUT",
        &format!("/{BUCKET}/ok"),
        &[],
        &[("x-amz-checksum-crc32", "y/Q5Jg==")],
    )
    .body("123456789");
    assert_eq!(send(s.addr, good).await.status, 200);
    let bad = cos_signed(
        s,
        "PUT",
        &format!("/{BUCKET}/bad"),
        &[],
        &[("x-amz-checksum-crc32", "y/Q5Jg==")],
    )
    .body("123456780");
    let resp = send(s.addr, bad).await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (400, Some("BadDigest"))
    );
    let absent = send(
        s.addr,
        cos_signed(s, "HEAD", &format!("/{BUCKET}/bad"), &[], &[]),
    )
    .await;
    assert_eq!(
        absent.status, 404,
        "a body that does not match its checksum is not stored"
    );
}

#[tokio::test]
async fn an_error_before_100_continue_closes_the_connection() {
    // The client sends headers only and waits for `100 Continue`; answered with an error, it
    // may skip the body, so the server must not wait for it on this connection.
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let big = "v".repeat(2100);
    let req = cos_signed(
        s,
        "PUT",
        &format!("/{BUCKET}/m"),
        &[],
        &[("x-cos-meta-big", &big)],
    );
    let mut head = format!("PUT {} HTTP/1.1\r\nhost: {}\r\n", req.target, s.addr);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("expect: 100-continue\r\ncontent-length: 1\r\n\r\n");
    let mut conn = std::net::TcpStream::connect(s.addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut answer).expect("the server closes the connection");
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 400"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(answer.contains("metadatatoolarge"), "{answer}");
}
