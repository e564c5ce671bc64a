//! GET Bucket: list objects, version 1 (marker) and version 2 (continuation token).

use super::{iso8601, store_error, Ctx};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use crate::xml;
use base64::Engine;
use cosd_store::list::{list, ListPage, ListQuery};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Most entries one page returns (COS and S3).
pub const MAX_KEYS: usize = 1000;

/// `encoding-type=url`: everything but unreserved characters and `/` is percent-encoded.
pub(super) const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The query parameters listings share (both versions of GET Bucket, and the multipart
/// listings, whose page size goes by another name).
pub(super) struct Common<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub max_keys: usize,
    url_encode: bool,
}

fn common<'a>(ctx: &'a Ctx<'_>) -> ApiResult<Common<'a>> {
    common_with(ctx, "max-keys")
}

/// The shared parameters, the page size given as `max_param` (`max-keys`, `max-uploads`, …).
pub(super) fn common_with<'a>(ctx: &'a Ctx<'_>, max_param: &str) -> ApiResult<Common<'a>> {
    let q = &ctx.route.query;
    let delimiter = q.get("delimiter").filter(|d| !d.is_empty());
    if let Some(d) = delimiter {
        if d.chars().count() != 1 {
            return Err(ErrorCode::InvalidDelimiter.into());
        }
    }
    let max_keys = match q.get(max_param) {
        None | Some("") => MAX_KEYS,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| {
                ApiError::with_message(
                    ErrorCode::InvalidArgument,
                    format!("{max_param} must be a non-negative integer, not {v:?}."),
                )
            })?
            .min(MAX_KEYS),
    };
    let url_encode = match q.get("encoding-type") {
        None | Some("") => false,
        Some(t) if t.eq_ignore_ascii_case("url") => true,
        Some(t) => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("Invalid encoding-type {t:?}: only \"url\" is supported."),
            ))
        }
    };
    Ok(Common {
        prefix: q.get("prefix").unwrap_or(""),
        delimiter,
        max_keys,
        url_encode,
    })
}

impl Common<'_> {
    pub(super) fn encode(&self, s: &str) -> String {
        if self.url_encode {
            utf8_percent_encode(s, URL_ENCODE).to_string()
        } else {
            s.to_string()
        }
    }

    pub(super) fn encoding_type(&self) -> Option<&'static str> {
        self.url_encode.then_some("url")
    }

    async fn page(&self, ctx: &Ctx<'_>, after: Option<String>) -> ApiResult<ListPage> {
        let query = ListQuery {
            prefix: self.prefix.to_string(),
            delimiter: self.delimiter.map(str::to_string),
            after,
            max_keys: self.max_keys,
        };
        list(ctx.store.meta.as_ref(), &ctx.bucket().name, &query)
            .await
            .map_err(store_error)
    }

    /// The object entries; `owner` is included when given (always in v1, on request in v2).
    fn contents(&self, page: &ListPage, owner: Option<&str>) -> Vec<xml::Contents> {
        page.objects
            .iter()
            .map(|(key, rec)| xml::Contents {
                key: self.encode(key),
                last_modified: iso8601(rec.modified_ms),
                etag: format!("\"{}\"", rec.etag),
                size: rec.size,
                owner: owner.map(|o| xml::Owner {
                    id: o.to_string(),
                    display_name: o.to_string(),
                }),
                storage_class: rec.attrs.storage_class.clone(),
            })
            .collect()
    }

    fn prefixes(&self, page: &ListPage) -> Vec<xml::CommonPrefix> {
        page.common_prefixes
            .iter()
            .map(|p| xml::CommonPrefix {
                prefix: self.encode(p),
            })
            .collect()
    }
}

pub async fn list_v1(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let c = common(ctx)?;
    let marker = ctx.route.query.get("marker").unwrap_or("");
    let page = c
        .page(ctx, Some(marker.to_string()).filter(|m| !m.is_empty()))
        .await?;
    let bucket = ctx.bucket();
    let doc = xml::ListBucketResult {
        name: bucket.name.clone(),
        encoding_type: c.encoding_type(),
        prefix: c.encode(c.prefix),
        marker: c.encode(marker),
        max_keys: c.max_keys,
        delimiter: c.delimiter.map(|d| c.encode(d)),
        is_truncated: page.is_truncated,
        next_marker: page.next_marker.as_deref().map(|m| c.encode(m)),
        common_prefixes: c.prefixes(&page),
        contents: c.contents(&page, Some(&bucket.owner)),
    };
    Ok(Reply::xml(xml::to_document(&doc)).header("x-cos-bucket-region", &bucket.region))
}

pub async fn list_v2(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let c = common(ctx)?;
    let q = &ctx.route.query;
    let token = q.get("continuation-token").filter(|t| !t.is_empty());
    let start_after = q.get("start-after").filter(|s| !s.is_empty());
    let after = match token {
        Some(t) => Some(decode_token(t)?),
        None => start_after.map(str::to_string),
    };
    let page = c.page(ctx, after).await?;
    let bucket = ctx.bucket();
    let fetch_owner = q.get("fetch-owner") == Some("true");
    let contents = c.contents(&page, fetch_owner.then_some(bucket.owner.as_str()));
    let doc = xml::ListBucketResultV2 {
        name: bucket.name.clone(),
        prefix: c.encode(c.prefix),
        delimiter: c.delimiter.map(|d| c.encode(d)),
        max_keys: c.max_keys,
        encoding_type: c.encoding_type(),
        key_count: page.objects.len() + page.common_prefixes.len(),
        is_truncated: page.is_truncated,
        continuation_token: token.map(str::to_string),
        next_continuation_token: page.next_marker.as_deref().map(encode_token),
        start_after: start_after.map(|s| c.encode(s)),
        contents,
        common_prefixes: c.prefixes(&page),
    };
    Ok(Reply::xml(xml::to_document(&doc)).header("x-cos-bucket-region", &bucket.region))
}

/// Continuation tokens are opaque to clients: the key to continue after, base64url-encoded.
fn encode_token(after: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(after)
}

fn decode_token(token: &str) -> ApiResult<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::InvalidArgument,
                "The continuation token provided is incorrect.",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(decode_token(&encode_token("a/b c/腾")).unwrap(), "a/b c/腾");
        assert_eq!(
            decode_token("!!!").unwrap_err().code,
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn url_encoding_keeps_slashes() {
        let c = Common {
            prefix: "",
            delimiter: None,
            max_keys: 1,
            url_encode: true,
        };
        assert_eq!(
            c.encode("照片/2020年/IMG 1+2.jpg"),
            "%E7%85%A7%E7%89%87/2020%E5%B9%B4/IMG%201%2B2.jpg"
        );
    }
}
