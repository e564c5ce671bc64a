//! PUT, GET, HEAD and DELETE Object.

use super::headers::{
    content_md5, describe_object, evaluate_conditions, header_str, object_attrs, parse_range,
    reject_unsupported, Condition,
};
use super::{store_error, Ctx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::{Reply, ReplyBody};
use cosd_store::{ByteStream, ObjectRecord, StoreError};
use futures_util::StreamExt;
use http::StatusCode;
use std::io;

/// Reads of an entry whose blob vanished meanwhile, before a GET gives up.
const READ_TRIES: usize = 5;

/// Largest object a single PUT may create (COS: 5 GB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// `response-*` query parameters of GET Object and the headers they override.
const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    ("response-content-type", "content-type"),
    ("response-content-language", "content-language"),
    ("response-expires", "expires"),
    ("response-cache-control", "cache-control"),
    ("response-content-disposition", "content-disposition"),
    ("response-content-encoding", "content-encoding"),
];

pub async fn put(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    reject_unsupported(ctx.headers)?;
    let body = upload_body(ctx.headers, body, MAX_PUT_BYTES)?;
    let attrs = object_attrs(ctx.headers, ctx.accounts)?;
    let md5 = content_md5(ctx.headers)?;
    let result = ctx
        .store
        .put_object(&ctx.bucket().name, ctx.key(), body, md5, attrs)
        .await
        .map_err(store_error)?;
    let mut reply = Reply::empty(StatusCode::OK);
    reply.set_header("etag", super::headers::etag(&result.record));
    reply.set_header("x-cos-hash-crc64ecma", result.record.crc64.to_string());
    Ok(reply)
}

/// The body of an upload (PUT, part or append) as its headers announce it: the announced size
/// is checked and the body bounded to `limit` bytes (a PUT or a part: [`MAX_PUT_BYTES`]; an
/// append: what is left of it), and an announced `x-amz-checksum-*` is verified as it streams.
/// The length is `x-amz-decoded-content-length` for `aws-chunked` bodies, else
/// `Content-Length`; a body with neither must use chunked transfer encoding.
pub(super) fn upload_body(
    headers: &http::HeaderMap,
    body: ByteStream,
    limit: u64,
) -> ApiResult<ByteStream> {
    let length = |name: &str| -> ApiResult<Option<u64>> {
        header_str(headers, name)?
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    ApiError::with_message(
                        ErrorCode::InvalidArgument,
                        format!("The {name} header is not a number."),
                    )
                })
            })
            .transpose()
    };
    let declared = match length("x-amz-decoded-content-length")? {
        Some(n) => Some(n),
        None => length("content-length")?,
    };
    let chunked = header_str(headers, "transfer-encoding")?
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let body = super::checksum::verify(headers, body)?;
    match declared {
        None if !chunked => Err(ErrorCode::MissingContentLength.into()),
        Some(n) if n > limit => Err(too_large(limit)),
        _ => Ok(Box::pin(body.scan(0u64, move |seen, chunk| {
            let item = chunk.and_then(|c| {
                *seen += c.len() as u64;
                if *seen > limit {
                    Err(too_large(limit).into_io())
                } else {
                    Ok(c)
                }
            });
            std::future::ready(Some(item))
        }))),
    }
}

pub(super) fn too_large(limit: u64) -> ApiError {
    ApiError::with_message(ErrorCode::EntityTooLarge, format!("This request may carry at most {limit} bytes (a PUT or a part: {MAX_PUT_BYTES}; an appendable object: {MAX_PUT_BYTES} in all); use a multipart upload for larger objects."))
}

/// Refuses a `versionId` other than `null`: until versioning arrives, every object has only
/// the `null` version.
fn check_version(ctx: &Ctx<'_>) -> ApiResult<()> {
    match ctx
        .route
        .query
        .get("versionId")
        .filter(|v| !v.is_empty() && *v != "null")
    {
        Some(v) => Err(ApiError::with_message(
            ErrorCode::NoSuchVersion,
            format!("The version {v:?} does not exist."),
        )),
        None => Ok(()),
    }
}

/// Loads the entry of the routed key.
pub async fn load(ctx: &Ctx<'_>) -> ApiResult<ObjectRecord> {
    check_version(ctx)?;
    ctx.store
        .meta
        .get_object(&ctx.bucket().name, ctx.key())
        .await
        .map_err(store_error)?
        .ok_or_else(|| ErrorCode::NoSuchKey.into())
}

/// GET and HEAD Object.
///
/// A blob can vanish between reading the entry and opening its blob: the entry was replaced
/// or deleted meanwhile (through this node or another sharing the stores) and its old blob
/// collected. The entry is then read again, as if the GET had arrived a moment later.
pub async fn get(ctx: &Ctx<'_>, head: bool) -> ApiResult<Reply> {
    let mut tries = 0;
    loop {
        tries += 1;
        let rec = load(ctx).await?;
        match evaluate_conditions(ctx.headers, "", &rec)? {
            Condition::Proceed => {}
            Condition::NotModified => {
                let mut reply = Reply::empty(StatusCode::NOT_MODIFIED);
                reply.set_header("etag", super::headers::etag(&rec));
                reply.set_header("last-modified", super::http_date(rec.modified_ms));
                return Ok(reply);
            }
            Condition::Failed => return Err(ErrorCode::PreconditionFailed.into()),
        }
        let range = parse_range(header_str(ctx.headers, "range")?, rec.size).map_err(|mut e| {
            e.message = format!("{} (object size {})", e.message, rec.size).into();
            e
        })?;
        let (status, start, len) = match range {
            Some(r) => (StatusCode::PARTIAL_CONTENT, r.start, r.len),
            None => (StatusCode::OK, 0, rec.size),
        };
        let body = if head {
            ReplyBody::Length(len)
        } else if len == 0 {
            ReplyBody::Empty
        } else {
            match ctx.store.read(&rec, start, len).await {
                Ok(stream) => ReplyBody::Stream(stream, len),
                Err(StoreError::Io(e))
                    if e.kind() == io::ErrorKind::NotFound && tries < READ_TRIES =>
                {
                    continue;
                }
                Err(e) => return Err(store_error(e)),
            }
        };
        let mut reply = Reply {
            status,
            headers: http::HeaderMap::new(),
            body,
        };
        describe_object(&mut reply, &rec, ctx.dialect);
        if range.is_some() {
            reply.set_header(
                "content-range",
                format!("bytes {}-{}/{}", start, start + len - 1, rec.size),
            );
        }
        for (param, header) in RESPONSE_OVERRIDES {
            if let Some(v) = ctx.route.query.get(param) {
                reply.set_header(*header, v);
            }
        }
        return Ok(reply);
    }
}

pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    check_version(ctx)?;
    ctx.store
        .delete_object(&ctx.bucket().name, ctx.key())
        .await
        .map_err(store_error)?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
