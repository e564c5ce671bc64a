//! THE PERMISSION MATRIX: every implemented operation × principals × bucket states, each cell
//! one real request against the real server, compared with the expected allow/deny.
//!
//! A cell is *allowed* when the answer is anything but 403 (a 404 `NoSuchUpload` for a made-up
//! upload id, or 409 `BucketNotEmpty`, means authorization let the request through); *denied*
//! when it is 403 with the principal's denial code (`AccessDenied`). A 5xx fails the test
//! outright.
//!
//! Principals are a list: each has a way to sign and an expectation function, so more kinds
//! (temporary keys in and out of scope, expired keys) slot in as more entries of
//! [`principals`].

mod common;

use common::{cos_signed_as, send, Request, Response, Server, TestKey, APPID};
use std::fmt::Write as _;

const OTHER: (&str, &str, &str) = (
    "1250000001",
    "AKIDotheraccount000000000000000",
    "othersecret00000000000000000000",
);
const GRANTEE: (&str, &str, &str) = (
    "1250000002",
    "AKIDgranteeaccount0000000000000",
    "granteesecret000000000000000000",
);

fn test_key((appid, secret_id, secret_key): (&str, &str, &str)) -> TestKey {
    TestKey {
        appid: appid.into(),
        secret_id: secret_id.into(),
        secret_key: secret_key.into(),
        token: None,
    }
}

/// The bucket states of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Private,
    PublicRead,
    PublicReadWrite,
    /// READ, WRITE and READ_ACP granted to the grantee account.
    Granted,
    /// A policy allows the grantee to get, head, list and put, and anyone to `s3:GetObject`.
    PolicyAllowed,
    /// public-read-write, and a policy denying everything to everyone.
    PolicyDenied,
}

const STATES: [State; 6] = [
    State::Private,
    State::PublicRead,
    State::PublicReadWrite,
    State::Granted,
    State::PolicyAllowed,
    State::PolicyDenied,
];

impl State {
    fn bucket(self) -> String {
        let name = match self {
            State::Private => "private",
            State::PublicRead => "public-read",
            State::PublicReadWrite => "public-rw",
            State::Granted => "granted",
            State::PolicyAllowed => "policy-allowed",
            State::PolicyDenied => "policy-denied",
        };
        format!("{name}-{APPID}")
    }

    /// The headers that set this state's bucket ACL.
    fn acl_headers(self) -> Vec<(&'static str, String)> {
        match self {
            State::Private | State::PolicyAllowed => vec![("x-cos-acl", "private".into())],
            State::PublicRead => vec![("x-cos-acl", "public-read".into())],
            State::PublicReadWrite | State::PolicyDenied => {
                vec![("x-cos-acl", "public-read-write".into())]
            }
            State::Granted => {
                let id = format!("id=\"{}\"", GRANTEE.0);
                vec![
                    ("x-cos-grant-read", id.clone()),
                    ("x-cos-grant-write", id.clone()),
                    ("x-cos-grant-read-acp", id),
                ]
            }
        }
    }

    fn policy(self) -> Option<String> {
        let bucket = self.bucket();
        match self {
            State::PolicyAllowed => Some(format!(
                r#"{{"version":"2.0","Statement":[
                  {{"Principal":{{"qcs":["qcs::cam::uin/{g}:uin/{g}"]}},"Effect":"allow",
                    "Action":["name/cos:GetObject","name/cos:HeadObject","name/cos:GetBucket","name/cos:PutObject"],
                    "Resource":["qcs::cos:ap-guangzhou:uid/{APPID}:{bucket}/*"]}},
                  {{"Principal":"*","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#,
                g = GRANTEE.0
            )),
            State::PolicyDenied => Some(format!(
                r#"{{"Statement":[{{"Principal":"*","Effect":"Deny","Action":"*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#
            )),
            _ => None,
        }
    }
}

/// What an operation needs, in the expectation model below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Bucket READ: listings, HEAD, location, multipart listings.
    Read,
    /// Object READ: GET / HEAD Object.
    ObjectRead,
    /// Bucket WRITE.
    Write,
    ReadAcp,
    WriteAcp,
    /// Owner only (bucket configuration, DELETE Bucket).
    Owner,
    /// The bucket policy operations: owner only, and never locked out by a Deny.
    PolicyAdmin,
}

/// One operation of the matrix: its name, class, and how to build its request.
struct Operation {
    name: &'static str,
    class: Class,
    build: fn(&Cell) -> Built,
    /// Signed in its form fields (by `build`), not in its head.
    form: bool,
}

/// What a request builder knows: the bucket, the state, the setup's upload id, a unique number.
struct Cell<'a> {
    state: State,
    bucket: String,
    upload_id: String,
    n: usize,
    /// The principal's key, for requests that carry their signature in the body (POST Object).
    key: Option<&'a TestKey>,
}

/// A request before signing: method, decoded path, query parameters, headers, body.
type Built = (
    &'static str,
    String,
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<u8>,
);

fn req(
    method: &'static str,
    path: String,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
) -> Built {
    (
        method,
        path,
        params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body.to_vec(),
    )
}

fn md5_b64(body: &[u8]) -> String {
    use base64::Engine;
    use md5::{Digest, Md5};
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(body))
}

fn operations() -> Vec<Operation> {
    use Class::*;
    vec![
        Operation {
            name: "HeadBucket",
            form: false,
            class: Read,
            build: |c| req("HEAD", format!("/{}", c.bucket), &[], &[], b""),
        },
        Operation {
            name: "GetBucketLocation",
            form: false,
            class: Read,
            build: |c| {
                req(
                    "GET",
                    format!("/{}", c.bucket),
                    &[("location", "")],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "ListObjects",
            form: false,
            class: Read,
            build: |c| req("GET", format!("/{}", c.bucket), &[], &[], b""),
        },
        Operation {
            name: "ListObjectsV2",
            form: false,
            class: Read,
            build: |c| {
                req(
                    "GET",
                    format!("/{}", c.bucket),
                    &[("list-type", "2")],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "ListMultipartUploads",
            form: false,
            class: Read,
            build: |c| {
                req(
                    "GET",
                    format!("/{}", c.bucket),
                    &[("uploads", "")],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "ListParts",
            form: false,
            class: Read,
            build: |c| {
                req(
                    "GET",
                    format!("/{}/mp", c.bucket),
                    &[("uploadId", &c.upload_id)],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "GetObject",
            form: false,
            class: ObjectRead,
            build: |c| req("GET", format!("/{}/obj", c.bucket), &[], &[], b""),
        },
        Operation {
            name: "HeadObject",
            form: false,
            class: ObjectRead,
            build: |c| req("HEAD", format!("/{}/obj", c.bucket), &[], &[], b""),
        },
        Operation {
            name: "PutObject",
            form: false,
            class: Write,
            build: |c| {
                req(
                    "PUT",
                    format!("/{}/put-{}", c.bucket, c.n),
                    &[],
                    &[],
                    b"data",
                )
            },
        },
        Operation {
            name: "CopyObject",
            form: false,
            class: Write,
            build: |c| {
                let source = format!("{}/obj", c.bucket);
                req(
                    "PUT",
                    format!("/{}/copy-{}", c.bucket, c.n),
                    &[],
                    &[("x-cos-copy-source", &source)],
                    b"",
                )
            },
        },
        Operation {
            name: "AppendObject",
            form: false,
            class: Write,
            build: |c| {
                req(
                    "POST",
                    format!("/{}/append-{}", c.bucket, c.n),
                    &[("append", ""), ("position", "0")],
                    &[],
                    b"log",
                )
            },
        },
        Operation {
            name: "DeleteObject",
            form: false,
            class: Write,
            build: |c| req("DELETE", format!("/{}/victim", c.bucket), &[], &[], b""),
        },
        Operation {
            name: "DeleteObjects",
            form: false,
            class: Write,
            build: |c| {
                let body = b"<Delete><Object><Key>victim</Key></Object></Delete>";
                req(
                    "POST",
                    format!("/{}", c.bucket),
                    &[("delete", "")],
                    &[("content-md5", &md5_b64(body))],
                    body,
                )
            },
        },
        Operation {
            name: "InitiateMultipartUpload",
            form: false,
            class: Write,
            build: |c| {
                req(
                    "POST",
                    format!("/{}/mp-{}", c.bucket, c.n),
                    &[("uploads", "")],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "UploadPart",
            form: false,
            class: Write,
            build: |c| {
                req(
                    "PUT",
                    format!("/{}/mp", c.bucket),
                    &[("partNumber", "1"), ("uploadId", &c.upload_id)],
                    &[],
                    b"part",
                )
            },
        },
        Operation {
            name: "UploadPartCopy",
            form: false,
            class: Write,
            build: |c| {
                let source = format!("{}/obj", c.bucket);
                req(
                    "PUT",
                    format!("/{}/mp", c.bucket),
                    &[("partNumber", "2"), ("uploadId", &c.upload_id)],
                    &[("x-cos-copy-source", &source)],
                    b"",
                )
            },
        },
        Operation {
            name: "PostObject",
            form: true,
            class: Write,
            build: |c| form_upload(&c.bucket, &format!("form-{}", c.n), c.key),
        },
        Operation {
            name: "CompleteMultipartUpload",
            form: false,
            class: Write,
            build: |c| {
                req("POST", format!("/{}/mp", c.bucket), &[("uploadId", "no-such-upload")], &[], b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>")
            },
        },
        Operation {
            name: "AbortMultipartUpload",
            form: false,
            class: Write,
            build: |c| {
                req(
                    "DELETE",
                    format!("/{}/mp", c.bucket),
                    &[("uploadId", "no-such-upload")],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "GetBucketAcl",
            form: false,
            class: ReadAcp,
            build: |c| req("GET", format!("/{}", c.bucket), &[("acl", "")], &[], b""),
        },
        Operation {
            name: "GetObjectAcl",
            form: false,
            class: ReadAcp,
            build: |c| {
                req(
                    "GET",
                    format!("/{}/obj", c.bucket),
                    &[("acl", "")],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "PutBucketAcl",
            form: false,
            class: WriteAcp,
            build: |c| {
                let headers = c.state.acl_headers();
                let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                req("PUT", format!("/{}", c.bucket), &[("acl", "")], &h, b"")
            },
        },
        Operation {
            name: "PutObjectAcl",
            form: false,
            class: WriteAcp,
            build: |c| {
                req(
                    "PUT",
                    format!("/{}/obj", c.bucket),
                    &[("acl", "")],
                    &[("x-cos-acl", "default")],
                    b"",
                )
            },
        },
        Operation {
            name: "GetBucketCors",
            form: false,
            class: Owner,
            build: |c| req("GET", format!("/{}", c.bucket), &[("cors", "")], &[], b""),
        },
        Operation {
            name: "PutBucketCors",
            form: false,
            class: Owner,
            build: |c| {
                let body = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
                req(
                    "PUT",
                    format!("/{}", c.bucket),
                    &[("cors", "")],
                    &[("content-md5", &md5_b64(body))],
                    body,
                )
            },
        },
        Operation {
            name: "DeleteBucketCors",
            form: false,
            class: Owner,
            build: |c| {
                req(
                    "DELETE",
                    format!("/{}", c.bucket),
                    &[("cors", "")],
                    &[],
                    b"",
                )
            },
        },
        Operation {
            name: "DeleteBucket",
            form: false,
            class: Owner,
            build: |c| req("DELETE", format!("/{}", c.bucket), &[], &[], b""),
        },
        Operation {
            name: "GetBucketPolicy",
            form: false,
            class: PolicyAdmin,
            build: |c| req("GET", format!("/{}", c.bucket), &[("policy", "")], &[], b""),
        },
        Operation {
            name: "PutBucketPolicy",
            form: false,
            class: PolicyAdmin,
            build: |c| {
                let policy = c
                    .state
                    .policy()
                    .unwrap_or_else(|| harmless_policy(&c.bucket));
                req(
                    "PUT",
                    format!("/{}", c.bucket),
                    &[("policy", "")],
                    &[],
                    policy.as_bytes(),
                )
            },
        },
        // Last: it removes the state's policy, which the row's restore puts back.
        Operation {
            name: "DeleteBucketPolicy",
            form: false,
            class: PolicyAdmin,
            build: |c| {
                req(
                    "DELETE",
                    format!("/{}", c.bucket),
                    &[("policy", "")],
                    &[],
                    b"",
                )
            },
        },
    ]
}

/// A POST Object form uploading `key`, signed with `signer`'s key in COS `q-*` fields (the
/// policy names only the signature fields), or unsigned.
fn form_upload(bucket: &str, key: &str, signer: Option<&TestKey>) -> Built {
    use base64::Engine;
    let mut fields = vec![("key".to_string(), key.to_string())];
    if let Some(k) = signer {
        let now = common::now_secs();
        let key_time = format!("{};{}", now - 60, now + 3600);
        let expiration = time::OffsetDateTime::from_unix_timestamp(now as i64 + 3600)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let policy = format!(
            r#"{{"expiration": "{expiration}", "conditions": [{{"q-sign-algorithm": "sha1"}}, {{"q-ak": "{}"}}, {{"q-sign-time": "{key_time}"}}]}}"#,
            k.secret_id
        );
        let signature =
            cosd_api::auth::post_policy::cos_signature(&k.secret_key, &key_time, &policy);
        fields.extend([
            (
                "policy".to_string(),
                base64::engine::general_purpose::STANDARD.encode(&policy),
            ),
            ("q-sign-algorithm".to_string(), "sha1".to_string()),
            ("q-ak".to_string(), k.secret_id.clone()),
            ("q-key-time".to_string(), key_time),
            ("q-signature".to_string(), signature),
        ]);
    }
    let boundary = "matrixboundary";
    let mut body = String::new();
    for (name, value) in &fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nform\r\n--{boundary}--\r\n"
    ));
    let content_type = format!("multipart/form-data; boundary={boundary}");
    req(
        "POST",
        format!("/{bucket}"),
        &[],
        &[("content-type", &content_type)],
        body.as_bytes(),
    )
}

/// A policy that grants nothing any principal of the matrix could use.
fn harmless_policy(bucket: &str) -> String {
    format!(
        r#"{{"Statement":[{{"Principal":{{"qcs":["qcs::cam::uin/999:uin/999"]}},"Effect":"allow","Action":"cos:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    )
}

/// A principal of the matrix: its name, its key (`None`: anonymous) and what it may do.
struct Principal {
    name: &'static str,
    /// `None`: anonymous.
    key: Option<TestKey>,
    /// The account's APPID (anonymous: the owner's, for the names it tries to create).
    appid: &'static str,
    expect: fn(State, &Operation) -> bool,
    /// Whether it may list its buckets and create one of its own.
    expect_service: bool,
    /// The error code of its refusals (an expired key is refused before authorization).
    denial: &'static str,
}

fn principals() -> Vec<Principal> {
    vec![
        Principal {
            name: "owner",
            appid: APPID,
            expect_service: true,
            denial: "AccessDenied",
            key: Some(TestKey::root()),
            expect: expect_owner,
        },
        Principal {
            name: "other",
            appid: OTHER.0,
            expect_service: true,
            denial: "AccessDenied",
            key: Some(test_key(OTHER)),
            expect: expect_other,
        },
        Principal {
            name: "grantee",
            appid: GRANTEE.0,
            expect_service: true,
            denial: "AccessDenied",
            key: Some(test_key(GRANTEE)),
            expect: expect_grantee,
        },
        Principal {
            name: "anonymous",
            appid: APPID,
            expect_service: false,
            denial: "AccessDenied",
            key: None,
            expect: expect_other,
        },
    ]
}

fn expect_owner(state: State, op: &Operation) -> bool {
    state != State::PolicyDenied || op.class == Class::PolicyAdmin
}

/// Someone with no grant of their own: the public ACLs and the `*` policy statement apply.
fn expect_other(state: State, op: &Operation) -> bool {
    use Class::*;
    match state {
        State::Private | State::Granted | State::PolicyDenied => false,
        State::PublicRead => matches!(op.class, Read | ObjectRead),
        State::PublicReadWrite => matches!(op.class, Read | ObjectRead | Write),
        State::PolicyAllowed => op.class == ObjectRead,
    }
}

fn expect_grantee(state: State, op: &Operation) -> bool {
    use Class::*;
    match state {
        State::Granted => matches!(op.class, Read | ObjectRead | Write | ReadAcp),
        State::PolicyAllowed => {
            op.class == ObjectRead
                || matches!(
                    op.name,
                    "ListObjects" | "ListObjectsV2" | "PutObject" | "CopyObject"
                )
        }
        _ => expect_other(state, op),
    }
}

async fn call(server: &Server, key: Option<&TestKey>, built: Built) -> Response {
    let (method, path, params, headers, body) = built;
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = match key {
        Some(key) => cos_signed_as(server, key, method, &path, &params, &headers),
        None => {
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        common::encode_component(k),
                        common::encode_component(v)
                    )
                })
                .collect();
            let target = if query.is_empty() {
                common::encode_path(&path)
            } else {
                format!("{}?{}", common::encode_path(&path), query.join("&"))
            };
            headers
                .iter()
                .fold(Request::new(method, &target), |r, (k, v)| r.header(k, v))
        }
    };
    send(server.addr, request.body(body)).await
}

async fn as_owner(server: &Server, built: Built) -> Response {
    call(server, Some(&TestKey::root()), built).await
}

/// Creates the state's bucket with an object, an upload in progress, its ACL and its policy;
/// returns the upload id.
async fn set_up(server: &Server, state: State) -> String {
    let bucket = state.bucket();
    let acl = state.acl_headers();
    let acl: Vec<(&str, &str)> = acl.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = as_owner(server, req("PUT", format!("/{bucket}"), &[], &acl, b"")).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let put = as_owner(
        server,
        req("PUT", format!("/{bucket}/obj"), &[], &[], b"hello"),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let init = as_owner(
        server,
        req(
            "POST",
            format!("/{bucket}/mp"),
            &[("uploads", "")],
            &[],
            b"",
        ),
    )
    .await;
    assert_eq!(init.status, 200, "{}", init.text());
    restore_policy(server, state).await;
    init.xml("UploadId").expect("upload id")
}

/// Puts the state's policy back (the owner can, whatever the policy says).
async fn restore_policy(server: &Server, state: State) {
    let bucket = state.bucket();
    let resp = match state.policy() {
        Some(p) => {
            as_owner(
                server,
                req(
                    "PUT",
                    format!("/{bucket}"),
                    &[("policy", "")],
                    &[],
                    p.as_bytes(),
                ),
            )
            .await
        }
        None => {
            as_owner(
                server,
                req("DELETE", format!("/{bucket}"), &[("policy", "")], &[], b""),
            )
            .await
        }
    };
    assert_eq!(resp.status, 204, "{}", resp.text());
}

#[tokio::test]
async fn permission_matrix() {
    let server = Server::start_with_accounts(&[test_key(OTHER), test_key(GRANTEE)]);
    let ops = operations();
    let principals = principals();
    let mut mismatches = Vec::new();
    let mut table = String::new();
    let mut cells = 0;
    let mut n = 0;
    let width = ops.iter().map(|o| o.name.len()).max().unwrap_or(0);
    for state in STATES {
        let upload_id = set_up(&server, state).await;
        let _ = writeln!(table, "\n{:?} ({})", state, state.bucket());
        let _ = writeln!(
            table,
            "  {:width$}  {}",
            "",
            principals
                .iter()
                .map(|p| format!("{:9}", p.name))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut rows: Vec<String> = ops
            .iter()
            .map(|o| format!("  {:width$} ", o.name))
            .collect();
        for principal in &principals {
            for (i, op) in ops.iter().enumerate() {
                n += 1;
                let cell = Cell {
                    state,
                    bucket: state.bucket(),
                    upload_id: upload_id.clone(),
                    n,
                    key: principal.key.as_ref(),
                };
                let head_key = if op.form {
                    None
                } else {
                    principal.key.as_ref()
                };
                let resp = call(&server, head_key, (op.build)(&cell)).await;
                assert!(
                    resp.status < 500,
                    "{state:?} {} {}: {} {}",
                    principal.name,
                    op.name,
                    resp.status,
                    resp.text()
                );
                let allowed = resp.status != 403;
                if !allowed && resp.text().contains("<Code>") {
                    assert_eq!(
                        resp.xml("Code").as_deref(),
                        Some(principal.denial),
                        "{state:?} {} {}",
                        principal.name,
                        op.name
                    );
                }
                let expected = (principal.expect)(state, op);
                cells += 1;
                let mark = match (allowed, expected) {
                    (true, true) => "allow",
                    (false, false) => "deny",
                    (true, false) => "ALLOW!",
                    (false, true) => "DENY!",
                };
                let _ = write!(rows[i], " {mark:9}");
                if allowed != expected {
                    mismatches.push(format!(
                        "{state:?} / {} / {}: expected {}, got {} {}",
                        principal.name,
                        op.name,
                        if expected { "allow" } else { "deny" },
                        resp.status,
                        resp.text()
                    ));
                }
            }
            restore_policy(&server, state).await;
        }
        for row in rows {
            let _ = writeln!(table, "{row}");
        }
    }
    // The service: GET Service and creating a bucket of one's own, whatever other buckets say.
    let _ = writeln!(table, "\nService");
    for principal in &principals {
        let create = req("PUT", format!("/svc-{}", principal.appid), &[], &[], b"");
        let list = req("GET", "/".to_string(), &[], &[], b"");
        for (name, built) in [("CreateBucket", create), ("ListBuckets", list)] {
            let resp = call(&server, principal.key.as_ref(), built).await;
            let allowed = resp.status != 403;
            cells += 1;
            let _ = writeln!(
                table,
                "  {name:width$}  {:9} {}",
                principal.name,
                if allowed { "allow" } else { "deny" }
            );
            if allowed != principal.expect_service || resp.status >= 300 && allowed {
                mismatches.push(format!(
                    "service / {} / {name}: got {} {}",
                    principal.name,
                    resp.status,
                    resp.text()
                ));
            }
        }
    }
    println!("{table}");
    println!(
        "permission matrix: {} bucket operations x {} principals x {} bucket states + 2 service operations x {} principals = {cells} cells, {} mismatches",
        ops.len(),
        principals.len(),
        STATES.len(),
        principals.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
