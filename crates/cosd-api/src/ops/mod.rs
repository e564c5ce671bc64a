//! Operations: one module per family. Each takes the routed, authenticated request context,
//! calls the store and returns a [`Reply`].

mod acl;
mod append;
mod bucket;
mod bucket_cors;
mod bucket_policy;
mod checksum;
mod copy;
mod delete_multi;
pub(crate) mod headers;
mod list;
mod multipart;
mod object;
pub mod post_object;
mod service;

use crate::auth::Principal;
use crate::config_cache::ConfigCache;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use crate::route::{Op, Route};
use bytes::{Bytes, BytesMut};
use cosd_store::{BucketRecord, ByteStream, Store, StoreError};
use futures_util::StreamExt;
use http::HeaderMap;

/// Which protocol dialect the client speaks; it decides the metadata header prefix
/// (`x-cos-meta-` or `x-amz-meta-`) of responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Cos,
    S3,
}

/// Everything an operation may look at.
pub struct Ctx<'a> {
    pub store: &'a Store,
    /// Cached bucket configurations; operations that change one invalidate it here.
    pub configs: &'a ConfigCache,
    pub route: &'a Route,
    pub headers: &'a HeaderMap,
    pub principal: &'a Principal,
    /// The accounts an ACL grant may name.
    pub accounts: &'a (dyn crate::acl::Accounts + Sync),
    /// The request as the authorize step saw it (for authorizing a copy's source).
    pub request: &'a crate::authorize::Request<'a>,
    pub dialect: Dialect,
    /// The region this server answers for.
    pub region: &'a str,
    /// The bucket the request names, already loaded and authorized (`None` for service
    /// operations and for CreateBucket).
    pub bucket: Option<&'a BucketRecord>,
    /// The request's `x-cos-request-id`, for an error that must be written into a body whose
    /// 200 status has already gone out.
    pub request_id: &'a str,
    /// The error document's `Resource` for this request.
    pub resource: &'a str,
}

impl Ctx<'_> {
    fn bucket(&self) -> &BucketRecord {
        self.bucket
            .expect("bucket operations are dispatched with their bucket loaded")
    }

    fn key(&self) -> &str {
        self.route
            .key
            .as_deref()
            .expect("object operations are routed with a key")
    }

    /// The APPID of the signed-in account (operations run only for signed requests).
    fn account(&self) -> &str {
        match self.principal {
            Principal::Account { account, .. } => account,
            Principal::Anonymous => "",
        }
    }
}

/// Runs the operation a request was routed to.
pub async fn dispatch(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    match ctx.route.op {
        Op::ListBuckets => service::list_buckets(ctx).await,
        Op::CreateBucket => bucket::create(ctx, body).await,
        Op::HeadBucket => Ok(bucket::head(ctx)),
        Op::DeleteBucket => bucket::delete(ctx).await,
        Op::GetBucketLocation => Ok(bucket::location(ctx)),
        Op::GetBucketCors => bucket_cors::get(ctx).await,
        Op::PutBucketCors => bucket_cors::put(ctx, body).await,
        Op::DeleteBucketCors => bucket_cors::delete(ctx).await,
        Op::GetBucketAcl => acl::get_bucket(ctx).await,
        Op::PutBucketAcl => acl::put_bucket(ctx, body).await,
        Op::GetObjectAcl => acl::get_object(ctx).await,
        Op::PutObjectAcl => acl::put_object(ctx, body).await,
        Op::GetBucketPolicy => bucket_policy::get(ctx).await,
        Op::PutBucketPolicy => bucket_policy::put(ctx, body).await,
        Op::DeleteBucketPolicy => bucket_policy::delete(ctx).await,
        Op::ListObjects => list::list_v1(ctx).await,
        Op::ListObjectsV2 => list::list_v2(ctx).await,
        Op::DeleteObjects => delete_multi::delete_objects(ctx, body).await,
        Op::PutObject => object::put(ctx, body).await,
        Op::CopyObject => copy::copy(ctx).await,
        Op::GetObject => object::get(ctx, false).await,
        Op::HeadObject => object::get(ctx, true).await,
        Op::DeleteObject => object::delete(ctx).await,
        Op::InitiateMultipartUpload => multipart::initiate(ctx).await,
        Op::UploadPart => multipart::upload_part(ctx, body).await,
        Op::UploadPartCopy => multipart::upload_part_copy(ctx).await,
        Op::CompleteMultipartUpload => multipart::complete(ctx, body).await,
        Op::AbortMultipartUpload => multipart::abort(ctx).await,
        Op::ListParts => multipart::list_parts(ctx).await,
        Op::ListMultipartUploads => multipart::list_uploads(ctx).await,
        Op::AppendObject => append::append(ctx, body).await,
        Op::NotImplemented(name) => Err(ApiError::with_message(
            ErrorCode::NotImplemented,
            format!("{name} is not implemented by this server yet."),
        )),
        Op::Preflight => unreachable!("preflight requests are answered by the CORS step"),
        Op::PostObject => unreachable!("form uploads authenticate themselves: post_object::post"),
    }
}

/// Maps a storage failure to the COS error a client should see.
pub fn store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::NoSuchBucket => ErrorCode::NoSuchBucket.into(),
        StoreError::BucketNotEmpty => ErrorCode::BucketNotEmpty.into(),
        StoreError::NoSuchKey => ErrorCode::NoSuchKey.into(),
        StoreError::BadDigest => ErrorCode::BadDigest.into(),
        StoreError::BucketExists { .. } => ErrorCode::BucketAlreadyExists.into(),
        StoreError::NoSuchUpload => ErrorCode::NoSuchUpload.into(),
        StoreError::InvalidPart => ApiError::with_message(
            ErrorCode::InvalidPart,
            "A part was uploaded again while the upload was being completed; complete it again with the new part's ETag.",
        ),
        StoreError::NotAppendable => ErrorCode::ObjectNotAppendable.into(),
        StoreError::PositionNotEqualToLength { length } => ApiError::with_message(
            ErrorCode::PositionNotEqualToLength,
            format!("The position of the append must be the length of the object, {length}."),
        ),
        StoreError::AppendLimit(why) => ApiError::with_message(
            ErrorCode::InvalidRequest,
            format!("The appendable object cannot grow: {why}."),
        ),
        StoreError::Body(io) => ApiError::from_io(io),
        err @ (StoreError::Io(_) | StoreError::Meta(_)) => {
            tracing::error!(error = %err, "storage failure");
            ErrorCode::InternalError.into()
        }
    }
}

/// Reads a small request body (an XML document) whole, refusing more than `limit` bytes.
pub(crate) async fn read_small_body(mut body: ByteStream, limit: usize) -> ApiResult<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ApiError::from_io)?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::with_message(
                ErrorCode::XMLSizeLimit,
                format!("The request body exceeds the limit of {limit} bytes."),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// ISO 8601 with milliseconds, as COS listings show times (`2020-12-10T03:37:30.000Z`).
pub(crate) fn iso8601(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).expect("a UTC time always formats")
}

/// RFC 1123 time for HTTP headers (`Last-Modified`).
pub(crate) fn http_date(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

pub(crate) fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        assert_eq!(iso8601(1_607_571_450_123), "2020-12-10T03:37:30.123Z");
        assert_eq!(
            http_date(1_607_571_450_123),
            "Thu, 10 Dec 2020 03:37:30 GMT"
        );
    }
}
