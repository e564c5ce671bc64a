//! PUT and GET Bucket acl and Object acl (`?acl`).

use super::{read_small_body, store_error, Ctx};
use crate::acl::{self, Acl, Level, Requested, MAX_ACL_BODY};
use crate::config_cache::ACL;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use cosd_store::ByteStream;
use http::StatusCode;

/// Attempts at rewriting an object record that others keep changing before giving up.
const MAX_REPLACE_ATTEMPTS: usize = 8;

/// The ACL a `?acl` PUT asks for: from its headers or from its body, exactly one of them.
async fn requested(ctx: &Ctx<'_>, body: ByteStream, level: Level) -> ApiResult<Requested> {
    let from_headers = acl::from_fields(ctx.headers, level, None, ctx.accounts)?;
    // One byte over the limit is enough to know the body is too large.
    let body = read_small_body(body, MAX_ACL_BODY + 1).await?;
    match (from_headers, body.is_empty()) {
        (Some(_), false) => Err(ApiError::with_message(
            ErrorCode::InvalidRequest,
            "Give the ACL either in headers or as an AccessControlPolicy body, not both.",
        )),
        (Some(requested), true) => Ok(requested),
        (None, false) => Ok(Requested::Set(acl::from_xml(
            &body,
            &ctx.bucket().owner,
            level,
            ctx.accounts,
        )?)),
        (None, true) => Err(ApiError::with_message(
            ErrorCode::MissingRequestBodyError,
            "Give the ACL in x-cos-acl / x-cos-grant-* headers or as an AccessControlPolicy body.",
        )),
    }
}

pub async fn put_bucket(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    let acl = match requested(ctx, body, Level::Bucket).await? {
        Requested::Set(acl) => acl,
        // acl::canned already refuses `default` for buckets; this keeps that a 400, not a panic.
        Requested::Inherit => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidArgument,
                "A bucket has no default ACL to inherit.",
            ))
        }
    };
    let bucket = &ctx.bucket().name;
    ctx.configs
        .put(ctx.store, bucket, ACL, Some(acl.to_json()))
        .await?;
    Ok(Reply::empty(StatusCode::OK))
}

pub async fn get_bucket(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let bucket = ctx.bucket();
    let config = ctx.configs.get(ctx.store, &bucket.name).await?;
    let acl = config.acl.clone().unwrap_or_default();
    Ok(Reply::xml(acl.to_xml(&bucket.owner)))
}

pub async fn put_object(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    let requested = requested(ctx, body, Level::Object).await?;
    let stored = match requested {
        Requested::Inherit => None,
        Requested::Set(acl) => Some(acl.to_stored()),
    };
    let bucket = &ctx.bucket().name;
    for _ in 0..MAX_REPLACE_ATTEMPTS {
        let current = super::object::load(ctx).await?;
        let mut updated = current.clone();
        updated.attrs.acl = stored.clone();
        let committed = ctx
            .store
            .meta
            .replace_object(bucket, ctx.key(), Some(current), updated)
            .await
            .map_err(store_error)?;
        if committed {
            return Ok(Reply::empty(StatusCode::OK));
        }
    }
    Err(ApiError::with_message(
        ErrorCode::InternalError,
        "The object kept changing while its ACL was being set; try again.",
    ))
}

/// The object's ACL; one that inherits shows the bucket's grants, as they are what applies.
pub async fn get_object(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let rec = super::object::load(ctx).await?;
    let bucket = ctx.bucket();
    let acl = match &rec.attrs.acl {
        Some(grants) => Acl::from_stored(grants),
        None => {
            let config = ctx.configs.get(ctx.store, &bucket.name).await?;
            config.acl.clone().unwrap_or_default()
        }
    };
    Ok(Reply::xml(acl.to_xml(&bucket.owner)))
}
