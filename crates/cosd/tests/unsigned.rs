//! Black-box tests of what needs no signature: anonymous refusal, the preflight without CORS
//! rules, error documents, and first-start credentials.

mod common;

use common::{send, Request, Server};

#[tokio::test]
async fn anonymous_requests_get_the_cos_error_document() {
    let server = Server::start();
    let host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com";
    let resp = send(
        server.addr,
        Request::new("GET", "/exampleobject").header("host", host),
    )
    .await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.header("server"), Some("tencent-cos"));
    assert_eq!(resp.header("content-type"), Some("application/xml"));
    let request_id = resp
        .header("x-cos-request-id")
        .expect("request id header")
        .to_string();
    assert!(
        resp.text()
            .starts_with("<?xml version='1.0' encoding='utf-8' ?>\n<Error>"),
        "{}",
        resp.text()
    );
    assert_eq!(resp.xml("Code").as_deref(), Some("AccessDenied"));
    assert_eq!(
        resp.xml("Resource").as_deref(),
        Some(format!("{host}/exampleobject").as_str())
    );
    assert_eq!(resp.xml("RequestId"), Some(request_id.clone()));
    assert_eq!(
        resp.xml("TraceId").as_deref(),
        resp.header("x-cos-trace-id")
    );

    let again = send(server.addr, Request::new("GET", "/")).await;
    assert_eq!(again.status, 403);
    assert_ne!(
        again.header("x-cos-request-id"),
        Some(request_id.as_str()),
        "request ids are unique"
    );

    let head = send(server.addr, Request::new("HEAD", "/b-1250000000/k")).await;
    assert_eq!(head.status, 403);
    assert!(head.body.is_empty(), "HEAD errors carry no body");
}

#[tokio::test]
async fn preflight_is_refused_with_the_documented_403_when_no_rule_allows_it() {
    let server = Server::start();
    // Seed example 4, verbatim request headers.
    let resp = send(
        server.addr,
        Request::new("OPTIONS", "/exampleobject")
            .header(
                "host",
                "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
            )
            .header("date", "Thu, 09 Jul 2020 11:45:26 GMT")
            .header("origin", "https://example.com")
            .header("access-control-request-method", "PUT")
            .header("connection", "close"),
    )
    .await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.header("content-type"), Some("application/xml"));
    assert_eq!(resp.xml("Code").as_deref(), Some("AccessForbidden"));
    assert_eq!(
        resp.xml("Message").as_deref(),
        Some("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource&apos;s CORS spec")
    );
    assert_eq!(
        resp.xml("Resource").as_deref(),
        Some("examplebucket-1250000000.cos.ap-beijing.myqcloud.com/exampleobject")
    );
    assert!(resp.xml("TraceId").is_some_and(|t| !t.is_empty()));
    assert!(resp.header("access-control-allow-origin").is_none());

    let no_origin = send(
        server.addr,
        Request::new("OPTIONS", "/b-1250000000/k").header("access-control-request-method", "GET"),
    )
    .await;
    assert_eq!(
        (no_origin.status, no_origin.xml("Code").as_deref()),
        (400, Some("BadRequest"))
    );
    let no_method = send(
        server.addr,
        Request::new("OPTIONS", "/b-1250000000/k").header("origin", "https://a.example"),
    )
    .await;
    assert_eq!(
        (no_method.status, no_method.xml("Code").as_deref()),
        (400, Some("BadRequest"))
    );
}

#[tokio::test]
async fn unknown_subresources_and_methods_are_refused_not_guessed() {
    let server = Server::start();
    let resp = send(server.addr, Request::new("PATCH", "/b-1250000000/k")).await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (405, Some("MethodNotAllowed"))
    );
    let bad_key = send(server.addr, Request::new("GET", "/b-1250000000/%FF")).await;
    assert_eq!(
        (bad_key.status, bad_key.xml("Code").as_deref()),
        (400, Some("InvalidURI"))
    );
}

#[test]
fn first_start_generates_private_credentials_and_prints_them_once() {
    let tmp = tempfile::tempdir().unwrap();
    let unset = [("COSD_SECRET_ID", ""), ("COSD_SECRET_KEY", "")];
    let mut first = Server::start_on(tmp.path(), &unset);
    first.kill();
    let printed = first.startup_output.clone();
    assert!(printed.contains("SecretId:  AKID"), "{printed}");
    let stored = std::fs::read_to_string(tmp.path().join("credentials.toml")).unwrap();
    let key_line = printed.lines().find(|l| l.contains("SecretKey:")).unwrap();
    let key = key_line.split_whitespace().last().unwrap();
    assert!(stored.contains(key), "the printed key is the stored key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("credentials.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let mut second = Server::start_on(tmp.path(), &unset);
    second.kill();
    let printed_again = second.startup_output.clone();
    assert!(
        !printed_again.contains("SecretKey"),
        "credentials are printed only when generated"
    );
}
