//! DELETE Multiple Objects (`POST /?delete`).

use super::headers::content_md5;
use super::{read_small_body, store_error, Ctx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use crate::route::MAX_KEY_BYTES;
use crate::xml::{self, DeleteEntry};
use cosd_store::ByteStream;
use md5::{Digest, Md5};

/// Most keys one request may delete.
pub const MAX_DELETE_KEYS: usize = 1000;
/// Enough for 1000 keys of maximum length, escaped.
const MAX_DELETE_BODY: usize = 8 * 1024 * 1024;

pub async fn delete_objects(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    let expected_md5 = content_md5(ctx.headers)?;
    let body = read_small_body(body, MAX_DELETE_BODY).await?;
    if body.is_empty() {
        return Err(ErrorCode::MissingRequestBodyError.into());
    }
    if expected_md5.is_some_and(|m| m[..] != Md5::digest(&body)[..]) {
        return Err(ErrorCode::BadDigest.into());
    }
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::with_message(ErrorCode::MalformedXML, "The request body is not UTF-8.")
    })?;
    let request: xml::Delete = xml::from_document(text)?;
    if request.objects.is_empty() || request.objects.len() > MAX_DELETE_KEYS {
        return Err(ApiError::with_message(
            ErrorCode::MalformedXML,
            format!("A delete request names between 1 and {MAX_DELETE_KEYS} objects, this one names {}.", request.objects.len()),
        ));
    }
    let quiet = request.quiet.unwrap_or(false);
    let bucket = &ctx.bucket().name;
    let mut entries = Vec::new();
    for object in request.objects {
        let outcome = if object.key.is_empty() || object.key.len() > MAX_KEY_BYTES {
            Err(ApiError::with_message(
                ErrorCode::InvalidArgument,
                "The key is empty or longer than 850 bytes.",
            ))
        } else if object
            .version_id
            .as_deref()
            .is_some_and(|v| !v.is_empty() && v != "null")
        {
            Err(ErrorCode::NoSuchVersion.into())
        } else {
            ctx.store
                .delete_object(bucket, &object.key)
                .await
                .map(|_| ())
                .map_err(store_error)
        };
        match outcome {
            Ok(()) if quiet => {}
            Ok(()) => entries.push(DeleteEntry::Deleted { key: object.key }),
            Err(e) => entries.push(DeleteEntry::Error {
                key: object.key,
                code: e.code.as_str(),
                message: e.message.into_owned(),
            }),
        }
    }
    Ok(Reply::xml(xml::to_document(&xml::DeleteResult { entries })))
}
