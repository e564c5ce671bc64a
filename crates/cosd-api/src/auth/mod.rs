//! Authentication: turns a request into a [`Principal`] or a COS error.
//!
//! Supported: COS signature v5 (`q-sign-algorithm=sha1…`) in the `Authorization` header, in the
//! query string (presigned URL) and as the merged `sign=` parameter; AWS SigV4 in the header and
//! as a presigned URL, with `UNSIGNED-PAYLOAD`, a hex payload hash, or streaming chunk
//! signatures; AWS signature V2 (`AWS <id>:<sig>` and `AWSAccessKeyId`/`Signature`/`Expires`).
//! Temporary keys carry their security token ([`token`]) beside the signature. A request with no signature at all is anonymous. POST Object forms carry their
//! signature in form fields instead of the head: [`post_policy`] verifies those, and the
//! operation calls it once it has read the fields.
//!
//! Everything here is pure: the caller passes the request head and the current time. Body
//! verification (payload hash, chunk signatures) is a stream adapter, [`verify_body`], so the
//! body is checked as it streams and never buffered.

pub mod chunked;
pub mod cos_v5;
pub mod post_policy;
pub(crate) mod primitives;
pub mod sigv2;
pub mod sigv4;
pub mod token;

/// The percent-encoding both signature schemes use, for clients that build URLs to sign.
pub use primitives::{encode as percent_encode, encode_path as percent_encode_path};
#[cfg(test)]
pub(crate) mod test_support;

use crate::error::{ApiError, ApiResult, ErrorCode};
use cosd_store::ByteStream;
use std::sync::Arc;
use std::time::SystemTime;

/// How far a client clock (or a signature's start time) may be from ours.
pub const MAX_CLOCK_SKEW_SECS: u64 = 15 * 60;

/// A secret key and the account (APPID) that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub secret_key: String,
    pub account: String,
    /// Set for temporary keys: the most they may do, whatever their account may do.
    pub scope: Option<Arc<Scope>>,
}

/// The limits of a temporary key. A request must fall inside every limit that is set; the
/// account's own permissions (ownership, ACLs, policies) still apply on top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The one bucket (full name, `<name>-<appid>`) the key may use.
    pub bucket: Option<String>,
    /// The key prefix objects must have.
    pub prefix: Option<String>,
    /// Allowed actions as policies name them (`cos:GetObject`, `name/cos:PutObject`, `cos:*`);
    /// empty means any.
    pub actions: Vec<String>,
}

/// Looks up secret keys by access key id (COS `SecretId`).
/// A keyring also knows the accounts its keys belong to ([`crate::acl::Accounts`]).
pub trait Keyring: crate::acl::Accounts + Send + Sync {
    /// The secret a request signed by `access_key` must verify against. `token` is the
    /// security token the request carried: a temporary key is known only with its token.
    /// Fails with `InvalidAccessKeyId` for an unknown key (or a token that does not verify)
    /// and `ExpiredToken` for an expired token.
    fn lookup(&self, access_key: &str, token: Option<&str>, now: SystemTime) -> ApiResult<Secret>;
}

/// Query parameters and headers that carry a temporary key's security token.
const TOKEN_HEADERS: [&str; 2] = ["x-cos-security-token", "x-amz-security-token"];

/// The security token a request carries: `x-cos-security-token` or `x-amz-security-token`, as
/// a header or a query parameter (presigned URLs; names compared case-insensitively, as SigV4
/// spells it `X-Amz-Security-Token`).
pub fn security_token<'a>(head: &RequestHead<'a>) -> Option<std::borrow::Cow<'a, str>> {
    for name in TOKEN_HEADERS {
        if let Some(value) = primitives::header_str(head.headers, name) {
            return Some(value.into());
        }
    }
    primitives::raw_query_pairs(head.uri.query().unwrap_or(""))
        .find(|(key, _)| {
            let key = primitives::decode_str(key);
            TOKEN_HEADERS.iter().any(|n| key.eq_ignore_ascii_case(n))
        })
        .map(|(_, value)| primitives::decode_str(value))
}

/// Looks up the key that signed `head`, with the request's security token.
pub(crate) fn lookup(
    keys: &dyn Keyring,
    head: &RequestHead<'_>,
    access_key: &str,
    now: SystemTime,
) -> ApiResult<Secret> {
    keys.lookup(access_key, security_token(head).as_deref(), now)
}

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Account {
        account: String,
        access_key: String,
        /// `Some` for a temporary key (see [`Scope`]).
        scope: Option<Arc<Scope>>,
    },
}

/// What must still be checked of the body once it streams.
#[derive(Debug, Clone)]
pub enum BodyCheck {
    /// Nothing: no signature covers the body (COS v5, `UNSIGNED-PAYLOAD`, anonymous).
    None,
    /// The body's SHA-256 must equal this (SigV4 with a hex `x-amz-content-sha256`).
    Sha256([u8; 32]),
    /// `aws-chunked` body: decode it, verifying each chunk signature (and a trailer, if any).
    Chunked(chunked::ChunkedBody),
}

/// The outcome of authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub body: BodyCheck,
}

impl Authenticated {
    pub fn anonymous() -> Self {
        Authenticated {
            principal: Principal::Anonymous,
            body: BodyCheck::None,
        }
    }
}

/// The parts of a request that signatures cover.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    pub method: &'a http::Method,
    pub uri: &'a http::Uri,
    pub headers: &'a http::HeaderMap,
}

/// A request as a client describes it before signing, for the client-side helpers
/// ([`cos_v5::sign`], [`cos_v5::presign_query`], [`sigv4::sign_request`], [`sigv4::presign`]).
///
/// Everything is decoded text: the helpers encode it exactly as the verifiers re-encode what
/// arrives, so any valid wire encoding of the same path and parameters verifies.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// The HTTP method, e.g. `PUT`.
    pub method: &'a str,
    /// The decoded path, e.g. `/exampleobject(腾讯云)`; path-style requests start with the
    /// bucket: `/<bucket>/<key>`.
    pub path: &'a str,
    /// Decoded query parameters; a sub-resource such as `?acl` is `("acl", "")`.
    pub params: &'a [(&'a str, &'a str)],
    /// The headers to sign, with the values that will be sent. Include `host`.
    pub headers: &'a [(&'a str, &'a str)],
}

/// Authenticates a request head: finds the signature (header or query, COS or AWS), checks the
/// time window and the key, and verifies the signature.
pub fn authenticate(
    head: &RequestHead<'_>,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    let auth_header = head
        .headers
        .get(http::header::AUTHORIZATION)
        .map(|v| v.to_str());
    match auth_header {
        Some(Ok(v)) if v.starts_with("q-sign-algorithm=") => cos_v5::verify_header(head, v, keys, now),
        Some(Ok(v)) if v.starts_with(sigv4::ALGORITHM) => sigv4::verify_header(head, v, keys, now),
        Some(Ok(v)) if v.starts_with(sigv2::SCHEME) => sigv2::verify_header(head, v, keys, now),
        Some(Ok(v)) if v.trim().is_empty() => authenticate_query(head, keys, now),
        Some(_) => Err(ApiError::with_message(
            ErrorCode::AuthorizationHeaderMalformed,
            "The Authorization header is not a supported signature (COS q-sign, AWS4-HMAC-SHA256 or AWS).",
        )),
        None => authenticate_query(head, keys, now),
    }
}

fn authenticate_query(
    head: &RequestHead<'_>,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    let query = head.uri.query().unwrap_or("");
    if cos_v5::has_query_signature(query) {
        cos_v5::verify_query(head, keys, now)
    } else if sigv4::has_query_signature(query) {
        sigv4::verify_query(head, keys, now)
    } else if sigv2::has_query_signature(query) {
        sigv2::verify_query(head, keys, now)
    } else {
        Ok(Authenticated::anonymous())
    }
}

/// Wraps a request body so that it is verified as it streams. A failed check ends the stream
/// with an [`ApiError`] (carried in the `io::Error`), which aborts the write that consumes it.
pub fn verify_body(body: ByteStream, check: BodyCheck) -> ByteStream {
    match check {
        BodyCheck::None => body,
        BodyCheck::Sha256(expected) => sigv4::verify_payload_sha256(body, expected),
        BodyCheck::Chunked(chunked) => chunked.decode(body),
    }
}

#[cfg(test)]
mod tests {
    use super::security_token;
    use super::test_support::Head;

    #[test]
    fn the_security_token_comes_from_a_header_or_the_query() {
        let token = |uri: &str, headers: &[(&str, &str)]| {
            let head = Head::new("GET", uri, headers);
            security_token(&head.head()).map(|t| t.into_owned())
        };
        assert_eq!(
            token("/", &[("x-cos-security-token", "a")]).as_deref(),
            Some("a")
        );
        assert_eq!(
            token("/", &[("x-amz-security-token", "b")]).as_deref(),
            Some("b")
        );
        assert_eq!(
            token("/?x-cos-security-token=c%2Bd", &[]).as_deref(),
            Some("c+d")
        );
        assert_eq!(token("/?X-Amz-Security-Token=e", &[]).as_deref(), Some("e"));
        assert_eq!(token("/?x-amz-security-token=f", &[]).as_deref(), Some("f"));
        assert_eq!(token("/?security-token=g", &[("x-other", "h")]), None);
    }
}
