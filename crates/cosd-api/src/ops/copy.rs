//! PUT Object - Copy.

use super::headers::{
    cos_or_amz, evaluate_conditions, object_acl, object_attrs, reject_unsupported, storage_class,
    Condition,
};
use super::object::MAX_PUT_BYTES;
use super::{iso8601, store_error, Ctx};
use crate::authorize;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use crate::route::{decode_path, Op};
use crate::xml;
use cosd_store::{ObjectAttrs, ObjectRecord};

/// Where a copy reads from.
#[derive(Debug, PartialEq, Eq)]
pub struct CopySource {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// Parses `x-cos-copy-source` (`<bucket>.cos.<region>.myqcloud.com/<encoded key>`) and
/// `x-amz-copy-source` (`/<bucket>/<encoded key>` or `<bucket>/<encoded key>`), either with an
/// optional `?versionId=`.
pub fn parse_copy_source(value: &str) -> ApiResult<CopySource> {
    let invalid = || {
        ApiError::with_message(ErrorCode::InvalidCopySource, format!("The copy source {value:?} is not of the form <bucket host>/<key> or /<bucket>/<key>."))
    };
    let (path, query) = value.split_once('?').unwrap_or((value, ""));
    let path = path.strip_prefix('/').unwrap_or(path);
    let (first, raw_key) = path.split_once('/').ok_or_else(invalid)?;
    let bucket = first.split('.').next().unwrap_or("");
    let key = decode_path(raw_key).map_err(|_| invalid())?;
    if bucket.is_empty() || key.is_empty() || value.contains("://") {
        return Err(invalid());
    }
    let version_id = query
        .split('&')
        .find_map(|p| p.strip_prefix("versionId="))
        .map(|v| decode_path(v).map_err(|_| invalid()))
        .transpose()?;
    Ok(CopySource {
        bucket: decode_path(bucket).map_err(|_| invalid())?,
        key,
        version_id,
    })
}

/// Loads the source of a copy (PUT Object - Copy, Upload Part - Copy): the caller must be
/// allowed to GET it (as [`authorize`](crate::authorize) decides for a GET), it must exist, and pass the `x-cos-copy-source-if-*` (or `x-amz-…`) conditions.
pub(super) async fn load_source(ctx: &Ctx<'_>) -> ApiResult<(CopySource, ObjectRecord)> {
    let source = parse_copy_source(cos_or_amz(ctx.headers, "copy-source")?.unwrap_or_default())?;
    if source.version_id.as_deref().is_some_and(|v| v != "null") {
        return Err(ApiError::with_message(
            ErrorCode::NoSuchVersion,
            "The version of the copy source does not exist.",
        ));
    }
    let read_source = authorize::Request {
        op: Op::GetObject,
        bucket: Some(&source.bucket),
        key: Some(&source.key),
        prefix: None,
        acl: None,
        ..ctx.request.clone()
    };
    authorize::authorize(ctx.store, ctx.configs, &read_source).await?;
    let src = ctx
        .store
        .meta
        .get_object(&source.bucket, &source.key)
        .await
        .map_err(store_error)?
        .ok_or(ErrorCode::NoSuchCopySource)?;
    let prefix = if ctx
        .headers
        .keys()
        .any(|k| k.as_str().starts_with("x-cos-copy-source-if-"))
    {
        "x-cos-copy-source-"
    } else {
        "x-amz-copy-source-"
    };
    if evaluate_conditions(ctx.headers, prefix, &src)? != Condition::Proceed {
        return Err(ErrorCode::PreconditionFailed.into());
    }
    Ok((source, src))
}

pub async fn copy(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    reject_unsupported(ctx.headers)?;
    let (source, src) = load_source(ctx).await?;
    if src.size > MAX_PUT_BYTES {
        return Err(ApiError::with_message(ErrorCode::InvalidRequest, format!("The copy source is larger than the maximum allowable size for a copy source: {MAX_PUT_BYTES}.")));
    }
    let replace = match cos_or_amz(ctx.headers, "metadata-directive")? {
        None => false,
        Some(d) if d.eq_ignore_ascii_case("copy") => false,
        Some(d) if d.eq_ignore_ascii_case("replaced") || d.eq_ignore_ascii_case("replace") => true,
        Some(d) => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("Unknown metadata directive {d:?}: use Copy or Replaced."),
            ))
        }
    };
    let dst_bucket = &ctx.bucket().name;
    let same_object = source.bucket == *dst_bucket && source.key == ctx.key();
    if same_object && !replace && cos_or_amz(ctx.headers, "storage-class")?.is_none() {
        return Err(ApiError::with_message(ErrorCode::InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata or storage class: use the Replaced metadata directive."));
    }
    let attrs = if replace {
        object_attrs(ctx.headers, ctx.accounts)?
    } else {
        // The copy's ACL is what this request says (by default: the bucket's), not the source's.
        ObjectAttrs {
            storage_class: storage_class(ctx.headers)?,
            acl: object_acl(ctx.headers, None, ctx.accounts)?,
            ..src.attrs.clone()
        }
    };
    let result = ctx
        .store
        .copy_object(&src, dst_bucket, ctx.key(), attrs)
        .await
        .map_err(store_error)?;
    let rec = result.record;
    Ok(Reply::xml(xml::to_document(&xml::CopyObjectResult {
        etag: format!("\"{}\"", rec.etag),
        crc64: rec.crc64.to_string(),
        last_modified: iso8601(rec.modified_ms),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_forms() {
        let cos = parse_copy_source("b-1250000000.cos.ap-guangzhou.myqcloud.com/dir/a%20b%3F.txt")
            .unwrap();
        assert_eq!(
            cos,
            CopySource {
                bucket: "b-1250000000".into(),
                key: "dir/a b?.txt".into(),
                version_id: None
            }
        );
        let amz = parse_copy_source("/b-1/k%2Bx?versionId=null").unwrap();
        assert_eq!(
            amz,
            CopySource {
                bucket: "b-1".into(),
                key: "k+x".into(),
                version_id: Some("null".into())
            }
        );
        assert_eq!(parse_copy_source("b-1/k").unwrap().key, "k");
        assert_eq!(
            parse_copy_source("b-1.cos.localhost:9000/k")
                .unwrap()
                .bucket,
            "b-1"
        );
        for bad in [
            "",
            "b-1",
            "/b-1/",
            "http://b-1.cos.r.myqcloud.com/k",
            "b-1/%FF",
        ] {
            assert_eq!(
                parse_copy_source(bad).unwrap_err().code,
                ErrorCode::InvalidCopySource,
                "{bad}"
            );
        }
    }
}
