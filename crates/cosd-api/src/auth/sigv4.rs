//! AWS Signature Version 4 as S3 uses it: the `Authorization` header and presigned URLs,
//! the body checks the header form implies (`x-amz-content-sha256`), and client-side signing.
//!
//! S3 specifics: the canonical URI is the decoded path re-encoded once (never twice, never
//! normalized); the payload hash line is the `x-amz-content-sha256` value as sent
//! (`UNSIGNED-PAYLOAD` for presigned URLs); any region is accepted, since clients default to
//! `us-east-1` whatever the endpoint, but the service must be `s3`.

use super::chunked::{ChainStart, ChunkedBody};
use super::primitives::{
    decode, decode_query, decode_str, encode, encode_path, header_str, hmac_sha256,
    join_sorted_pairs, mac, mac_matches_hex, raw_query_pairs, request_host, sha256_hex, unix_secs,
    HmacSha256, MAX_AUTHORIZATION_LEN, MAX_SIGNED_NAMES,
};
use super::{
    lookup, Authenticated, BodyCheck, Keyring, Principal, RequestHead, RequestToSign, Secret,
    MAX_CLOCK_SKEW_SECS,
};
use crate::error::{ApiError, ApiResult, ErrorCode};
use cosd_store::ByteStream;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::time::SystemTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// The algorithm name that opens a SigV4 `Authorization` header and fills `X-Amz-Algorithm`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// `x-amz-content-sha256` for a body no signature covers.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` for an `aws-chunked` body with chunk signatures.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// [`STREAMING_PAYLOAD`] followed by signed trailers.
pub const STREAMING_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// An `aws-chunked` body without chunk signatures, ending in trailers (checksums).
pub const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// Hex SHA-256 of nothing: the payload hash of an empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const SERVICE: &str = "s3";
/// A temporary key's token header, which must be signed when sent (AWS SDKs always sign it).
const SECURITY_TOKEN: &str = "x-amz-security-token";
const TERMINATOR: &str = "aws4_request";
/// The longest `X-Amz-Expires` AWS allows: seven days.
const MAX_EXPIRES_SECS: u64 = 7 * 24 * 60 * 60;
const AMZ_DATE_FORMAT: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// The query parameters of a presigned URL, in the order [`verify_query`] collects them.
const QUERY_FIELDS: [&str; 6] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
];

/// What a client signs with.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    /// Any region: cosd accepts whatever the client puts in its credential scope.
    pub region: &'a str,
}

/// What [`sign_request`] produced: send `x-amz-date`, `x-amz-content-sha256` and
/// `authorization` with these values.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub amz_date: String,
    pub content_sha256: String,
    pub authorization: String,
    /// The bare signature: the seed of a chunk-signature chain.
    pub signature: String,
}

/// `AK/yyyymmdd/region/s3/aws4_request`, split.
#[derive(Debug)]
pub(super) struct Credential<'a> {
    pub(super) access_key: &'a str,
    pub(super) date: &'a str,
    pub(super) region: &'a str,
}

impl Credential<'_> {
    fn scope(&self) -> String {
        scope(self.date, self.region)
    }
}

fn scope(date: &str, region: &str) -> String {
    format!("{date}/{region}/{SERVICE}/{TERMINATOR}")
}

/// Splits a credential; the error says what is wrong, for the client's benefit.
pub(super) fn parse_credential(credential: &str) -> Result<Credential<'_>, &'static str> {
    // From the right, so the four scope parts are found whatever the access key holds.
    let mut parts = credential.rsplitn(5, '/');
    let (Some(terminator), Some(service), Some(region), Some(date), Some(access_key)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err("the credential is not <access key>/<date>/<region>/s3/aws4_request");
    };
    if terminator != TERMINATOR {
        return Err("the credential scope does not end in aws4_request");
    }
    if service != SERVICE {
        return Err("the credential scope is not for service s3");
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the credential date is not yyyymmdd");
    }
    if access_key.is_empty() || region.is_empty() {
        return Err("the credential has an empty access key or region");
    }
    Ok(Credential {
        access_key,
        date,
        region,
    })
}

/// The `SignedHeaders` names. `host` is required: without it a signature made for one
/// virtual-hosted bucket would verify against another.
fn parse_signed_headers(list: &str) -> Result<Vec<&str>, &'static str> {
    let names: Vec<&str> = list.split(';').collect();
    if names.len() > MAX_SIGNED_NAMES {
        return Err("too many signed headers");
    }
    if names.iter().any(|name| name.is_empty()) {
        return Err("the signed headers list has an empty name");
    }
    if !names.contains(&"host") {
        return Err("the host header must be signed");
    }
    Ok(names)
}

/// The three fields of the header form.
struct HeaderFields<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`; the spaces after
/// the commas are optional, as some clients leave them out.
fn parse_header_fields(authorization: &str) -> Result<HeaderFields<'_>, &'static str> {
    let rest = authorization
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with([' ', '\t']))
        .ok_or("it does not start with AWS4-HMAC-SHA256 and a space")?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for field in rest.split(',') {
        let (key, value) = field.trim().split_once('=').ok_or("a field has no '='")?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err("unknown field (expected Credential, SignedHeaders, Signature)"),
        };
        if slot.replace(value).is_some() {
            return Err("a field appears twice");
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => Ok(HeaderFields {
            credential,
            signed_headers,
            signature,
        }),
        _ => Err("Credential, SignedHeaders and Signature are all required"),
    }
}

fn header_malformed(what: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::AuthorizationHeaderMalformed,
        format!("The authorization header is malformed: {what}."),
    )
}

fn query_malformed(what: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::InvalidArgument,
        format!("The presigned URL's X-Amz-* parameters are malformed: {what}."),
    )
}

/// Verifies a SigV4 `Authorization` header and says how the body must then be checked.
pub fn verify_header(
    head: &RequestHead<'_>,
    authorization: &str,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    if authorization.len() > MAX_AUTHORIZATION_LEN {
        return Err(header_malformed("it is too long"));
    }
    let fields = parse_header_fields(authorization).map_err(header_malformed)?;
    let credential = parse_credential(fields.credential).map_err(header_malformed)?;
    let signed = parse_signed_headers(fields.signed_headers).map_err(header_malformed)?;
    if head.headers.contains_key(SECURITY_TOKEN) && !signed.contains(&SECURITY_TOKEN) {
        return Err(header_malformed(
            "x-amz-security-token must be a signed header",
        ));
    }
    let secret = lookup(keys, head, credential.access_key, now)?;

    let (timestamp, secs) = request_time(head.headers)?;
    if timestamp.get(..8) != Some(credential.date) {
        return Err(header_malformed(
            "invalid credential date: it is not the date of x-amz-date",
        ));
    }
    if secs.abs_diff(unix_secs(now) as i64) > MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::new(ErrorCode::RequestTimeTooSkewed));
    }
    // AWS requires x-amz-content-sha256; a client without it (as MinIO assumes) signed the hash
    // of an empty body, and the body is then held to that.
    let payload = match head.headers.get("x-amz-content-sha256") {
        Some(value) => value.to_str().map_err(|_| invalid_content_sha256())?,
        None => EMPTY_SHA256,
    };

    let claim = Claim {
        credential,
        timestamp: &timestamp,
        signed,
        signed_headers: fields.signed_headers,
        signature: fields.signature,
    };
    let (key, scope) = check_signature(head, &claim, &secret.secret_key, false, payload)?;

    let chain = || ChainStart {
        signing_key: key,
        timestamp: timestamp.clone(),
        scope: scope.clone(),
        seed_signature: fields.signature.to_ascii_lowercase(),
    };
    let chunked = |body: ChunkedBody| -> ApiResult<BodyCheck> {
        Ok(BodyCheck::Chunked(
            match decoded_content_length(head.headers)? {
                Some(len) => body.with_decoded_length(len),
                None => body,
            },
        ))
    };
    let body = match payload {
        UNSIGNED_PAYLOAD => BodyCheck::None,
        STREAMING_PAYLOAD => chunked(ChunkedBody::signed(chain(), false))?,
        STREAMING_PAYLOAD_TRAILER => chunked(ChunkedBody::signed(chain(), true))?,
        STREAMING_UNSIGNED_PAYLOAD_TRAILER => chunked(ChunkedBody::unsigned_trailer())?,
        hash => {
            let mut digest = [0; 32];
            hex::decode_to_slice(hash, &mut digest).map_err(|_| invalid_content_sha256())?;
            BodyCheck::Sha256(digest)
        }
    };
    Ok(authenticated(secret, claim.credential.access_key, body))
}

fn invalid_content_sha256() -> ApiError {
    ApiError::with_message(
        ErrorCode::InvalidArgument,
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-… value or the hex SHA-256 \
         of the body.",
    )
}

fn decoded_content_length(headers: &http::HeaderMap) -> ApiResult<Option<u64>> {
    match headers.get("x-amz-decoded-content-length") {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::with_message(
                    ErrorCode::InvalidArgument,
                    "x-amz-decoded-content-length is not a number.",
                )
            }),
    }
}

fn authenticated(secret: Secret, access_key: &str, body: BodyCheck) -> Authenticated {
    Authenticated {
        principal: Principal::Account {
            account: secret.account,
            access_key: access_key.to_owned(),
            scope: secret.scope,
        },
        body,
    }
}

/// The request time: `x-amz-date`, else `Date`, as the ISO 8601 basic text the string to sign
/// carries, and as Unix seconds.
fn request_time(headers: &http::HeaderMap) -> ApiResult<(String, i64)> {
    let denied = || {
        ApiError::with_message(
            ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header.",
        )
    };
    if let Some(value) = headers.get("x-amz-date") {
        let text = value.to_str().map_err(|_| denied())?;
        let secs = parse_amz_date(text).ok_or_else(denied)?;
        return Ok((text.to_owned(), secs));
    }
    let date = header_str(headers, "date").ok_or_else(denied)?;
    let secs = httpdate::parse_http_date(date).map_err(|_| denied())?;
    let secs = unix_secs(secs) as i64;
    Ok((format_amz_date(secs).ok_or_else(denied)?, secs))
}

pub(super) fn parse_amz_date(text: &str) -> Option<i64> {
    Some(
        PrimitiveDateTime::parse(text, AMZ_DATE_FORMAT)
            .ok()?
            .assume_utc()
            .unix_timestamp(),
    )
}

fn format_amz_date(secs: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Whether a query string carries a SigV4 signature. Any of the identifying parameters counts,
/// so that a partial one is rejected rather than served anonymously.
pub fn has_query_signature(query: &str) -> bool {
    raw_query_pairs(query).any(|(key, _)| {
        matches!(
            &*decode_str(key),
            "X-Amz-Algorithm" | "X-Amz-Credential" | "X-Amz-Signature"
        )
    })
}

/// Verifies a presigned URL. Its payload is always `UNSIGNED-PAYLOAD`, so there is no body check.
pub fn verify_query(
    head: &RequestHead<'_>,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    let query = head.uri.query().unwrap_or("");
    let mut values: [Option<Cow<'_, str>>; 6] = Default::default();
    for (key, value) in raw_query_pairs(query) {
        let key = decode_str(key);
        if let Some(i) = QUERY_FIELDS.iter().position(|field| *field == key) {
            if values[i].replace(decode_str(value)).is_some() {
                return Err(query_malformed("a parameter appears twice"));
            }
        }
    }
    let [Some(algorithm), Some(credential), Some(date), Some(expires), Some(signed_headers), Some(signature)] =
        values
    else {
        return Err(query_malformed(
            "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders \
             and X-Amz-Signature are all required",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(query_malformed("X-Amz-Algorithm must be AWS4-HMAC-SHA256"));
    }
    let credential = parse_credential(&credential).map_err(query_malformed)?;
    let signed = parse_signed_headers(&signed_headers).map_err(query_malformed)?;
    let secret = lookup(keys, head, credential.access_key, now)?;
    let secs = parse_amz_date(&date)
        .ok_or_else(|| query_malformed("X-Amz-Date is not yyyymmddThhmmssZ"))?;
    if date.get(..8) != Some(credential.date) {
        return Err(query_malformed(
            "the credential date is not the date of X-Amz-Date",
        ));
    }
    let expires: u64 = expires
        .parse()
        .ok()
        .filter(|e| (1..=MAX_EXPIRES_SECS).contains(e))
        .ok_or_else(|| query_malformed("X-Amz-Expires must be between 1 and 604800 seconds"))?;
    let now = unix_secs(now) as i64;
    if now > secs.saturating_add(expires as i64) {
        return Err(ApiError::new(ErrorCode::RequestExpired));
    }
    if secs > now.saturating_add(MAX_CLOCK_SKEW_SECS as i64) {
        return Err(ApiError::with_message(
            ErrorCode::AccessDenied,
            "Request is not valid yet: X-Amz-Date is in the future.",
        ));
    }

    let claim = Claim {
        credential,
        timestamp: &date,
        signed,
        signed_headers: &signed_headers,
        signature: &signature,
    };
    check_signature(head, &claim, &secret.secret_key, true, UNSIGNED_PAYLOAD)?;
    Ok(authenticated(
        secret,
        claim.credential.access_key,
        BodyCheck::None,
    ))
}

/// What a received signature claims, from either form.
struct Claim<'a> {
    credential: Credential<'a>,
    /// The request time as the string to sign carries it (ISO 8601 basic).
    timestamp: &'a str,
    signed: Vec<&'a str>,
    /// The `SignedHeaders` list as sent: it is signed as text.
    signed_headers: &'a str,
    signature: &'a str,
}

/// Recomputes the signature of `head` as `claim` describes it and compares. Returns the signing
/// key and scope, which a chunked body's signature chain continues from.
fn check_signature(
    head: &RequestHead<'_>,
    claim: &Claim<'_>,
    secret_key: &str,
    presigned: bool,
    payload: &str,
) -> ApiResult<([u8; 32], String)> {
    let key = signing_key(secret_key, claim.credential.date, claim.credential.region);
    let scope = claim.credential.scope();
    let canonical = canonical_request(
        head.method.as_str(),
        &canonical_uri(head),
        &canonical_query(head, presigned),
        &request_canonical_headers(head, &claim.signed),
        claim.signed_headers,
        payload,
    );
    let string_to_sign = string_to_sign(claim.timestamp, &scope, &canonical);
    let expected = mac::<HmacSha256>(&key, &[string_to_sign.as_bytes()]);
    if !mac_matches_hex(expected, claim.signature) {
        return Err(ApiError::new(ErrorCode::SignatureDoesNotMatch));
    }
    Ok((key, scope))
}

/// The decoded path, encoded once by AWS rules: S3 neither double-encodes nor normalizes.
fn canonical_uri(head: &RequestHead<'_>) -> String {
    match head.uri.path() {
        "" => "/".to_owned(),
        path => encode_path(&decode(path)),
    }
}

/// Every query parameter decoded and re-encoded, sorted; a presigned URL's own signature is
/// the one parameter not signed.
fn canonical_query(head: &RequestHead<'_>, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = raw_query_pairs(head.uri.query().unwrap_or(""))
        .map(|(key, value)| (decode_query(key), decode_query(value)))
        .filter(|(key, _)| !(presigned && **key == *b"X-Amz-Signature"))
        .map(|(key, value)| (encode(&key), encode(&value)))
        .collect();
    join_sorted_pairs(&mut pairs)
}

/// The canonical headers block for the signed names, from the request as received.
fn request_canonical_headers(head: &RequestHead<'_>, signed: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in signed {
        let lower = name.to_ascii_lowercase();
        if lower == "host" {
            write_canonical_header(&mut out, &lower, request_host(head).into_iter());
        } else {
            let values = head
                .headers
                .get_all(lower.as_str())
                .iter()
                .map(|v| v.as_bytes());
            write_canonical_header(&mut out, &lower, values);
        }
    }
    out
}

/// Appends `name:value1,value2\n`, each value trimmed with inner runs of blanks collapsed.
fn write_canonical_header<'v>(
    out: &mut Vec<u8>,
    name: &str,
    values: impl Iterator<Item = &'v [u8]>,
) {
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut blank = false;
        let mut started = false;
        for &b in value {
            if b == b' ' || b == b'\t' {
                blank = started;
            } else {
                if blank {
                    out.push(b' ');
                    blank = false;
                }
                out.push(b);
                started = true;
            }
        }
    }
    out.push(b'\n');
}

fn canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    headers: &[u8],
    signed_headers: &str,
    payload: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len() + uri.len() + query.len() + 160);
    for part in [method.as_bytes(), uri.as_bytes(), query.as_bytes(), headers] {
        out.extend_from_slice(part);
        out.push(b'\n');
    }
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload.as_bytes());
    out
}

fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request)
    )
}

/// The key every signature of one day, region and service is made with.
pub(crate) fn signing_key(secret_key: &str, date: &str, region: &str) -> [u8; 32] {
    let key = hmac_sha256(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    let key = hmac_sha256(&key, region.as_bytes());
    let key = hmac_sha256(&key, SERVICE.as_bytes());
    hmac_sha256(&key, TERMINATOR.as_bytes())
}

/// Wraps a body whose SHA-256 must be `expected`. Bytes pass through as they arrive; at the end,
/// a different hash fails the stream with `XAmzContentSHA256Mismatch` instead of ending it, so
/// the consumer never sees a clean end of a body that does not match its signature.
pub fn verify_payload_sha256(body: ByteStream, expected: [u8; 32]) -> ByteStream {
    crate::body::verify_at_end(
        body,
        Box::new(crate::body::DigestOf(Sha256::new())),
        expected.to_vec(),
        ApiError::new(ErrorCode::XAmzContentSHA256Mismatch),
    )
}

/// A client's signing time, scope and key.
struct ClientContext {
    amz_date: String,
    scope: String,
    key: [u8; 32],
}

impl ClientContext {
    /// # Panics
    /// If `time` is past the year 9999, which no SigV4 timestamp can express.
    fn new(creds: &Credentials<'_>, time: SystemTime) -> Self {
        let amz_date = format_amz_date(unix_secs(time) as i64)
            .expect("signing time is within years 1970..=9999");
        let date = &amz_date[..8];
        ClientContext {
            scope: scope(date, creds.region),
            key: signing_key(creds.secret_key, date, creds.region),
            amz_date,
        }
    }

    /// The hex signature of `req` with the given canonical query, headers and payload hash.
    fn signature(
        &self,
        req: &RequestToSign<'_>,
        query: &str,
        headers: &[u8],
        signed_headers: &str,
        payload: &str,
    ) -> String {
        let canonical = canonical_request(
            req.method,
            &encode_path(req.path.as_bytes()),
            query,
            headers,
            signed_headers,
            payload,
        );
        let string_to_sign = string_to_sign(&self.amz_date, &self.scope, &canonical);
        hex::encode(hmac_sha256(&self.key, string_to_sign.as_bytes()))
    }
}

/// Canonical headers and the `SignedHeaders` list for a client's headers: names lower-cased and
/// sorted, values of repeated names joined in order.
fn client_canonical_headers<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) -> (Vec<u8>, String) {
    let mut headers: Vec<(String, &str)> = headers
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut block = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for group in headers.chunk_by(|a, b| a.0 == b.0) {
        let name = group[0].0.as_str();
        write_canonical_header(&mut block, name, group.iter().map(|(_, v)| v.as_bytes()));
        names.push(name);
    }
    (block, names.join(";"))
}

fn client_canonical_query<'a>(params: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .map(|(k, v)| (encode(k.as_bytes()), encode(v.as_bytes())))
        .collect();
    join_sorted_pairs(&mut pairs)
}

/// Signs a request for the `Authorization` header. `req.headers` are signed along with the
/// `x-amz-date` and `x-amz-content-sha256` this adds (so leave those two out of `req`).
/// `payload_sha256` is the body's hex SHA-256, [`UNSIGNED_PAYLOAD`] or a `STREAMING-…` value.
///
/// # Panics
/// If `time` is past the year 9999.
pub fn sign_request(
    creds: &Credentials<'_>,
    req: &RequestToSign<'_>,
    payload_sha256: &str,
    time: SystemTime,
) -> SignedRequest {
    let context = ClientContext::new(creds, time);
    let added = [
        ("x-amz-date", context.amz_date.as_str()),
        ("x-amz-content-sha256", payload_sha256),
    ];
    let (headers, signed_headers) =
        client_canonical_headers(req.headers.iter().copied().chain(added));
    let query = client_canonical_query(req.params.iter().copied());
    let signature = context.signature(req, &query, &headers, &signed_headers, payload_sha256);
    SignedRequest {
        authorization: format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key, context.scope
        ),
        amz_date: context.amz_date,
        content_sha256: payload_sha256.to_owned(),
        signature,
    }
}

/// The query string of a presigned URL for `req`, valid `expires_secs` from `time`: `req`'s own
/// parameters plus the `X-Amz-*` ones, encoded. `req.headers` (at least `host`) are signed.
///
/// # Panics
/// If `time` is past the year 9999.
pub fn presign(
    creds: &Credentials<'_>,
    req: &RequestToSign<'_>,
    time: SystemTime,
    expires_secs: u64,
) -> String {
    let context = ClientContext::new(creds, time);
    let (headers, signed_headers) = client_canonical_headers(req.headers.iter().copied());
    let credential = format!("{}/{}", creds.access_key, context.scope);
    let expires = expires_secs.to_string();
    let added = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", credential.as_str()),
        ("X-Amz-Date", context.amz_date.as_str()),
        ("X-Amz-Expires", expires.as_str()),
        ("X-Amz-SignedHeaders", signed_headers.as_str()),
    ];
    let query = client_canonical_query(req.params.iter().copied().chain(added));
    let signature = context.signature(req, &query, &headers, &signed_headers, UNSIGNED_PAYLOAD);
    format!("{query}&X-Amz-Signature={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{at, body_in_pieces, read_body, Head, OneKey};
    use futures_util::StreamExt;

    // AWS's published S3 SigV4 examples ("Examples: Signature Calculations in AWS Signature
    // Version 4", sig-v4-header-based-auth and sigv4-query-string-auth).
    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const KEYS: OneKey = OneKey {
        access_key: AK,
        secret_key: SK,
    };
    const CREDS: Credentials<'static> = Credentials {
        access_key: AK,
        secret_key: SK,
        region: "us-east-1",
    };
    const HOST: &str = "examplebucket.s3.amazonaws.com";
    /// 20130524T000000Z.
    const NOW: u64 = 1_369_353_600;
    const AMZ_DATE: &str = "20130524T000000Z";
    const PUT_BODY: &[u8] = b"Welcome to Amazon S3.";
    const PUT_BODY_SHA256: &str =
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";

    fn authorization(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders={signed_headers}, Signature={signature}"
        )
    }

    /// A published example: wire URI, headers (without Authorization), the decoded request for
    /// the client helpers, signed headers, payload hash and signature.
    struct Example {
        uri: &'static str,
        method: &'static str,
        path: &'static str,
        params: &'static [(&'static str, &'static str)],
        headers: &'static [(&'static str, &'static str)],
        signed_headers: &'static str,
        payload: &'static str,
        signature: &'static str,
    }

    const EXAMPLES: [Example; 4] = [
        Example {
            uri: "/test.txt",
            method: "GET",
            path: "/test.txt",
            params: &[],
            headers: &[("host", HOST), ("range", "bytes=0-9")],
            signed_headers: "host;range;x-amz-content-sha256;x-amz-date",
            payload: EMPTY_SHA256,
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        },
        Example {
            uri: "/test%24file.text",
            method: "PUT",
            path: "/test$file.text",
            params: &[],
            headers: &[
                ("host", HOST),
                ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ],
            signed_headers: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            payload: PUT_BODY_SHA256,
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        },
        Example {
            uri: "/?lifecycle",
            method: "GET",
            path: "/",
            params: &[("lifecycle", "")],
            headers: &[("host", HOST)],
            signed_headers: "host;x-amz-content-sha256;x-amz-date",
            payload: EMPTY_SHA256,
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        },
        Example {
            uri: "/?max-keys=2&prefix=J",
            method: "GET",
            path: "/",
            params: &[("max-keys", "2"), ("prefix", "J")],
            headers: &[("host", HOST)],
            signed_headers: "host;x-amz-content-sha256;x-amz-date",
            payload: EMPTY_SHA256,
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        },
    ];

    const PRESIGNED_SIGNATURE: &str =
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    const PRESIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host";

    impl Example {
        fn head(&self, authorization: &str) -> Head {
            let mut headers = self.headers.to_vec();
            headers.extend([
                ("x-amz-date", AMZ_DATE),
                ("x-amz-content-sha256", self.payload),
                ("authorization", leak(authorization.to_owned())),
            ]);
            Head::new(self.method, self.uri, &headers)
        }

        fn request(&self) -> RequestToSign<'static> {
            RequestToSign {
                method: self.method,
                path: self.path,
                params: self.params,
                headers: self.headers,
            }
        }
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn code(result: ApiResult<Authenticated>) -> ErrorCode {
        result.expect_err("authentication should fail").code
    }

    #[test]
    fn aws_header_examples_verify() {
        for example in &EXAMPLES {
            let head = example.head(&authorization(example.signed_headers, example.signature));
            let ok = head
                .authenticate(&KEYS, NOW)
                .unwrap_or_else(|e| panic!("{}: {e}", example.uri));
            assert_eq!(
                ok.principal,
                Principal::Account {
                    account: "1250000000".into(),
                    access_key: AK.into(),
                    scope: None
                }
            );
            let expected = <[u8; 32]>::try_from(hex::decode(example.payload).unwrap()).unwrap();
            assert!(
                matches!(ok.body, BodyCheck::Sha256(h) if h == expected),
                "{}",
                example.uri
            );
        }
    }

    #[test]
    fn aws_header_examples_verify_without_spaces_after_commas() {
        let example = &EXAMPLES[0];
        let auth = authorization(example.signed_headers, example.signature).replace(", ", ",");
        example
            .head(&auth)
            .authenticate(&KEYS, NOW)
            .expect("commas without spaces");
    }

    #[test]
    fn sign_request_reproduces_the_aws_examples() {
        for example in &EXAMPLES {
            let signed = sign_request(&CREDS, &example.request(), example.payload, at(NOW));
            assert_eq!(signed.signature, example.signature, "{}", example.uri);
            assert_eq!(
                signed.authorization,
                authorization(example.signed_headers, example.signature)
            );
            assert_eq!(signed.amz_date, AMZ_DATE);
            assert_eq!(signed.content_sha256, example.payload);
        }
    }

    #[test]
    fn aws_presigned_example_verifies_and_presign_reproduces_it() {
        let uri = format!("/test.txt?{PRESIGNED_QUERY}&X-Amz-Signature={PRESIGNED_SIGNATURE}");
        let head = Head::new("GET", &uri, &[("host", HOST)]);
        let ok = head
            .authenticate(&KEYS, NOW + 3600)
            .expect("presigned example verifies");
        assert!(matches!(ok.body, BodyCheck::None));

        let req = RequestToSign {
            method: "GET",
            path: "/test.txt",
            params: &[],
            headers: &[("host", HOST)],
        };
        assert_eq!(
            presign(&CREDS, &req, at(NOW), 86400),
            format!("{PRESIGNED_QUERY}&X-Amz-Signature={PRESIGNED_SIGNATURE}")
        );
    }

    #[tokio::test]
    async fn the_put_example_body_is_held_to_its_hash() {
        let example = &EXAMPLES[1];
        let head = example.head(&authorization(example.signed_headers, example.signature));
        let BodyCheck::Sha256(expected) = head.authenticate(&KEYS, NOW).unwrap().body else {
            panic!("a hex x-amz-content-sha256 asks for a SHA-256 check");
        };
        let body = verify_payload_sha256(body_in_pieces(PUT_BODY, [1, 5, 3]), expected);
        assert_eq!(read_body(body).await.unwrap(), PUT_BODY);
        let body = verify_payload_sha256(body_in_pieces(b"Welcome to Amazon S4.", [7]), expected);
        assert_eq!(
            read_body(body).await.unwrap_err().code,
            ErrorCode::XAmzContentSHA256Mismatch
        );
    }

    #[tokio::test]
    async fn a_mismatched_body_fails_instead_of_ending() {
        let mut body = verify_payload_sha256(body_in_pieces(b"abc", [1]), [0; 32]);
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"a");
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"bc");
        let err = body
            .next()
            .await
            .expect("an error, not the end")
            .unwrap_err();
        assert_eq!(
            ApiError::from_io(err).code,
            ErrorCode::XAmzContentSHA256Mismatch
        );
        assert!(body.next().await.is_none());
    }

    /// Signs `req` with `creds` at NOW, sends it as `wire_uri` with `sent` headers (plus the
    /// signature's), and authenticates at `now`.
    fn round_trip(
        creds: &Credentials<'_>,
        req: &RequestToSign<'_>,
        wire_uri: &str,
        sent: &[(&'static str, &'static str)],
        payload: &'static str,
        now: u64,
    ) -> ApiResult<Authenticated> {
        let signed = sign_request(creds, req, payload, at(NOW));
        let mut headers = sent.to_vec();
        headers.extend([
            ("x-amz-date", leak(signed.amz_date)),
            ("x-amz-content-sha256", payload),
            ("authorization", leak(signed.authorization)),
        ]);
        Head::new(req.method, wire_uri, &headers).authenticate(&KEYS, now)
    }

    const LOCAL: [(&str, &str); 2] = [
        ("host", "127.0.0.1:9000"),
        ("x-amz-meta-note", "  two   spaces  "),
    ];

    fn local_request() -> RequestToSign<'static> {
        RequestToSign {
            method: "PUT",
            path: "/bucket/dir/a b(1)",
            params: &[("tagging", ""), ("x", "1/2")],
            headers: &LOCAL,
        }
    }

    #[test]
    fn a_security_token_header_must_be_signed() {
        let req = local_request();
        let uri = "/bucket/dir/a%20b%281%29?tagging&x=1%2F2";
        let unsigned_token = [LOCAL[0], LOCAL[1], ("x-amz-security-token", "tok")];
        assert_eq!(
            code(round_trip(
                &CREDS,
                &req,
                uri,
                &unsigned_token,
                UNSIGNED_PAYLOAD,
                NOW
            )),
            ErrorCode::AuthorizationHeaderMalformed
        );
        let signed_headers = [LOCAL[0], LOCAL[1], ("x-amz-security-token", "tok")];
        let with_token = RequestToSign {
            headers: &signed_headers,
            ..req
        };
        round_trip(
            &CREDS,
            &with_token,
            uri,
            &signed_headers,
            UNSIGNED_PAYLOAD,
            NOW,
        )
        .expect("a signed token header verifies");
    }

    #[test]
    fn round_trip_verifies_and_tampering_fails() {
        let req = local_request();
        let creds = Credentials {
            region: "ap-beijing",
            ..CREDS
        };
        let uri = "/bucket/dir/a%20b%281%29?tagging&x=1%2F2";
        round_trip(&creds, &req, uri, &LOCAL, UNSIGNED_PAYLOAD, NOW).expect("round trip");
        round_trip(
            &creds,
            &req,
            "/bucket/dir/a%20b(1)?x=1/2&tagging=",
            &LOCAL,
            UNSIGNED_PAYLOAD,
            NOW,
        )
        .expect("another encoding of the same request");
        let collapsed = [LOCAL[0], ("x-amz-meta-note", "two spaces")];
        round_trip(&creds, &req, uri, &collapsed, UNSIGNED_PAYLOAD, NOW).expect("blanks collapse");

        let mismatch = |uri: &str, sent: &[(&'static str, &'static str)]| {
            code(round_trip(&creds, &req, uri, sent, UNSIGNED_PAYLOAD, NOW))
        };
        assert_eq!(
            mismatch("/bucket/dir/a%20b%281%29x?tagging&x=1%2F2", &LOCAL),
            ErrorCode::SignatureDoesNotMatch
        );
        assert_eq!(
            mismatch("/bucket/dir/a%20b%281%29?tagging&x=1%2F3", &LOCAL),
            ErrorCode::SignatureDoesNotMatch
        );
        assert_eq!(
            mismatch("/bucket/dir/a%20b%281%29?tagging&x=1%2F2&y", &LOCAL),
            ErrorCode::SignatureDoesNotMatch
        );
        let other_host = [("host", "127.0.0.1:9001"), LOCAL[1]];
        assert_eq!(mismatch(uri, &other_host), ErrorCode::SignatureDoesNotMatch);
        let no_port = [("host", "127.0.0.1"), LOCAL[1]];
        assert_eq!(mismatch(uri, &no_port), ErrorCode::SignatureDoesNotMatch);
        assert_eq!(mismatch(uri, &LOCAL[..1]), ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn keys_dates_and_scopes_are_checked() {
        let req = local_request();
        let uri = "/bucket/dir/a%20b%281%29?tagging&x=1%2F2";
        let unknown = Credentials {
            access_key: "AKIAUNKNOWN",
            ..CREDS
        };
        assert_eq!(
            code(round_trip(
                &unknown,
                &req,
                uri,
                &LOCAL,
                UNSIGNED_PAYLOAD,
                NOW
            )),
            ErrorCode::InvalidAccessKeyId
        );
        round_trip(
            &CREDS,
            &req,
            uri,
            &LOCAL,
            UNSIGNED_PAYLOAD,
            NOW + MAX_CLOCK_SKEW_SECS,
        )
        .expect("skew edge");
        assert_eq!(
            code(round_trip(
                &CREDS,
                &req,
                uri,
                &LOCAL,
                UNSIGNED_PAYLOAD,
                NOW + MAX_CLOCK_SKEW_SECS + 1
            )),
            ErrorCode::RequestTimeTooSkewed
        );
        assert_eq!(
            code(round_trip(
                &CREDS,
                &req,
                uri,
                &LOCAL,
                UNSIGNED_PAYLOAD,
                NOW - MAX_CLOCK_SKEW_SECS - 1
            )),
            ErrorCode::RequestTimeTooSkewed
        );

        let example = &EXAMPLES[0];
        let good = authorization(example.signed_headers, example.signature);
        for (i, bad) in [
            good.replace("/20130524/", "/20130525/"),
            good.replace("/s3/", "/ec2/"),
            good.replace("aws4_request", "aws5_request"),
            good.replace("SignedHeaders=host;", "SignedHeaders="),
            good.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256"),
            good.replace(", Signature=", ", Signature=a, Signature="),
            good.replace("Credential=", "Credentials="),
            good.replace(", Signature=", ", Signature"),
            format!("{good}, {}", "a".repeat(MAX_AUTHORIZATION_LEN)),
            good.replace(
                "SignedHeaders=",
                &format!("SignedHeaders={}", "a;".repeat(MAX_SIGNED_NAMES)),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let err = example
                .head(&bad)
                .authenticate(&KEYS, NOW)
                .expect_err(&format!("case {i}"));
            assert_eq!(
                err.code,
                ErrorCode::AuthorizationHeaderMalformed,
                "case {i}: {}",
                err.message
            );
        }
        let head = Head::new(
            "GET",
            "/test.txt",
            &[("host", HOST), ("authorization", leak(good))],
        );
        assert_eq!(
            code(head.authenticate(&KEYS, NOW)),
            ErrorCode::AccessDenied,
            "no date at all"
        );
    }

    #[test]
    fn odd_signed_header_names_are_just_absent() {
        let example = &EXAMPLES[0];
        for names in ["host;bad name;range", "host;a\"b;range", "host;(x);range"] {
            let auth = authorization(names, example.signature);
            let err = example
                .head(&auth)
                .authenticate(&KEYS, NOW)
                .expect_err(names);
            assert_eq!(err.code, ErrorCode::SignatureDoesNotMatch, "{names}");
        }
    }

    #[test]
    fn date_header_stands_in_for_x_amz_date() {
        let mut headers = http::HeaderMap::new();
        headers.insert("date", "Fri, 24 May 2013 00:00:00 GMT".parse().unwrap());
        assert_eq!(
            request_time(&headers).unwrap(),
            (AMZ_DATE.to_owned(), NOW as i64)
        );
        headers.insert("x-amz-date", "20130524T000001Z".parse().unwrap());
        assert_eq!(
            request_time(&headers).unwrap(),
            ("20130524T000001Z".to_owned(), NOW as i64 + 1)
        );
        headers.insert("x-amz-date", "2013-05-24".parse().unwrap());
        assert_eq!(
            request_time(&headers).unwrap_err().code,
            ErrorCode::AccessDenied
        );
    }

    #[test]
    fn payload_hash_decides_the_body_check() {
        let req = RequestToSign {
            method: "PUT",
            path: "/b/k",
            params: &[],
            headers: &[("host", "h")],
        };
        let check = |payload: &'static str| {
            round_trip(&CREDS, &req, "/b/k", &[("host", "h")], payload, NOW)
        };
        assert!(matches!(
            check(UNSIGNED_PAYLOAD).unwrap().body,
            BodyCheck::None
        ));
        assert!(matches!(
            check(PUT_BODY_SHA256).unwrap().body,
            BodyCheck::Sha256(_)
        ));
        for streaming in [
            STREAMING_PAYLOAD,
            STREAMING_PAYLOAD_TRAILER,
            STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        ] {
            assert!(
                matches!(check(streaming).unwrap().body, BodyCheck::Chunked(_)),
                "{streaming}"
            );
        }
        for bad in ["STREAMING-SOMETHING", "abc", &PUT_BODY_SHA256[1..], "zz"] {
            assert_eq!(
                code(check(leak(bad.to_owned()))),
                ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_missing_payload_hash_means_an_empty_body() {
        let req = RequestToSign {
            method: "GET",
            path: "/b/k",
            params: &[],
            headers: &[("host", "h")],
        };
        let signed = sign_request(&CREDS, &req, EMPTY_SHA256, at(NOW));
        // The client's own headers, minus x-amz-content-sha256, and not signing it either.
        let auth = signed.authorization.replace(";x-amz-content-sha256", "");
        let canonical = canonical_request(
            "GET",
            "/b/k",
            "",
            b"host:h\nx-amz-date:20130524T000000Z\n",
            "host;x-amz-date",
            EMPTY_SHA256,
        );
        let key = signing_key(SK, "20130524", "us-east-1");
        let signature = hex::encode(hmac_sha256(
            &key,
            string_to_sign(AMZ_DATE, "20130524/us-east-1/s3/aws4_request", &canonical).as_bytes(),
        ));
        let auth = leak(auth.replace(&signed.signature, &signature));
        let head = Head::new(
            "GET",
            "/b/k",
            &[
                ("host", "h"),
                ("x-amz-date", AMZ_DATE),
                ("authorization", auth),
            ],
        );
        let body = head.authenticate(&KEYS, NOW).expect("verifies").body;
        let empty: [u8; 32] = hex::decode(EMPTY_SHA256).unwrap().try_into().unwrap();
        assert!(matches!(body, BodyCheck::Sha256(h) if h == empty));
    }

    #[test]
    fn presigned_round_trip_and_window() {
        let req = RequestToSign {
            method: "GET",
            path: "/bucket/k y",
            params: &[("response-content-type", "text/plain")],
            headers: &[("host", "localhost:9000")],
        };
        let query = presign(&CREDS, &req, at(NOW), 600);
        let head = Head::new(
            "GET",
            &format!("/bucket/k%20y?{query}"),
            &[("host", "localhost:9000")],
        );
        head.authenticate(&KEYS, NOW + 600)
            .expect("valid to the end");
        assert_eq!(
            code(head.authenticate(&KEYS, NOW + 601)),
            ErrorCode::RequestExpired
        );
        head.authenticate(&KEYS, NOW - MAX_CLOCK_SKEW_SECS)
            .expect("future within the skew");
        let early = head
            .authenticate(&KEYS, NOW - MAX_CLOCK_SKEW_SECS - 1)
            .expect_err("too early");
        assert_eq!(early.code, ErrorCode::AccessDenied);
        assert!(early.message.contains("not valid yet"));

        let tampered = Head::new(
            "GET",
            &format!(
                "/bucket/k%20y?{}",
                query.replace("text%2Fplain", "text%2Fhtml")
            ),
            &[("host", "localhost:9000")],
        );
        assert_eq!(
            code(tampered.authenticate(&KEYS, NOW)),
            ErrorCode::SignatureDoesNotMatch
        );
        let unknown = presign(
            &Credentials {
                access_key: "nobody",
                ..CREDS
            },
            &req,
            at(NOW),
            600,
        );
        let head = Head::new(
            "GET",
            &format!("/bucket/k%20y?{unknown}"),
            &[("host", "localhost:9000")],
        );
        assert_eq!(
            code(head.authenticate(&KEYS, NOW)),
            ErrorCode::InvalidAccessKeyId
        );
    }

    #[test]
    fn malformed_presigned_urls_are_invalid_arguments() {
        let good = format!("{PRESIGNED_QUERY}&X-Amz-Signature={PRESIGNED_SIGNATURE}");
        for (i, bad) in [
            good.replace("X-Amz-Expires=86400", "X-Amz-Expires=0"),
            good.replace("X-Amz-Expires=86400", "X-Amz-Expires=604801"),
            good.replace("X-Amz-Expires=86400&", ""),
            good.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
            good.replace("X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130525T000000Z"),
            good.replace("X-Amz-Date=20130524T000000Z", "X-Amz-Date=yesterday"),
            good.replace("%2Fs3%2F", "%2Fsqs%2F"),
            good.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range"),
            format!("{good}&X-Amz-Signature={PRESIGNED_SIGNATURE}"),
        ]
        .into_iter()
        .enumerate()
        {
            let head = Head::new("GET", &format!("/test.txt?{bad}"), &[("host", HOST)]);
            let err = head
                .authenticate(&KEYS, NOW)
                .expect_err(&format!("case {i}"));
            assert_eq!(
                err.code,
                ErrorCode::InvalidArgument,
                "case {i}: {}",
                err.message
            );
        }
    }

    #[test]
    fn query_signature_detection() {
        assert!(has_query_signature(PRESIGNED_QUERY));
        assert!(has_query_signature("X-Amz-Signature=abc"));
        assert!(!has_query_signature("X-Amz-Date=20130524T000000Z&acl"));
        assert!(!has_query_signature(""));
    }
}
