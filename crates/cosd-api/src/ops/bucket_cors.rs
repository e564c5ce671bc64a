//! PUT, GET and DELETE Bucket cors (`?cors`).

use super::headers::content_md5;
use super::{read_small_body, Ctx};
use crate::config_cache::CORS;
use crate::cors::{CorsConfiguration, MAX_CORS_BODY};
use crate::error::{ApiResult, ErrorCode};
use crate::response::Reply;
use cosd_store::ByteStream;
use http::StatusCode;
use md5::{Digest, Md5};

/// Replaces the bucket's CORS configuration as a whole; a configuration that does not
/// validate leaves the old one untouched.
pub async fn put(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    let expected_md5 = content_md5(ctx.headers)?;
    // One byte over the limit is enough to know the body is too large.
    let body = read_small_body(body, MAX_CORS_BODY + 1).await?;
    if expected_md5.is_some_and(|m| m[..] != Md5::digest(&body)[..]) {
        return Err(ErrorCode::BadDigest.into());
    }
    let config = CorsConfiguration::parse(&body)?;
    let bucket = &ctx.bucket().name;
    ctx.configs
        .put(ctx.store, bucket, CORS, Some(config.to_xml().into_bytes()))
        .await?;
    Ok(Reply::empty(StatusCode::OK))
}

pub async fn get(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let config = ctx.configs.get(ctx.store, &ctx.bucket().name).await?;
    match &config.cors {
        Some(cors) => Ok(Reply::xml(cors.to_xml())),
        None => Err(ErrorCode::NoSuchCORSConfiguration.into()),
    }
}

pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let bucket = &ctx.bucket().name;
    ctx.configs.put(ctx.store, bucket, CORS, None).await?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
