//! POST Object: the browser form upload (cos-api.md §6.8).
//!
//! The form is parsed as it streams. The fields before `file` are small and read whole, within
//! fixed bounds: they carry the signature (a form has no `Authorization` header) and describe
//! the object. `file` must be the last field. It streams straight into the store, and the
//! policy's size range is enforced as it streams, so an upload that breaks a rule fails before
//! the object is committed and leaves nothing behind.

use super::headers::{
    content_md5, etag, header_str, not_yet, object_acl, object_attrs, reject_unsupported,
};
use super::object::{too_large, MAX_PUT_BYTES};
use super::store_error;
use crate::auth::post_policy::{self, FormFields, SizeRange};
use crate::auth::primitives::{encode, encode_path};
use crate::auth::{Keyring, Principal};
use crate::authorize;
use crate::config_cache::ConfigCache;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use crate::route::{Route, MAX_KEY_BYTES};
use crate::xml;
use cosd_store::{ByteStream, ObjectAttrs, ObjectRecord, Store};
use futures_util::{stream, StreamExt};
use http::StatusCode;
use multer::{Field, Multipart};
use std::fmt::Display;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

/// Longest `policy` field: a policy is a JSON document of a few conditions.
const MAX_POLICY_BYTES: usize = 64 * 1024;
/// Longest value of any other field.
const MAX_FIELD_BYTES: usize = 8 * 1024;
/// Most fields a form may carry before its file.
const MAX_FIELDS: usize = 64;
/// Most bytes of field names and values before the file, all fields together.
const MAX_FIELDS_TOTAL: usize = 1024 * 1024;
/// Most raw bytes of the form up to its file: the fields, their part headers and boundaries,
/// and the start of the file arriving in the same read. The field bounds above are the ones a
/// client is told about; this one stops a part header that never ends, which the multipart
/// parser would otherwise buffer without limit.
const MAX_BYTES_BEFORE_FILE: u64 = 4 * 1024 * 1024;
/// Raw bytes allowed after the file: the closing boundary and any epilogue.
const MAX_BYTES_AFTER_FILE: u64 = 64 * 1024;

/// Runs a form upload: reads the fields before the file, authenticates the form from them,
/// authorizes the signer on the bucket (as every other operation is authorized), checks the
/// policy, then streams the file into the store.
#[allow(clippy::too_many_arguments)] // the request path's pieces, as service.rs holds them
pub async fn post(
    store: &Store,
    configs: &ConfigCache,
    keys: &dyn Keyring,
    route: &Route,
    parts: &http::request::Parts,
    peer: IpAddr,
    body: ByteStream,
    now: SystemTime,
) -> ApiResult<Reply> {
    let content_type = header_str(&parts.headers, "content-type")?.unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|err| malformed(format_args!("the Content-Type header is unusable ({err})")))?;
    let meter = Arc::new(Meter::new(MAX_BYTES_BEFORE_FILE));
    let mut form = Multipart::new(meter.clone().wrap(body), boundary);
    let (fields, file) = read_fields(&mut form).await?;

    let auth = post_policy::authenticate(&fields, keys, now)?;
    let key = object_key(&fields, file.file_name())?;
    let request = authorize::Request {
        key: Some(&key),
        acl: fields.get("acl"),
        ..authorize::Request::new(&auth.principal, route, &parts.headers, peer, now)
    };
    let bucket = authorize::authorize(store, configs, &request)
        .await
        .map_err(|err| unsigned_hint(err, &auth.principal))?
        .ok_or(ErrorCode::NoSuchBucket)?;
    let sizes = match &auth.policy {
        Some(policy) => {
            policy.check_fields(&fields, &bucket.name, &key)?;
            policy.size_range()
        }
        None => SizeRange::ANY,
    };
    reject_unsupported(&fields)?;
    if fields.get("tagging").is_some() {
        return Err(not_yet("The tagging field".to_string()));
    }
    let attrs = ObjectAttrs {
        acl: object_acl(&fields, fields.get("acl"), keys)?,
        ..object_attrs(&fields, keys)?
    };
    let md5 = content_md5(&fields)?;

    meter.lift();
    let upload = Upload {
        form,
        file,
        seen: 0,
        sizes,
        meter,
    };
    let result = store
        .put_object(&bucket.name, &key, upload.into_stream(), md5, attrs)
        .await
        .map_err(store_error)?;
    Ok(success(
        &fields,
        parts,
        route,
        &bucket.name,
        &key,
        &result.record,
    ))
}

/// Reads the fields up to `file` and returns them with the file part, still unread.
async fn read_fields(form: &mut Multipart<'static>) -> ApiResult<(FormFields, Field<'static>)> {
    let mut fields = FormFields::default();
    let (mut count, mut total) = (0, 0);
    loop {
        let Some(mut field) = form.next_field().await.map_err(form_error)? else {
            return Err(ApiError::with_message(
                ErrorCode::IncorrectNumberOfFilesInPostRequest,
                "POST requires exactly one file upload per request: the form has no file field.",
            ));
        };
        let name = field
            .name()
            .ok_or_else(|| malformed("a part has no field name"))?
            .to_ascii_lowercase();
        if name == "file" {
            return Ok((fields, field));
        }
        count += 1;
        if count > MAX_FIELDS {
            return Err(malformed(format_args!(
                "the form has more than {MAX_FIELDS} fields before its file"
            )));
        }
        let limit = if name == "policy" {
            MAX_POLICY_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(form_error)? {
            if value.len() + chunk.len() > limit {
                return Err(ApiError::with_message(
                    ErrorCode::InvalidArgument,
                    format!("The form field {name} is longer than {limit} bytes."),
                ));
            }
            value.extend_from_slice(&chunk);
        }
        total += name.len() + value.len();
        if total > MAX_FIELDS_TOTAL {
            return Err(malformed(format_args!(
                "the fields before the file exceed {MAX_FIELDS_TOTAL} bytes"
            )));
        }
        let value = String::from_utf8(value).map_err(|_| {
            ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("The form field {name} is not valid UTF-8."),
            )
        })?;
        fields.insert(&name, value)?;
    }
}

/// Refusing an unsigned form, says why it usually happens: a form that puts its file before
/// its signature fields, which a server reading the file as it streams never gets to.
fn unsigned_hint(err: ApiError, principal: &Principal) -> ApiError {
    match principal {
        Principal::Anonymous if err.code == ErrorCode::AccessDenied => ApiError::with_message(
            ErrorCode::AccessDenied,
            "Access Denied. The form carries no signature before its file field: policy and the \
             q-* or x-amz-* signature fields must come before file.",
        ),
        _ => err,
    }
}

/// The object key: the `key` field, with `${filename}` replaced by the file's name.
fn object_key(fields: &FormFields, filename: Option<&str>) -> ApiResult<String> {
    let template = fields.get("key").ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::InvalidArgument,
            "Bucket POST must contain a field named 'key'.",
        )
    })?;
    let key = template.replace("${filename}", filename.unwrap_or_default());
    if key.is_empty() {
        return Err(ApiError::with_message(
            ErrorCode::InvalidArgument,
            "The object key is empty.",
        ));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(ApiError::with_message(
            ErrorCode::KeyTooLong,
            format!(
                "Your key is too long: {} bytes, the limit is {MAX_KEY_BYTES}.",
                key.len()
            ),
        ));
    }
    Ok(key)
}

/// The file part, on its way into the store.
struct Upload {
    form: Multipart<'static>,
    file: Field<'static>,
    seen: u64,
    sizes: SizeRange,
    meter: Arc<Meter>,
}

impl Upload {
    /// The file's bytes. The stream fails — and the store then discards what it wrote — as soon
    /// as the file passes its maximum size, or at its end if it is below its minimum or if
    /// anything but the closing boundary follows it.
    fn into_stream(self) -> ByteStream {
        Box::pin(stream::unfold(Some(self), |state| async move {
            let mut upload = state?;
            let item = match upload.file.chunk().await {
                Ok(Some(bytes)) => upload.count(bytes.len()).map(|()| bytes),
                Ok(None) => {
                    let end = upload.finish().await;
                    return end.err().map(|err| (Err(err.into_io()), None));
                }
                Err(err) => Err(form_error(err)),
            };
            Some(match item {
                Ok(bytes) => (Ok(bytes), Some(upload)),
                Err(err) => (Err(err.into_io()), None),
            })
        }))
    }

    fn count(&mut self, len: usize) -> ApiResult<()> {
        self.seen += len as u64;
        if self.seen > MAX_PUT_BYTES {
            return Err(too_large(MAX_PUT_BYTES));
        }
        self.sizes.check_so_far(self.seen)
    }

    async fn finish(self) -> ApiResult<()> {
        let Upload {
            mut form,
            file,
            seen,
            sizes,
            meter,
        } = self;
        sizes.check_total(seen)?;
        // The parser hands out one part at a time: the file must be let go first.
        drop(file);
        meter.close(MAX_BYTES_AFTER_FILE);
        match form.next_field().await.map_err(form_error)? {
            None => Ok(()),
            Some(next) => match next.name() {
                Some(name) if name.eq_ignore_ascii_case("file") => {
                    Err(ErrorCode::IncorrectNumberOfFilesInPostRequest.into())
                }
                name => Err(malformed(format_args!(
                    "the file must be the last field, but {} follows it",
                    name.unwrap_or("an unnamed part")
                ))),
            },
        }
    }
}

/// Counts the raw bytes of the form as the parser pulls them, and fails the body past a limit
/// that follows the parse: bounded up to the file, lifted while the file streams (its own size
/// checks bound it), bounded again after it.
struct Meter {
    consumed: AtomicU64,
    limit: AtomicU64,
}

impl Meter {
    fn new(limit: u64) -> Self {
        Meter {
            consumed: AtomicU64::new(0),
            limit: AtomicU64::new(limit),
        }
    }

    fn wrap(self: Arc<Self>, body: ByteStream) -> ByteStream {
        Box::pin(body.map(move |chunk| {
            let chunk = chunk?;
            let len = chunk.len() as u64;
            let consumed = self.consumed.fetch_add(len, Ordering::Relaxed) + len;
            if consumed > self.limit.load(Ordering::Relaxed) {
                return Err(malformed("the form has too many bytes outside its file").into_io());
            }
            Ok(chunk)
        }))
    }

    /// The file is streaming.
    fn lift(&self) {
        self.limit.store(u64::MAX, Ordering::Relaxed);
    }

    /// The file has ended: allow `allowance` more bytes.
    fn close(&self, allowance: u64) {
        let consumed = self.consumed.load(Ordering::Relaxed);
        self.limit
            .store(consumed.saturating_add(allowance), Ordering::Relaxed);
    }
}

/// A parse failure: the body broke off (or the [`Meter`] stopped it), or it is not
/// well-formed multipart/form-data.
fn form_error(err: multer::Error) -> ApiError {
    match err {
        multer::Error::StreamReadFailed(cause) => match cause.downcast::<std::io::Error>() {
            Ok(io) => ApiError::from_io(*io),
            Err(other) => ApiError::with_message(
                ErrorCode::IncompleteBody,
                format!("The request body could not be read: {other}"),
            ),
        },
        other => malformed(other),
    }
}

fn malformed(detail: impl Display) -> ApiError {
    ApiError::with_message(
        ErrorCode::MalformedPOSTRequest,
        format!("The body of your POST request is not well-formed multipart/form-data: {detail}."),
    )
}

/// The answer the form asks for: a redirect, or 200, 201 (with a `PostResponse`) or the default
/// 204 naming the object's URL. All carry the ETag.
fn success(
    fields: &FormFields,
    parts: &http::request::Parts,
    route: &Route,
    bucket: &str,
    key: &str,
    rec: &ObjectRecord,
) -> Reply {
    let etag = etag(rec);
    let redirect = fields
        .get("success_action_redirect")
        .and_then(|url| redirect_url(url, bucket, key, &etag));
    let mut reply = match redirect {
        Some(url) => Reply::empty(StatusCode::SEE_OTHER).header("location", url),
        None => {
            let location = object_url(parts, route, key);
            let mut reply = match fields.get("success_action_status") {
                Some("200") => Reply::empty(StatusCode::OK),
                Some("201") => {
                    let mut reply = Reply::xml(xml::to_document(&xml::PostResponse {
                        location: &location,
                        bucket,
                        key,
                        etag: &etag,
                    }));
                    reply.status = StatusCode::CREATED;
                    reply
                }
                _ => Reply::empty(StatusCode::NO_CONTENT),
            };
            reply.set_header("location", location);
            reply
        }
    };
    reply.set_header("etag", etag);
    reply.set_header("x-cos-hash-crc64ecma", rec.crc64.to_string());
    reply
}

/// The object's URL as the client addressed the bucket: the Host it sent and, for path-style
/// requests, the bucket in the path the form was posted to.
fn object_url(parts: &http::request::Parts, route: &Route, key: &str) -> String {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(&route.host);
    let bucket_path = parts.uri.path().trim_end_matches('/');
    format!("http://{host}{bucket_path}/{}", encode_path(key.as_bytes()))
}

/// `success_action_redirect` with the bucket, key and ETag appended, as COS does. `None` if it
/// is not an http(s) URL: the form then gets the status it asked for, as S3 does.
fn redirect_url(url: &str, bucket: &str, key: &str, etag: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return None;
    }
    let separator = if uri.query().is_some() { '&' } else { '?' };
    Some(format!(
        "{url}{separator}bucket={}&key={}&etag={}",
        encode(bucket.as_bytes()),
        encode(key.as_bytes()),
        encode(etag.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> FormFields {
        let mut fields = FormFields::default();
        for (name, value) in pairs {
            fields.insert(name, value.to_string()).unwrap();
        }
        fields
    }

    #[test]
    fn key_substitutes_the_filename() {
        let f = fields(&[("key", "up/${filename}")]);
        assert_eq!(object_key(&f, Some("a b.png")).unwrap(), "up/a b.png");
        assert_eq!(object_key(&f, None).unwrap(), "up/");
        let plain = fields(&[("key", "fixed")]);
        assert_eq!(object_key(&plain, Some("x")).unwrap(), "fixed");
        let code = |f: &FormFields| object_key(f, Some("")).unwrap_err().code;
        assert_eq!(code(&fields(&[])), ErrorCode::InvalidArgument);
        assert_eq!(
            code(&fields(&[("key", "${filename}")])),
            ErrorCode::InvalidArgument
        );
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert_eq!(code(&fields(&[("key", &long)])), ErrorCode::KeyTooLong);
    }

    #[test]
    fn redirects_append_bucket_key_and_etag() {
        assert_eq!(
            redirect_url("https://my.site/done", "b-1", "a b/c", "\"e1\"").as_deref(),
            Some("https://my.site/done?bucket=b-1&key=a%20b%2Fc&etag=%22e1%22")
        );
        assert_eq!(
            redirect_url("http://my.site/done?x=1", "b-1", "k", "\"e\"").as_deref(),
            Some("http://my.site/done?x=1&bucket=b-1&key=k&etag=%22e%22")
        );
        assert_eq!(redirect_url("javascript:alert(1)", "b", "k", "e"), None);
        assert_eq!(redirect_url("not a url", "b", "k", "e"), None);
    }

    #[tokio::test]
    async fn the_meter_bounds_the_form_outside_its_file() {
        let chunks = |n: usize| -> ByteStream {
            Box::pin(stream::iter(
                (0..n).map(|_| Ok(bytes::Bytes::from_static(&[0; 10]))),
            ))
        };
        let read = |body: ByteStream| async move {
            body.map(|item| item.map_err(ApiError::from_io))
                .collect::<Vec<_>>()
                .await
        };
        let meter = Arc::new(Meter::new(25));
        let items = read(meter.clone().wrap(chunks(3))).await;
        assert!(items[..2].iter().all(Result::is_ok));
        assert_eq!(
            items[2].as_ref().unwrap_err().code,
            ErrorCode::MalformedPOSTRequest
        );

        let meter = Arc::new(Meter::new(25));
        let mut body = meter.clone().wrap(chunks(20));
        meter.lift();
        for _ in 0..10 {
            assert!(body.next().await.unwrap().is_ok());
        }
        meter.close(15);
        assert!(body.next().await.unwrap().is_ok());
        assert!(body.next().await.unwrap().is_err());
    }

    #[test]
    fn parse_failures_keep_api_errors_carried_by_the_body() {
        let carried = ApiError::new(ErrorCode::EntityTooLarge).into_io();
        let err = form_error(multer::Error::StreamReadFailed(Box::new(carried)));
        assert_eq!(err.code, ErrorCode::EntityTooLarge);
        assert_eq!(
            form_error(multer::Error::IncompleteStream).code,
            ErrorCode::MalformedPOSTRequest
        );
    }
}
