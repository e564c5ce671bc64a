//! Black-box tests of multipart upload and APPEND Object over HTTP with COS-signed requests.

mod common;

use common::{cos_signed, create_bucket, send, Response, Server};
use md5::{Digest, Md5};
use std::path::Path;

const BUCKET: &str = "parts-1250000000";
const MIB: usize = 1024 * 1024;

fn path(key: &str) -> String {
    format!("/{BUCKET}/{key}")
}

async fn initiate(s: &Server, key: &str, headers: &[(&str, &str)]) -> String {
    let resp = send(
        s.addr,
        cos_signed(s, "POST", &path(key), &[("uploads", "")], headers),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.xml("Key").as_deref(), Some(key));
    resp.xml("UploadId").expect("UploadId")
}

async fn upload_part(s: &Server, key: &str, id: &str, n: u32, data: &[u8]) -> Response {
    let n = n.to_string();
    let params = [("partNumber", n.as_str()), ("uploadId", id)];
    send(
        s.addr,
        cos_signed(s, "PUT", &path(key), &params, &[]).body(data.to_vec()),
    )
    .await
}

/// Uploads a part that must succeed; returns its ETag (quoted, as sent).
async fn part_ok(s: &Server, key: &str, id: &str, n: u32, data: &[u8]) -> String {
    let resp = upload_part(s, key, id, n, data).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let etag = resp.header("etag").unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", hex::encode(Md5::digest(data))));
    assert_eq!(
        resp.header("x-cos-hash-crc64ecma"),
        Some(cosd_store::crc64(data).to_string().as_str())
    );
    etag
}

fn complete_body(parts: &[(u32, &str)]) -> String {
    let parts: String = parts
        .iter()
        .map(|(n, e)| format!("<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"))
        .collect();
    format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>")
}

async fn complete(s: &Server, key: &str, id: &str, parts: &[(u32, &str)]) -> Response {
    send(
        s.addr,
        cos_signed(s, "POST", &path(key), &[("uploadId", id)], &[]).body(complete_body(parts)),
    )
    .await
}

fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut joined = Vec::new();
    for p in parts {
        joined.extend_from_slice(&Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(Md5::digest(&joined)), parts.len())
}

async fn get(s: &Server, key: &str, headers: &[(&str, &str)]) -> Response {
    send(s.addr, cos_signed(s, "GET", &path(key), &[], headers)).await
}

fn code(resp: &Response) -> (u16, String) {
    (resp.status, resp.xml("Code").unwrap_or_default())
}

/// How many blob files the server keeps, when it keeps them in its data directory; under
/// another backend (`COSD_TEST_SERVE_ARGS`) the count is not checked here: the conformance
/// suite checks the same blob accounting against every backend.
fn assert_blob_count(s: &Server, expected: usize, why: &str) {
    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map_while(Result::ok)
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            walk(&p)
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    if let Some(dir) = &s.local_blobs {
        assert_eq!(walk(dir), expected, "{why}");
    }
}

fn filled(byte: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| byte.wrapping_add((i % 251) as u8))
        .collect()
}

#[tokio::test]
async fn full_flow_out_of_order_with_a_replaced_part() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let key = "videos/大 file.bin";
    let id = initiate(
        s,
        key,
        &[("content-type", "video/mp4"), ("x-cos-meta-camera", "x100")],
    )
    .await;
    assert!(id.len() >= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    let (p1, p2, p3) = (filled(1, MIB), filled(2, MIB + 7), filled(3, 1000));
    let e3 = part_ok(s, key, &id, 3, &p3).await;
    let _replaced = part_ok(s, key, &id, 1, b"first try, replaced").await;
    let e2 = part_ok(s, key, &id, 2, &p2).await;
    let e1 = part_ok(s, key, &id, 1, &p1).await;
    assert_blob_count(s, 3, "the replaced part's blob is gone");

    // List Parts, two pages.
    let list = |marker: &'static str| {
        let params = [
            ("uploadId", id.as_str()),
            ("max-parts", "2"),
            ("part-number-marker", marker),
        ];
        send(s.addr, cos_signed(s, "GET", &path(key), &params, &[]))
    };
    let page = list("0").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.xml("IsTruncated").as_deref(), Some("true"));
    assert_eq!(page.xml("NextPartNumberMarker").as_deref(), Some("2"));
    assert_eq!(page.xml("Size"), Some(MIB.to_string()));
    assert_eq!(page.text().matches("<Part>").count(), 2);
    let page = list("2").await;
    assert_eq!(page.xml("IsTruncated").as_deref(), Some("false"));
    assert_eq!(page.xml("PartNumber").as_deref(), Some("3"));
    assert_eq!(page.xml("ETag"), Some(e3.replace('"', "&quot;")));

    let done = complete(
        s,
        key,
        &id,
        &[(1, &e1), (2, e2.trim_matches('"')), (3, &e3)],
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let expected = multipart_etag(&[&p1, &p2, &p3]);
    assert_eq!(done.xml("ETag"), Some(expected.replace('"', "&quot;")));
    assert!(done
        .text()
        .contains("xmlns=\"http://www.qcloud.com/document/product/436/7751\""));
    assert_eq!(done.xml("Bucket").as_deref(), Some(BUCKET));
    let whole = [p1.as_slice(), &p2, &p3].concat();
    let crc = cosd_store::crc64(&whole).to_string();
    assert_eq!(done.header("x-cos-hash-crc64ecma"), Some(crc.as_str()));
    assert_blob_count(s, 3, "completing copies nothing");

    let head = send(s.addr, cos_signed(s, "HEAD", &path(key), &[], &[])).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("etag"), Some(expected.as_str()));
    assert_eq!(
        head.header("content-length"),
        Some(whole.len().to_string().as_str())
    );
    assert_eq!(head.header("x-cos-hash-crc64ecma"), Some(crc.as_str()));
    assert_eq!(head.header("content-type"), Some("video/mp4"));
    assert_eq!(head.header("x-cos-meta-camera"), Some("x100"));
    assert_eq!(head.header("x-cos-object-type"), None);
    let body = get(s, key, &[]).await;
    assert!(body.body == whole, "content differs");
    // A range across the boundary of parts 1 and 2.
    let range = format!("bytes={}-{}", MIB - 3, MIB + 2);
    let ranged = get(s, key, &[("range", &range)]).await;
    assert_eq!(ranged.status, 206);
    assert_eq!(&ranged.body[..], &whole[MIB - 3..MIB + 3]);

    // The upload is gone.
    let again = complete(s, key, &id, &[(1, &e1)]).await;
    assert_eq!(code(&again), (404, "NoSuchUpload".into()));
}

#[tokio::test]
async fn completion_errors_leave_the_upload_completable() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let key = "k";
    let id = initiate(s, key, &[]).await;
    let small = part_ok(s, key, &id, 1, b"tiny").await;
    let last = part_ok(s, key, &id, 2, b"last").await;
    let bad_etag = format!("\"{}\"", "0".repeat(32));
    for (parts, expected) in [
        (
            vec![(1, small.as_str()), (2, last.as_str())],
            "EntityTooSmall",
        ),
        (vec![(1, bad_etag.as_str())], "InvalidPart"),
        (vec![(1, small.as_str()), (3, last.as_str())], "InvalidPart"),
        (
            vec![(2, last.as_str()), (1, small.as_str())],
            "InvalidPartOrder",
        ),
    ] {
        let resp = complete(s, key, &id, &parts).await;
        assert_eq!(code(&resp), (400, expected.into()), "{parts:?}");
    }
    let malformed = send(
        s.addr,
        cos_signed(s, "POST", &path(key), &[("uploadId", &id)], &[]).body("<Complete"),
    )
    .await;
    assert_eq!(code(&malformed), (400, "MalformedXML".into()));
    for n in ["0", "10001", "x"] {
        let params = [("partNumber", n), ("uploadId", id.as_str())];
        let resp = send(
            s.addr,
            cos_signed(s, "PUT", &path(key), &params, &[]).body("x"),
        )
        .await;
        assert_eq!(code(&resp), (400, "InvalidArgument".into()), "part {n}");
    }
    let bad_md5 = send(
        s.addr,
        cos_signed(
            s,
            "PUT",
            &path(key),
            &[("partNumber", "3"), ("uploadId", &id)],
            &[("content-md5", "mQ/fVh815F3k6TAUm8m0eg==")],
        )
        .body("not that"),
    )
    .await;
    assert_eq!(code(&bad_md5), (400, "BadDigest".into()));
    for unknown in ["00000000000000000000000000000000", "../x"] {
        let part = upload_part(s, key, unknown, 1, b"x").await;
        assert_eq!(code(&part), (404, "NoSuchUpload".into()));
        let done = complete(s, key, unknown, &[(1, &small)]).await;
        assert_eq!(code(&done), (404, "NoSuchUpload".into()));
    }
    // Another key does not reach the upload.
    let elsewhere = complete(s, "other", &id, &[(1, &small)]).await;
    assert_eq!(code(&elsewhere), (404, "NoSuchUpload".into()));

    let done = complete(s, key, &id, &[(2, &last)]).await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(get(s, key, &[]).await.body, "last");
    assert_blob_count(s, 1, "the unused part's blob is gone");
}

#[tokio::test]
async fn abort_reclaims_the_parts_and_unblocks_bucket_deletion() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let id = initiate(s, "a", &[]).await;
    for n in 1..=3 {
        part_ok(s, "a", &id, n, &filled(n as u8, 1000)).await;
    }
    assert_blob_count(s, 3, "one blob per part");
    let refused = send(
        s.addr,
        cos_signed(s, "DELETE", &format!("/{BUCKET}"), &[], &[]),
    )
    .await;
    assert_eq!(code(&refused), (409, "BucketNotEmpty".into()));
    let abort = || {
        send(
            s.addr,
            cos_signed(s, "DELETE", &path("a"), &[("uploadId", &id)], &[]),
        )
    };
    assert_eq!(abort().await.status, 204);
    assert_blob_count(s, 0, "abort reclaims the parts");
    assert_eq!(code(&abort().await), (404, "NoSuchUpload".into()));
    let list = send(
        s.addr,
        cos_signed(s, "GET", &path("a"), &[("uploadId", &id)], &[]),
    )
    .await;
    assert_eq!(code(&list), (404, "NoSuchUpload".into()));
    let deleted = send(
        s.addr,
        cos_signed(s, "DELETE", &format!("/{BUCKET}"), &[], &[]),
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
}

#[tokio::test]
async fn list_multipart_uploads_pages_and_rolls_up() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let mut all = Vec::new();
    for key in ["a", "b/1", "a", "b/2", "c"] {
        all.push((key.to_string(), initiate(s, key, &[]).await));
    }
    all.sort();
    let list = |params: Vec<(&'static str, String)>| async move {
        let mut p: Vec<(&str, &str)> = vec![("uploads", "")];
        p.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let resp = send(s.addr, cos_signed(s, "GET", &format!("/{BUCKET}"), &p, &[])).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp
    };
    // Pages of two, following the next markers, give every upload once, in order.
    let (mut key_marker, mut id_marker) = (String::new(), String::new());
    let mut seen = Vec::new();
    loop {
        let page = list(vec![
            ("max-uploads", "2".into()),
            ("key-marker", key_marker.clone()),
            ("upload-id-marker", id_marker.clone()),
        ])
        .await;
        let text = page.text();
        for upload in text.split("<Upload>").skip(1) {
            let tag = |t: &str| {
                let open = format!("<{t}>");
                let start = upload.find(&open).unwrap() + open.len();
                upload[start..start + upload[start..].find('<').unwrap()].to_string()
            };
            seen.push((tag("Key"), tag("UploadId")));
        }
        if page.xml("IsTruncated").as_deref() != Some("true") {
            break;
        }
        key_marker = page.xml("NextKeyMarker").unwrap();
        id_marker = page.xml("NextUploadIdMarker").unwrap();
    }
    assert_eq!(seen, all);
    let rolled = list(vec![("delimiter", "/".into())]).await;
    let text = rolled.text();
    assert_eq!(text.matches("<Upload>").count(), 3, "{text}");
    assert!(
        text.contains("<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes>"),
        "{text}"
    );
    let prefixed = list(vec![("prefix", "b/".into())]).await;
    assert_eq!(prefixed.text().matches("<Upload>").count(), 2);
}

#[tokio::test]
async fn upload_part_copy_with_ranges_and_conditions() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let source = filled(9, 2 * MIB + 100);
    let put = send(
        s.addr,
        cos_signed(s, "PUT", &path("src"), &[], &[]).body(source.clone()),
    )
    .await;
    assert_eq!(put.status, 200);
    let src_etag = put.header("etag").unwrap().to_string();
    let id = initiate(s, "dst", &[]).await;
    let copy_source = format!("{BUCKET}.cos.ap-guangzhou.myqcloud.com/src");
    let copy = |n: &'static str, range: String, extra: Vec<(&'static str, String)>| {
        let copy_source = copy_source.clone();
        let id = id.clone();
        async move {
            let mut headers = vec![
                ("x-cos-copy-source", copy_source),
                ("x-cos-copy-source-range", range),
            ];
            headers.extend(extra);
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let params = [("partNumber", n), ("uploadId", id.as_str())];
            send(s.addr, cos_signed(s, "PUT", &path("dst"), &params, &h)).await
        }
    };
    let first = copy(
        "1",
        format!("bytes=0-{}", MIB - 1),
        vec![("x-cos-copy-source-if-match", src_etag.clone())],
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let e1 = first.xml("ETag").unwrap().replace("&quot;", "\"");
    assert_eq!(
        e1,
        format!("\"{}\"", hex::encode(Md5::digest(&source[..MIB])))
    );
    let second = copy("2", format!("bytes={MIB}-{}", source.len() - 1), vec![]).await;
    assert_eq!(second.status, 200, "{}", second.text());
    let e2 = second.xml("ETag").unwrap().replace("&quot;", "\"");
    let failed = copy(
        "3",
        "bytes=0-1".into(),
        vec![("x-cos-copy-source-if-match", "\"nope\"".into())],
    )
    .await;
    assert_eq!(code(&failed), (412, "PreconditionFailed".into()));
    let beyond = copy("3", format!("bytes=0-{}", source.len()), vec![]).await;
    assert_eq!(code(&beyond), (400, "InvalidArgument".into()));
    let done = complete(s, "dst", &id, &[(1, &e1), (2, &e2)]).await;
    assert_eq!(done.status, 200, "{}", done.text());
    let got = get(s, "dst", &[]).await;
    assert!(got.body == source, "copied content differs");
    assert_eq!(
        got.header("x-cos-hash-crc64ecma"),
        Some(cosd_store::crc64(&source).to_string().as_str())
    );
}

#[tokio::test]
async fn parts_survive_kill_9_and_the_upload_completes_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(tmp.path(), &[]);
    create_bucket(&server, BUCKET).await;
    let id = initiate(&server, "crash", &[("content-type", "text/plain")]).await;
    let (p1, p2) = (filled(4, MIB), filled(5, 10));
    let e1 = part_ok(&server, "crash", &id, 1, &p1).await;
    let e2 = part_ok(&server, "crash", &id, 2, &p2).await;
    server.kill();
    // The restart sweeps orphan blobs: the parts of the upload in progress must survive it.
    let server = Server::start_on(tmp.path(), &[]);
    let s = &server;
    assert_blob_count(s, 2, "the restart's sweep spares the parts of the upload");
    let done = complete(s, "crash", &id, &[(1, &e1), (2, &e2)]).await;
    assert_eq!(done.status, 200, "{}", done.text());
    let got = get(s, "crash", &[]).await;
    assert!(got.body == [p1, p2].concat());
    assert_eq!(got.header("content-type"), Some("text/plain"));
}

async fn append(s: &Server, key: &str, position: Option<&str>, data: &str) -> Response {
    let mut params = vec![("append", "")];
    if let Some(p) = position {
        params.push(("position", p));
    }
    send(
        s.addr,
        cos_signed(
            s,
            "POST",
            &path(key),
            &params,
            &[("content-type", "text/log")],
        )
        .body(data.to_string()),
    )
    .await
}

#[tokio::test]
async fn append_object_flow_and_errors() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let first = append(s, "log", Some("0"), "hello ").await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-cos-next-append-position"), Some("6"));
    let second = append(s, "log", Some("6"), "world").await;
    assert_eq!(second.header("x-cos-next-append-position"), Some("11"));
    let etag = second.header("etag").unwrap().to_string();
    assert!(etag.ends_with("-2\""), "{etag}");
    assert_ne!(Some(etag.as_str()), first.header("etag"));
    assert_eq!(
        second.header("x-cos-hash-crc64ecma"),
        Some(cosd_store::crc64(b"hello world").to_string().as_str())
    );
    let head = send(s.addr, cos_signed(s, "HEAD", &path("log"), &[], &[])).await;
    assert_eq!(head.header("x-cos-object-type"), Some("appendable"));
    assert_eq!(head.header("x-cos-next-append-position"), Some("11"));
    assert_eq!(head.header("content-type"), Some("text/log"));
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    assert_eq!(get(s, "log", &[]).await.body, "hello world");
    assert_blob_count(s, 2, "an append adds a segment, no rewrite");

    let stale = append(s, "log", Some("6"), "again").await;
    assert_eq!(code(&stale), (409, "PositionNotEqualToLength".into()));
    let fresh = append(s, "new", Some("3"), "x").await;
    assert_eq!(code(&fresh), (409, "PositionNotEqualToLength".into()));
    let missing = append(s, "log", None, "x").await;
    assert_eq!(code(&missing), (400, "InvalidArgument".into()));
    let bad = append(s, "log", Some("-1"), "x").await;
    assert_eq!(code(&bad), (400, "InvalidArgument".into()));

    // A PUT makes it normal; a normal object cannot be appended to.
    let put = send(
        s.addr,
        cos_signed(s, "PUT", &path("log"), &[], &[]).body("plain"),
    )
    .await;
    assert_eq!(put.status, 200);
    let head = send(s.addr, cos_signed(s, "HEAD", &path("log"), &[], &[])).await;
    assert_eq!(head.header("x-cos-object-type"), None);
    let refused = append(s, "log", Some("5"), "x").await;
    assert_eq!(code(&refused), (409, "ObjectNotAppendable".into()));
}
