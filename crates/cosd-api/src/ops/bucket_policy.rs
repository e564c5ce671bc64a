//! PUT, GET and DELETE Bucket policy (`?policy`).

use super::{read_small_body, Ctx};
use crate::config_cache::POLICY;
use crate::error::{ApiResult, ErrorCode};
use crate::policy::{Policy, MAX_POLICY_BYTES};
use crate::response::Reply;
use cosd_store::ByteStream;
use http::StatusCode;

/// Replaces the bucket policy; one that does not validate leaves the old one in place.
pub async fn put(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    // One byte over the limit is enough for the parser to report the size.
    let body = read_small_body(body, MAX_POLICY_BYTES + 1)
        .await
        .map_err(|e| match e.code {
            ErrorCode::XMLSizeLimit => crate::error::ApiError::with_message(
                ErrorCode::MalformedPolicy,
                format!("The policy exceeds the limit of {MAX_POLICY_BYTES} bytes."),
            ),
            _ => e,
        })?;
    let bucket = &ctx.bucket().name;
    Policy::parse(&body, bucket)?;
    ctx.configs
        .put(ctx.store, bucket, POLICY, Some(body.to_vec()))
        .await?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

pub async fn get(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let config = ctx.configs.get(ctx.store, &ctx.bucket().name).await?;
    match &config.policy {
        Some(policy) => {
            // The body is JSON, not XML: only the content type differs.
            Ok(Reply::xml(policy.text().to_string()).header("content-type", "application/json"))
        }
        None => Err(ErrorCode::NoSuchBucketPolicy.into()),
    }
}

/// Removes the policy; 204 whether or not there was one (COS).
pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let bucket = &ctx.bucket().name;
    ctx.configs.put(ctx.store, bucket, POLICY, None).await?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
