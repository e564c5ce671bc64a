//! Request-body stream adapters that check a digest of the whole body.
//!
//! Bytes pass through as they arrive (nothing is buffered); when the body ends, a digest that
//! differs from the expected one fails the stream with an [`ApiError`] instead of ending it, so
//! the write consuming the stream aborts and nothing is committed.

use crate::error::ApiError;
use cosd_store::ByteStream;
use futures_util::{stream, StreamExt};

/// An incremental digest of a body.
pub trait BodyDigest: Send + 'static {
    fn update(&mut self, data: &[u8]);
    /// The digest's bytes, in the order clients encode them (big-endian for CRCs).
    fn finish(self: Box<Self>) -> Vec<u8>;
}

/// A RustCrypto hash (SHA-1, SHA-256, …) as a [`BodyDigest`].
pub struct DigestOf<D>(pub D);

impl<D: sha2::Digest + Send + 'static> BodyDigest for DigestOf<D> {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finish(self: Box<Self>) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}

/// Wraps `body` so that its digest must equal `expected`; otherwise the stream fails with
/// `mismatch` where it would have ended.
pub fn verify_at_end(
    body: ByteStream,
    digest: Box<dyn BodyDigest>,
    expected: Vec<u8>,
    mismatch: ApiError,
) -> ByteStream {
    let state = Some((body, digest, expected, mismatch));
    Box::pin(stream::unfold(state, |state| async move {
        let (mut body, mut digest, expected, mismatch) = state?;
        match body.next().await {
            Some(Ok(bytes)) => {
                digest.update(&bytes);
                Some((Ok(bytes), Some((body, digest, expected, mismatch))))
            }
            Some(Err(err)) => Some((Err(err), None)),
            None if digest.finish() == expected => None,
            None => Some((Err(mismatch.into_io()), None)),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use bytes::Bytes;
    use futures_util::TryStreamExt;
    use sha2::{Digest, Sha256};

    fn body(parts: &[&'static [u8]]) -> ByteStream {
        let parts: Vec<std::io::Result<Bytes>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(stream::iter(parts))
    }

    #[tokio::test]
    async fn passes_bytes_and_checks_the_digest_at_the_end() {
        let good = Sha256::digest(b"hello world").to_vec();
        let wrapped = verify_at_end(
            body(&[b"hello ", b"world"]),
            Box::new(DigestOf(Sha256::new())),
            good,
            ErrorCode::BadDigest.into(),
        );
        let got: Vec<Bytes> = wrapped.try_collect().await.unwrap();
        assert_eq!(got.concat(), b"hello world");

        let wrapped = verify_at_end(
            body(&[b"hello"]),
            Box::new(DigestOf(Sha256::new())),
            vec![0; 32],
            ErrorCode::BadDigest.into(),
        );
        let err = wrapped.try_collect::<Vec<Bytes>>().await.unwrap_err();
        assert_eq!(ApiError::from_io(err).code, ErrorCode::BadDigest);
    }
}
