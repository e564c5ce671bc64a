//! THE PERMISSION MATRIX: every implemented operation × principals × bucket states, each cell
//! one real request against the real server, compared with the expected allow/deny.
//!
//! A cell is *denied* when the answer has the principal's denial status (403 `AccessDenied`;
//! 400 `ExpiredToken` for an expired temporary key), and *allowed* otherwise (a 404
//! `NoSuchUpload` for a made-up upload id, or 409 `BucketNotEmpty`, means authorization let the
//! request through). A refusal with another error code, or a 5xx, is a mismatch.
//!
//! Principals are a list: each has its keys (one per bucket state, for temporary keys limited
//! to that state's bucket) and an expectation function — the owner, another account, the
//! grantee, anonymous, temporary keys of the owner and of the grantee within their scope (as
//! the account itself), a temporary key outside its scope (refused everywhere) and an expired
//! one (refused before authorization).

mod common;

use common::{
    cos_signed_as, issue_temp_key, send, wait_for_key, Request, Response, Server, TestKey, APPID,
};
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
        // A temporary key's token is a form field, which the policy must name like any other.
        let token_condition = k
            .token
            .as_ref()
            .map(|t| format!(r#", {{"x-cos-security-token": "{t}"}}"#))
            .unwrap_or_default();
        let policy = format!(
            r#"{{"expiration": "{expiration}", "conditions": [{{"q-sign-algorithm": "sha1"}}, {{"q-ak": "{}"}}, {{"q-sign-time": "{key_time}"}}{token_condition}]}}"#,
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
        if let Some(token) = &k.token {
            fields.push(("x-cos-security-token".to_string(), token.clone()));
        }
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

/// A principal of the matrix: its name, its keys and what it may do.
struct Principal {
    name: &'static str,
    /// The key it signs with in each state, in the order of [`STATES`] (`None`: anonymous).
    keys: Vec<Option<TestKey>>,
    /// The account's APPID (anonymous: the owner's, for the names it tries to create).
    appid: &'static str,
    expect: fn(State, &Operation) -> bool,
    /// Whether it may list its buckets and create one of its own.
    expect_service: bool,
    /// The status and error code of its refusals (an expired key is refused before
    /// authorization, as a bad request).
    denial: (u16, &'static str),
}

const ACCESS_DENIED: (u16, &str) = (403, "AccessDenied");

/// The principals; the temporary keys are issued with `cosd token issue` on the server's data
/// directory.
async fn principals(server: &Server) -> Vec<Principal> {
    let every_state = |key: Option<TestKey>| vec![key; STATES.len()];
    let temp = |appid: &str, flags: &[&str]| issue_temp_key(&server.data_dir, appid, flags);
    // Issued first, so that it has expired once the others are issued.
    let expired = temp(APPID, &["--duration", "1s"]);
    let in_scope = |appid: &str| {
        STATES
            .iter()
            .map(|s| Some(temp(appid, &["--bucket", &s.bucket()])))
            .collect::<Vec<_>>()
    };
    let owner_in_scope = in_scope(APPID);
    let grantee_in_scope = in_scope(GRANTEE.0);
    let elsewhere = format!("elsewhere-{APPID}");
    let out_of_scope = temp(
        APPID,
        &["--bucket", &elsewhere, "--action", "cos:GetObject"],
    );
    let refusal = wait_for_key(server, &expired, false).await;
    assert_eq!(
        refusal.xml("Code").as_deref(),
        Some("ExpiredToken"),
        "{}",
        refusal.text()
    );
    vec![
        Principal {
            name: "owner",
            appid: APPID,
            expect_service: true,
            denial: ACCESS_DENIED,
            keys: every_state(Some(TestKey::root())),
            expect: expect_owner,
        },
        Principal {
            name: "other",
            appid: OTHER.0,
            expect_service: true,
            denial: ACCESS_DENIED,
            keys: every_state(Some(test_key(OTHER))),
            expect: expect_other,
        },
        Principal {
            name: "grantee",
            appid: GRANTEE.0,
            expect_service: true,
            denial: ACCESS_DENIED,
            keys: every_state(Some(test_key(GRANTEE))),
            expect: expect_grantee,
        },
        Principal {
            name: "anonymous",
            appid: APPID,
            expect_service: false,
            denial: ACCESS_DENIED,
            keys: every_state(None),
            expect: expect_other,
        },
        // Temporary keys limited to the state's bucket: the account's own rights there, and
        // nothing outside it (listing buckets or creating one is outside).
        Principal {
            name: "tmp-owner",
            appid: APPID,
            expect_service: false,
            denial: ACCESS_DENIED,
            keys: owner_in_scope,
            expect: expect_owner,
        },
        Principal {
            name: "tmp-grantee",
            appid: GRANTEE.0,
            expect_service: false,
            denial: ACCESS_DENIED,
            keys: grantee_in_scope,
            expect: expect_grantee,
        },
        // The owner's key limited to another bucket: refused even where anonymous is allowed.
        Principal {
            name: "tmp-out",
            appid: APPID,
            expect_service: false,
            denial: ACCESS_DENIED,
            keys: every_state(Some(out_of_scope)),
            expect: expect_nothing,
        },
        Principal {
            name: "tmp-expired",
            appid: APPID,
            expect_service: false,
            denial: (400, "ExpiredToken"),
            keys: every_state(Some(expired)),
            expect: expect_nothing,
        },
    ]
}

fn expect_nothing(_: State, _: &Operation) -> bool {
    false
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

/// Whether `resp` is `principal`'s refusal; a refusal with another error code is `Err`.
fn refused(principal: &Principal, resp: &Response) -> Result<bool, String> {
    let (status, code) = principal.denial;
    if resp.status != status && resp.status != 403 {
        return Ok(false);
    }
    // A HEAD answer has no body to name its code.
    match resp.xml("Code") {
        Some(got) if got != code => Err(format!("refused with {got}, expected {code}")),
        _ => Ok(true),
    }
}

#[tokio::test]
async fn permission_matrix() {
    let started = std::time::Instant::now();
    let server = Server::start_with_accounts(&[test_key(OTHER), test_key(GRANTEE)]);
    let ops = operations();
    let principals = principals(&server).await;
    let mut mismatches = Vec::new();
    let mut table = String::new();
    let mut cells = 0;
    let mut n = 0;
    let width = ops.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let column = principals.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for (s, state) in STATES.into_iter().enumerate() {
        let upload_id = set_up(&server, state).await;
        let _ = writeln!(table, "\n{:?} ({})", state, state.bucket());
        let _ = writeln!(
            table,
            "  {:width$}  {}",
            "",
            principals
                .iter()
                .map(|p| format!("{:column$}", p.name))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut rows: Vec<String> = ops
            .iter()
            .map(|o| format!("  {:width$} ", o.name))
            .collect();
        for principal in &principals {
            let key = principal.keys[s].as_ref();
            for (i, op) in ops.iter().enumerate() {
                n += 1;
                let cell = Cell {
                    state,
                    bucket: state.bucket(),
                    upload_id: upload_id.clone(),
                    n,
                    key,
                };
                let head_key = if op.form { None } else { key };
                let resp = call(&server, head_key, (op.build)(&cell)).await;
                assert!(
                    resp.status < 500,
                    "{state:?} {} {}: {} {}",
                    principal.name,
                    op.name,
                    resp.status,
                    resp.text()
                );
                let expected = (principal.expect)(state, op);
                cells += 1;
                let (allowed, wrong_code) = match refused(principal, &resp) {
                    Ok(refused) => (!refused, None),
                    Err(why) => (false, Some(why)),
                };
                let mark = match (allowed, expected, &wrong_code) {
                    (_, _, Some(_)) => "CODE!",
                    (true, true, None) => "allow",
                    (false, false, None) => "deny",
                    (true, false, None) => "ALLOW!",
                    (false, true, None) => "DENY!",
                };
                let _ = write!(rows[i], " {mark:column$}");
                if allowed != expected || wrong_code.is_some() {
                    mismatches.push(format!(
                        "{state:?} / {} / {}: expected {}, got {} {}{}",
                        principal.name,
                        op.name,
                        if expected { "allow" } else { "deny" },
                        resp.status,
                        wrong_code.map(|w| format!("({w}) ")).unwrap_or_default(),
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
            let resp = call(&server, principal.keys[0].as_ref(), built).await;
            let allowed = refused(principal, &resp) == Ok(false);
            cells += 1;
            let _ = writeln!(
                table,
                "  {name:width$}  {:column$} {}",
                principal.name,
                if allowed { "allow" } else { "deny" }
            );
            let wrong = refused(principal, &resp).is_err();
            if allowed != principal.expect_service || resp.status >= 300 && allowed || wrong {
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
    for mismatch in &mismatches {
        println!("MISMATCH {mismatch}");
    }
    println!(
        "permission matrix: {} bucket operations x {} principals x {} bucket states + 2 service operations x {} principals = {cells} cells, {} mismatches, {:.1} s",
        ops.len(),
        principals.len(),
        STATES.len(),
        principals.len(),
        mismatches.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
