//! AWS signature version 2, which COS accepts and older S3 tools (boto's `s3` signer, s3cmd
//! `--signature-v2`) still send: `Authorization: AWS <AccessKeyId>:<Signature>`, or a presigned
//! URL with `AWSAccessKeyId`, `Expires` and `Signature`.
//!
//! Signature = base64(HMAC-SHA1(SecretKey, StringToSign)), where StringToSign is
//! `method \n Content-MD5 \n Content-Type \n Date \n CanonicalizedAmzHeaders CanonicalizedResource`.
//! Date is empty when `x-amz-date` is sent (it is then among the amz headers) and is the
//! `Expires` value in a presigned URL. The body is not signed.
//!
//! The canonical resource starts with `/<bucket>`, which a virtual-host request carries in its
//! host. Authentication runs before the bucket is known, so the few readings of the host a
//! signer could have used are tried: the path as sent (path style, and the service; with a
//! trailing `/` for a bare bucket, as botocore signs it), the host's first label
//! (`<bucket>.<domain>`), the whole host (a CNAME). Bucket names cannot hold dots, so a
//! signature made for one reading never names a real bucket under another.

use super::primitives::{
    decode_str, header_str, mac, raw_query_pairs, request_host, unix_secs, HmacSha1,
    MAX_AUTHORIZATION_LEN,
};
use super::{
    lookup, Authenticated, BodyCheck, Keyring, Principal, RequestHead, MAX_CLOCK_SKEW_SECS,
};
use crate::error::{ApiError, ApiResult, ErrorCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::Mac;
use std::time::SystemTime;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// The `Authorization` scheme.
pub const SCHEME: &str = "AWS ";

/// Query parameters that are part of the resource and so signed, as AWS and botocore list them.
const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "append",
    "cors",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "position",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

fn header_malformed(what: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::AuthorizationHeaderMalformed,
        format!("The AWS signature V2 Authorization header is malformed: {what}."),
    )
}

fn query_malformed(what: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::InvalidArgument,
        format!("The presigned URL's AWSAccessKeyId, Expires and Signature are malformed: {what}."),
    )
}

/// Verifies `Authorization: AWS <AccessKeyId>:<Signature>`.
pub fn verify_header(
    head: &RequestHead<'_>,
    authorization: &str,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    if authorization.len() > MAX_AUTHORIZATION_LEN {
        return Err(header_malformed("it is too long"));
    }
    let (access_key, signature) = authorization[SCHEME.len()..]
        .trim()
        .split_once(':')
        .filter(|(id, sig)| !id.is_empty() && !sig.is_empty())
        .ok_or_else(|| header_malformed("expected AWS <AccessKeyId>:<Signature>"))?;
    let secret = lookup(keys, head, access_key, now)?;
    let amz_date = header_str(head.headers, "x-amz-date");
    let sent = amz_date
        .or_else(|| header_str(head.headers, "date"))
        .and_then(parse_date)
        .ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::AccessDenied,
                "AWS authentication requires a valid Date or x-amz-date header.",
            )
        })?;
    if sent.abs_diff(unix_secs(now) as i64) > MAX_CLOCK_SKEW_SECS {
        return Err(ApiError::new(ErrorCode::RequestTimeTooSkewed));
    }
    // With x-amz-date, AWS's rules say the Date line is empty and x-amz-date is signed among
    // the amz headers; AWS's own example instead moves its value into the Date line. Both verify.
    let prefixes = match amz_date {
        Some(amz_date) => vec![
            string_to_sign_prefix(head, "", None),
            string_to_sign_prefix(head, amz_date, Some("x-amz-date")),
        ],
        None => {
            let date = header_str(head.headers, "date").unwrap_or("");
            vec![string_to_sign_prefix(head, date, None)]
        }
    };
    check(head, &secret.secret_key, &prefixes, signature)?;
    Ok(authenticated(secret, access_key))
}

/// Whether a query string carries a V2 presigned signature (a partial one counts, so that it
/// is refused rather than served anonymously).
pub fn has_query_signature(query: &str) -> bool {
    let mut names = raw_query_pairs(query).map(|(k, _)| k);
    names.any(|k| k == "AWSAccessKeyId" || k == "Signature")
}

/// Verifies a V2 presigned URL.
pub fn verify_query(
    head: &RequestHead<'_>,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Authenticated> {
    let mut values: [Option<String>; 3] = Default::default();
    for (key, value) in raw_query_pairs(head.uri.query().unwrap_or("")) {
        if let Some(i) = ["AWSAccessKeyId", "Expires", "Signature"]
            .iter()
            .position(|f| *f == key)
        {
            let value = decode_str(value).into_owned();
            if values[i].replace(value).is_some() {
                return Err(query_malformed("a parameter appears twice"));
            }
        }
    }
    let [Some(access_key), Some(expires), Some(signature)] = values else {
        return Err(query_malformed("all three are required"));
    };
    let expires_secs: u64 = expires
        .parse()
        .map_err(|_| query_malformed("Expires is not Unix seconds"))?;
    let secret = lookup(keys, head, &access_key, now)?;
    if unix_secs(now) > expires_secs {
        return Err(ApiError::new(ErrorCode::RequestExpired));
    }
    let prefix = string_to_sign_prefix(head, &expires, None);
    check(head, &secret.secret_key, &[prefix], &signature)?;
    Ok(authenticated(secret, &access_key))
}

fn authenticated(secret: super::Secret, access_key: &str) -> Authenticated {
    Authenticated {
        principal: Principal::Account {
            account: secret.account,
            access_key: access_key.to_owned(),
            scope: secret.scope,
        },
        body: BodyCheck::None,
    }
}

/// `Tue, 27 Mar 2007 19:36:42 +0000` (AWS's examples) or the RFC 7231 `GMT` form.
fn parse_date(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc2822)
        .map(OffsetDateTime::unix_timestamp)
        .ok()
        .or_else(|| {
            httpdate::parse_http_date(text)
                .ok()
                .map(|t| unix_secs(t) as i64)
        })
}

/// Compares `signature` with the signature of each string-to-sign prefix and each reading of
/// the resource.
fn check(
    head: &RequestHead<'_>,
    secret_key: &str,
    prefixes: &[String],
    signature: &str,
) -> ApiResult<()> {
    let provided = B64
        .decode(signature.trim())
        .map_err(|_| ApiError::new(ErrorCode::SignatureDoesNotMatch))?;
    let sub_resources = sub_resources(head.uri.query().unwrap_or(""));
    let path = head.uri.path();
    let host = request_host(head)
        .and_then(|h| std::str::from_utf8(h).ok())
        .map(strip_port)
        .unwrap_or("");
    let mut resources = vec![format!("{path}{sub_resources}")];
    if path.len() > 1 && !path[1..].contains('/') {
        // A bucket request in path style: botocore signs `/<bucket>/` for `/<bucket>`.
        resources.push(format!("{path}/{sub_resources}"));
    }
    if let Some((label, _)) = host.split_once('.') {
        for bucket in [label, host] {
            resources.push(format!("/{bucket}{path}{sub_resources}"));
        }
    }
    let matches = resources.iter().any(|resource| {
        prefixes.iter().any(|prefix| {
            mac::<HmacSha1>(
                secret_key.as_bytes(),
                &[prefix.as_bytes(), resource.as_bytes()],
            )
            .verify_slice(&provided)
            .is_ok()
        })
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::SignatureDoesNotMatch))
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// Everything of the string to sign before the canonical resource; `skip` names an amz header
/// left out.
fn string_to_sign_prefix(head: &RequestHead<'_>, date_line: &str, skip: Option<&str>) -> String {
    let h = |name| header_str(head.headers, name).unwrap_or("").trim();
    let mut out = format!(
        "{}\n{}\n{}\n{}\n",
        head.method.as_str(),
        h("content-md5"),
        h("content-type"),
        date_line
    );
    out.push_str(&canonical_amz_headers(head.headers, skip));
    out
}

/// `x-amz-*` headers, lower-cased and sorted, repeated values joined with `,`, each line
/// `name:value\n` with folded whitespace unfolded.
fn canonical_amz_headers(headers: &http::HeaderMap, skip: Option<&str>) -> String {
    let mut names: Vec<&str> = headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| n.starts_with("x-amz-") && Some(*n) != skip)
        .collect();
    names.sort_unstable();
    let mut out = String::new();
    for name in names {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

/// `?name[=value]&…` of the signed sub-resources, sorted by name, values decoded (as botocore
/// signs them); empty when there are none.
fn sub_resources(query: &str) -> String {
    let mut pairs: Vec<(&str, Option<String>)> = raw_query_pairs(query)
        .filter(|(key, _)| SUB_RESOURCES.contains(key))
        .map(|(key, value)| {
            let value = (!value.is_empty()).then(|| decode_str(value).into_owned());
            (key, value)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(key);
        if let Some(value) = value {
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{at, Head, OneKey};
    use super::*;

    /// The key pair of AWS's "Signing and Authenticating REST Requests" examples.
    const KEYS: OneKey = OneKey {
        access_key: "AKIAIOSFODNN7EXAMPLE",
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    };

    fn auth(sig: &str) -> String {
        format!("AWS AKIAIOSFODNN7EXAMPLE:{sig}")
    }

    /// Runs one of AWS's header examples at the time of its `Date`.
    fn example(
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        now: &str,
    ) -> ApiResult<Authenticated> {
        let head = Head::new(method, uri, headers);
        let now = parse_date(now).unwrap() as u64;
        super::super::authenticate(&head.head(), &KEYS, at(now))
    }

    fn ok(result: ApiResult<Authenticated>) {
        let auth = result.expect("the example verifies");
        assert!(matches!(
            auth.principal,
            Principal::Account { ref account, ref access_key, .. }
                if account == "1250000000" && access_key == "AKIAIOSFODNN7EXAMPLE"
        ));
    }

    #[test]
    fn aws_object_get_example() {
        let date = "Tue, 27 Mar 2007 19:36:42 +0000";
        ok(example(
            "GET",
            "/photos/puppy.jpg",
            &[
                ("host", "johnsmith.s3.amazonaws.com"),
                ("date", date),
                ("authorization", &auth("bWq2s1WEIj+Ydj0vQ697zp+IXMU=")),
            ],
            date,
        ));
    }

    #[test]
    fn aws_object_put_example() {
        let date = "Tue, 27 Mar 2007 21:15:45 +0000";
        ok(example(
            "PUT",
            "/photos/puppy.jpg",
            &[
                ("host", "johnsmith.s3.amazonaws.com"),
                ("content-type", "image/jpeg"),
                ("content-length", "94328"),
                ("date", date),
                ("authorization", &auth("MyyxeRY7whkBe+bq8fHCL/2kKUg=")),
            ],
            date,
        ));
    }

    #[test]
    fn aws_list_example_ignores_non_sub_resource_parameters() {
        let date = "Tue, 27 Mar 2007 19:42:41 +0000";
        ok(example(
            "GET",
            "/?prefix=photos&max-keys=50&marker=puppy",
            &[
                ("user-agent", "Mozilla/5.0"),
                ("host", "johnsmith.s3.amazonaws.com"),
                ("date", date),
                ("authorization", &auth("htDYFYduRNen8P9ZfE/s9SuKy0U=")),
            ],
            date,
        ));
    }

    #[test]
    fn aws_fetch_acl_example_signs_the_sub_resource() {
        let date = "Tue, 27 Mar 2007 19:44:46 +0000";
        let headers = |sig: &str| {
            [
                ("host", "johnsmith.s3.amazonaws.com"),
                ("date", date),
                ("authorization", &*auth(sig).leak()),
            ]
        };
        ok(example(
            "GET",
            "/?acl",
            &headers("c2WLPFtWHVgbEmeEG93a4cG37dM="),
            date,
        ));
        // Without ?acl it is another request (GetBucket), which the signature does not cover.
        let err = example("GET", "/", &headers("c2WLPFtWHVgbEmeEG93a4cG37dM="), date).unwrap_err();
        assert_eq!(err.code, ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn aws_delete_example_path_style_with_x_amz_date() {
        ok(example(
            "DELETE",
            "/johnsmith/photos/puppy.jpg",
            &[
                ("user-agent", "dotnet"),
                ("host", "s3.amazonaws.com"),
                ("date", "Tue, 27 Mar 2007 21:20:27 +0000"),
                ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
                ("authorization", &auth("lx3byBScXR6KzyMaifNkardMwNk=")),
            ],
            "Tue, 27 Mar 2007 21:20:26 +0000",
        ));
    }

    #[test]
    fn aws_upload_example_with_amz_headers_and_a_cname() {
        let date = "Tue, 27 Mar 2007 21:06:08 +0000";
        ok(example(
            "PUT",
            "/db-backup.dat.gz",
            &[
                ("user-agent", "curl/7.15.5"),
                ("host", "static.johnsmith.net:8080"),
                ("date", date),
                ("x-amz-acl", "public-read"),
                ("content-type", "application/x-download"),
                ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
                ("x-amz-meta-reviewedby", "joe@johnsmith.net"),
                ("x-amz-meta-reviewedby", "jane@johnsmith.net"),
                ("x-amz-meta-filechecksum", "0x02661779"),
                ("x-amz-meta-checksumalgorithm", "crc32"),
                ("content-disposition", "attachment; filename=database.dat"),
                ("content-encoding", "gzip"),
                ("content-length", "5913339"),
                ("authorization", &auth("ilyl83RwaSoYIEdixDQcA4OnAnc=")),
            ],
            date,
        ));
    }

    #[test]
    fn aws_list_all_buckets_example() {
        let date = "Wed, 28 Mar 2007 01:29:59 +0000";
        ok(example(
            "GET",
            "/",
            &[
                ("host", "s3.amazonaws.com"),
                ("date", date),
                ("authorization", &auth("qGdzdERIC03wnaRNKh6OqZehG9s=")),
            ],
            date,
        ));
    }

    #[test]
    fn aws_unicode_keys_example_signs_the_path_as_sent() {
        let date = "Wed, 28 Mar 2007 01:49:49 +0000";
        ok(example(
            "GET",
            "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
            &[
                ("host", "s3.amazonaws.com"),
                ("date", date),
                ("authorization", &auth("DNEZGsoieTZ92F3bUfSPQcbGmlM=")),
            ],
            date,
        ));
    }

    #[test]
    fn a_path_style_bucket_request_may_sign_a_trailing_slash() {
        // Signed by hand (Python hmac) over `/johnsmith/`, as botocore's HmacV1 signs a
        // ListObjects of bucket `johnsmith` that it sends as `/johnsmith?prefix=…`.
        let date = "Tue, 27 Mar 2007 19:36:42 +0000";
        ok(example(
            "GET",
            "/johnsmith?prefix=photos&encoding-type=url",
            &[
                ("host", "127.0.0.1:9000"),
                ("date", date),
                ("authorization", &auth("a/jq+WTveTnEstSGGn7vpKDz+Vw=")),
            ],
            date,
        ));
    }

    #[test]
    fn aws_query_string_example_and_its_expiry() {
        let uri = "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE\
                   &Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620";
        let head = Head::new("GET", uri, &[("host", "johnsmith.s3.amazonaws.com")]);
        ok(head.authenticate(&KEYS, 1175139620));
        let expired = head.authenticate(&KEYS, 1175139621).unwrap_err();
        assert_eq!(expired.code, ErrorCode::RequestExpired);
        let tampered = Head::new(
            "GET",
            &uri.replace("puppy", "kitten"),
            &[("host", "johnsmith.s3.amazonaws.com")],
        );
        let err = tampered.authenticate(&KEYS, 1175139000).unwrap_err();
        assert_eq!(err.code, ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn bad_headers_keys_times_and_queries_are_refused() {
        let date = "Tue, 27 Mar 2007 19:36:42 +0000";
        let get = |authorization: &str, date: &str, now: &str| {
            example(
                "GET",
                "/photos/puppy.jpg",
                &[
                    ("host", "johnsmith.s3.amazonaws.com"),
                    ("date", date),
                    ("authorization", authorization),
                ],
                now,
            )
            .unwrap_err()
            .code
        };
        let good = auth("bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
        assert_eq!(
            get(&good, date, "Tue, 27 Mar 2007 20:36:42 +0000"),
            ErrorCode::RequestTimeTooSkewed
        );
        assert_eq!(get(&good, "yesterday", date), ErrorCode::AccessDenied);
        assert_eq!(
            get("AWS OTHERKEY:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", date, date),
            ErrorCode::InvalidAccessKeyId
        );
        assert_eq!(
            get(&auth("bWq2s1WEIj+Ydj0vQ697zp+IXMV="), date, date),
            ErrorCode::SignatureDoesNotMatch
        );
        assert_eq!(
            get(&auth("not base64!"), date, date),
            ErrorCode::SignatureDoesNotMatch
        );
        for malformed in ["AWS ", "AWS AKIAIOSFODNN7EXAMPLE", "AWS :sig"] {
            assert_eq!(
                get(malformed, date, date),
                ErrorCode::AuthorizationHeaderMalformed
            );
        }
        let query = |q: &str| {
            Head::new("GET", &format!("/a?{q}"), &[("host", "h")])
                .authenticate(&KEYS, 0)
                .unwrap_err()
                .code
        };
        assert_eq!(
            query("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            query("AWSAccessKeyId=A&Expires=soon&Signature=x"),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            query("AWSAccessKeyId=A&AWSAccessKeyId=B&Expires=1&Signature=x"),
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn sub_resources_are_sorted_and_decoded() {
        assert_eq!(
            sub_resources("prefix=a&uploadId=x%2By&acl&partNumber=2"),
            "?acl&partNumber=2&uploadId=x+y"
        );
        assert_eq!(sub_resources("max-keys=5"), "");
        assert!(has_query_signature("Signature=x"));
        assert!(!has_query_signature("signature=x&prefix=a"));
    }
}
