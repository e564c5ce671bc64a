//! PUT, HEAD and DELETE Bucket, and GET Bucket location.

use super::{now_ms, read_small_body, store_error, Ctx};
use crate::acl;
use crate::config_cache::ACL;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops::headers::reject_unsupported;
use crate::response::Reply;
use crate::xml;
use cosd_store::{BucketRecord, ByteStream, StoreError};
use http::StatusCode;

/// Buckets one account may own (COS's limit).
pub const MAX_BUCKETS_PER_ACCOUNT: usize = 200;
/// The whole default domain `<bucket>.cos.<region>.myqcloud.com` may be at most this long.
const MAX_DEFAULT_DOMAIN_LEN: usize = 60;
/// A create request may carry a small configuration document; anything bigger is refused.
const MAX_CREATE_BODY: usize = 64 * 1024;

/// Checks a full bucket name `<name>-<appid>` against COS's rules and the caller's APPID.
pub fn validate_bucket_name(full: &str, appid: &str, region: &str) -> ApiResult<()> {
    let invalid = |why: &str| {
        ApiError::with_message(
            ErrorCode::InvalidBucketName,
            format!("The bucket name {full:?} is not valid: {why}."),
        )
    };
    let Some(name) = full.strip_suffix(appid).and_then(|n| n.strip_suffix('-')) else {
        return Err(invalid(&format!(
            "it must end with -{appid}, the APPID of your account"
        )));
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(invalid("use only lower-case letters, digits and '-'"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(invalid("it must not start or end with '-'"));
    }
    let domain_len = format!("{full}.cos.{region}.myqcloud.com").len();
    if domain_len > MAX_DEFAULT_DOMAIN_LEN {
        return Err(invalid(&format!("<bucket>.cos.<region>.myqcloud.com would be {domain_len} characters, the limit is {MAX_DEFAULT_DOMAIN_LEN}")));
    }
    Ok(())
}

pub async fn create(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    let name = ctx
        .route
        .bucket
        .as_deref()
        .expect("bucket operations are routed with a bucket");
    let account = ctx.account();
    validate_bucket_name(name, account, ctx.region)?;
    reject_unsupported(ctx.headers)?;
    let acl = acl::from_fields(ctx.headers, acl::Level::Bucket, None, ctx.accounts)?;
    // The optional CreateBucketConfiguration (location constraint, MAZ) has no effect on a
    // single-region server; it is read so the connection stays usable.
    read_small_body(body, MAX_CREATE_BODY).await?;
    let owned = ctx
        .store
        .meta
        .list_buckets()
        .await
        .map_err(store_error)?
        .iter()
        .filter(|b| b.owner == account)
        .count();
    if owned >= MAX_BUCKETS_PER_ACCOUNT {
        return Err(ApiError::with_message(
            ErrorCode::TooManyBuckets,
            format!("An account may own at most {MAX_BUCKETS_PER_ACCOUNT} buckets."),
        ));
    }
    let record = BucketRecord {
        name: name.to_string(),
        owner: account.to_string(),
        region: ctx.region.to_string(),
        created_ms: now_ms(),
    };
    match ctx.store.meta.create_bucket(record).await {
        Ok(()) => {
            // Either way, a cached "no such bucket" for this name is stale now.
            match acl {
                Some(acl::Requested::Set(acl)) => {
                    ctx.configs
                        .put(ctx.store, name, ACL, Some(acl.to_json()))
                        .await?;
                }
                _ => ctx.configs.invalidate(name),
            }
            Ok(Reply::empty(StatusCode::OK).header("location", format!("/{name}")))
        }
        Err(StoreError::BucketExists { owner }) if owner == account => {
            Err(ErrorCode::BucketAlreadyOwnedByYou.into())
        }
        Err(StoreError::BucketExists { .. }) => Err(ErrorCode::BucketAlreadyExists.into()),
        Err(e) => Err(store_error(e)),
    }
}

pub fn head(ctx: &Ctx<'_>) -> Reply {
    Reply::empty(StatusCode::OK).header("x-cos-bucket-region", &ctx.bucket().region)
}

pub async fn delete(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let name = &ctx.bucket().name;
    ctx.store
        .meta
        .delete_bucket(name)
        .await
        .map_err(store_error)?;
    ctx.configs.invalidate(name);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

pub fn location(ctx: &Ctx<'_>) -> Reply {
    Reply::xml(xml::to_document(&xml::LocationConstraint {
        region: ctx.bucket().region.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        let ok = |n: &str| validate_bucket_name(n, "1250000000", "ap-beijing").is_ok();
        assert!(ok("examplebucket-1-1250000000"));
        assert!(ok("1-newproject-1250000000"));
        assert!(ok("123456789012345678901-1250000000"));
        assert!(
            !ok("1234567890123456789012-1250000000"),
            "61-character domain"
        );
        assert!(!ok("Example-1250000000"));
        assert!(!ok("-a-1250000000"));
        assert!(!ok("a--1250000000"));
        assert!(!ok("a_b-1250000000"));
        assert!(!ok("a-1250000001"));
        assert!(!ok("-1250000000"));
        assert!(!ok("1250000000"));
    }
}
