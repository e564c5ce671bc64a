//! Authentication: turns a request into a [`Principal`] or a COS error.
//!
//! Supported: COS signature v5 (`q-sign-algorithm=sha1…`) in the `Authorization` header, in the
//! query string (presigned URL) and as the merged `sign=` parameter; AWS SigV4 in the header and
//! as a presigned URL, with `UNSIGNED-PAYLOAD`, a hex payload hash, or streaming chunk
//! signatures. A request with no signature at all is anonymous. POST Object forms carry their
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
pub mod sigv4;

/// The percent-encoding both signature schemes use, for clients that build URLs to sign.
pub use primitives::{encode as percent_encode, encode_path as percent_encode_path};
#[cfg(test)]
mod test_support;

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
pub trait Keyring: Send + Sync {
    fn lookup(&self, access_key: &str) -> Option<Secret>;
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
        Some(Ok(v)) if v.trim().is_empty() => authenticate_query(head, keys, now),
        Some(_) => Err(ApiError::with_message(
            ErrorCode::AuthorizationHeaderMalformed,
            "The Authorization header is not a supported signature (COS q-sign or AWS4-HMAC-SHA256).",
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
