//! Black-box CORS tests: bucket CORS configuration, the preflight (the seed page's four
//! examples, verbatim), and CORS headers on actual responses.

mod common;

use common::{cos_signed, create_bucket, send, Request, Response, Server};

const BUCKET: &str = "examplebucket-1250000000";
const HOST: &str = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com";

/// Rules that produce the seed page's example responses: examples 1 and 3 echo a specific
/// origin with all methods and `*` headers; example 2 is a `*` origin with an explicit list.
const SEED_RULES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<CORSConfiguration>
  <CORSRule>
    <ID>specific</ID>
    <AllowedOrigin>https://example.com</AllowedOrigin>
    <AllowedOrigin>https://bar.com</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>Content-Length</ExposeHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-cos-meta-author</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
  <CORSRule>
    <ID>any-origin-reads</ID>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>range</AllowedHeader>
    <AllowedHeader>x-cos-server-side-encryption-customer-algorithm</AllowedHeader>
    <AllowedHeader>x-cos-server-side-encryption-customer-key</AllowedHeader>
    <AllowedHeader>x-cos-server-side-encryption-customer-key-MD5</AllowedHeader>
    <ExposeHeader>Content-Length</ExposeHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-cos-meta-author</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>"#;

async fn setup(server: &Server, rules: &str) {
    let s = server;
    create_bucket(s, BUCKET).await;
    let put = send(
        s.addr,
        cos_signed(
            s,
            "PUT",
            &format!("/{BUCKET}"),
            &[("cors", "")],
            &[("content-type", "application/xml")],
        )
        .body(rules.to_string()),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
}

fn preflight(path: &str, origin: &str, method: &str, headers: Option<&str>) -> Request {
    let mut req = Request::new("OPTIONS", path)
        .header("host", HOST)
        .header("date", "Thu, 09 Jul 2020 14:49:22 GMT")
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(h) = headers {
        req = req.header("access-control-request-headers", h);
    }
    req.header("connection", "close")
}

/// The response's `access-control-*` and `vary` headers, in name order.
fn cors_headers(resp: &Response) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = resp
        .headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("access-control-") || k.as_str() == "vary")
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    out.sort();
    out
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn seed_examples_verbatim() {
    let server = Server::start();
    setup(&server, SEED_RULES).await;

    // Example 1: preflight for PUT Object.
    let r = send(
        server.addr,
        preflight(
            "/exampleobject",
            "https://example.com",
            "PUT",
            Some("content-md5,content-type,x-cos-meta-author"),
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.body.is_empty());
    assert!(r.header("x-cos-request-id").is_some());
    assert_eq!(
        cors_headers(&r),
        expect(&[
            ("access-control-allow-credentials", "true"),
            (
                "access-control-allow-headers",
                "content-md5,content-type,x-cos-meta-author"
            ),
            ("access-control-allow-methods", "PUT,GET,POST,DELETE,HEAD"),
            ("access-control-allow-origin", "https://example.com"),
            (
                "access-control-expose-headers",
                "Content-Length,ETag,x-cos-meta-author"
            ),
            ("access-control-max-age", "600"),
        ])
    );

    // Example 2: GET Object with a Range header, from an origin only the `*` rule allows.
    let r = send(
        server.addr,
        preflight(
            "/exampleobject",
            "https://example.com",
            "GET",
            Some("range"),
        ),
    )
    .await;
    let r2 = send(
        server.addr,
        preflight(
            "/exampleobject",
            "https://other.example",
            "GET",
            Some("range"),
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        cors_headers(&r)[3],
        (
            "access-control-allow-origin".into(),
            "https://example.com".into()
        ),
        "the first matching rule wins"
    );
    assert_eq!(r2.status, 200);
    assert_eq!(cors_headers(&r2), expect(&[
        ("access-control-allow-headers", "range,x-cos-server-side-encryption-customer-algorithm,x-cos-server-side-encryption-customer-key,x-cos-server-side-encryption-customer-key-md5"),
        ("access-control-allow-methods", "GET,HEAD"),
        ("access-control-allow-origin", "*"),
        ("access-control-expose-headers", "Content-Length,ETag,x-cos-meta-author"),
        ("access-control-max-age", "600"),
    ]));

    // Example 3: preflight for PUT Bucket lifecycle.
    let r = send(
        server.addr,
        preflight(
            "/?lifecycle",
            "https://bar.com",
            "PUT",
            Some("content-md5,content-type"),
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        cors_headers(&r),
        expect(&[
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-headers", "content-md5,content-type"),
            ("access-control-allow-methods", "PUT,GET,POST,DELETE,HEAD"),
            ("access-control-allow-origin", "https://bar.com"),
            (
                "access-control-expose-headers",
                "Content-Length,ETag,x-cos-meta-author"
            ),
            ("access-control-max-age", "600"),
        ])
    );

    // Example 4: a preflight no rule matches (PUT from an origin only `*` allows, and `*` does
    // not allow PUT).
    let r = send(
        server.addr,
        preflight("/exampleobject", "https://other.example", "PUT", None),
    )
    .await;
    assert_forbidden(&r);
}

fn assert_forbidden(r: &Response) {
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    assert!(r.header("x-cos-trace-id").is_some());
    assert_eq!(r.xml("Code").as_deref(), Some("AccessForbidden"));
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource&apos;s CORS spec")
    );
    assert_eq!(
        r.xml("Resource").as_deref(),
        Some(format!("{HOST}/exampleobject").as_str())
    );
    assert_eq!(r.xml("RequestId").as_deref(), r.header("x-cos-request-id"));
    assert!(cors_headers(r).is_empty());
}

#[tokio::test]
async fn preflight_ignores_signatures_and_hides_missing_buckets() {
    let server = Server::start();
    setup(&server, SEED_RULES).await;
    // A presigned URL's query signature (here a broken one) is not checked on OPTIONS.
    let r = send(server.addr, preflight("/exampleobject?q-sign-algorithm=sha1&q-ak=nobody&q-sign-time=1;2&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=00", "https://example.com", "GET", None)).await;
    assert_eq!(r.status, 200);
    let r = send(
        server.addr,
        preflight(
            "/exampleobject?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00",
            "https://example.com",
            "GET",
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    // A bucket that does not exist answers like one without rules.
    let missing = send(
        server.addr,
        Request::new("OPTIONS", "/exampleobject")
            .header(
                "host",
                "nosuchbucket-1250000000.cos.ap-beijing.myqcloud.com",
            )
            .header("origin", "https://example.com")
            .header("access-control-request-method", "PUT"),
    )
    .await;
    assert_eq!(
        (missing.status, missing.xml("Code").as_deref()),
        (403, Some("AccessForbidden"))
    );
    // Header names compare case-insensitively; one disallowed header refuses the rule.
    let r = send(
        server.addr,
        preflight("/k", "https://x.example", "GET", Some("Range")),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(
        server.addr,
        preflight("/k", "https://x.example", "GET", Some("range,x-custom")),
    )
    .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn actual_requests_get_cors_headers_on_success_and_error() {
    let server = Server::start();
    let s = &server;
    setup(s, SEED_RULES).await;
    let put = send(
        s.addr,
        cos_signed(
            s,
            "PUT",
            &format!("/{BUCKET}/k"),
            &[],
            &[("origin", "https://example.com")],
        )
        .body("v"),
    )
    .await;
    assert_eq!(put.status, 200);
    assert_eq!(
        put.header("access-control-allow-origin"),
        Some("https://example.com")
    );
    assert_eq!(
        put.header("access-control-expose-headers"),
        Some("Content-Length,ETag,x-cos-meta-author")
    );
    assert_eq!(put.header("access-control-allow-credentials"), Some("true"));
    assert!(
        put.header("access-control-allow-headers").is_none(),
        "Allow-Headers belongs to preflights"
    );

    let missing = send(
        s.addr,
        cos_signed(
            s,
            "GET",
            &format!("/{BUCKET}/nope"),
            &[],
            &[("origin", "https://anywhere.example")],
        ),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("access-control-allow-origin"),
        Some("*"),
        "errors are readable by allowed origins"
    );

    let anonymous = send(
        s.addr,
        Request::new("GET", &format!("/{BUCKET}/k")).header("origin", "https://example.com"),
    )
    .await;
    assert_eq!(
        anonymous.status, 403,
        "CORS never lets a refused request through"
    );
    assert_eq!(
        anonymous.header("access-control-allow-origin"),
        Some("https://example.com")
    );

    let not_allowed = send(
        s.addr,
        cos_signed(
            s,
            "PUT",
            &format!("/{BUCKET}/k2"),
            &[],
            &[("origin", "https://evil.example")],
        )
        .body("v"),
    )
    .await;
    assert_eq!(
        not_allowed.status, 200,
        "CORS never refuses an allowed request"
    );
    assert!(not_allowed.header("access-control-allow-origin").is_none());

    let no_origin = send(
        s.addr,
        cos_signed(s, "GET", &format!("/{BUCKET}/k"), &[], &[]),
    )
    .await;
    assert!(cors_headers(&no_origin).is_empty());
}

#[tokio::test]
async fn configuration_round_trip_validation_and_invalidation() {
    let server = Server::start();
    let s = &server;
    setup(s, SEED_RULES).await;
    let cors = |method: &str| cos_signed(s, method, &format!("/{BUCKET}"), &[("cors", "")], &[]);

    let get = send(s.addr, cors("GET")).await;
    assert_eq!(get.status, 200);
    let text = get.text();
    assert!(
        text.contains(
            "<CORSRule><ID>specific</ID><AllowedOrigin>https://example.com</AllowedOrigin>"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "<AllowedHeader>x-cos-server-side-encryption-customer-key-MD5</AllowedHeader>"
        ),
        "original case kept: {text}"
    );
    assert!(
        text.contains("<ResponseVary>false</ResponseVary>"),
        "{text}"
    );

    for (body, code) in [
        ("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>", "InvalidArgument"),
        ("<CORSConfiguration><CORSRule><AllowedOrigin>http://*.*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>", "InvalidArgument"),
        ("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>*</ExposeHeader></CORSRule></CORSConfiguration>", "InvalidArgument"),
        ("<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>", "MalformedXML"),
        ("<CORSConfiguration><CORSRule>", "MalformedXML"),
    ] {
        let r = send(s.addr, cors("PUT").body(body.to_string())).await;
        assert_eq!((r.status, r.xml("Code").as_deref()), (400, Some(code)), "{body}");
    }
    let many = format!(
        "<CORSConfiguration>{}</CORSConfiguration>",
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>"
            .repeat(101)
    );
    assert_eq!(
        send(s.addr, cors("PUT").body(many))
            .await
            .xml("Code")
            .as_deref(),
        Some("InvalidArgument")
    );
    let huge = format!(
        "<CORSConfiguration><CORSRule><ID>{}</ID></CORSRule></CORSConfiguration>",
        "x".repeat(70_000)
    );
    assert_eq!(
        send(s.addr, cors("PUT").body(huge))
            .await
            .xml("Code")
            .as_deref(),
        Some("XMLSizeLimit")
    );
    let bad_md5 = cos_signed(
        s,
        "PUT",
        &format!("/{BUCKET}"),
        &[("cors", "")],
        &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
    )
    .body(SEED_RULES.to_string());
    assert_eq!(
        send(s.addr, bad_md5).await.xml("Code").as_deref(),
        Some("BadDigest")
    );
    assert_eq!(
        send(s.addr, cors("GET")).await.text(),
        text,
        "refused configurations leave the old one untouched"
    );

    let vary_rules = "<CORSConfiguration><CORSRule><AllowedOrigin>https://a.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule><ResponseVary>true</ResponseVary></CORSConfiguration>";
    assert_eq!(send(s.addr, cors("PUT").body(vary_rules)).await.status, 200);
    let r = send(s.addr, preflight("/k", "https://a.example", "GET", None)).await;
    assert_eq!((r.status, r.header("vary")), (200, Some("Origin")));
    let r = send(s.addr, preflight("/k", "https://example.com", "PUT", None)).await;
    assert_eq!(r.status, 403, "the new rules replaced the old ones at once");
    let plain = send(
        s.addr,
        cos_signed(s, "GET", &format!("/{BUCKET}/none"), &[], &[]),
    )
    .await;
    assert_eq!(
        plain.header("vary"),
        Some("Origin"),
        "ResponseVary marks responses without Origin too"
    );

    assert_eq!(send(s.addr, cors("DELETE")).await.status, 204);
    let gone = send(s.addr, cors("GET")).await;
    assert_eq!(
        (gone.status, gone.xml("Code").as_deref()),
        (404, Some("NoSuchCORSConfiguration"))
    );
    let r = send(s.addr, preflight("/k", "https://a.example", "GET", None)).await;
    assert_eq!(r.status, 403);
    let anonymous = send(s.addr, Request::new("GET", &format!("/{BUCKET}?cors")));
    assert_eq!(
        anonymous.await.status,
        403,
        "only the owner reads the rules"
    );
}

fn explain(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cosd"))
        .args(["cors", "explain", "--bucket", BUCKET])
        .args(args)
        .env("COSD_SECRET_ID", common::SECRET_ID)
        .env("COSD_SECRET_KEY", common::SECRET_KEY)
        .output()
        .expect("run cosd cors explain");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn cors_explain_against_a_running_server_and_its_data_dir() {
    let mut server = Server::start();
    setup(&server, SEED_RULES).await;
    let endpoint = format!("http://{}", server.addr);
    let (code, text) = explain(&[
        "--endpoint",
        &endpoint,
        "--origin",
        "https://other.example",
        "--method",
        "PUT",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("rule 1 (ID \"specific\"): origin not allowed"),
        "{text}"
    );
    assert!(
        text.contains("rule 2 (ID \"any-origin-reads\"): method not allowed"),
        "{text}"
    );
    assert!(text.contains("403 AccessForbidden"), "{text}");

    let (code, text) = explain(&[
        "--endpoint",
        &endpoint,
        "--origin",
        "https://example.com",
        "--method",
        "PUT",
        "--headers",
        "content-type",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("rule 1: matches"), "{text}");
    assert!(
        text.contains("access-control-allow-origin: https://example.com"),
        "{text}"
    );

    // Straight from the store: the same flags the server was started with.
    let mut store_args = vec![
        "--data-dir".to_string(),
        server.data_dir.to_string_lossy().into(),
    ];
    store_args.extend(common::store_args(&server.data_dir));
    let with_store = |more: &[&str]| {
        let mut args: Vec<&str> = store_args.iter().map(String::as_str).collect();
        args.extend_from_slice(more);
        explain(&args)
    };
    let (code, text) = with_store(&["--origin", "https://example.com", "--method", "GET"]);
    if common::meta_args(&server.data_dir).is_empty() {
        // The embedded database admits one process: the running server holds it.
        assert_eq!(
            code, 2,
            "the running server holds the data directory: {text}"
        );
        assert!(text.contains("--endpoint"), "{text}");
    } else {
        // A shared database can be read while servers run on it.
        assert_eq!(code, 0, "{text}");
    }
    server.kill();
    let (code, text) = with_store(&[
        "--origin",
        "https://x.example",
        "--method",
        "GET",
        "--headers",
        "range,x-nope",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("header x-nope not allowed"), "{text}");
}
