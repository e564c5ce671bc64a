//! Multipart upload: Initiate, Upload Part, Upload Part - Copy, Complete, Abort, List Parts and
//! List Multipart Uploads.
//!
//! Parts stream into blobs of their own; Complete commits an object that points at them, so
//! no data is copied. Complete checks the part list and answers at once when it can; when the
//! work takes longer (many parts), it answers 200 and keeps the connection alive with spaces
//! until the result document — or a late `<Error>` document, as COS and S3 send it — follows.

use super::copy::load_source;
use super::headers::{content_md5, header_str, object_attrs, reject_unsupported};
use super::list::{common_with, URL_ENCODE};
use super::object::{upload_body, MAX_PUT_BYTES};
use super::{iso8601, read_small_body, store_error, Ctx, Dialect};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::{Reply, ReplyBody};
use crate::xml;
use bytes::Bytes;
use cosd_store::list::{list_uploads as list_upload_page, UploadQuery};
use cosd_store::{ByteStream, PartRecord, PutResult};
use futures_util::stream;
use http::StatusCode;
use percent_encoding::utf8_percent_encode;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Part numbers run from 1 to this (COS and S3).
pub const MAX_PARTS: u32 = 10_000;
/// Every part but the last must be at least this big (COS: 1 MB).
pub const MIN_PART_BYTES: u64 = 1024 * 1024;
/// A part may be at most this big (COS: 5 GB, as a PUT).
pub const MAX_PART_BYTES: u64 = MAX_PUT_BYTES;
/// The Complete document of 10,000 parts takes about 1 MB; twice that is plenty.
const MAX_COMPLETE_BODY: usize = 2 * 1024 * 1024;
/// How long Complete works before it commits to a 200 and starts the keep-alive.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How often a slow Complete sends a keep-alive space.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(5);

/// COS's namespace for the Complete result, and S3's for S3 clients.
const COS_XMLNS: &str = "http://www.qcloud.com/document/product/436/7751";
const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The `uploadId` parameter. Ids are alphanumeric, so anything else names no upload.
fn upload_id<'a>(ctx: &'a Ctx<'_>) -> ApiResult<&'a str> {
    match ctx.route.query.get("uploadId") {
        Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(id),
        _ => Err(ErrorCode::NoSuchUpload.into()),
    }
}

/// The `partNumber` parameter, 1 to [`MAX_PARTS`].
fn part_number(ctx: &Ctx<'_>) -> ApiResult<u32> {
    ctx.route
        .query
        .get("partNumber")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=MAX_PARTS).contains(n))
        .ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("Part number must be an integer between 1 and {MAX_PARTS}, inclusive."),
            )
        })
}

fn part_reply(part: &PartRecord) -> Reply {
    Reply::empty(StatusCode::OK)
        .header("etag", format!("\"{}\"", part.etag))
        .header("x-cos-hash-crc64ecma", part.crc64.to_string())
}

pub async fn initiate(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    reject_unsupported(ctx.headers)?;
    let attrs = object_attrs(ctx.headers, ctx.accounts)?;
    let bucket = &ctx.bucket().name;
    let upload = ctx
        .store
        .create_upload(bucket, ctx.key(), attrs, ctx.account())
        .await
        .map_err(store_error)?;
    Ok(Reply::xml(xml::to_document(
        &xml::InitiateMultipartUploadResult {
            bucket: bucket.clone(),
            key: upload.key,
            upload_id: upload.upload_id,
        },
    )))
}

pub async fn upload_part(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    let number = part_number(ctx)?;
    let upload_id = upload_id(ctx)?;
    let md5 = content_md5(ctx.headers)?;
    let body = upload_body(ctx.headers, body, MAX_PART_BYTES)?;
    let part = ctx
        .store
        .upload_part(&ctx.bucket().name, ctx.key(), upload_id, number, body, md5)
        .await
        .map_err(store_error)?;
    Ok(part_reply(&part))
}

pub async fn upload_part_copy(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let number = part_number(ctx)?;
    let upload_id = upload_id(ctx)?;
    let (_, src) = load_source(ctx).await?;
    let (start, len) = match super::headers::cos_or_amz(ctx.headers, "copy-source-range")? {
        None => (0, src.size),
        Some(range) => copy_range(range, src.size)?,
    };
    if len > MAX_PART_BYTES {
        return Err(ApiError::with_message(
            ErrorCode::EntityTooLarge,
            format!("A part may be at most {MAX_PART_BYTES} bytes: copy a smaller range."),
        ));
    }
    let body = ctx
        .store
        .read(&src, start, len)
        .await
        .map_err(store_error)?;
    let part = ctx
        .store
        .upload_part(&ctx.bucket().name, ctx.key(), upload_id, number, body, None)
        .await
        .map_err(store_error)?;
    let doc = xml::to_document(&xml::CopyPartResult {
        etag: format!("\"{}\"", part.etag),
        last_modified: iso8601(part.modified_ms),
        crc64: part.crc64.to_string(),
    });
    Ok(Reply::xml(doc).header("x-cos-hash-crc64ecma", part.crc64.to_string()))
}

/// `x-cos-copy-source-range: bytes=first-last` (inclusive, both given) within an object of
/// `size` bytes, as (start, length).
fn copy_range(value: &str, size: u64) -> ApiResult<(u64, u64)> {
    let parsed = value
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((first, last)) if first <= last && last < size => Ok((first, last - first + 1)),
        _ => Err(ApiError::with_message(
            ErrorCode::InvalidArgument,
            format!("The copy source range {value:?} is not valid for a source of {size} bytes: use bytes=first-last within it."),
        )),
    }
}

/// The parts a Complete request names, checked for order: (number, ETag without quotes).
fn requested_parts(doc: xml::CompleteMultipartUpload) -> ApiResult<Vec<(u32, String)>> {
    if doc.parts.is_empty() {
        return Err(ApiError::with_message(
            ErrorCode::MalformedXML,
            "The Complete Multipart Upload request must name at least one part.",
        ));
    }
    if doc.parts.len() > MAX_PARTS as usize {
        return Err(ApiError::with_message(
            ErrorCode::InvalidPart,
            format!("An object may have at most {MAX_PARTS} parts."),
        ));
    }
    let mut previous = 0;
    let mut out = Vec::with_capacity(doc.parts.len());
    for part in doc.parts {
        if part.part_number <= previous {
            return Err(ErrorCode::InvalidPartOrder.into());
        }
        previous = part.part_number;
        out.push((
            part.part_number,
            part.etag.trim().trim_matches('"').to_string(),
        ));
    }
    Ok(out)
}

/// Picks the uploaded parts a Complete request names. Each must exist with the given ETag,
/// and every part but the last must be at least [`MIN_PART_BYTES`]. Part numbers may have
/// gaps, as in S3. `uploaded` is in ascending order, as the store lists it.
fn select_parts(wanted: &[(u32, String)], uploaded: Vec<PartRecord>) -> ApiResult<Vec<PartRecord>> {
    let mut uploaded = uploaded.into_iter().peekable();
    let mut chosen = Vec::with_capacity(wanted.len());
    for (number, etag) in wanted {
        while uploaded.next_if(|p| p.number < *number).is_some() {}
        let part = uploaded
            .next_if(|p| p.number == *number && p.etag.eq_ignore_ascii_case(etag))
            .ok_or_else(|| {
                ApiError::with_message(
                    ErrorCode::InvalidPart,
                    format!("Part {number} with ETag \"{etag}\" has not been uploaded."),
                )
            })?;
        chosen.push(part);
    }
    if let Some(small) = chosen
        .iter()
        .rev()
        .skip(1)
        .find(|p| p.size < MIN_PART_BYTES)
    {
        return Err(ApiError::with_message(
            ErrorCode::EntityTooSmall,
            format!(
                "Part {} is {} bytes; every part but the last must be at least {MIN_PART_BYTES} bytes.",
                small.number, small.size
            ),
        ));
    }
    Ok(chosen)
}

pub async fn complete(ctx: &Ctx<'_>, body: ByteStream) -> ApiResult<Reply> {
    let upload_id = upload_id(ctx)?;
    let body = read_small_body(body, MAX_COMPLETE_BODY).await?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::with_message(ErrorCode::MalformedXML, "The request body is not UTF-8.")
    })?;
    let wanted = requested_parts(xml::from_document(text)?)?;
    let bucket = ctx.bucket().name.clone();
    let upload = ctx
        .store
        .meta
        .get_upload(&bucket, ctx.key(), upload_id)
        .await
        .map_err(store_error)?
        .ok_or(ErrorCode::NoSuchUpload)?;
    // Its own task: once begun, a completion finishes even if the client goes away.
    let store = ctx.store.clone();
    let task = tokio::spawn({
        let bucket = bucket.clone();
        async move {
            let parts = store
                .all_parts(&bucket, &upload.key, &upload.upload_id)
                .await
                .map_err(store_error)?;
            let chosen = select_parts(&wanted, parts)?;
            store
                .complete_upload(&bucket, &upload, chosen)
                .await
                .map_err(store_error)
        }
    });
    let mut work: Pin<Box<dyn Future<Output = ApiResult<PutResult>> + Send>> =
        Box::pin(async move {
            task.await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "the completion task failed");
                Err(ErrorCode::InternalError.into())
            })
        });
    let result = CompleteResult {
        xmlns: match ctx.dialect {
            Dialect::Cos => COS_XMLNS,
            Dialect::S3 => S3_XMLNS,
        },
        location: location(ctx),
        bucket,
        key: ctx.key().to_string(),
    };
    if let Ok(done) = tokio::time::timeout(ANSWER_WITHIN, &mut work).await {
        let rec = done?.record;
        return Ok(Reply::xml(xml::to_document(&result.document(&rec.etag)))
            .header("x-cos-hash-crc64ecma", rec.crc64.to_string()));
    }
    let late = LateError {
        resource: ctx.resource.to_string(),
        request_id: ctx.request_id.to_string(),
    };
    let render = move |done: ApiResult<PutResult>| match done {
        Ok(put) => xml::to_element(&result.document(&put.record.etag)),
        Err(e) => late.element(&e),
    };
    let mut reply = Reply {
        status: StatusCode::OK,
        headers: http::HeaderMap::new(),
        body: ReplyBody::Chunked(keep_alive(work, KEEPALIVE_EVERY, render)),
    };
    reply.set_header("content-type", "application/xml");
    Ok(reply)
}

/// What the Complete result says besides the ETag.
struct CompleteResult {
    xmlns: &'static str,
    location: String,
    bucket: String,
    key: String,
}

impl CompleteResult {
    fn document(&self, etag: &str) -> xml::CompleteMultipartUploadResult {
        xml::CompleteMultipartUploadResult {
            xmlns: self.xmlns,
            location: self.location.clone(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            etag: format!("\"{etag}\""),
        }
    }
}

/// The object's URL as the client addressed the bucket (virtual host or path style).
fn location(ctx: &Ctx<'_>) -> String {
    let bucket = &ctx.bucket().name;
    let host = header_str(ctx.headers, "host")
        .ok()
        .flatten()
        .unwrap_or(&ctx.route.host);
    let key = utf8_percent_encode(ctx.key(), URL_ENCODE);
    if ctx.route.host.starts_with(&format!("{bucket}.")) {
        format!("http://{host}/{key}")
    } else {
        format!("http://{host}/{bucket}/{key}")
    }
}

/// Renders an error that happens after the 200 went out, as the rest of the body.
struct LateError {
    resource: String,
    request_id: String,
}

impl LateError {
    fn element(&self, err: &ApiError) -> String {
        if err.code.status().is_server_error() {
            tracing::warn!(error = %err, request_id = %self.request_id, "Complete Multipart Upload failed after its 200 was sent");
        }
        xml::to_element(&xml::ErrorDocument {
            code: err.code.as_str(),
            message: &err.message,
            resource: &self.resource,
            request_id: &self.request_id,
            trace_id: &crate::service::trace_id_for(&self.request_id),
        })
    }
}

/// The body of a slow Complete: the XML declaration at once, then a space every `every` while
/// `work` runs (so clients and proxies see a live connection), then `render` of its outcome.
fn keep_alive<T: Send + 'static>(
    work: Pin<Box<dyn Future<Output = T> + Send>>,
    every: Duration,
    render: impl FnOnce(T) -> String + Send + 'static,
) -> ByteStream {
    enum State<W, R> {
        Start(W, R),
        Waiting(W, R, tokio::time::Interval),
        Done,
    }
    let body = stream::unfold(State::Start(work, render), move |state| async move {
        match state {
            State::Start(work, render) => {
                let start = tokio::time::Instant::now() + every;
                let tick = tokio::time::interval_at(start, every);
                let declaration = Bytes::from_static(xml::DECLARATION.as_bytes());
                Some((Ok(declaration), State::Waiting(work, render, tick)))
            }
            State::Waiting(mut work, render, mut tick) => tokio::select! {
                out = &mut work => Some((Ok(Bytes::from(render(out))), State::Done)),
                _ = tick.tick() => {
                    Some((Ok(Bytes::from_static(b" ")), State::Waiting(work, render, tick)))
                }
            },
            State::Done => None,
        }
    });
    Box::pin(body)
}

pub async fn abort(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let upload_id = upload_id(ctx)?;
    ctx.store
        .abort_upload(&ctx.bucket().name, ctx.key(), upload_id)
        .await
        .map_err(store_error)?;
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

fn owner(id: &str) -> xml::Owner {
    xml::Owner {
        id: id.to_string(),
        display_name: id.to_string(),
    }
}

pub async fn list_parts(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let upload_id = upload_id(ctx)?;
    let c = common_with(ctx, "max-parts")?;
    let marker = match ctx.route.query.get("part-number-marker") {
        None | Some("") => 0,
        Some(m) => m.parse::<u32>().map_err(|_| {
            ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("part-number-marker must be a non-negative integer, not {m:?}."),
            )
        })?,
    };
    let bucket = ctx.bucket();
    let upload = ctx
        .store
        .meta
        .get_upload(&bucket.name, ctx.key(), upload_id)
        .await
        .map_err(store_error)?
        .ok_or(ErrorCode::NoSuchUpload)?;
    let mut parts = ctx
        .store
        .meta
        .list_parts(&bucket.name, ctx.key(), upload_id, marker, c.max_keys + 1)
        .await
        .map_err(store_error)?;
    // As for object listings, `max-parts=0` is an empty page that is not truncated (a
    // truncated empty page would send a client paging forever).
    let is_truncated = c.max_keys > 0 && parts.len() > c.max_keys;
    parts.truncate(c.max_keys);
    let doc = xml::ListPartsResult {
        bucket: bucket.name.clone(),
        encoding_type: c.encoding_type(),
        key: c.encode(ctx.key()),
        upload_id: upload.upload_id,
        initiator: owner(&upload.initiator),
        owner: owner(&bucket.owner),
        part_number_marker: marker,
        next_part_number_marker: parts.last().map(|p| p.number),
        parts: parts
            .iter()
            .map(|p| xml::PartEntry {
                part_number: p.number,
                last_modified: iso8601(p.modified_ms),
                etag: format!("\"{}\"", p.etag),
                size: p.size,
            })
            .collect(),
        storage_class: upload.attrs.storage_class,
        max_parts: c.max_keys,
        is_truncated,
    };
    Ok(Reply::xml(xml::to_document(&doc)))
}

pub async fn list_uploads(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let c = common_with(ctx, "max-uploads")?;
    let q = &ctx.route.query;
    let key_marker = q.get("key-marker").unwrap_or("");
    let upload_id_marker = q.get("upload-id-marker").unwrap_or("");
    let bucket = ctx.bucket();
    let query = UploadQuery {
        prefix: c.prefix.to_string(),
        delimiter: c.delimiter.map(str::to_string),
        key_marker: Some(key_marker.to_string()),
        upload_id_marker: Some(upload_id_marker.to_string()),
        max_uploads: c.max_keys,
    };
    let page = list_upload_page(ctx.store.meta.as_ref(), &bucket.name, &query)
        .await
        .map_err(store_error)?;
    let doc = xml::ListMultipartUploadsResult {
        bucket: bucket.name.clone(),
        encoding_type: c.encoding_type(),
        key_marker: c.encode(key_marker),
        upload_id_marker: upload_id_marker.to_string(),
        next_key_marker: page.next_key_marker.as_deref().map(|k| c.encode(k)),
        next_upload_id_marker: page.next_upload_id_marker,
        max_uploads: c.max_keys,
        is_truncated: page.is_truncated,
        prefix: c.encode(c.prefix),
        delimiter: c.delimiter.map(|d| c.encode(d)),
        uploads: page
            .uploads
            .into_iter()
            .map(|u| xml::UploadEntry {
                key: c.encode(&u.key),
                upload_id: u.upload_id,
                storage_class: u.attrs.storage_class,
                initiator: owner(&u.initiator),
                owner: owner(&bucket.owner),
                initiated: iso8601(u.initiated_ms),
            })
            .collect(),
        common_prefixes: page
            .common_prefixes
            .iter()
            .map(|p| xml::CommonPrefix {
                prefix: c.encode(p),
            })
            .collect(),
    };
    Ok(Reply::xml(xml::to_document(&doc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    fn part(number: u32, size: u64) -> PartRecord {
        PartRecord {
            number,
            blob: format!("b{number}"),
            size,
            etag: format!("{number:032x}"),
            crc64: 0,
            modified_ms: 0,
        }
    }

    fn wanted(numbers: &[u32]) -> Vec<(u32, String)> {
        numbers.iter().map(|n| (*n, format!("{n:032x}"))).collect()
    }

    fn doc(parts: &[(u32, &str)]) -> xml::CompleteMultipartUpload {
        xml::CompleteMultipartUpload {
            parts: parts
                .iter()
                .map(|(n, e)| xml::CompletedPart {
                    part_number: *n,
                    etag: e.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn requested_parts_must_ascend() {
        let ok = requested_parts(doc(&[(1, "\"A\""), (3, " b ")])).unwrap();
        assert_eq!(ok, vec![(1, "A".to_string()), (3, "b".to_string())]);
        let code = |d| requested_parts(d).unwrap_err().code;
        assert_eq!(
            code(doc(&[(2, "a"), (1, "b")])),
            ErrorCode::InvalidPartOrder
        );
        assert_eq!(
            code(doc(&[(1, "a"), (1, "a")])),
            ErrorCode::InvalidPartOrder
        );
        assert_eq!(code(doc(&[(0, "a")])), ErrorCode::InvalidPartOrder);
        assert_eq!(code(doc(&[])), ErrorCode::MalformedXML);
    }

    #[test]
    fn parts_are_picked_by_number_and_etag() {
        let mib = MIN_PART_BYTES;
        let uploaded = vec![part(1, mib), part(2, mib), part(3, 5), part(5, 1)];
        let picked = select_parts(&wanted(&[1, 3]), uploaded.clone()).unwrap();
        assert_eq!(picked, vec![part(1, mib), part(3, 5)]);
        // Gaps are fine; the last part may be small; ETags compare without case.
        let mut upper = wanted(&[2, 5]);
        upper[0].1 = upper[0].1.to_uppercase();
        assert_eq!(select_parts(&upper, uploaded.clone()).unwrap().len(), 2);
        let code = |w: &[(u32, String)]| select_parts(w, uploaded.clone()).unwrap_err().code;
        assert_eq!(code(&wanted(&[1, 4])), ErrorCode::InvalidPart);
        assert_eq!(code(&[(1, "bad".to_string())]), ErrorCode::InvalidPart);
        assert_eq!(code(&wanted(&[3, 5])), ErrorCode::EntityTooSmall);
        assert_eq!(code(&wanted(&[6])), ErrorCode::InvalidPart);
    }

    #[test]
    fn copy_ranges() {
        assert_eq!(copy_range("bytes=0-9", 10).unwrap(), (0, 10));
        assert_eq!(copy_range("bytes=3-3", 10).unwrap(), (3, 1));
        for bad in [
            "bytes=0-10",
            "bytes=5-4",
            "bytes=-5",
            "bytes=5-",
            "0-1",
            "bytes=a-b",
        ] {
            assert_eq!(
                copy_range(bad, 10).unwrap_err().code,
                ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn keep_alive_sends_declaration_spaces_then_the_result() {
        let work = Box::pin(async {
            tokio::time::sleep(Duration::from_millis(350)).await;
            7
        });
        let body = keep_alive(work, Duration::from_millis(100), |n: i32| {
            format!("<R>{n}</R>")
        });
        let chunks: Vec<Bytes> = body.try_collect().await.unwrap();
        let text = String::from_utf8(chunks.concat()).unwrap();
        let spaces = text
            .strip_prefix(xml::DECLARATION)
            .and_then(|t| t.strip_suffix("<R>7</R>"))
            .unwrap_or_else(|| panic!("unexpected body {text:?}"));
        assert!(
            !spaces.is_empty() && spaces.bytes().all(|b| b == b' '),
            "{text:?}"
        );
    }

    #[test]
    fn late_errors_are_error_elements() {
        let late = LateError {
            resource: "b-1.cos.r.myqcloud.com/k".into(),
            request_id: "rid".into(),
        };
        let doc = late.element(&ErrorCode::InvalidPart.into());
        assert!(doc.starts_with("<Error><Code>InvalidPart</Code>"), "{doc}");
        assert!(doc.contains("<RequestId>rid</RequestId>"), "{doc}");
    }
}
