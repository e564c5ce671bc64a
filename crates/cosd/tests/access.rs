//! ACLs, bucket policies and what callers without access may learn, against the real server
//! with two extra accounts.

mod common;

use common::{cos_signed, cos_signed_as, send, Request, Response, Server, TestKey, APPID};

const OTHER: (&str, &str, &str) = (
    "1250000001",
    "AKIDotheraccount000000000000000",
    "othersecret00000000000000000000",
);

fn other_key() -> TestKey {
    TestKey {
        appid: OTHER.0.into(),
        secret_id: OTHER.1.into(),
        secret_key: OTHER.2.into(),
        token: None,
    }
}

fn server() -> Server {
    Server::start_with_accounts(&[other_key()])
}

fn bucket(name: &str) -> String {
    format!("{name}-{APPID}")
}

async fn owner(
    s: &Server,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    send(
        s.addr,
        cos_signed(s, method, path, params, headers).body(body.to_string()),
    )
    .await
}

async fn other(s: &Server, method: &str, path: &str) -> Response {
    other_with(s, method, path, &[]).await
}

async fn other_with(s: &Server, method: &str, path: &str, params: &[(&str, &str)]) -> Response {
    send(
        s.addr,
        cos_signed_as(s, &other_key(), method, path, params, &[]),
    )
    .await
}

async fn anonymous(s: &Server, method: &str, target: &str) -> Response {
    send(s.addr, Request::new(method, target)).await
}

fn code(r: &Response) -> String {
    r.xml("Code").unwrap_or_default()
}

#[tokio::test]
async fn bucket_acl_headers_xml_and_errors() {
    let s = server();
    let b = bucket("acl");
    let grant = format!("id=\"{}\"", OTHER.0);
    let created = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[],
        &[("x-cos-grant-read", &grant)],
        "",
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let put = owner(&s, "PUT", &format!("/{b}/k"), &[], &[], "v").await;
    assert_eq!(put.status, 200);

    let acl = owner(&s, "GET", &format!("/{b}"), &[("acl", "")], &[], "").await;
    assert_eq!(acl.status, 200);
    let text = acl.text();
    assert!(
        text.contains(&format!("<ID>qcs::cam::uin/{APPID}:uin/{APPID}</ID>")),
        "{text}"
    );
    assert!(
        text.contains(&format!("<ID>qcs::cam::uin/{0}:uin/{0}</ID>", OTHER.0)),
        "{text}"
    );
    assert!(text.contains("<Permission>FULL_CONTROL</Permission>"));
    assert!(text.contains("<Permission>READ</Permission>"));
    assert_eq!(other(&s, "GET", &format!("/{b}/k")).await.status, 200);
    assert_eq!(anonymous(&s, "GET", &format!("/{b}/k")).await.status, 403);

    // The XML form: everyone may read; the other account's grant is gone.
    let body = "<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList><Grant>\
        <Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">\
        <URI>http://cam.qcloud.com/groups/global/AllUsers</URI></Grantee>\
        <Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>";
    let put = owner(&s, "PUT", &format!("/{b}"), &[("acl", "")], &[], body).await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(anonymous(&s, "GET", &format!("/{b}/k")).await.status, 200);
    assert_eq!(anonymous(&s, "GET", &format!("/{b}")).await.status, 200);
    assert_eq!(anonymous(&s, "PUT", &format!("/{b}/new")).await.status, 403);
    assert_eq!(
        other_with(&s, "GET", &format!("/{b}"), &[("acl", "")])
            .await
            .status,
        403
    );

    let both = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("acl", "")],
        &[("x-cos-acl", "private")],
        body,
    )
    .await;
    assert_eq!((both.status, code(&both).as_str()), (400, "InvalidRequest"));
    let malformed = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("acl", "")],
        &[],
        "<AccessControlPolicy>",
    )
    .await;
    assert_eq!(
        (malformed.status, code(&malformed).as_str()),
        (400, "MalformedXML")
    );
    let canned = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("acl", "")],
        &[("x-cos-acl", "world-writable")],
        "",
    )
    .await;
    assert_eq!(
        (canned.status, code(&canned).as_str()),
        (400, "InvalidArgument")
    );
    let bad_id = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("acl", "")],
        &[("x-cos-grant-write", "id=\"bob\"")],
        "",
    )
    .await;
    assert_eq!(
        (bad_id.status, code(&bad_id).as_str()),
        (400, "InvalidArgument")
    );
    let empty = owner(&s, "PUT", &format!("/{b}"), &[("acl", "")], &[], "").await;
    assert_eq!(empty.status, 400);
    let bad_create = owner(
        &s,
        "PUT",
        &format!("/{}", bucket("acl2")),
        &[],
        &[("x-cos-acl", "default")],
        "",
    )
    .await;
    assert_eq!(
        (bad_create.status, code(&bad_create).as_str()),
        (400, "InvalidArgument")
    );
    // Nothing above changed the ACL.
    assert_eq!(anonymous(&s, "GET", &format!("/{b}/k")).await.status, 200);
}

/// A grant to an account the server does not know is refused wherever an ACL is set — bucket
/// and object `?acl` (headers and XML), creating a bucket, writing an object — and changes
/// nothing; an account added while the server runs can be granted once it is known.
#[tokio::test]
async fn grants_to_unknown_accounts_are_refused() {
    let s = server();
    let b = bucket("unknown");
    let unknown = "1259999999";
    let grant = format!(
        "id=\"{OTHER_ID}\",id=\"qcs::cam::uin/{unknown}:uin/{unknown}\"",
        OTHER_ID = OTHER.0
    );
    let refused = |r: &Response, what: &str| {
        assert_eq!(
            (r.status, code(r).as_str()),
            (400, "InvalidArgument"),
            "{what}: {}",
            r.text()
        );
        assert!(r.text().contains(unknown), "{what}: {}", r.text());
    };
    let create = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[],
        &[("x-cos-grant-read", &grant)],
        "",
    )
    .await;
    refused(&create, "PUT Bucket");
    assert_eq!(
        owner(&s, "HEAD", &format!("/{b}"), &[], &[], "")
            .await
            .status,
        404
    );
    let created = owner(&s, "PUT", &format!("/{b}"), &[], &[], "").await;
    assert_eq!(created.status, 200, "{}", created.text());
    let put = owner(
        &s,
        "PUT",
        &format!("/{b}/k"),
        &[],
        &[("x-cos-grant-read", &grant)],
        "data",
    )
    .await;
    refused(&put, "PUT Object");
    assert_eq!(
        owner(&s, "HEAD", &format!("/{b}/k"), &[], &[], "")
            .await
            .status,
        404
    );
    let put = owner(&s, "PUT", &format!("/{b}/k"), &[], &[], "data").await;
    assert_eq!(put.status, 200, "{}", put.text());
    for path in [format!("/{b}"), format!("/{b}/k")] {
        let headers = owner(
            &s,
            "PUT",
            &path,
            &[("acl", "")],
            &[("x-cos-grant-read", &grant)],
            "",
        )
        .await;
        refused(&headers, &format!("PUT {path}?acl headers"));
        let xml = format!(
            "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>qcs::cam::uin/{unknown}:uin/{unknown}</ID>\
             </Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"
        );
        let body = owner(&s, "PUT", &path, &[("acl", "")], &[], &xml).await;
        refused(&body, &format!("PUT {path}?acl XML"));
        let acl = owner(&s, "GET", &path, &[("acl", "")], &[], "").await;
        assert!(!acl.text().contains(unknown), "{}", acl.text());
    }
    // Once the account exists, the same grant is accepted.
    let added = common::add_account_with_key(&s.data_dir, unknown);
    common::wait_for_key(&s, &added, true).await;
    let later = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("acl", "")],
        &[("x-cos-grant-read", &grant)],
        "",
    )
    .await;
    assert_eq!(later.status, 200, "{}", later.text());
    let acl = owner(&s, "GET", &format!("/{b}"), &[("acl", "")], &[], "").await;
    assert!(acl.text().contains(unknown), "{}", acl.text());
}

/// A presigned GET (or PUT) URL cannot be turned into another operation by appending an
/// unsigned sub-resource parameter: `?acl`, `?policy`, `?uploads`, `?uploadId&partNumber`.
#[tokio::test]
async fn presigned_urls_cannot_gain_a_sub_resource() {
    let s = server();
    let b = bucket("presigned");
    common::create_bucket(&s, &b).await;
    let put = owner(&s, "PUT", &format!("/{b}/k"), &[], &[], "data").await;
    assert_eq!(put.status, 200, "{}", put.text());
    let init = owner(&s, "POST", &format!("/{b}/k"), &[("uploads", "")], &[], "").await;
    let upload_id = init.xml("UploadId").expect("upload id");
    let host = s.addr.to_string();
    let presign = |method: &str, path: &str| {
        let now = common::now_secs();
        let query = cosd_api::auth::cos_v5::presign_query(
            common::SECRET_ID,
            common::SECRET_KEY,
            &cosd_api::auth::RequestToSign {
                method,
                path,
                params: &[],
                headers: &[("host", &host)],
            },
            now - 60,
            now + 600,
        );
        format!("{}?{query}", common::encode_path(path))
    };
    let object = presign("GET", &format!("/{b}/k"));
    let listing = presign("GET", &format!("/{b}"));
    let upload = presign("PUT", &format!("/{b}/k"));
    let get = send(s.addr, Request::new("GET", &object)).await;
    assert_eq!((get.status, get.text().as_str()), (200, "data"));
    let uploaded = send(s.addr, Request::new("PUT", &upload).body("new")).await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.text());
    // Parameters that keep the operation may be added unsigned, as COS allows.
    let shaped = send(
        s.addr,
        Request::new("GET", &format!("{listing}&list-type=2&prefix=k")),
    )
    .await;
    assert_eq!(shaped.status, 200, "{}", shaped.text());
    let part = format!("{upload}&partNumber=1&uploadId={upload_id}");
    for (method, url) in [
        ("GET", format!("{object}&acl")),
        ("GET", format!("{listing}&acl")),
        ("GET", format!("{listing}&policy")),
        ("GET", format!("{listing}&cors")),
        ("GET", format!("{listing}&uploads")),
        ("GET", object.replacen('?', "?acl&", 1)),
        ("PUT", format!("{upload}&acl")),
        ("PUT", part),
    ] {
        let resp = send(s.addr, Request::new(method, &url).body("x")).await;
        assert_eq!(
            (resp.status, code(&resp).as_str()),
            (403, "AccessDenied"),
            "{method} {url}: {}",
            resp.text()
        );
        assert!(resp.text().contains("q-url-param-list"), "{}", resp.text());
    }
    // Nothing changed: the object is what the presigned PUT wrote, the upload has no part.
    let get = send(s.addr, Request::new("GET", &object)).await;
    assert_eq!(get.text(), "new");
    let parts = owner(
        &s,
        "GET",
        &format!("/{b}/k"),
        &[("uploadId", &upload_id)],
        &[],
        "",
    )
    .await;
    assert!(!parts.text().contains("<Part>"), "{}", parts.text());
}

#[tokio::test]
async fn object_acls_override_the_bucket_and_default_inherits() {
    let s = server();
    let b = bucket("objacl");
    assert_eq!(
        owner(&s, "PUT", &format!("/{b}"), &[], &[], "")
            .await
            .status,
        200
    );
    let public = owner(
        &s,
        "PUT",
        &format!("/{b}/public"),
        &[],
        &[("x-cos-acl", "public-read")],
        "p",
    )
    .await;
    assert_eq!(public.status, 200, "{}", public.text());
    owner(&s, "PUT", &format!("/{b}/private"), &[], &[], "q").await;
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}/public")).await.status,
        200
    );
    assert_eq!(
        anonymous(&s, "HEAD", &format!("/{b}/public")).await.status,
        200
    );
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}/private")).await.status,
        403
    );
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}")).await.status,
        403,
        "the bucket stays private"
    );
    let acl = owner(&s, "GET", &format!("/{b}/public"), &[("acl", "")], &[], "").await;
    assert!(
        acl.text().contains("groups/global/AllUsers"),
        "{}",
        acl.text()
    );

    // Back to inheriting the (private) bucket ACL, then an S3 canned header.
    let reset = owner(
        &s,
        "PUT",
        &format!("/{b}/public"),
        &[("acl", "")],
        &[("x-cos-acl", "default")],
        "",
    )
    .await;
    assert_eq!(reset.status, 200);
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}/public")).await.status,
        403
    );
    owner(
        &s,
        "PUT",
        &format!("/{b}/public"),
        &[("acl", "")],
        &[("x-amz-acl", "public-read")],
        "",
    )
    .await;
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}/public")).await.status,
        200
    );
    let missing = owner(
        &s,
        "PUT",
        &format!("/{b}/nope"),
        &[("acl", "")],
        &[("x-cos-acl", "private")],
        "",
    )
    .await;
    assert_eq!(code(&missing), "NoSuchKey");

    // A private object in a public-read bucket stays private.
    owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("acl", "")],
        &[("x-cos-acl", "public-read")],
        "",
    )
    .await;
    owner(
        &s,
        "PUT",
        &format!("/{b}/private"),
        &[("acl", "")],
        &[("x-cos-acl", "private")],
        "",
    )
    .await;
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}/private")).await.status,
        403
    );

    // Multipart: the initiate's ACL applies to the completed object; a copy takes its own.
    let init = owner(
        &s,
        "POST",
        &format!("/{b}/mp"),
        &[("uploads", "")],
        &[("x-cos-acl", "private")],
        "",
    )
    .await;
    let upload_id = init.xml("UploadId").unwrap();
    let part = owner(
        &s,
        "PUT",
        &format!("/{b}/mp"),
        &[("partNumber", "1"), ("uploadId", &upload_id)],
        &[],
        "data",
    )
    .await;
    let etag = part.header("etag").unwrap().to_string();
    let complete = format!("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>");
    let done = owner(
        &s,
        "POST",
        &format!("/{b}/mp"),
        &[("uploadId", &upload_id)],
        &[],
        &complete,
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(anonymous(&s, "GET", &format!("/{b}/mp")).await.status, 403);
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}/public")).await.status,
        200
    );
    let source = format!("{b}/mp");
    let copy = owner(
        &s,
        "PUT",
        &format!("/{b}/copy"),
        &[],
        &[("x-cos-copy-source", &source)],
        "",
    )
    .await;
    assert_eq!(copy.status, 200, "{}", copy.text());
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}/copy")).await.status,
        200,
        "the copy inherits the public-read bucket"
    );
}

#[tokio::test]
async fn callers_without_access_learn_nothing() {
    let s = server();
    let private = bucket("hidden");
    let public = bucket("shown");
    owner(&s, "PUT", &format!("/{private}"), &[], &[], "").await;
    owner(
        &s,
        "PUT",
        &format!("/{public}"),
        &[],
        &[("x-cos-acl", "public-read")],
        "",
    )
    .await;
    let ghost = bucket("ghost");

    for (who, missing_bucket) in [("anonymous", 403), ("other", 404)] {
        let r = match who {
            "anonymous" => anonymous(&s, "GET", &format!("/{ghost}/k")).await,
            _ => other(&s, "GET", &format!("/{ghost}/k")).await,
        };
        assert_eq!(r.status, missing_bucket, "{who}: {}", r.text());
    }
    // Without READ, a missing key and an existing one look the same.
    for path in [format!("/{private}/missing"), format!("/{private}")] {
        let r = other(&s, "GET", &path).await;
        assert_eq!(
            (r.status, code(&r).as_str()),
            (403, "AccessDenied"),
            "{path}"
        );
        assert_eq!(anonymous(&s, "HEAD", &path).await.status, 403, "{path}");
    }
    // With READ (public-read), a missing key is reported as missing, as a listing would show.
    let r = other(&s, "GET", &format!("/{public}/missing")).await;
    assert_eq!((r.status, code(&r).as_str()), (404, "NoSuchKey"));
    // GET Service: each account sees its own buckets only; anonymous sees nothing.
    let mine = other(&s, "GET", "/").await;
    assert_eq!(mine.status, 200);
    assert!(!mine.text().contains("hidden") && !mine.text().contains("shown"));
    assert_eq!(anonymous(&s, "GET", "/").await.status, 403);
    // A refused write leaves nothing behind.
    let refused = send(
        s.addr,
        cos_signed_as(
            &s,
            &other_key(),
            "PUT",
            &format!("/{public}/dropped"),
            &[],
            &[],
        )
        .body(vec![b'x'; 64 * 1024]),
    )
    .await;
    assert_eq!(refused.status, 403);
    let after = owner(&s, "GET", &format!("/{public}/dropped"), &[], &[], "").await;
    assert_eq!(code(&after), "NoSuchKey");
    // A copy cannot read a source the caller may not read.
    owner(&s, "PUT", &format!("/{private}/secret"), &[], &[], "s").await;
    let own = format!("mine-{}", OTHER.0);
    let created = send(
        s.addr,
        cos_signed_as(&s, &other_key(), "PUT", &format!("/{own}"), &[], &[]),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let source = format!("{private}/secret");
    let copy = send(
        s.addr,
        cos_signed_as(
            &s,
            &other_key(),
            "PUT",
            &format!("/{own}/stolen"),
            &[],
            &[("x-cos-copy-source", &source)],
        ),
    )
    .await;
    assert_eq!((copy.status, code(&copy).as_str()), (403, "AccessDenied"));
}

#[tokio::test]
async fn bucket_policy_round_trip_errors_and_conditions() {
    let s = server();
    let b = bucket("policy");
    owner(&s, "PUT", &format!("/{b}"), &[], &[], "").await;
    owner(&s, "PUT", &format!("/{b}/k"), &[], &[], "v").await;
    let none = owner(&s, "GET", &format!("/{b}"), &[("policy", "")], &[], "").await;
    assert_eq!(
        (none.status, code(&none).as_str()),
        (404, "NoSuchBucketPolicy")
    );

    let bad = owner(&s, "PUT", &format!("/{b}"), &[("policy", "")], &[], r#"{"Statement":[{"Principal":"*","Effect":"allow","Action":"cos:GetObject","Resource":"*","Condition":{"NumericEquals":{"qcs:ip":"1"}}}]}"#).await;
    assert_eq!((bad.status, code(&bad).as_str()), (400, "MalformedPolicy"));
    assert!(bad.text().contains("NumericEquals"), "{}", bad.text());
    let huge = format!(r#"{{"Statement":[],"Id":"{}"}}"#, "x".repeat(21 * 1024));
    let too_big = owner(&s, "PUT", &format!("/{b}"), &[("policy", "")], &[], &huge).await;
    assert_eq!(
        (too_big.status, code(&too_big).as_str()),
        (400, "MalformedPolicy")
    );

    let policy = |cidr: &str| {
        format!(
            r#"{{"version":"2.0","Statement":[{{"Principal":{{"qcs":["qcs::cam::anyone:anyone"]}},"Effect":"allow","Action":["name/cos:GetObject"],"Resource":["qcs::cos:ap-guangzhou:uid/{APPID}:{b}/*"],"Condition":{{"IpAddress":{{"qcs:ip":["{cidr}"]}}}}}}]}}"#
        )
    };
    let loopback = policy("127.0.0.0/8");
    let put = owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("policy", "")],
        &[("content-type", "application/json")],
        &loopback,
    )
    .await;
    assert_eq!(put.status, 204, "{}", put.text());
    let got = owner(&s, "GET", &format!("/{b}"), &[("policy", "")], &[], "").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.text(), loopback);
    assert_eq!(anonymous(&s, "GET", &format!("/{b}/k")).await.status, 200);
    assert_eq!(
        anonymous(&s, "GET", &format!("/{b}")).await.status,
        403,
        "GetObject only"
    );
    assert_eq!(
        other_with(&s, "GET", &format!("/{b}"), &[("policy", "")])
            .await
            .status,
        403
    );

    // The change applies at once (the cached policy is invalidated).
    owner(
        &s,
        "PUT",
        &format!("/{b}"),
        &[("policy", "")],
        &[],
        &policy("10.0.0.0/8"),
    )
    .await;
    assert_eq!(anonymous(&s, "GET", &format!("/{b}/k")).await.status, 403);

    // An explicit deny beats the owner, except on the policy itself.
    let deny = format!(
        r#"{{"Statement":[{{"Principal":"*","Effect":"deny","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::{b}/*"}}]}}"#
    );
    owner(&s, "PUT", &format!("/{b}"), &[("policy", "")], &[], &deny).await;
    assert_eq!(
        owner(&s, "GET", &format!("/{b}/k"), &[], &[], "")
            .await
            .status,
        403
    );
    // A denied anonymous caller cannot tell this bucket from one that does not exist.
    let denied = anonymous(&s, "GET", &format!("/{b}/k")).await;
    let ghost = anonymous(&s, "GET", &format!("/{}/k", bucket("ghost"))).await;
    assert_eq!(
        (denied.status, denied.xml("Code"), denied.xml("Message")),
        (ghost.status, ghost.xml("Code"), ghost.xml("Message"))
    );
    let deleted = owner(&s, "DELETE", &format!("/{b}"), &[("policy", "")], &[], "").await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        owner(&s, "GET", &format!("/{b}/k"), &[], &[], "")
            .await
            .status,
        200
    );
    let again = owner(&s, "DELETE", &format!("/{b}"), &[("policy", "")], &[], "").await;
    assert_eq!(again.status, 204, "DELETE without a policy is still 204");
}

/// An unsigned form upload, as a browser sends it.
fn anonymous_form(bucket: &str, key: &str) -> Request {
    let boundary = "----cosdaccess";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n{key}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nx\r\n\
         --{boundary}--\r\n"
    );
    Request::new("POST", &format!("/{bucket}"))
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
}

#[tokio::test]
async fn anonymous_form_uploads_need_public_write() {
    let s = server();
    let open = bucket("dropbox");
    let closed = bucket("closed");
    owner(
        &s,
        "PUT",
        &format!("/{open}"),
        &[],
        &[("x-cos-acl", "public-read-write")],
        "",
    )
    .await;
    owner(
        &s,
        "PUT",
        &format!("/{closed}"),
        &[],
        &[("x-cos-acl", "public-read")],
        "",
    )
    .await;
    assert_eq!(send(s.addr, anonymous_form(&open, "up")).await.status, 204);
    assert_eq!(
        anonymous(&s, "GET", &format!("/{open}/up")).await.status,
        200
    );
    let refused = send(s.addr, anonymous_form(&closed, "up")).await;
    assert_eq!(
        (refused.status, code(&refused).as_str()),
        (403, "AccessDenied")
    );
}
