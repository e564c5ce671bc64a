//! `x-amz-checksum-*`: the whole-body checksum S3 clients send with uploads (boto3 adds
//! `x-amz-checksum-crc32` to every PutObject). Verified while the body streams, like
//! Content-MD5, so a body that does not match is never committed.

use super::headers::header_str;
use crate::body::{verify_at_end, BodyDigest, DigestOf};
use crate::error::{ApiError, ApiResult, ErrorCode};
use base64::Engine;
use cosd_store::ByteStream;
use http::HeaderMap;

/// The algorithms cosd verifies, by header suffix, with their digest length in bytes.
const VERIFIED: &[(&str, usize)] = &[("crc32", 4), ("crc32c", 4), ("sha1", 20), ("sha256", 32)];
/// Algorithms clients may send that cosd accepts without verifying (see the README).
const ACCEPTED: &[&str] = &["crc64nvme"];

/// Wraps `body` so that the checksum its headers announce must match; a body without one is
/// returned as it is.
pub fn verify(headers: &HeaderMap, body: ByteStream) -> ApiResult<ByteStream> {
    let announced: Vec<&str> = headers
        .keys()
        .filter_map(|name| name.as_str().strip_prefix("x-amz-checksum-"))
        .filter(|algorithm| *algorithm != "algorithm" && *algorithm != "type")
        .collect();
    let algorithm = match announced.as_slice() {
        [] => return Ok(body),
        [one] => *one,
        _ => return Err(ApiError::with_message(
            ErrorCode::InvalidRequest,
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )),
    };
    if ACCEPTED.contains(&algorithm) {
        return Ok(body);
    }
    let Some(&(_, len)) = VERIFIED.iter().find(|(name, _)| *name == algorithm) else {
        return Err(ApiError::with_message(
            ErrorCode::InvalidRequest,
            format!("The checksum algorithm x-amz-checksum-{algorithm} is not supported."),
        ));
    };
    let header = format!("x-amz-checksum-{algorithm}");
    let expected = header_str(headers, &header)?
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .filter(|d| d.len() == len)
        .ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::InvalidRequest,
                format!("Value for {header} header is invalid."),
            )
        })?;
    let mismatch = ApiError::with_message(
        ErrorCode::BadDigest,
        format!(
            "The {} you specified did not match the calculated checksum.",
            algorithm.to_ascii_uppercase()
        ),
    );
    Ok(verify_at_end(body, digest(algorithm), expected, mismatch))
}

fn digest(algorithm: &str) -> Box<dyn BodyDigest> {
    match algorithm {
        "crc32" => Box::new(Crc32(crc32fast::Hasher::new())),
        "crc32c" => Box::new(Crc32c(0)),
        "sha1" => Box::new(DigestOf(<sha1::Sha1 as sha2::Digest>::new())),
        _ => Box::new(DigestOf(<sha2::Sha256 as sha2::Digest>::new())),
    }
}

struct Crc32(crc32fast::Hasher);

impl BodyDigest for Crc32 {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finish(self: Box<Self>) -> Vec<u8> {
        self.0.finalize().to_be_bytes().to_vec()
    }
}

struct Crc32c(u32);

impl BodyDigest for Crc32c {
    fn update(&mut self, data: &[u8]) {
        self.0 = crc32c::crc32c_append(self.0, data);
    }

    fn finish(self: Box<Self>) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use futures_util::TryStreamExt;

    fn body() -> ByteStream {
        Box::pin(futures_util::stream::iter([
            Ok(Bytes::from_static(b"1234")),
            Ok(Bytes::from_static(b"56789")),
        ]))
    }

    async fn outcome(pairs: &[(&str, &str)]) -> Result<(), ErrorCode> {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let stream = verify(&headers, body()).map_err(|e| e.code)?;
        stream
            .try_collect::<Vec<Bytes>>()
            .await
            .map(drop)
            .map_err(|e| ApiError::from_io(e).code)
    }

    #[tokio::test]
    async fn published_check_values_verify() {
        // The check values of "123456789" for each algorithm.
        for (name, value) in [
            ("x-amz-checksum-crc32", "y/Q5Jg=="),
            ("x-amz-checksum-crc32c", "4waSgw=="),
            ("x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE="),
            (
                "x-amz-checksum-sha256",
                "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=",
            ),
        ] {
            assert_eq!(
                outcome(&[(name, value), ("x-amz-sdk-checksum-algorithm", "X")]).await,
                Ok(()),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn mismatches_and_bad_headers_are_refused() {
        assert_eq!(
            outcome(&[("x-amz-checksum-crc32", "AAAAAA==")]).await,
            Err(ErrorCode::BadDigest)
        );
        assert_eq!(
            outcome(&[("x-amz-checksum-crc32", "not base64!")]).await,
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            outcome(&[("x-amz-checksum-sha256", "y/Q5Jg==")]).await,
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            outcome(&[
                ("x-amz-checksum-crc32", "y/Q5Jg=="),
                ("x-amz-checksum-sha1", "x")
            ])
            .await,
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            outcome(&[("x-amz-checksum-md7", "x")]).await,
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            outcome(&[("x-amz-checksum-crc64nvme", "AAAAAAAAAAA=")]).await,
            Ok(())
        );
        assert_eq!(outcome(&[]).await, Ok(()));
    }
}
