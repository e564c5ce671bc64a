//! Routing: host, path, method and sub-resource query → one [`Op`] on a bucket and key.
//!
//! Addressing follows COS: virtual host (`<bucket>.cos.<region>.myqcloud.com`, the same under
//! `tencentcos.cn`, or `<bucket>.<domain>` for a configured domain such as `cos.localhost`) or
//! path style (`/<bucket>/<key>` on any other host, e.g. `127.0.0.1:9000`). A request that names
//! no bucket is a service request. Unknown sub-resources are refused with `NotImplemented`,
//! never guessed at.

use crate::error::{ApiError, ApiResult, ErrorCode};
use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

/// Longest object key COS accepts, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 850;
/// Most query parameters a request may carry (bounds the work of parsing and signing).
const MAX_QUERY_PARAMS: usize = 64;

/// The operations cosd routes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListBuckets,
    CreateBucket,
    HeadBucket,
    DeleteBucket,
    GetBucketLocation,
    GetBucketCors,
    PutBucketCors,
    DeleteBucketCors,
    GetBucketAcl,
    PutBucketAcl,
    GetBucketPolicy,
    PutBucketPolicy,
    DeleteBucketPolicy,
    ListObjects,
    ListObjectsV2,
    DeleteObjects,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    DeleteObject,
    /// `POST /` on a bucket with a `multipart/form-data` body: the browser form upload.
    PostObject,
    InitiateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
    AppendObject,
    GetObjectAcl,
    PutObjectAcl,
    /// `OPTIONS` on any path of a bucket: the CORS preflight.
    Preflight,
    /// A recognised COS/S3 operation cosd does not implement yet.
    NotImplemented(&'static str),
}

impl Op {
    /// The name used in logs (and, later, in policies).
    pub fn name(self) -> &'static str {
        match self {
            Op::ListBuckets => "ListBuckets",
            Op::CreateBucket => "CreateBucket",
            Op::HeadBucket => "HeadBucket",
            Op::DeleteBucket => "DeleteBucket",
            Op::GetBucketLocation => "GetBucketLocation",
            Op::GetBucketCors => "GetBucketCors",
            Op::PutBucketCors => "PutBucketCors",
            Op::DeleteBucketCors => "DeleteBucketCors",
            Op::GetBucketAcl => "GetBucketAcl",
            Op::PutBucketAcl => "PutBucketAcl",
            Op::GetBucketPolicy => "GetBucketPolicy",
            Op::PutBucketPolicy => "PutBucketPolicy",
            Op::DeleteBucketPolicy => "DeleteBucketPolicy",
            Op::ListObjects => "ListObjects",
            Op::ListObjectsV2 => "ListObjectsV2",
            Op::DeleteObjects => "DeleteObjects",
            Op::PutObject => "PutObject",
            Op::CopyObject => "CopyObject",
            Op::GetObject => "GetObject",
            Op::HeadObject => "HeadObject",
            Op::DeleteObject => "DeleteObject",
            Op::PostObject => "PostObject",
            Op::InitiateMultipartUpload => "InitiateMultipartUpload",
            Op::UploadPart => "UploadPart",
            Op::UploadPartCopy => "UploadPartCopy",
            Op::CompleteMultipartUpload => "CompleteMultipartUpload",
            Op::AbortMultipartUpload => "AbortMultipartUpload",
            Op::ListParts => "ListParts",
            Op::ListMultipartUploads => "ListMultipartUploads",
            Op::AppendObject => "AppendObject",
            Op::GetObjectAcl => "GetObjectAcl",
            Op::PutObjectAcl => "PutObjectAcl",
            Op::Preflight => "Preflight",
            Op::NotImplemented(name) => name,
        }
    }
}

/// How the routing step reads hosts.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// Extra virtual-host domains: `<bucket>.<domain>` names a bucket, `<domain>` alone the
    /// service. Compared case-insensitively, longest first.
    pub domains: Vec<String>,
}

/// The decoded query string: keys and values percent-decoded (`+` read as a space, as the
/// form encoding some clients use), in request order. A key without `=` has an empty value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> ApiResult<Query> {
        let mut params = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            if params.len() == MAX_QUERY_PARAMS {
                return Err(ApiError::with_message(
                    ErrorCode::InvalidURI,
                    "Too many query parameters.",
                ));
            }
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            params.push((decode_query_component(k)?, decode_query_component(v)?));
        }
        Ok(Query(params))
    }

    /// The first value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Decodes one query key or value: `+` is a space, then percent-decoding; must be UTF-8.
pub fn decode_query_component(s: &str) -> ApiResult<String> {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            ApiError::with_message(
                ErrorCode::InvalidURI,
                "The query string is not valid UTF-8.",
            )
        })
}

/// Percent-decodes a path; `+` stays a plus. Keys are UTF-8 (COS keys are UTF-8 by definition).
pub fn decode_path(s: &str) -> ApiResult<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            ApiError::with_message(
                ErrorCode::InvalidURI,
                "The request path is not valid UTF-8.",
            )
        })
}

/// One routed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub op: Op,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub query: Query,
    /// The Host header as sent, without the port (used for the error `Resource`).
    pub host: String,
}

/// Sub-resources that select a different operation. Any of these that cosd does not implement
/// yet makes the request `NotImplemented` instead of silently acting as the plain operation.
/// A COS signature must cover every one a request carries (see `auth::cos_v5`).
pub const SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "append",
    "cors",
    "delete",
    "domain",
    "encryption",
    "intelligenttiering",
    "inventory",
    "lifecycle",
    "live",
    "location",
    "logging",
    "notification",
    "object-lock",
    "origin",
    "partNumber",
    "policy",
    "referer",
    "replication",
    "restore",
    "select",
    "symlink",
    "tagging",
    "uploadId",
    "uploads",
    "versioning",
    "versions",
    "website",
    "retention",
    "legal-hold",
    "ownershipControls",
    "publicAccessBlock",
    "requestPayment",
    "analytics",
    "metrics",
    "attributes",
    "torrent",
];

/// Resolves a request to a [`Route`].
pub fn resolve(
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    cfg: &RouteConfig,
) -> ApiResult<Route> {
    let host_header = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let host = strip_port(host_header).to_ascii_lowercase();
    let query = Query::parse(uri.query())?;
    let raw_path = uri.path();

    let (bucket, raw_key) = match virtual_host_bucket(&host, cfg) {
        HostKind::Bucket(b) => (Some(b), raw_path.strip_prefix('/').unwrap_or(raw_path)),
        HostKind::Service => (None, ""),
        HostKind::PathStyle => {
            let rest = raw_path.strip_prefix('/').unwrap_or(raw_path);
            match rest.split_once('/') {
                Some((b, k)) => (Some(decode_path(b)?), k),
                None if rest.is_empty() => (None, ""),
                None => (Some(decode_path(rest)?), ""),
            }
        }
    };
    let key = if raw_key.is_empty() {
        None
    } else {
        Some(decode_path(raw_key)?)
    };
    if let Some(k) = &key {
        if k.len() > MAX_KEY_BYTES {
            return Err(ApiError::with_message(
                ErrorCode::KeyTooLong,
                format!(
                    "Your key is too long: {} bytes, the limit is {MAX_KEY_BYTES}.",
                    k.len()
                ),
            ));
        }
    }

    let op = match (&bucket, &key) {
        (None, _) => service_op(method)?,
        (Some(_), None) => bucket_op(method, &query, headers)?,
        (Some(_), Some(_)) => object_op(method, &query, headers)?,
    };
    Ok(Route {
        op,
        bucket,
        key,
        query,
        host,
    })
}

enum HostKind {
    Bucket(String),
    Service,
    PathStyle,
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: `[::1]:9000`.
        return host
            .split_once(']')
            .map(|(h, _)| &host[..=h.len()])
            .unwrap_or(host);
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map(|(h, _)| h)
        .unwrap_or(host)
}

fn virtual_host_bucket(host: &str, cfg: &RouteConfig) -> HostKind {
    let mut domains: Vec<&str> = cfg.domains.iter().map(|d| d.as_str()).collect();
    domains.sort_by_key(|d| std::cmp::Reverse(d.len()));
    for domain in domains {
        let domain = domain.trim_matches('.');
        if host.eq_ignore_ascii_case(domain) {
            return HostKind::Service;
        }
        if let Some(label) = host.strip_suffix(domain).and_then(|h| h.strip_suffix('.')) {
            if !label.is_empty() && !label.contains('.') {
                return HostKind::Bucket(label.to_string());
            }
        }
    }
    // `<bucket>.cos.<region>.myqcloud.com`, `cos.<region>.myqcloud.com`, `service.cos.myqcloud.com`.
    for suffix in [".myqcloud.com", ".tencentcos.cn"] {
        let Some(front) = host.strip_suffix(suffix) else {
            continue;
        };
        let labels: Vec<&str> = front.split('.').collect();
        return match labels.as_slice() {
            ["service", "cos"] | ["cos", _] => HostKind::Service,
            [bucket, cos, _region] if cos.starts_with("cos") => {
                HostKind::Bucket(bucket.to_string())
            }
            _ => HostKind::PathStyle,
        };
    }
    HostKind::PathStyle
}

fn service_op(method: &Method) -> ApiResult<Op> {
    match *method {
        Method::GET | Method::HEAD => Ok(Op::ListBuckets),
        Method::OPTIONS => Ok(Op::Preflight),
        _ => Err(ApiError::with_message(
            ErrorCode::MethodNotAllowed,
            format!("The method {method} is not allowed on the service."),
        )),
    }
}

/// The first sub-resource present in the query, if any.
fn subresource(query: &Query) -> Option<&'static str> {
    SUBRESOURCES.iter().copied().find(|s| query.has(s))
}

fn not_implemented(method: &Method, sub: &str, level: &str) -> Op {
    let name: &'static str = match (method.as_str(), sub, level) {
        (_, "tagging", "bucket") => "BucketTagging",
        (_, "tagging", _) => "ObjectTagging",
        (_, "versioning", _) => "BucketVersioning",
        (_, "versions", _) => "ListObjectVersions",
        (_, "lifecycle", _) => "BucketLifecycle",
        ("POST", "", _) => "PostObject",
        _ => "UnsupportedSubresource",
    };
    Op::NotImplemented(name)
}

fn bucket_op(method: &Method, query: &Query, headers: &HeaderMap) -> ApiResult<Op> {
    if *method == Method::OPTIONS {
        return Ok(Op::Preflight);
    }
    let sub = subresource(query);
    Ok(match (method.as_str(), sub) {
        ("GET", None) if query.get("list-type") == Some("2") => Op::ListObjectsV2,
        ("GET", None) => Op::ListObjects,
        ("GET", Some("location")) => Op::GetBucketLocation,
        ("GET", Some("cors")) => Op::GetBucketCors,
        ("PUT", Some("cors")) => Op::PutBucketCors,
        ("DELETE", Some("cors")) => Op::DeleteBucketCors,
        ("GET", Some("acl")) => Op::GetBucketAcl,
        ("PUT", Some("acl")) => Op::PutBucketAcl,
        ("GET", Some("policy")) => Op::GetBucketPolicy,
        ("PUT", Some("policy")) => Op::PutBucketPolicy,
        ("DELETE", Some("policy")) => Op::DeleteBucketPolicy,
        ("PUT", None) => Op::CreateBucket,
        ("HEAD", None) => Op::HeadBucket,
        ("DELETE", None) => Op::DeleteBucket,
        ("POST", Some("delete")) => Op::DeleteObjects,
        ("POST", None) if is_form_upload(headers) => Op::PostObject,
        ("GET", Some("uploads")) => Op::ListMultipartUploads,
        ("GET" | "PUT" | "POST" | "DELETE" | "HEAD", s) => {
            not_implemented(method, s.unwrap_or(""), "bucket")
        }
        _ => {
            return Err(ApiError::with_message(
                ErrorCode::MethodNotAllowed,
                format!("The method {method} is not allowed on a bucket."),
            ))
        }
    })
}

/// Whether the body is an HTML form upload (`multipart/form-data`, any parameters).
fn is_form_upload(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("multipart/form-data"))
}

fn object_op(method: &Method, query: &Query, headers: &HeaderMap) -> ApiResult<Op> {
    if *method == Method::OPTIONS {
        return Ok(Op::Preflight);
    }
    let sub = subresource(query);
    let copy =
        headers.contains_key("x-cos-copy-source") || headers.contains_key("x-amz-copy-source");
    Ok(match (method.as_str(), sub) {
        ("PUT", None) if copy => Op::CopyObject,
        ("PUT", None) => Op::PutObject,
        ("GET", None) => Op::GetObject,
        ("HEAD", None) => Op::HeadObject,
        ("DELETE", None) => Op::DeleteObject,
        ("POST", Some("uploads")) => Op::InitiateMultipartUpload,
        ("PUT", Some("partNumber" | "uploadId")) if copy => Op::UploadPartCopy,
        ("PUT", Some("partNumber" | "uploadId")) => Op::UploadPart,
        ("POST", Some("uploadId")) => Op::CompleteMultipartUpload,
        ("DELETE", Some("uploadId")) => Op::AbortMultipartUpload,
        ("GET", Some("uploadId")) => Op::ListParts,
        ("POST", Some("append")) => Op::AppendObject,
        ("GET", Some("acl")) => Op::GetObjectAcl,
        ("PUT", Some("acl")) => Op::PutObjectAcl,
        ("GET" | "PUT" | "POST" | "DELETE" | "HEAD", s) => {
            not_implemented(method, s.unwrap_or(""), "object")
        }
        _ => {
            return Err(ApiError::with_message(
                ErrorCode::MethodNotAllowed,
                format!("The method {method} is not allowed on an object."),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, host: &str, target: &str) -> ApiResult<Route> {
        route_with(method, host, target, &[])
    }

    fn route_with(
        method: &str,
        host: &str,
        target: &str,
        extra: &[(&str, &str)],
    ) -> ApiResult<Route> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, host.parse().unwrap());
        for (k, v) in extra {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let cfg = RouteConfig {
            domains: vec!["cos.localhost".into(), "localhost".into()],
        };
        resolve(
            &method.parse().unwrap(),
            &target.parse().unwrap(),
            &headers,
            &cfg,
        )
    }

    #[test]
    fn virtual_host_cos_domains() {
        let r = route(
            "GET",
            "examplebucket-1250000000.cos.ap-beijing.myqcloud.com",
            "/exampleobject",
        )
        .unwrap();
        assert_eq!(r.op, Op::GetObject);
        assert_eq!(r.bucket.as_deref(), Some("examplebucket-1250000000"));
        assert_eq!(r.key.as_deref(), Some("exampleobject"));
        assert_eq!(
            r.host,
            "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
        );

        let r = route(
            "PUT",
            "b-1250000000.cos.ap-guangzhou.tencentcos.cn:8080",
            "/",
        )
        .unwrap();
        assert_eq!(
            (r.op, r.bucket.as_deref(), r.key),
            (Op::CreateBucket, Some("b-1250000000"), None)
        );
    }

    #[test]
    fn configured_domains_prefer_the_longest() {
        let r = route("GET", "b-1.cos.localhost:9000", "/k").unwrap();
        assert_eq!(r.bucket.as_deref(), Some("b-1"));
        let r = route("GET", "b-1.localhost", "/").unwrap();
        assert_eq!((r.op, r.bucket.as_deref()), (Op::ListObjects, Some("b-1")));
        assert_eq!(
            route("GET", "cos.localhost:9000", "/").unwrap().op,
            Op::ListBuckets
        );
    }

    #[test]
    fn service_hosts() {
        assert_eq!(
            route("GET", "service.cos.myqcloud.com", "/").unwrap().op,
            Op::ListBuckets
        );
        assert_eq!(
            route("GET", "cos.ap-beijing.myqcloud.com", "/").unwrap().op,
            Op::ListBuckets
        );
        assert_eq!(
            route("GET", "127.0.0.1:9000", "/").unwrap().op,
            Op::ListBuckets
        );
        assert_eq!(
            route("PUT", "127.0.0.1:9000", "/").unwrap_err().code,
            ErrorCode::MethodNotAllowed
        );
    }

    #[test]
    fn path_style_and_key_decoding() {
        let r = route("GET", "127.0.0.1:9000", "/b-1250000000/a/b%20c+d/%E8%85%BE").unwrap();
        assert_eq!(r.bucket.as_deref(), Some("b-1250000000"));
        assert_eq!(r.key.as_deref(), Some("a/b c+d/腾"));
        let r = route("GET", "[::1]:9000", "/b-1/").unwrap();
        assert_eq!((r.op, r.key), (Op::ListObjects, None));
        assert_eq!(r.host, "[::1]");
        let r = route("GET", "127.0.0.1", "/b-1/..%2F..%2Fetc%2Fpasswd").unwrap();
        assert_eq!(r.key.as_deref(), Some("../../etc/passwd"));
        assert_eq!(
            route("GET", "h", "/b-1/%FF").unwrap_err().code,
            ErrorCode::InvalidURI
        );
    }

    #[test]
    fn key_length_limit() {
        let ok = format!("/b-1/{}", "k".repeat(MAX_KEY_BYTES));
        assert!(route("PUT", "h", &ok).is_ok());
        let long = format!("/b-1/{}", "k".repeat(MAX_KEY_BYTES + 1));
        assert_eq!(
            route("PUT", "h", &long).unwrap_err().code,
            ErrorCode::KeyTooLong
        );
    }

    #[test]
    fn operations_by_method_and_subresource() {
        let copy_cos = [("x-cos-copy-source", "b-1.cos.r.myqcloud.com/s")];
        let copy_amz = [("x-amz-copy-source", "/b-1/s")];
        let form = [("content-type", "Multipart/Form-Data; boundary=x")];
        let mixed = [("content-type", "multipart/mixed")];
        // (method, target, extra headers, expected operation)
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], Op);
        let cases: &[Case] = &[
            ("GET", "/b-1?location", &[], Op::GetBucketLocation),
            ("GET", "/b-1?list-type=2&prefix=a", &[], Op::ListObjectsV2),
            ("POST", "/b-1?delete=", &[], Op::DeleteObjects),
            ("GET", "/b-1?cors", &[], Op::GetBucketCors),
            ("PUT", "/b-1?cors=", &[], Op::PutBucketCors),
            ("DELETE", "/b-1?cors", &[], Op::DeleteBucketCors),
            (
                "GET",
                "/b-1/k?cors",
                &[],
                Op::NotImplemented("UnsupportedSubresource"),
            ),
            ("PUT", "/b-1?acl", &[], Op::PutBucketAcl),
            ("GET", "/b-1?acl", &[], Op::GetBucketAcl),
            ("PUT", "/b-1?policy", &[], Op::PutBucketPolicy),
            ("GET", "/b-1?policy", &[], Op::GetBucketPolicy),
            ("DELETE", "/b-1?policy", &[], Op::DeleteBucketPolicy),
            ("GET", "/b-1/k?acl", &[], Op::GetObjectAcl),
            ("PUT", "/b-1/k?acl", &[], Op::PutObjectAcl),
            (
                "DELETE",
                "/b-1/k?acl",
                &[],
                Op::NotImplemented("UnsupportedSubresource"),
            ),
            ("POST", "/b-1", &[], Op::NotImplemented("PostObject")),
            ("OPTIONS", "/b-1?lifecycle", &[], Op::Preflight),
            ("PUT", "/b-1/k", &[], Op::PutObject),
            ("PUT", "/b-1/k", &copy_cos, Op::CopyObject),
            ("PUT", "/b-1/k", &copy_amz, Op::CopyObject),
            ("HEAD", "/b-1/k", &[], Op::HeadObject),
            ("DELETE", "/b-1/k", &[], Op::DeleteObject),
            (
                "GET",
                "/b-1/k?response-content-type=text%2Fplain",
                &[],
                Op::GetObject,
            ),
            ("OPTIONS", "/b-1/k", &[], Op::Preflight),
            ("POST", "/b-1/", &form, Op::PostObject),
            ("POST", "/b-1?delete", &form, Op::DeleteObjects),
            ("POST", "/b-1/k", &form, Op::NotImplemented("PostObject")),
            ("POST", "/b-1", &mixed, Op::NotImplemented("PostObject")),
        ];
        for (method, target, headers, expected) in cases {
            let got = route_with(method, "h", target, headers).unwrap().op;
            assert_eq!(got, *expected, "{method} {target}");
        }
        let virtual_host = route_with("POST", "b-1.cos.ap-beijing.myqcloud.com", "/", &form);
        assert_eq!(virtual_host.unwrap().op, Op::PostObject);
        for target in ["/b-1", "/b-1/k"] {
            let err = route("PATCH", "h", target).unwrap_err();
            assert_eq!(err.code, ErrorCode::MethodNotAllowed, "{target}");
        }
    }

    #[test]
    fn multipart_and_append_operations() {
        let op = |method, target| route(method, "h", target).unwrap().op;
        assert_eq!(op("POST", "/b-1/k?uploads"), Op::InitiateMultipartUpload);
        assert_eq!(op("PUT", "/b-1/k?partNumber=1&uploadId=x"), Op::UploadPart);
        assert_eq!(op("PUT", "/b-1/k?uploadId=x&partNumber=1"), Op::UploadPart);
        assert_eq!(
            route_with(
                "PUT",
                "h",
                "/b-1/k?partNumber=2&uploadId=x",
                &[("x-amz-copy-source", "/b-1/s")]
            )
            .unwrap()
            .op,
            Op::UploadPartCopy
        );
        assert_eq!(op("POST", "/b-1/k?uploadId=x"), Op::CompleteMultipartUpload);
        assert_eq!(op("DELETE", "/b-1/k?uploadId=x"), Op::AbortMultipartUpload);
        assert_eq!(op("GET", "/b-1/k?uploadId=x&max-parts=2"), Op::ListParts);
        assert_eq!(op("GET", "/b-1?uploads&prefix=a"), Op::ListMultipartUploads);
        assert_eq!(op("POST", "/b-1/k?append&position=0"), Op::AppendObject);
        assert_eq!(
            op("GET", "/b-1/k?partNumber=1"),
            Op::NotImplemented("UnsupportedSubresource")
        );
        assert_eq!(route("OPTIONS", "h", "/b-1/k").unwrap().op, Op::Preflight);
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some("prefix=a+b%2Bc&acl&max-keys=5")).unwrap();
        assert_eq!(q.get("prefix"), Some("a b+c"));
        assert_eq!(q.get("acl"), Some(""));
        assert_eq!(q.get("max-keys"), Some("5"));
        assert!(!q.has("marker"));
        let many = (0..=MAX_QUERY_PARAMS)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            Query::parse(Some(&many)).unwrap_err().code,
            ErrorCode::InvalidURI
        );
    }
}
