//! COS signature v5 (`q-sign-algorithm=sha1`, cos-api.md §3): verification wherever the
//! signature travels — the `Authorization` header, the seven `q-*` query parameters of a
//! presigned URL, or the merged `sign=` parameter — and the matching client-side signing.
//!
//! The algorithm:
//! * SignKey = hex(HMAC-SHA1(SecretKey, KeyTime))
//! * HttpString = lower(method) `\n` decoded path `\n` HttpParameters `\n` HttpHeaders `\n`
//! * StringToSign = `sha1\n` KeyTime `\n` hex(SHA1(HttpString)) `\n`
//! * Signature = hex(HMAC-SHA1(SignKey as its hex text, StringToSign))
//!
//! KeyTime is `q-key-time`, as the GO SDK computes it (the other SDKs send equal sign and key
//! times). Since `q-sign-time` is then covered by no MAC, the validity window enforced is the
//! intersection of both ranges: editing `q-sign-time` cannot extend a captured signature.
//!
//! COS lets a signature leave query parameters out of `q-url-param-list`, and SDKs rely on it
//! for ordinary ones. But the sub-resource parameters the routing step dispatches on
//! ([`SUBRESOURCES`]: `acl`, `policy`, `cors`, `uploads`, `uploadId`, `partNumber`, `delete`,
//! `append`, `location`, `tagging`, …) choose the operation, so a request carrying one must have
//! signed it: otherwise a presigned GET URL would become GET `?acl` or `?policy`, or a presigned
//! PUT an Upload Part, by appending a parameter. Parameters that only shape the answer of the
//! same operation (`list-type`, `prefix`, `position`, `response-*`, …) may still be unsigned:
//! authorization sees their values as sent.

use super::primitives::{
    decode, decode_query, decode_str, encode, header_str, join_sorted_pairs, mac, mac_matches_hex,
    raw_query_pairs, request_host, unix_secs, HmacSha1, MAX_AUTHORIZATION_LEN, MAX_SIGNED_NAMES,
};
use super::{
    Authenticated, BodyCheck, Keyring, Principal, RequestHead, RequestToSign, MAX_CLOCK_SKEW_SECS,
};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::route::SUBRESOURCES;
use hmac::Mac;
use sha1::{Digest, Sha1};
use std::borrow::Cow;
use std::iter;
use std::time::SystemTime;

/// The only `q-sign-algorithm` COS defines.
const ALGORITHM: &str = "sha1";

/// The fields of an authorization string, in the order SDKs write them. They are also the query
/// parameters of a presigned URL, and as such never part of the signed parameters.
const FIELDS: [&str; 7] = [
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
];

/// The query parameter of the merged form: the whole authorization string, URL-encoded.
const MERGED_PARAM: &str = "sign";

/// Where the signature was found, which decides how a malformed one is reported.
#[derive(Debug, Clone, Copy)]
enum Form {
    Header,
    Query,
}

impl Form {
    fn malformed(self, what: impl std::fmt::Display) -> ApiError {
        match self {
            Form::Header => ApiError::with_message(
                ErrorCode::AuthorizationHeaderMalformed,
                format!("The authorization header is malformed: {what}."),
            ),
            Form::Query => ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("The query-string signature is malformed: {what}."),
            ),
        }
    }
}

/// A parsed authorization string.
#[derive(Debug)]
struct Authorization {
    access_key: String,
    sign_time: (u64, u64),
    /// `q-key-time` exactly as sent: it is signed as text.
    key_time: String,
    key_range: (u64, u64),
    /// Encoded, lower-cased names; sorted and de-duplicated for lookup.
    header_list: Vec<String>,
    param_list: Vec<String>,
    signature: String,
}

/// Verifies a COS signature carried in the `Authorization` header.
pub fn verify_header(
    head: &RequestHead<'_>,
    authorization: &str,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    let auth = parse_merged(authorization, Form::Header)?;
    verify(head, &auth, keys, now)
}

/// Whether a query string carries a COS signature: any `q-*` field, or a `sign=` parameter
/// holding an authorization string. A partial signature counts, so that it is rejected as
/// malformed rather than served as an anonymous request.
pub fn has_query_signature(query: &str) -> bool {
    raw_query_pairs(query).any(|(key, value)| {
        let key = decode_str(key);
        FIELDS.contains(&&*key) || (key == MERGED_PARAM && is_merged_signature(value))
    })
}

/// Verifies a presigned COS URL: the `q-*` query parameters (values percent-decoded, either hex
/// case), or else the merged `sign=` parameter.
pub fn verify_query(
    head: &RequestHead<'_>,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    let query = head.uri.query().unwrap_or("");
    let split_form = raw_query_pairs(query).any(|(key, _)| FIELDS.contains(&&*decode_str(key)));
    let auth = if split_form {
        let fields = raw_query_pairs(query).map(|(k, v)| (decode_str(k), decode_str(v)));
        parse_fields(fields, Form::Query)?
    } else {
        let merged = raw_query_pairs(query)
            .find(|(key, value)| decode_str(key) == MERGED_PARAM && is_merged_signature(value))
            .map(|(_, value)| decode_str(value))
            .ok_or_else(|| Form::Query.malformed("no q-sign-algorithm or sign parameter"))?;
        parse_merged(&merged, Form::Query)?
    };
    verify(head, &auth, keys, now)
}

fn is_merged_signature(raw_value: &str) -> bool {
    decode_str(raw_value).starts_with("q-sign-algorithm=")
}

/// Parses the `&`-joined authorization string (header form, and the decoded `sign=` value).
fn parse_merged(authorization: &str, form: Form) -> ApiResult<Authorization> {
    if authorization.len() > MAX_AUTHORIZATION_LEN {
        return Err(form.malformed(format_args!("longer than {MAX_AUTHORIZATION_LEN} bytes")));
    }
    let fields = authorization.split('&').map(|field| {
        let (key, value) = field.split_once('=').unwrap_or((field, ""));
        (Cow::Borrowed(key), Cow::Borrowed(value))
    });
    parse_fields(fields, form)
}

/// Picks the seven fields out of `(key, value)` pairs; other keys are ignored, so the unsigned
/// extras some SDKs append to presigned URLs (`x-cos-security-token`, `clientIP`, …) pass.
fn parse_fields<'a>(
    pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    form: Form,
) -> ApiResult<Authorization> {
    let mut values: [Option<Cow<'a, str>>; 7] = Default::default();
    for (key, value) in pairs {
        if let Some(i) = FIELDS.iter().position(|field| *field == key) {
            if values[i].replace(value).is_some() {
                return Err(form.malformed(format_args!("{key} appears twice")));
            }
        }
    }
    let [algorithm, access_key, sign_time, key_time, header_list, param_list, signature] = values;
    let required = |value: Option<Cow<'a, str>>, field: &str| {
        value.ok_or_else(|| form.malformed(format_args!("{field} is missing")))
    };
    let algorithm = required(algorithm, "q-sign-algorithm")?;
    if algorithm != ALGORITHM {
        return Err(form.malformed(format_args!("q-sign-algorithm must be {ALGORITHM}")));
    }
    let access_key = required(access_key, "q-ak")?;
    if access_key.is_empty() {
        return Err(form.malformed("q-ak is empty"));
    }
    let sign_time = required(sign_time, "q-sign-time")?;
    let key_time = required(key_time, "q-key-time")?;
    Ok(Authorization {
        access_key: access_key.into_owned(),
        sign_time: parse_time_range(&sign_time)
            .ok_or_else(|| form.malformed("q-sign-time is not <start>;<end>"))?,
        key_range: parse_time_range(&key_time)
            .ok_or_else(|| form.malformed("q-key-time is not <start>;<end>"))?,
        key_time: key_time.into_owned(),
        header_list: parse_name_list(&required(header_list, "q-header-list")?)
            .ok_or_else(|| form.malformed("q-header-list names too many headers"))?,
        param_list: parse_name_list(&required(param_list, "q-url-param-list")?)
            .ok_or_else(|| form.malformed("q-url-param-list names too many parameters"))?,
        signature: required(signature, "q-signature")?.into_owned(),
    })
}

/// `<start>;<end>` in Unix seconds.
pub(super) fn parse_time_range(s: &str) -> Option<(u64, u64)> {
    let (start, end) = s.split_once(';')?;
    Some((start.parse().ok()?, end.parse().ok()?))
}

/// A `;`-joined list of encoded names, lower-cased, sorted and de-duplicated (the GO SDK repeats
/// a name once per value); `None` past [`MAX_SIGNED_NAMES`].
fn parse_name_list(list: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for name in list.split(';').filter(|name| !name.is_empty()) {
        if names.len() == MAX_SIGNED_NAMES {
            return None;
        }
        names.push(name.to_ascii_lowercase());
    }
    names.sort_unstable();
    names.dedup();
    Some(names)
}

fn verify(
    head: &RequestHead<'_>,
    auth: &Authorization,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    let secret = super::lookup(keys, head, &auth.access_key, now)?;
    check_time(head, auth, unix_secs(now))?;

    let path = decode(head.uri.path());
    let mut params = signed_params(head.uri.query().unwrap_or(""), &auth.param_list);
    let params = join_sorted_pairs(&mut params);
    // SDKs disagree on whether the signed host carries the port: accept either.
    let sent_host = request_host(head).unwrap_or_default();
    let mut hosts: Vec<&[u8]> = iter::once(sent_host).chain(strip_port(sent_host)).collect();
    if !auth.header_list.iter().any(|name| name == "host") {
        hosts.truncate(1);
    }
    let matches = hosts.into_iter().any(|host| {
        let mut headers = signed_headers(head, &auth.header_list, host);
        let http = http_string(
            head.method.as_str(),
            &path,
            &params,
            &join_sorted_pairs(&mut headers),
        );
        mac_matches_hex(
            signature_mac(&secret.secret_key, &auth.key_time, &http),
            &auth.signature,
        )
    });
    if !matches {
        return Err(ApiError::new(ErrorCode::SignatureDoesNotMatch));
    }
    check_operation_signed(head.uri.query().unwrap_or(""), &auth.param_list)?;
    Ok(Authenticated {
        principal: Principal::Account {
            account: secret.account,
            access_key: auth.access_key.clone(),
            scope: secret.scope,
        },
        body: BodyCheck::None,
    })
}

/// The validity window is where `q-sign-time` and `q-key-time` overlap (see the module doc);
/// a `Date` header, if the client sent one, must also be near our clock.
fn check_time(head: &RequestHead<'_>, auth: &Authorization, now: u64) -> ApiResult<()> {
    let start = auth.sign_time.0.max(auth.key_range.0);
    let end = auth.sign_time.1.min(auth.key_range.1);
    check_window(start, end, now, "q-sign-time")?;
    let date = header_str(head.headers, "date").and_then(|d| httpdate::parse_http_date(d).ok());
    if let Some(date) = date {
        if unix_secs(date).abs_diff(now) > MAX_CLOCK_SKEW_SECS {
            return Err(ApiError::new(ErrorCode::RequestTimeTooSkewed));
        }
    }
    Ok(())
}

/// Refuses a signature used outside its validity window `start..=end` (Unix seconds); the start
/// may be up to [`MAX_CLOCK_SKEW_SECS`] ahead of our clock. `field` names the window's source.
pub(super) fn check_window(start: u64, end: u64, now: u64, field: &str) -> ApiResult<()> {
    if now > end {
        return Err(ApiError::new(ErrorCode::RequestExpired));
    }
    if start > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(ApiError::with_message(
            ErrorCode::AccessDenied,
            format!("Request is not valid yet: its {field} starts in the future."),
        ));
    }
    Ok(())
}

/// Refuses a request carrying a sub-resource parameter its signature does not cover (see the
/// module doc).
fn check_operation_signed(query: &str, param_list: &[String]) -> ApiResult<()> {
    for (key, _) in raw_query_pairs(query) {
        let key = decode_query(key);
        let Some(name) = SUBRESOURCES.iter().find(|s| s.as_bytes() == key) else {
            continue;
        };
        if param_list.binary_search(&signed_name(&key)).is_err() {
            return Err(ApiError::with_message(
                ErrorCode::AccessDenied,
                format!(
                    "The signature does not cover the query parameter {name}, which selects the \
                     operation: list it in q-url-param-list."
                ),
            ));
        }
    }
    Ok(())
}

/// The request's own query parameters whose encoded names are in `list`, encoded for signing.
/// A listed parameter that was not sent is left out, so the signature fails: dropping `?acl`
/// must not turn a signed GetObjectAcl into a GetObject.
fn signed_params(query: &str, list: &[String]) -> Vec<(String, String)> {
    raw_query_pairs(query)
        .filter_map(|(key, value)| {
            let key = signed_name(&decode_query(key));
            if FIELDS.contains(&key.as_str()) || key == MERGED_PARAM {
                return None;
            }
            list.binary_search(&key).ok()?;
            Some((key, encode(&decode_query(value))))
        })
        .collect()
}

/// The request's headers named in `list`, encoded for signing, with `host` as given. A listed
/// header that was not sent counts as empty.
fn signed_headers(head: &RequestHead<'_>, list: &[String], host: &[u8]) -> Vec<(String, String)> {
    let mut seen = vec![false; list.len()];
    let mut pairs = Vec::new();
    for (name, value) in head.headers {
        if name == http::header::HOST {
            continue;
        }
        let key = signed_name(name.as_str().as_bytes());
        if let Ok(i) = list.binary_search(&key) {
            seen[i] = true;
            pairs.push((key, encode(value.as_bytes())));
        }
    }
    for (name, seen) in list.iter().zip(seen) {
        if name == "host" {
            pairs.push((name.clone(), encode(host)));
        } else if !seen {
            pairs.push((name.clone(), String::new()));
        }
    }
    pairs
}

/// A parameter or header name as COS signs it: encoded, then lower-cased.
fn signed_name(name: &[u8]) -> String {
    encode(name).to_ascii_lowercase()
}

/// `host` without a trailing `:port`, if it has one (`[::1]:80` → `[::1]`; a bare IPv6
/// address has no port to strip).
fn strip_port(host: &[u8]) -> Option<&[u8]> {
    let colon = host.iter().rposition(|&b| b == b':')?;
    let (name, port) = (&host[..colon], &host[colon + 1..]);
    let bare_ipv6 = name.contains(&b':') && !name.ends_with(b"]");
    (!port.is_empty() && port.iter().all(u8::is_ascii_digit) && !bare_ipv6).then_some(name)
}

fn http_string(method: &str, path: &[u8], params: &str, headers: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(method.len() + path.len() + params.len() + headers.len() + 4);
    out.extend_from_slice(method.to_ascii_lowercase().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(path);
    out.push(b'\n');
    out.extend_from_slice(params.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(headers.as_bytes());
    out.push(b'\n');
    out
}

/// SignKey: the hex HMAC-SHA1 of KeyTime under the secret key (its hex text keys the signature).
pub(super) fn sign_key(secret_key: &str, key_time: &str) -> String {
    hex::encode(
        mac::<HmacSha1>(secret_key.as_bytes(), &[key_time.as_bytes()])
            .finalize()
            .into_bytes(),
    )
}

fn string_to_sign(key_time: &str, http_string: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{key_time}\n{}\n",
        hex::encode(Sha1::digest(http_string))
    )
}

/// The MAC whose hex is the signature. The key is SignKey's hex *text*, as COS defines it.
fn signature_mac(secret_key: &str, key_time: &str, http_string: &[u8]) -> HmacSha1 {
    let key = sign_key(secret_key, key_time);
    mac(
        key.as_bytes(),
        &[string_to_sign(key_time, http_string).as_bytes()],
    )
}

/// Signs a request as COS SDKs do and returns the `Authorization` value. Every parameter and
/// header in `req` is signed; `q-sign-time` and `q-key-time` are both `<start>;<end>`.
pub fn sign(
    secret_id: &str,
    secret_key: &str,
    req: &RequestToSign<'_>,
    start: u64,
    end: u64,
) -> String {
    signature_fields(secret_id, secret_key, req, start, end)
        .map(|(k, v)| format!("{k}={v}"))
        .join("&")
}

/// The query string of a presigned URL for `req`: its own parameters, then the seven `q-*`
/// fields, all URL-encoded. Append it to the encoded path after `?`.
pub fn presign_query(
    secret_id: &str,
    secret_key: &str,
    req: &RequestToSign<'_>,
    start: u64,
    end: u64,
) -> String {
    let own = req
        .params
        .iter()
        .map(|(k, v)| (encode(k.as_bytes()), encode(v.as_bytes())));
    let fields = signature_fields(secret_id, secret_key, req, start, end)
        .map(|(k, v)| (k.to_owned(), encode(v.as_bytes())));
    let joined: Vec<String> = own.chain(fields).map(|(k, v)| format!("{k}={v}")).collect();
    joined.join("&")
}

/// The seven `(field, value)` pairs of the authorization string for `req`.
fn signature_fields(
    secret_id: &str,
    secret_key: &str,
    req: &RequestToSign<'_>,
    start: u64,
    end: u64,
) -> [(&'static str, String); 7] {
    let time = format!("{start};{end}");
    let encode_pairs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (signed_name(k.as_bytes()), encode(v.as_bytes())))
            .collect()
    };
    let mut params = encode_pairs(req.params);
    let mut headers = encode_pairs(req.headers);
    let http = http_string(
        req.method,
        req.path.as_bytes(),
        &join_sorted_pairs(&mut params),
        &join_sorted_pairs(&mut headers),
    );
    let signature = hex::encode(
        signature_mac(secret_key, &time, &http)
            .finalize()
            .into_bytes(),
    );
    let name_list = |pairs: &[(String, String)]| {
        let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        names.dedup();
        names.join(";")
    };
    [
        ("q-sign-algorithm", ALGORITHM.to_owned()),
        ("q-ak", secret_id.to_owned()),
        ("q-sign-time", time.clone()),
        ("q-key-time", time),
        ("q-header-list", name_list(&headers)),
        ("q-url-param-list", name_list(&params)),
        ("q-signature", signature),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{Head, OneKey};

    // The Tencent test vectors, cos-api.md §3.3.
    const AK: &str = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q";
    const SK: &str = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz";
    const KEYS: OneKey = OneKey {
        access_key: AK,
        secret_key: SK,
    };
    const HOST: &str = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com";
    const PATH: &str = "/exampleobject(腾讯云)";
    const WIRE_PATH: &str = "/exampleobject(%E8%85%BE%E8%AE%AF%E4%BA%91)";

    const PUT_TIME: &str = "1557989151;1557996351";
    const PUT_START: u64 = 1557989151;
    const PUT_HEADERS: [(&str, &str); 7] = [
        ("Content-Length", "13"),
        ("Content-MD5", "mQ/fVh815F3k6TAUm8m0eg=="),
        ("Content-Type", "text/plain"),
        ("Date", "Thu, 16 May 2019 06:45:51 GMT"),
        ("Host", HOST),
        ("x-cos-acl", "private"),
        ("x-cos-grant-read", "uin=\"100000000011\""),
    ];
    const PUT_HEADER_LIST: &str =
        "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read";
    const PUT_SIGNATURE: &str = "3b8851a11a569213c17ba8fa7dcf2abec6935172";

    const GET_TIME: &str = "1557989753;1557996953";
    const GET_START: u64 = 1557989753;
    const GET_PARAMS: [(&str, &str); 2] = [
        ("response-content-type", "application/octet-stream"),
        ("response-cache-control", "max-age=600"),
    ];
    const GET_WIRE_QUERY: &str =
        "response-content-type=application%2Foctet-stream&response-cache-control=max-age%3D600";
    const GET_HEADERS: [(&str, &str); 2] =
        [("Date", "Thu, 16 May 2019 06:55:53 GMT"), ("Host", HOST)];
    const GET_SIGNATURE: &str = "01681b8c9d798a678e43b685a9f1bba0f6c0e012";

    fn put_request() -> RequestToSign<'static> {
        RequestToSign {
            method: "PUT",
            path: PATH,
            params: &[],
            headers: &PUT_HEADERS,
        }
    }

    fn get_request() -> RequestToSign<'static> {
        RequestToSign {
            method: "GET",
            path: PATH,
            params: &GET_PARAMS,
            headers: &GET_HEADERS,
        }
    }

    fn authorization(time: &str, headers: &str, params: &str, signature: &str) -> String {
        format!(
            "q-sign-algorithm=sha1&q-ak={AK}&q-sign-time={time}&q-key-time={time}\
             &q-header-list={headers}&q-url-param-list={params}&q-signature={signature}"
        )
    }

    fn put_authorization() -> String {
        authorization(PUT_TIME, PUT_HEADER_LIST, "", PUT_SIGNATURE)
    }

    fn with_auth(
        headers: &[(&'static str, &'static str)],
        auth: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        let mut all = headers.to_vec();
        all.push(("Authorization", auth));
        all
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn code(result: ApiResult<Authenticated>) -> ErrorCode {
        result.expect_err("authentication should fail").code
    }

    #[test]
    fn tencent_vector_put_sign_key_http_string_and_signature() {
        assert_eq!(
            sign_key(SK, PUT_TIME),
            "eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f"
        );
        let mut headers: Vec<(String, String)> = PUT_HEADERS
            .iter()
            .map(|(k, v)| (signed_name(k.as_bytes()), encode(v.as_bytes())))
            .collect();
        let headers = join_sorted_pairs(&mut headers);
        assert_eq!(
            headers,
            "content-length=13&content-md5=mQ%2FfVh815F3k6TAUm8m0eg%3D%3D&content-type=text%2Fplain\
             &date=Thu%2C%2016%20May%202019%2006%3A45%3A51%20GMT\
             &host=examplebucket-1250000000.cos.ap-beijing.myqcloud.com&x-cos-acl=private\
             &x-cos-grant-read=uin%3D%22100000000011%22"
        );
        let http = http_string("PUT", PATH.as_bytes(), "", &headers);
        assert_eq!(
            hex::encode(Sha1::digest(&http)),
            "8b2751e77f43a0995d6e9eb9477f4b685cca4172"
        );
        assert_eq!(
            sign(AK, SK, &put_request(), PUT_START, PUT_START + 7200),
            put_authorization()
        );
    }

    #[test]
    fn tencent_vector_get_sign_key_http_string_and_signature() {
        assert_eq!(
            sign_key(SK, GET_TIME),
            "937914bf490e9e8c189836aad2052e4feeb35eaf"
        );
        let http = http_string(
            "GET",
            PATH.as_bytes(),
            "response-cache-control=max-age%3D600&response-content-type=application%2Foctet-stream",
            &format!("date=Thu%2C%2016%20May%202019%2006%3A55%3A53%20GMT&host={HOST}"),
        );
        assert_eq!(
            hex::encode(Sha1::digest(&http)),
            "54ecfe22f59d3514fdc764b87a32d8133ea611e6"
        );
        assert_eq!(
            sign(AK, SK, &get_request(), GET_START, GET_START + 7200),
            authorization(
                GET_TIME,
                "date;host",
                "response-cache-control;response-content-type",
                GET_SIGNATURE
            )
        );
    }

    #[test]
    fn tencent_vector_put_verifies_in_the_header() {
        let auth = leak(put_authorization());
        let head = Head::new("PUT", WIRE_PATH, &with_auth(&PUT_HEADERS, auth));
        let ok = head
            .authenticate(&KEYS, PUT_START + 60)
            .expect("vector verifies");
        assert_eq!(
            ok.principal,
            Principal::Account {
                account: "1250000000".into(),
                access_key: AK.into(),
                scope: None
            }
        );
        assert!(matches!(ok.body, BodyCheck::None));
    }

    #[test]
    fn tencent_vector_get_verifies_as_a_presigned_url() {
        let uri = format!(
            "{WIRE_PATH}?{GET_WIRE_QUERY}&q-sign-algorithm=sha1&q-ak={AK}\
             &q-sign-time=1557989753%3B1557996953&q-key-time=1557989753%3B1557996953\
             &q-header-list=date%3Bhost&q-url-param-list=response-cache-control%3Bresponse-content-type\
             &q-signature={GET_SIGNATURE}"
        );
        let head = Head::new("GET", &uri, &GET_HEADERS);
        head.authenticate(&KEYS, GET_START + 60)
            .expect("query form verifies");
    }

    #[test]
    fn js_style_lower_case_escapes_and_unsigned_extras_verify() {
        // The JS SDK lower-cases escapes in the query and may append unsigned parameters.
        let uri = format!(
            "{WIRE_PATH}?{GET_WIRE_QUERY}&q-sign-algorithm=sha1&q-ak={AK}\
             &q-sign-time=1557989753%3b1557996953&q-key-time=1557989753%3b1557996953\
             &q-header-list=date%3bhost&q-url-param-list=response-cache-control%3bresponse-content-type\
             &q-signature={GET_SIGNATURE}&x-cos-security-token=abc&clientIP=1.2.3.4"
        );
        let head = Head::new("GET", &uri, &GET_HEADERS);
        head.authenticate(&KEYS, GET_START + 60)
            .expect("lower-case escapes verify");
    }

    #[test]
    fn merged_sign_parameter_verifies() {
        let auth = authorization(
            GET_TIME,
            "date;host",
            "response-cache-control;response-content-type",
            GET_SIGNATURE,
        );
        let uri = format!(
            "{WIRE_PATH}?{GET_WIRE_QUERY}&sign={}",
            encode(auth.as_bytes())
        );
        let head = Head::new("GET", &uri, &GET_HEADERS);
        head.authenticate(&KEYS, GET_START + 60)
            .expect("merged form verifies");
        let tampered = uri.replace("max-age%3D600", "max-age%3D601");
        let head = Head::new("GET", &tampered, &GET_HEADERS);
        assert_eq!(
            code(head.authenticate(&KEYS, GET_START + 60)),
            ErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn presign_query_round_trips() {
        let query = presign_query(AK, SK, &get_request(), GET_START, GET_START + 7200);
        assert!(query.starts_with(GET_WIRE_QUERY), "{query}");
        assert!(
            query.contains("&q-sign-time=1557989753%3B1557996953&"),
            "{query}"
        );
        assert!(
            query.ends_with(&format!("&q-signature={GET_SIGNATURE}")),
            "{query}"
        );
        let head = Head::new("GET", &format!("{WIRE_PATH}?{query}"), &GET_HEADERS);
        head.authenticate(&KEYS, GET_START + 60)
            .expect("presigned URL verifies");
    }

    /// Signs `req` for now, sends it with the given wire URI and headers, and authenticates.
    fn round_trip(
        req: &RequestToSign<'_>,
        wire_uri: &str,
        sent_headers: &[(&'static str, &'static str)],
        now: u64,
    ) -> ApiResult<Authenticated> {
        let auth = leak(sign(AK, SK, req, now - 1, now + 900));
        Head::new(req.method, wire_uri, &with_auth(sent_headers, auth)).authenticate(&KEYS, now)
    }

    const NOW: u64 = 1_700_000_000;
    const SIGNED_HEADERS: [(&str, &str); 3] = [
        ("host", "bucket-1250000000.cos.localhost:8080"),
        ("x-cos-meta-a", "1 2"),
        ("content-type", "text/plain"),
    ];

    fn acl_request() -> RequestToSign<'static> {
        RequestToSign {
            method: "PUT",
            path: "/dir/a b+c",
            params: &[("acl", ""), ("v", "x/y")],
            headers: &SIGNED_HEADERS,
        }
    }

    #[test]
    fn round_trip_verifies_and_tampering_fails() {
        let req = acl_request();
        let uri = "/dir/a%20b+c?acl&v=x%2Fy";
        round_trip(&req, uri, &SIGNED_HEADERS, NOW).expect("round trip verifies");
        // Another valid wire encoding of the same request.
        round_trip(&req, "/dir/a%20b%2Bc?acl=&v=x/y", &SIGNED_HEADERS, NOW).expect("same request");
        // Unsigned parameters and headers are not covered.
        let mut extra = SIGNED_HEADERS.to_vec();
        extra.push(("x-cos-security-token", "token"));
        round_trip(&req, "/dir/a%20b+c?acl&v=x%2Fy&unsigned=1", &extra, NOW).expect("extras pass");

        let mismatch = |uri: &str, headers: &[(&'static str, &'static str)]| {
            code(round_trip(&req, uri, headers, NOW))
        };
        assert_eq!(
            mismatch("/dir/a%20b+d?acl&v=x%2Fy", &SIGNED_HEADERS),
            ErrorCode::SignatureDoesNotMatch
        );
        assert_eq!(
            mismatch("/dir/a%20b+c?acl&v=x%2Fz", &SIGNED_HEADERS),
            ErrorCode::SignatureDoesNotMatch
        );
        assert_eq!(
            mismatch("/dir/a%20b+c?v=x%2Fy", &SIGNED_HEADERS),
            ErrorCode::SignatureDoesNotMatch
        );
        let mut tampered = SIGNED_HEADERS;
        tampered[1].1 = "1 3";
        assert_eq!(mismatch(uri, &tampered), ErrorCode::SignatureDoesNotMatch);
        assert_eq!(
            mismatch(uri, &SIGNED_HEADERS[..2]),
            ErrorCode::SignatureDoesNotMatch
        );
        let wrong_method = leak(sign(AK, SK, &acl_request(), NOW - 1, NOW + 900));
        let head = Head::new("GET", uri, &with_auth(&SIGNED_HEADERS, wrong_method));
        assert_eq!(
            code(head.authenticate(&KEYS, NOW)),
            ErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn an_appended_sub_resource_must_be_signed() {
        let get = RequestToSign {
            method: "GET",
            path: "/k",
            params: &[],
            headers: &[("host", "h")],
        };
        let query = presign_query(AK, SK, &get, NOW - 1, NOW + 900);
        let presigned = |extra: &str| {
            Head::new("GET", &format!("/k?{extra}{query}"), &[("host", "h")])
                .authenticate(&KEYS, NOW)
        };
        presigned("").expect("the presigned GET verifies");
        // Unsigned parameters that keep the operation still pass.
        presigned("response-content-type=text%2Fplain&list-type=2&prefix=a&")
            .expect("unsigned ordinary parameters pass");
        for appended in [
            "acl&",
            "policy=&",
            "cors&",
            "uploads&",
            "uploadId=1&partNumber=1&",
            "tagging&",
            "%61cl&",
            "response-content-type=x&acl&",
        ] {
            let err = presigned(appended).unwrap_err();
            assert_eq!(err.code, ErrorCode::AccessDenied, "{appended}");
            assert!(err.message.contains("q-url-param-list"), "{}", err.message);
        }
        // The same in the Authorization header: a signed header cannot be replayed on `?acl`.
        let auth = leak(sign(AK, SK, &get, NOW - 1, NOW + 900));
        let head = Head::new("GET", "/k?acl", &with_auth(&[("host", "h")], auth));
        assert_eq!(code(head.authenticate(&KEYS, NOW)), ErrorCode::AccessDenied);
        // A signature that covers the sub-resource verifies; the name is compared as COS signs
        // it (lower-cased), the value must match as for any signed parameter.
        let parts = RequestToSign {
            method: "PUT",
            path: "/k",
            params: &[("partNumber", "1"), ("uploadId", "u")],
            headers: &[("host", "h")],
        };
        let auth = leak(sign(AK, SK, &parts, NOW - 1, NOW + 900));
        let head = Head::new(
            "PUT",
            "/k?partNumber=1&uploadId=u",
            &with_auth(&[("host", "h")], auth),
        );
        head.authenticate(&KEYS, NOW)
            .expect("signed sub-resources verify");
    }

    #[test]
    fn a_listed_header_that_is_absent_counts_as_empty() {
        let signed = [("host", "h"), ("x-cos-meta-empty", "")];
        let req = RequestToSign {
            method: "GET",
            path: "/k",
            params: &[],
            headers: &signed,
        };
        round_trip(&req, "/k", &[("host", "h")], NOW).expect("absent = empty");
    }

    #[test]
    fn host_verifies_with_or_without_the_port() {
        let with_port = [("host", "b-1250000000.cos.localhost:8080")];
        let without_port = [("host", "b-1250000000.cos.localhost")];
        let signed_without = RequestToSign {
            method: "GET",
            path: "/k",
            params: &[],
            headers: &without_port,
        };
        let signed_with = RequestToSign {
            headers: &with_port,
            ..signed_without
        };
        round_trip(&signed_without, "/k", &with_port, NOW).expect("port stripped");
        round_trip(&signed_with, "/k", &with_port, NOW).expect("port as sent");
        round_trip(&signed_without, "/k", &without_port, NOW).expect("no port at all");
        assert_eq!(
            code(round_trip(&signed_with, "/k", &without_port, NOW)),
            ErrorCode::SignatureDoesNotMatch
        );
        let other = [("host", "other-1250000000.cos.localhost:8080")];
        assert_eq!(
            code(round_trip(&signed_without, "/k", &other, NOW)),
            ErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn port_stripping_handles_ipv6() {
        assert_eq!(strip_port(b"a.b:80"), Some(&b"a.b"[..]));
        assert_eq!(strip_port(b"[::1]:8080"), Some(&b"[::1]"[..]));
        assert_eq!(strip_port(b"[::1]"), None);
        assert_eq!(strip_port(b"::1"), None);
        assert_eq!(strip_port(b"a.b:"), None);
        assert_eq!(strip_port(b"a.b"), None);
    }

    #[test]
    fn unknown_key_is_invalid_access_key_id() {
        let auth = leak(put_authorization().replace(AK, "AKIDunknown"));
        let head = Head::new("PUT", WIRE_PATH, &with_auth(&PUT_HEADERS, auth));
        assert_eq!(
            code(head.authenticate(&KEYS, PUT_START + 60)),
            ErrorCode::InvalidAccessKeyId
        );
    }

    #[test]
    fn time_window_is_enforced() {
        let req = RequestToSign {
            method: "GET",
            path: "/k",
            params: &[],
            headers: &[("host", "h")],
        };
        let auth = leak(sign(AK, SK, &req, NOW, NOW + 600));
        let head = Head::new("GET", "/k", &[("host", "h"), ("authorization", auth)]);
        head.authenticate(&KEYS, NOW + 600)
            .expect("valid at the end");
        let expired = head.authenticate(&KEYS, NOW + 601).expect_err("expired");
        assert_eq!(
            (expired.code, expired.code.as_str()),
            (ErrorCode::RequestExpired, "AccessDenied")
        );
        assert_eq!(expired.message, "Request has expired");
        head.authenticate(&KEYS, NOW - MAX_CLOCK_SKEW_SECS)
            .expect("start within the skew");
        let early = head
            .authenticate(&KEYS, NOW - MAX_CLOCK_SKEW_SECS - 1)
            .expect_err("not yet valid");
        assert_eq!(early.code, ErrorCode::AccessDenied);
        assert!(early.message.contains("not valid yet"), "{}", early.message);
    }

    #[test]
    fn editing_the_unsigned_sign_time_does_not_extend_validity() {
        let req = RequestToSign {
            method: "GET",
            path: "/k",
            params: &[],
            headers: &[("host", "h")],
        };
        let auth = sign(AK, SK, &req, NOW, NOW + 600);
        let edited = leak(auth.replacen(
            &format!("q-sign-time={NOW};{}", NOW + 600),
            &format!("q-sign-time={NOW};{}", NOW + 999_999),
            1,
        ));
        let head = Head::new("GET", "/k", &[("host", "h"), ("authorization", edited)]);
        head.authenticate(&KEYS, NOW + 60)
            .expect("still verifies inside the key time");
        assert_eq!(
            code(head.authenticate(&KEYS, NOW + 601)),
            ErrorCode::RequestExpired
        );
    }

    #[test]
    fn a_skewed_date_header_is_rejected() {
        let skewed = [("host", "h"), ("date", "Tue, 14 Nov 2023 22:13:20 GMT")]; // NOW exactly
        let req = RequestToSign {
            method: "GET",
            path: "/k",
            params: &[],
            headers: &skewed,
        };
        round_trip(&req, "/k", &skewed, NOW + MAX_CLOCK_SKEW_SECS).expect("within the skew");
        assert_eq!(
            code(round_trip(
                &req,
                "/k",
                &skewed,
                NOW + MAX_CLOCK_SKEW_SECS + 1
            )),
            ErrorCode::RequestTimeTooSkewed
        );
    }

    #[test]
    fn malformed_authorization_is_reported() {
        let cases = [
            put_authorization().replace("q-sign-algorithm=sha1", "q-sign-algorithm=md5"),
            put_authorization().replace(&format!("&q-signature={PUT_SIGNATURE}"), ""),
            put_authorization().replace(PUT_TIME, "yesterday"),
            put_authorization().replace("q-ak=", "q-ak=&x="),
            format!("{}&q-ak={AK}", put_authorization()),
            "q-sign-algorithm=sha1".to_owned(),
            format!(
                "{}&x={}",
                put_authorization(),
                "a".repeat(MAX_AUTHORIZATION_LEN)
            ),
            put_authorization().replace(PUT_HEADER_LIST, &"a;".repeat(MAX_SIGNED_NAMES + 1)),
        ];
        for (i, auth) in cases.into_iter().enumerate() {
            let head = Head::new(
                "PUT",
                WIRE_PATH,
                &with_auth(&PUT_HEADERS, leak(auth.clone())),
            );
            let err = head
                .authenticate(&KEYS, PUT_START + 60)
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
            &format!("/k?q-ak={AK}&q-sign-algorithm=sha1"),
            &[("host", "h")],
        );
        assert_eq!(
            code(head.authenticate(&KEYS, NOW)),
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn query_signature_detection() {
        assert!(has_query_signature("q-sign-algorithm=sha1&q-ak=x"));
        assert!(has_query_signature("a=1&q-signature=x"));
        assert!(has_query_signature(
            "sign=q-sign-algorithm%3Dsha1%26q-ak%3Dx"
        ));
        assert!(!has_query_signature("sign=something-else"));
        assert!(!has_query_signature("acl&prefix=q-ak"));
        assert!(!has_query_signature(""));
    }
}
