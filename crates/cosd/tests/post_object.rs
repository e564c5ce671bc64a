//! Black-box tests of POST Object: multipart/form-data bodies built by hand, signed with the COS
//! `q-*` fields or SigV4 `x-amz-*` fields, posted to the real server and read back.

mod common;

use base64::Engine;
use common::{cos_signed, create_bucket, now_secs, send, Request, Server, SECRET_ID, SECRET_KEY};
use cosd_api::auth::post_policy;
use md5::{Digest, Md5};

const BUCKET: &str = "forms-1250000000";
const BOUNDARY: &str = "----cosdFormBoundary7MA4YWxkTrZu0gW";

/// A form: text fields in order, then the file (unless left out), then optional trailing parts.
struct Form {
    fields: Vec<(String, String)>,
    file: Option<(String, Vec<u8>)>,
    after_file: Vec<(String, String)>,
}

impl Form {
    fn new() -> Form {
        Form {
            fields: vec![],
            file: None,
            after_file: vec![],
        }
    }

    fn field(mut self, name: &str, value: &str) -> Form {
        self.fields.push((name.into(), value.into()));
        self
    }

    fn file(mut self, filename: &str, data: &[u8]) -> Form {
        self.file = Some((filename.into(), data.to_vec()));
        self
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let text = |out: &mut Vec<u8>, name: &str, value: &str| {
            out.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        };
        for (name, value) in &self.fields {
            text(&mut out, name, value);
        }
        if let Some((filename, data)) = &self.file {
            // The browser's own MIME type for the file, which COS ignores.
            out.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                     filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in &self.after_file {
            text(&mut out, name, value);
        }
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        out
    }

    /// The POST request for the bucket, path style.
    fn request(&self) -> Request {
        Request::new("POST", &format!("/{BUCKET}"))
            .header(
                "content-type",
                &format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(self.body())
    }
}

fn iso8601(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn policy_json(expiration: u64, conditions: &[&str]) -> String {
    format!(
        r#"{{"expiration": "{}", "conditions": [{}]}}"#,
        iso8601(expiration),
        conditions.join(", ")
    )
}

/// The fields before the file for a COS-signed form: `fields`, then the policy (expiring in an
/// hour) with `conditions` plus those on the signature fields, then the signature fields.
fn cos_form(fields: &[(&str, &str)], conditions: &[&str]) -> Form {
    cos_form_with(fields, conditions, now_secs() + 3600, None)
}

fn cos_form_with(
    fields: &[(&str, &str)],
    conditions: &[&str],
    expiration: u64,
    signature: Option<&str>,
) -> Form {
    let now = now_secs();
    let key_time = format!("{};{}", now - 60, now + 3600);
    let q_ak = format!(r#"{{"q-ak": "{SECRET_ID}"}}"#);
    let q_time = format!(r#"{{"q-sign-time": "{key_time}"}}"#);
    let mut all: Vec<&str> = conditions.to_vec();
    all.extend([r#"{"q-sign-algorithm": "sha1"}"#, &q_ak, &q_time]);
    let json = policy_json(expiration, &all);
    let computed = post_policy::cos_signature(SECRET_KEY, &key_time, &json);
    let mut form = Form::new();
    for (name, value) in fields {
        form = form.field(name, value);
    }
    form.field("policy", &base64(json.as_bytes()))
        .field("q-sign-algorithm", "sha1")
        .field("q-ak", SECRET_ID)
        .field("q-key-time", &key_time)
        .field("q-signature", signature.unwrap_or(&computed))
}

async fn get(s: &Server, key: &str) -> common::Response {
    send(
        s.addr,
        cos_signed(s, "GET", &format!("/{BUCKET}/{key}"), &[], &[]),
    )
    .await
}

fn etag_of(data: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(data)))
}

#[tokio::test]
async fn cos_signed_form_uploads_with_metadata_and_filename() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    // Several MiB, so the file crosses many reads of the body.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let md5 = base64(&Md5::digest(&data));
    let form = cos_form(
        &[
            ("key", "docs/${filename}"),
            ("Content-Type", "text/plain"),
            ("cache-control", "max-age=60"),
            ("Content-Disposition", "attachment; filename=\"r.txt\""),
            ("x-cos-meta-Author", "ann"),
            ("x-cos-storage-class", "STANDARD_IA"),
            ("Content-MD5", &md5),
            ("acl", "default"),
        ],
        &[
            r#"["starts-with", "$key", "docs/"]"#,
            &format!(r#"{{"bucket": "{BUCKET}"}}"#),
            r#"["eq", "$Content-Type", "text/plain"]"#,
            r#"["starts-with", "$Cache-Control", ""]"#,
            r#"["starts-with", "$content-disposition", "attachment"]"#,
            r#"{"x-cos-meta-author": "ann"}"#,
            r#"{"x-cos-storage-class": "STANDARD_IA"}"#,
            r#"["starts-with", "$Content-MD5", ""]"#,
            r#"{"acl": "default"}"#,
            r#"["content-length-range", 1, 10000000]"#,
        ],
    )
    .file("report 1.txt", &data);
    let resp = send(s.addr, form.request()).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    let etag = etag_of(&data);
    assert_eq!(resp.header("etag"), Some(etag.as_str()));
    let location = format!("http://{}/{BUCKET}/docs/report%201.txt", s.addr);
    assert_eq!(resp.header("location"), Some(location.as_str()));
    assert!(resp.body.is_empty());

    let got = get(s, "docs/report 1.txt").await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert!(got.body == data, "the stored bytes differ from the upload");
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    // The form's Content-Type field wins over the file part's own type.
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(got.header("cache-control"), Some("max-age=60"));
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"r.txt\"")
    );
    assert_eq!(got.header("x-cos-meta-author"), Some("ann"));
    assert_eq!(got.header("x-cos-storage-class"), Some("STANDARD_IA"));
}

#[tokio::test]
async fn success_status_201_and_redirect() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;

    let created = cos_form(
        &[("key", "a/b.txt"), ("success_action_status", "201")],
        &[
            r#"{"key": "a/b.txt"}"#,
            r#"{"success_action_status": "201"}"#,
        ],
    )
    .file("b.txt", b"hello");
    let resp = send(s.addr, created.request()).await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let location = format!("http://{}/{BUCKET}/a/b.txt", s.addr);
    assert_eq!(resp.xml("Location"), Some(location.clone()));
    assert_eq!(resp.xml("Bucket").as_deref(), Some(BUCKET));
    assert_eq!(resp.xml("Key").as_deref(), Some("a/b.txt"));
    assert_eq!(
        resp.xml("ETag"),
        Some(etag_of(b"hello").replace('"', "&quot;"))
    );
    assert_eq!(resp.header("location"), Some(location.as_str()));

    let ok = cos_form(
        &[("key", "ok"), ("success_action_status", "200")],
        &[r#"{"key": "ok"}"#, r#"{"success_action_status": "200"}"#],
    )
    .file("x", b"x");
    assert_eq!(send(s.addr, ok.request()).await.status, 200);
    let odd = cos_form(
        &[("key", "odd"), ("success_action_status", "302")],
        &[
            r#"{"key": "odd"}"#,
            r#"["starts-with", "$success_action_status", ""]"#,
        ],
    )
    .file("x", b"x");
    assert_eq!(send(s.addr, odd.request()).await.status, 204);

    let redirect = cos_form(
        &[
            ("key", "r k"),
            ("success_action_redirect", "https://app.example/done?x=1"),
        ],
        &[
            r#"{"key": "r k"}"#,
            r#"["starts-with", "$success_action_redirect", "https://app.example/"]"#,
        ],
    )
    .file("x", b"data");
    let resp = send(s.addr, redirect.request()).await;
    assert_eq!(resp.status, 303, "{}", resp.text());
    let expected = format!(
        "https://app.example/done?x=1&bucket={BUCKET}&key=r%20k&etag=%22{}%22",
        hex::encode(Md5::digest(b"data"))
    );
    assert_eq!(resp.header("location"), Some(expected.as_str()));
    assert_eq!(get(s, "r k").await.body, &b"data"[..]);
}

#[tokio::test]
async fn content_length_range_violations_leave_nothing() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let form = |data: &[u8]| {
        cos_form(
            &[("key", "sized")],
            &[
                r#"{"key": "sized"}"#,
                r#"["content-length-range", 10, 100000]"#,
            ],
        )
        .file("f", data)
    };
    let big = vec![7u8; 1_000_000];
    let resp = send(s.addr, form(&big).request()).await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (400, Some("EntityTooLarge")),
        "{}",
        resp.text()
    );
    let resp = send(s.addr, form(b"tiny").request()).await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (400, Some("EntityTooSmall"))
    );
    assert_eq!(get(s, "sized").await.status, 404);
    let resp = send(s.addr, form(b"just right").request()).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert_eq!(get(s, "sized").await.body, &b"just right"[..]);
}

#[tokio::test]
async fn bad_signatures_expired_policies_and_extra_fields_are_refused() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let code = |resp: &common::Response| (resp.status, resp.xml("Code"));

    let tampered = cos_form_with(
        &[("key", "k")],
        &[r#"{"key": "k"}"#],
        now_secs() + 3600,
        Some("0000000000000000000000000000000000000000"),
    )
    .file("f", b"x");
    let resp = send(s.addr, tampered.request()).await;
    assert_eq!(code(&resp), (403, Some("SignatureDoesNotMatch".into())));

    let expired =
        cos_form_with(&[("key", "k")], &[r#"{"key": "k"}"#], now_secs() - 10, None).file("f", b"x");
    let resp = send(s.addr, expired.request()).await;
    assert_eq!(code(&resp), (403, Some("AccessDenied".into())));
    assert!(resp
        .xml("Message")
        .unwrap()
        .starts_with("You post object request has been expired"));

    // COS, unlike S3, accepts fields no condition names (its own documented forms do this).
    let extra = cos_form(
        &[("key", "extra"), ("x-cos-meta-extra", "1")],
        &[r#"{"key": "extra"}"#],
    )
    .file("f", b"x");
    let resp = send(s.addr, extra.request()).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    assert_eq!(get(s, "extra").await.header("x-cos-meta-extra"), Some("1"));

    let mismatch = cos_form(
        &[("key", "other")],
        &[r#"["starts-with", "$key", "user/"]"#],
    )
    .file("f", b"x");
    let resp = send(s.addr, mismatch.request()).await;
    assert_eq!(code(&resp), (403, Some("AccessDenied".into())));
    assert_eq!(
        resp.xml("Message").as_deref(),
        Some("Condition key key doesn&apos;t match the value user/")
    );

    let anonymous = Form::new().field("key", "k").file("f", b"x");
    let resp = send(s.addr, anonymous.request()).await;
    assert_eq!(code(&resp), (403, Some("AccessDenied".into())));

    let no_bucket = cos_form(&[("key", "k")], &[r#"{"key": "k"}"#]).file("f", b"x");
    let resp = send(
        s.addr,
        Request {
            target: "/missing-1250000000".into(),
            ..no_bucket.request()
        },
    )
    .await;
    assert_eq!(code(&resp), (404, Some("NoSuchBucket".into())));

    let not_a_policy = Form::new()
        .field("key", "k")
        .field("policy", &base64(b"{}"))
        .field("q-sign-algorithm", "sha1")
        .field("q-ak", SECRET_ID)
        .field(
            "q-key-time",
            &format!("{};{}", now_secs() - 1, now_secs() + 60),
        )
        .field(
            "q-signature",
            &post_policy::cos_signature(
                SECRET_KEY,
                &format!("{};{}", now_secs() - 1, now_secs() + 60),
                "{}",
            ),
        )
        .file("f", b"x");
    let resp = send(s.addr, not_a_policy.request()).await;
    assert_eq!(code(&resp), (400, Some("InvalidPolicyDocument".into())));

    for key in ["k", "other"] {
        assert_eq!(get(s, key).await.status, 404, "{key} was stored");
    }
}

#[tokio::test]
async fn malformed_forms_are_refused() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let code = |resp: &common::Response| (resp.status, resp.xml("Code"));

    let no_file = cos_form(&[("key", "k")], &[r#"{"key": "k"}"#]);
    let resp = send(s.addr, no_file.request()).await;
    assert_eq!(
        code(&resp),
        (400, Some("IncorrectNumberOfFilesInPostRequest".into()))
    );

    let mut two_files = cos_form(&[("key", "k")], &[r#"{"key": "k"}"#]).file("f", b"x");
    two_files.after_file.push(("file".into(), "second".into()));
    let resp = send(s.addr, two_files.request()).await;
    assert_eq!(
        code(&resp),
        (400, Some("IncorrectNumberOfFilesInPostRequest".into()))
    );

    let mut trailing = cos_form(&[("key", "k")], &[r#"{"key": "k"}"#]).file("f", b"x");
    trailing.after_file.push(("acl".into(), "default".into()));
    let resp = send(s.addr, trailing.request()).await;
    assert_eq!(code(&resp), (400, Some("MalformedPOSTRequest".into())));

    let huge_field = cos_form(&[("key", &"k".repeat(9000))], &[]).file("f", b"x");
    let resp = send(s.addr, huge_field.request()).await;
    assert_eq!(code(&resp), (400, Some("InvalidArgument".into())));

    let truncated = Request::new("POST", &format!("/{BUCKET}"))
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk"
        ));
    let resp = send(s.addr, truncated).await;
    assert_eq!(code(&resp), (400, Some("MalformedPOSTRequest".into())));

    // A part header that never ends is cut off, not buffered.
    let mut endless =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\nX-Pad: ")
            .into_bytes();
    endless.resize(endless.len() + 6 * 1024 * 1024, b'a');
    let resp = send(
        s.addr,
        Request::new("POST", &format!("/{BUCKET}"))
            .header(
                "content-type",
                &format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(endless),
    )
    .await;
    assert_eq!(code(&resp), (400, Some("MalformedPOSTRequest".into())));
    assert!(resp.text().contains("too many bytes outside its file"));

    // Objects cannot be public-read-write.
    let invalid_acl = cos_form(
        &[("key", "k"), ("acl", "public-read-write")],
        &[r#"{"key": "k"}"#, r#"{"acl": "public-read-write"}"#],
    )
    .file("f", b"x");
    let resp = send(s.addr, invalid_acl.request()).await;
    assert_eq!(code(&resp), (400, Some("InvalidArgument".into())));
    assert_eq!(get(s, "k").await.status, 404);

    // The `acl` field sets the object's ACL.
    let public = cos_form(
        &[("key", "k"), ("acl", "public-read")],
        &[r#"{"key": "k"}"#, r#"{"acl": "public-read"}"#],
    )
    .file("f", b"x");
    assert_eq!(send(s.addr, public.request()).await.status, 204);
    let anonymous = send(s.addr, Request::new("GET", &format!("/{BUCKET}/k"))).await;
    assert_eq!(anonymous.status, 200);
}

#[tokio::test]
async fn sigv4_signed_form_uploads() {
    let server = Server::start();
    let s = &server;
    create_bucket(s, BUCKET).await;
    let now = time::OffsetDateTime::now_utc();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let date = &amz_date[..8];
    let credential = format!("{SECRET_ID}/{date}/us-east-1/s3/aws4_request");
    let json = policy_json(
        now_secs() + 600,
        &[
            &format!(r#"{{"bucket": "{BUCKET}"}}"#),
            r#"["starts-with", "$key", "user/"]"#,
            r#"{"x-amz-meta-uuid": "14365123651274"}"#,
            r#"{"x-amz-algorithm": "AWS4-HMAC-SHA256"}"#,
            &format!(r#"{{"x-amz-credential": "{credential}"}}"#),
            &format!(r#"{{"x-amz-date": "{amz_date}"}}"#),
        ],
    );
    let policy = base64(json.as_bytes());
    let signature = post_policy::sigv4_signature(SECRET_KEY, date, "us-east-1", &policy);
    let form = Form::new()
        .field("key", "user/${filename}")
        .field("x-amz-meta-uuid", "14365123651274")
        .field("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
        .field("X-Amz-Credential", &credential)
        .field("X-Amz-Date", &amz_date)
        .field("Policy", &policy)
        .field("X-Amz-Signature", &signature)
        .file("photo.jpg", b"jpeg bytes");
    let resp = send(s.addr, form.request()).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    let got = get(s, "user/photo.jpg").await;
    assert_eq!(got.body, &b"jpeg bytes"[..]);
    assert_eq!(got.header("x-cos-meta-uuid"), Some("14365123651274"));

    // S3 rule for SigV4 forms: every field must be named by a condition.
    let extra = Form::new()
        .field("key", "user/${filename}")
        .field("x-amz-meta-uuid", "14365123651274")
        .field("x-amz-meta-sneaky", "1")
        .field("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
        .field("X-Amz-Credential", &credential)
        .field("X-Amz-Date", &amz_date)
        .field("Policy", &policy)
        .field("X-Amz-Signature", &signature)
        .file("other.jpg", b"x");
    let resp = send(s.addr, extra.request()).await;
    assert_eq!(
        resp.xml("Message").as_deref(),
        Some("Invalid according to Policy: Extra input fields: x-amz-meta-sneaky")
    );
    assert_eq!(get(s, "user/other.jpg").await.status, 404);

    let wrong_key = Form::new()
        .field("key", "user/${filename}")
        .field("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
        .field(
            "X-Amz-Credential",
            &credential.replace(SECRET_ID, "AKIDnobody"),
        )
        .field("X-Amz-Date", &amz_date)
        .field("Policy", &policy)
        .field("X-Amz-Signature", &signature)
        .file("photo.jpg", b"x");
    let resp = send(s.addr, wrong_key.request()).await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (403, Some("InvalidAccessKeyId"))
    );
}
