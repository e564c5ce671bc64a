//! APPEND Object: `POST /<key>?append&position=<n>`.
//!
//! The first append (position 0) creates an appendable object with the request's content
//! headers and metadata; each later append must name the object's current length and adds one
//! segment (earlier bytes are never rewritten). A PUT or a copy over it makes it normal. The
//! ETag is explained at [`cosd_store::Store::append_object`].

use super::headers::{content_md5, object_attrs, reject_unsupported};
use super::object::{upload_body, MAX_PUT_BYTES};
use super::{store_error, Ctx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use cosd_store::ByteStream;
use http::StatusCode;

/// An appendable object may grow to this many bytes (COS: 5 GB, as a PUT).
pub const MAX_APPENDABLE_BYTES: u64 = MAX_PUT_BYTES;

pub async fn append(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    reject_unsupported(ctx.headers)?;
    let position = match ctx.route.query.get("position") {
        Some(p) => p.parse::<u64>().map_err(|_| {
            ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("The position {p:?} is not a non-negative integer."),
            )
        })?,
        None => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidArgument,
                "An append must give its position: ?append&position=<current length>.",
            ))
        }
    };
    let md5 = content_md5(ctx.headers)?;
    let attrs = object_attrs(ctx.headers, ctx.accounts)?;
    let room = MAX_APPENDABLE_BYTES.saturating_sub(position);
    let body = upload_body(ctx.headers, body, room)?;
    let rec = ctx
        .store
        .append_object(&ctx.bucket().name, ctx.key(), position, body, md5, attrs)
        .await
        .map_err(store_error)?;
    Ok(Reply::empty(StatusCode::OK)
        .header("etag", super::headers::etag(&rec))
        .header("x-cos-next-append-position", rec.size.to_string())
        .header("x-cos-hash-crc64ecma", rec.crc64.to_string()))
}
