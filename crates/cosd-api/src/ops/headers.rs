//! Object headers in both directions: what a write request says about the object (content
//! headers, user metadata, storage class, Content-MD5 — from headers or, for POST Object, from
//! form fields), what a read response says back, and the conditional and range headers of reads.

use super::{http_date, Dialect};
use crate::acl;
use crate::auth::post_policy::FormFields;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use base64::Engine;
use cosd_store::{ContentHeaders, ObjectAttrs, ObjectRecord};
use http::{HeaderMap, HeaderValue};

/// COS limit on user metadata: names plus values, in bytes.
pub const MAX_USER_META_BYTES: usize = 2048;

const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ARCHIVE",
    "DEEP_ARCHIVE",
    "MAZ_STANDARD",
    "MAZ_STANDARD_IA",
    "MAZ_INTELLIGENT_TIERING",
];

/// Where a write finds what it says about the object it creates: the headers of a PUT, or
/// the fields of a POST form. Names are lower-case. One source type per request shape lets the
/// validation below be written once for both.
pub trait Fields {
    /// The value of `name`, as text; a value that is not text is refused rather than mangled.
    fn value(&self, name: &str) -> ApiResult<Option<&str>>;

    /// Every name with its value (or why the value is not text), in request order.
    fn entries(&self) -> impl Iterator<Item = (&str, ApiResult<&str>)>;
}

impl Fields for HeaderMap {
    fn value(&self, name: &str) -> ApiResult<Option<&str>> {
        header_str(self, name)
    }

    fn entries(&self) -> impl Iterator<Item = (&str, ApiResult<&str>)> {
        self.iter()
            .map(|(name, value)| (name.as_str(), header_text(name.as_str(), value)))
    }
}

impl Fields for FormFields {
    fn value(&self, name: &str) -> ApiResult<Option<&str>> {
        Ok(self.get(name))
    }

    fn entries(&self) -> impl Iterator<Item = (&str, ApiResult<&str>)> {
        self.iter().map(|(name, value)| (name, Ok(value)))
    }
}

/// A header's value as text; a value that is not valid UTF-8 is refused rather than mangled.
pub fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> ApiResult<Option<&'h str>> {
    headers
        .get(name)
        .map(|value| header_text(name, value))
        .transpose()
}

fn header_text<'h>(name: &str, value: &'h HeaderValue) -> ApiResult<&'h str> {
    std::str::from_utf8(value.as_bytes()).map_err(|_| {
        ApiError::with_message(
            ErrorCode::InvalidArgument,
            format!("The {name} header is not valid UTF-8."),
        )
    })
}

/// The first of the COS and S3 spellings of a field that is present (`x-cos-…`, `x-amz-…`).
pub fn cos_or_amz<'f, F: Fields>(fields: &'f F, suffix: &str) -> ApiResult<Option<&'f str>> {
    match fields.value(&format!("x-cos-{suffix}"))? {
        Some(v) => Ok(Some(v)),
        None => fields.value(&format!("x-amz-{suffix}")),
    }
}

/// The decoded `Content-MD5`, if sent; `InvalidDigest` if it is not base64 of 16 bytes.
pub fn content_md5<F: Fields>(fields: &F) -> ApiResult<Option<[u8; 16]>> {
    let Some(v) = fields.value("content-md5")? else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .and_then(|d| <[u8; 16]>::try_from(d).ok())
        .map(Some)
        .ok_or_else(|| ErrorCode::InvalidDigest.into())
}

/// Refuses request features whose effect cosd cannot honour yet, so that a client never
/// believes an object is encrypted or tagged when it is not.
pub fn reject_unsupported<F: Fields>(fields: &F) -> ApiResult<()> {
    for (n, _) in fields.entries() {
        let unsupported = [
            "x-cos-server-side-encryption",
            "x-amz-server-side-encryption",
        ]
        .iter()
        .any(|p| n.starts_with(p))
            || matches!(
                n,
                "x-cos-tagging"
                    | "x-amz-tagging"
                    | "x-amz-object-lock-mode"
                    | "x-amz-object-lock-retain-until-date"
                    | "x-amz-object-lock-legal-hold"
            );
        if unsupported {
            return Err(not_yet(n.to_string()));
        }
    }
    Ok(())
}

/// The object ACL a write asks for in its headers (or form fields, where `form_acl` is POST
/// Object's `acl` field): `None` inherits the bucket's, as an object written without ACL
/// headers (or with `default`) does.
pub fn object_acl<F: Fields>(
    fields: &F,
    form_acl: Option<&str>,
    accounts: &dyn acl::Accounts,
) -> ApiResult<Option<Vec<cosd_store::AclGrant>>> {
    Ok(
        match acl::from_fields(fields, acl::Level::Object, form_acl, accounts)? {
            Some(acl::Requested::Set(acl)) => Some(acl.to_stored()),
            Some(acl::Requested::Inherit) | None => None,
        },
    )
}

pub(super) fn not_yet(what: String) -> ApiError {
    ApiError::with_message(
        ErrorCode::NotImplemented,
        format!("{what} is not supported by this server yet."),
    )
}

/// What a write request says about the object it creates.
pub fn object_attrs<F: Fields>(fields: &F, accounts: &dyn acl::Accounts) -> ApiResult<ObjectAttrs> {
    let get = |name: &str| -> ApiResult<Option<String>> {
        fields
            .value(name)?
            .map(|v| storable(name, v).map(str::to_owned))
            .transpose()
    };
    let content_encoding = get("content-encoding")?.and_then(|enc| {
        // `aws-chunked` describes the transfer of this request, not the stored object.
        let kept: Vec<&str> = enc
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty() && *e != "aws-chunked")
            .collect();
        (!kept.is_empty()).then(|| kept.join(","))
    });
    let content = ContentHeaders {
        content_type: get("content-type")?,
        cache_control: get("cache-control")?.filter(|v| !v.is_empty()),
        content_disposition: get("content-disposition")?,
        content_encoding,
        content_language: get("content-language")?,
        expires: get("expires")?,
    };
    let mut user_meta = Vec::new();
    let mut meta_bytes = 0;
    for (n, value) in fields.entries() {
        let Some(suffix) = n
            .strip_prefix("x-cos-meta-")
            .or_else(|| n.strip_prefix("x-amz-meta-"))
        else {
            continue;
        };
        if http::HeaderName::from_bytes(n.as_bytes()).is_err() {
            return Err(ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("{n:?} is not a valid metadata name."),
            ));
        }
        let value = storable(n, value?)?;
        meta_bytes += suffix.len() + value.len();
        user_meta.push((suffix.to_string(), value.to_string()));
    }
    if meta_bytes > MAX_USER_META_BYTES {
        return Err(ApiError::with_message(
            ErrorCode::MetadataTooLarge,
            format!(
                "Your user metadata is {meta_bytes} bytes, the limit is {MAX_USER_META_BYTES}."
            ),
        ));
    }
    Ok(ObjectAttrs {
        content,
        user_meta,
        storage_class: storage_class(fields)?,
        acl: object_acl(fields, None, accounts)?,
    })
}

/// A value kept with the object must be sendable back as a header. Headers always are; form
/// fields may hold line breaks or other control characters.
fn storable<'v>(name: &str, value: &'v str) -> ApiResult<&'v str> {
    match HeaderValue::from_bytes(value.as_bytes()) {
        Ok(_) => Ok(value),
        Err(_) => Err(ApiError::with_message(
            ErrorCode::InvalidArgument,
            format!("The value of {name} contains characters a header cannot carry."),
        )),
    }
}

/// The storage class a write asks for (`STANDARD` when it names none).
pub fn storage_class<F: Fields>(fields: &F) -> ApiResult<String> {
    match cos_or_amz(fields, "storage-class")? {
        None => Ok("STANDARD".to_string()),
        Some(c) => {
            let upper = c.to_ascii_uppercase();
            if STORAGE_CLASSES.contains(&upper.as_str()) {
                Ok(upper)
            } else {
                Err(ApiError::with_message(
                    ErrorCode::InvalidArgument,
                    format!("The storage class {c:?} is not supported."),
                ))
            }
        }
    }
}

/// The quoted ETag of an entry.
pub fn etag(rec: &ObjectRecord) -> String {
    format!("\"{}\"", rec.etag)
}

/// Adds the headers that describe a stored object to a read (or write) response.
pub fn describe_object(reply: &mut Reply, rec: &ObjectRecord, dialect: Dialect) {
    reply.set_header("etag", etag(rec));
    reply.set_header("last-modified", http_date(rec.modified_ms));
    reply.set_header("x-cos-hash-crc64ecma", rec.crc64.to_string());
    reply.set_header("accept-ranges", "bytes");
    let c = &rec.attrs.content;
    reply.set_header(
        "content-type",
        c.content_type
            .as_deref()
            .unwrap_or("application/octet-stream"),
    );
    for (name, value) in [
        ("cache-control", &c.cache_control),
        ("content-disposition", &c.content_disposition),
        ("content-encoding", &c.content_encoding),
        ("content-language", &c.content_language),
        ("expires", &c.expires),
    ] {
        if let Some(v) = value {
            reply.set_header(name, v);
        }
    }
    let prefix = match dialect {
        Dialect::Cos => "x-cos-",
        Dialect::S3 => "x-amz-",
    };
    for (name, value) in &rec.attrs.user_meta {
        reply.set_header(format!("{prefix}meta-{name}").as_str(), value);
    }
    if rec.appendable {
        reply.set_header("x-cos-object-type", "appendable");
        reply.set_header("x-cos-next-append-position", rec.size.to_string());
    }
    if rec.attrs.storage_class != "STANDARD" {
        reply.set_header(
            format!("{prefix}storage-class").as_str(),
            &rec.attrs.storage_class,
        );
    }
}

/// The outcome of the conditional headers of a read.
#[derive(Debug, PartialEq, Eq)]
pub enum Condition {
    Proceed,
    NotModified,
    Failed,
}

/// Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since` in the
/// order RFC 9110 gives them. `prefix` is `""` for reads and `x-cos-copy-source-` /
/// `x-amz-copy-source-` for the source of a copy.
pub fn evaluate_conditions(
    headers: &HeaderMap,
    prefix: &str,
    rec: &ObjectRecord,
) -> ApiResult<Condition> {
    let get = |name: &str| header_str(headers, &format!("{prefix}{name}"));
    let modified_secs = rec.modified_ms.div_euclid(1000);
    let date = |v: &str| {
        httpdate::parse_http_date(v.trim())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
    };
    let etag_matches = |list: &str| {
        list.split(',')
            .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
            .any(|t| t == "*" || t == rec.etag)
    };
    if let Some(list) = get("if-match")? {
        if !etag_matches(list) {
            return Ok(Condition::Failed);
        }
    } else if let Some(since) = get("if-unmodified-since")?.and_then(date) {
        if modified_secs > since {
            return Ok(Condition::Failed);
        }
    }
    if let Some(list) = get("if-none-match")? {
        if etag_matches(list) {
            return Ok(Condition::NotModified);
        }
    } else if let Some(since) = get("if-modified-since")?.and_then(date) {
        if modified_secs <= since {
            return Ok(Condition::NotModified);
        }
    }
    Ok(Condition::Proceed)
}

/// A byte range to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub len: u64,
}

/// Parses a single `Range: bytes=…` against an object of `size` bytes.
/// `Ok(None)`: serve the whole object (no header, or one this server ignores as RFC 9110
/// allows: multiple ranges or another unit). `Err(InvalidRange)`: unsatisfiable.
pub fn parse_range(value: Option<&str>, size: u64) -> ApiResult<Option<ByteRange>> {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(a), Ok(b)) if a <= b => (a < size).then(|| ByteRange {
            start: a,
            len: b.min(size - 1) - a + 1,
        }),
        (Ok(a), Err(_)) if last.is_empty() => (a < size).then(|| ByteRange {
            start: a,
            len: size - a,
        }),
        (Err(_), Ok(n)) if first.is_empty() => (n > 0 && size > 0).then(|| ByteRange {
            start: size - n.min(size),
            len: n.min(size),
        }),
        _ => return Ok(None),
    };
    range.map(Some).ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::InvalidRange,
            format!("The range {spec:?} is not satisfiable for an object of {size} bytes."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accounts where every APPID exists.
    fn anyone(_: &str) -> bool {
        true
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn record(etag: &str, modified_ms: i64) -> ObjectRecord {
        ObjectRecord {
            segments: vec![],
            size: 0,
            etag: etag.into(),
            crc64: 0,
            modified_ms,
            attrs: ObjectAttrs::default(),
            version_id: None,
            appendable: false,
        }
    }

    #[test]
    fn ranges() {
        let r = |v: &str, size| parse_range(Some(v), size);
        assert_eq!(
            r("bytes=0-9", 100).unwrap(),
            Some(ByteRange { start: 0, len: 10 })
        );
        assert_eq!(
            r("bytes=90-200", 100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            r("bytes=10-", 100).unwrap(),
            Some(ByteRange { start: 10, len: 90 })
        );
        assert_eq!(
            r("bytes=-10", 100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            r("bytes=-500", 100).unwrap(),
            Some(ByteRange { start: 0, len: 100 })
        );
        assert_eq!(
            r("bytes=100-", 100).unwrap_err().code,
            ErrorCode::InvalidRange
        );
        assert_eq!(r("bytes=0-0", 0).unwrap_err().code, ErrorCode::InvalidRange);
        assert_eq!(r("bytes=-0", 10).unwrap_err().code, ErrorCode::InvalidRange);
        assert_eq!(r("bytes=0-1,3-4", 100).unwrap(), None);
        assert_eq!(r("items=0-1", 100).unwrap(), None);
        assert_eq!(r("bytes=5-2", 100).unwrap(), None);
        assert_eq!(parse_range(None, 100).unwrap(), None);
    }

    #[test]
    fn conditions_follow_rfc_precedence() {
        let rec = record("abc", 1_000_000);
        let eval = |pairs: &[(&str, &str)]| evaluate_conditions(&headers(pairs), "", &rec).unwrap();
        let before = "Thu, 01 Jan 1970 00:00:10 GMT";
        let after = "Thu, 01 Jan 1970 01:00:00 GMT";
        assert_eq!(eval(&[]), Condition::Proceed);
        assert_eq!(eval(&[("if-match", "\"abc\"")]), Condition::Proceed);
        assert_eq!(eval(&[("if-match", "\"xyz\"")]), Condition::Failed);
        assert_eq!(eval(&[("if-match", "*")]), Condition::Proceed);
        assert_eq!(
            eval(&[("if-none-match", "\"abc\"")]),
            Condition::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", after)]),
            Condition::NotModified
        );
        assert_eq!(eval(&[("if-modified-since", before)]), Condition::Proceed);
        assert_eq!(eval(&[("if-unmodified-since", before)]), Condition::Failed);
        // If-Match wins over a failing If-Unmodified-Since.
        assert_eq!(
            eval(&[("if-match", "\"abc\""), ("if-unmodified-since", before)]),
            Condition::Proceed
        );
        let copy = headers(&[("x-cos-copy-source-if-match", "\"nope\"")]);
        assert_eq!(
            evaluate_conditions(&copy, "x-cos-copy-source-", &rec).unwrap(),
            Condition::Failed
        );
    }

    #[test]
    fn attrs_from_headers() {
        let h = headers(&[
            ("content-type", "text/plain"),
            ("content-encoding", "aws-chunked"),
            ("x-cos-meta-author", "ann"),
            ("x-amz-meta-Team", "t_1"),
            ("x-cos-storage-class", "standard_ia"),
        ]);
        let a = object_attrs(&h, &anyone).unwrap();
        assert_eq!(a.content.content_type.as_deref(), Some("text/plain"));
        assert_eq!(a.content.content_encoding, None);
        assert_eq!(
            a.user_meta,
            vec![
                ("author".into(), "ann".into()),
                ("team".into(), "t_1".into())
            ]
        );
        assert_eq!(a.storage_class, "STANDARD_IA");
        let big = "v".repeat(MAX_USER_META_BYTES);
        let too_big = headers(&[("x-cos-meta-a", big.as_str())]);
        assert_eq!(
            object_attrs(&too_big, &anyone).unwrap_err().code,
            ErrorCode::MetadataTooLarge
        );
        assert_eq!(
            storage_class(&headers(&[("x-cos-storage-class", "GOLD")]))
                .unwrap_err()
                .code,
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn attrs_from_form_fields() {
        let mut form = FormFields::default();
        for (name, value) in [
            ("Content-Type", "image/png"),
            ("X-Cos-Meta-Camera", "x100"),
            ("x-cos-storage-class", "ARCHIVE"),
            ("Content-MD5", "mQ/fVh815F3k6TAUm8m0eg=="),
        ] {
            form.insert(name, value.to_string()).unwrap();
        }
        let a = object_attrs(&form, &anyone).unwrap();
        assert_eq!(a.content.content_type.as_deref(), Some("image/png"));
        assert_eq!(a.user_meta, vec![("camera".into(), "x100".into())]);
        assert_eq!(a.storage_class, "ARCHIVE");
        assert!(content_md5(&form).unwrap().is_some());
        assert!(reject_unsupported(&form).is_ok());

        let refused = |name: &str, value: &str| {
            let mut form = FormFields::default();
            form.insert(name, value.to_string()).unwrap();
            object_attrs(&form, &anyone).unwrap_err().code
        };
        assert_eq!(refused("x-cos-meta-a b", "v"), ErrorCode::InvalidArgument);
        assert_eq!(
            refused("x-cos-meta-a", "line\r\nbreak"),
            ErrorCode::InvalidArgument
        );
        assert_eq!(refused("cache-control", "a\nb"), ErrorCode::InvalidArgument);

        let mut grant = FormFields::default();
        grant.insert("x-cos-grant-read", "id=\"1\"".into()).unwrap();
        let acl = object_attrs(&grant, &anyone).unwrap().acl.unwrap();
        assert_eq!(
            (acl[0].grantee.as_str(), acl[0].permission.as_str()),
            ("1", "READ")
        );
        assert_eq!(
            refused("x-cos-acl", "public-read-write"),
            ErrorCode::InvalidArgument
        );
        let mut default = FormFields::default();
        default.insert("x-cos-acl", "default".into()).unwrap();
        assert_eq!(object_attrs(&default, &anyone).unwrap().acl, None);
    }

    #[test]
    fn md5_and_unsupported() {
        assert_eq!(
            content_md5(&headers(&[("content-md5", "mQ/fVh815F3k6TAUm8m0eg==")]))
                .unwrap()
                .unwrap()[0],
            0x99
        );
        assert_eq!(
            content_md5(&headers(&[("content-md5", "nope")]))
                .unwrap_err()
                .code,
            ErrorCode::InvalidDigest
        );
        assert!(reject_unsupported(&headers(&[("x-amz-acl", "public-read")])).is_ok());
        assert_eq!(
            reject_unsupported(&headers(&[("x-cos-server-side-encryption", "AES256")]))
                .unwrap_err()
                .code,
            ErrorCode::NotImplemented
        );
    }
}
