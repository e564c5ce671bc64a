//! Content digests computed while a body streams: size, MD5 (the ETag) and CRC-64 (the
//! `x-cos-hash-crc64ecma` header).

use crate::ByteStream;
use bytes::Bytes;
use futures_util::{ready, Stream};
use md5::{Digest, Md5};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

/// What a blob write measured of the bytes it stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobDigest {
    pub size: u64,
    pub md5: [u8; 16],
    pub crc64: u64,
}

/// CRC-64/ECMA-182 as COS computes it (reflected, all-ones init and xor-out: the "XZ" variant,
/// which is what Go's `crc64.ECMA` table and the COS SDKs produce).
pub fn crc64(data: &[u8]) -> u64 {
    let mut d = crc64fast::Digest::new();
    d.write(data);
    d.sum64()
}

/// The reflected CRC-64/ECMA-182 polynomial.
const CRC64_POLY_REFLECTED: u64 = 0xC96C_5795_D787_0F42;

/// The CRC-64 of `a || b` from `crc64(a)`, `crc64(b)` and `b.len()`, without the bytes.
///
/// A completed multipart upload needs the whole object's CRC-64 while it only has each part's.
/// This is zlib's `crc32_combine` carried over to 64 bits: appending `len2` zero bytes to
/// `a` is a linear map on the CRC register (see [`zeros_operator`]); the all-ones init and
/// xor-out cancel out of the combination.
pub fn crc64_combine(crc1: u64, crc2: u64, len2: u64) -> u64 {
    if len2 == 0 {
        return crc1;
    }
    gf2_times(&zeros_operator(len2), crc1) ^ crc2
}

/// The CRC-64 of a concatenation, built piece by piece from the pieces' CRCs and lengths.
///
/// Building the operator of [`crc64_combine`] costs about 100 µs; the parts of an upload mostly
/// share one size, so the operator of the last length is kept and reused, which makes
/// combining 10,000 parts take a millisecond instead of seconds.
#[derive(Debug, Clone, Default)]
pub struct Crc64Concat {
    crc: u64,
    cached: Option<(u64, Box<[u64; 64]>)>,
}

impl Crc64Concat {
    /// Appends a piece of `len` bytes whose CRC-64 is `crc`.
    pub fn push(&mut self, crc: u64, len: u64) {
        if len == 0 {
            return;
        }
        let op = match &self.cached {
            Some((cached_len, op)) if *cached_len == len => op,
            _ => &self.cached.insert((len, Box::new(zeros_operator(len)))).1,
        };
        self.crc = gf2_times(op, self.crc) ^ crc;
    }

    /// The CRC-64 of everything pushed so far.
    pub fn value(&self) -> u64 {
        self.crc
    }
}

/// The linear map that appending `len` zero bytes applies to a CRC-64 register, as a GF(2)
/// matrix (column `n` is the image of bit `n`), built by repeated squaring of the one-zero-bit
/// operator.
fn zeros_operator(mut len: u64) -> [u64; 64] {
    // The operator for one zero bit: shift right, folding in the polynomial.
    let mut odd = [0u64; 64];
    odd[0] = CRC64_POLY_REFLECTED;
    for (n, row) in odd.iter_mut().enumerate().skip(1) {
        *row = 1 << (n - 1);
    }
    let mut result: [u64; 64] = std::array::from_fn(|n| 1 << n);
    let mut even = gf2_square(&odd); // two zero bits
    odd = gf2_square(&even); // four zero bits

    // Each round squares the operator (8, 16, 32, … zero bits, i.e. 1, 2, 4, … zero bytes)
    // and applies it when the matching bit of len is set. Powers of one operator commute,
    // so the order of application does not matter.
    loop {
        even = gf2_square(&odd);
        if len & 1 != 0 {
            result = result.map(|col| gf2_times(&even, col));
        }
        len >>= 1;
        if len == 0 {
            return result;
        }
        odd = gf2_square(&even);
        if len & 1 != 0 {
            result = result.map(|col| gf2_times(&odd, col));
        }
        len >>= 1;
        if len == 0 {
            return result;
        }
    }
}

fn gf2_times(mat: &[u64; 64], mut vec: u64) -> u64 {
    let mut sum = 0;
    for row in mat {
        if vec == 0 {
            break;
        }
        if vec & 1 != 0 {
            sum ^= row;
        }
        vec >>= 1;
    }
    sum
}

fn gf2_square(mat: &[u64; 64]) -> [u64; 64] {
    mat.map(|row| gf2_times(mat, row))
}

/// Where a [`HashingStream`] leaves its digest once the stream has ended cleanly.
#[derive(Debug, Clone, Default)]
pub struct DigestHandle(Arc<OnceLock<BlobDigest>>);

impl DigestHandle {
    /// The digest of everything that passed, or `None` if the stream has not reached its
    /// end (it is still running, failed, or was not read to the end).
    pub fn get(&self) -> Option<BlobDigest> {
        self.0.get().copied()
    }
}

/// Passes a [`ByteStream`] through unchanged while measuring it, so a blob write hashes the
/// body in the same pass that stores it. The digest appears on the [`DigestHandle`] when the
/// inner stream ends; an error from the inner stream is passed on and leaves no digest.
pub struct HashingStream {
    inner: ByteStream,
    size: u64,
    md5: Md5,
    crc: crc64fast::Digest,
    done: DigestHandle,
}

impl HashingStream {
    /// Wraps `inner`; the handle yields the digest once the stream has ended.
    pub fn new(inner: ByteStream) -> (Self, DigestHandle) {
        let done = DigestHandle::default();
        let stream = Self {
            inner,
            size: 0,
            md5: Md5::new(),
            crc: crc64fast::Digest::new(),
            done: done.clone(),
        };
        (stream, done)
    }
}

impl Stream for HashingStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = ready!(this.inner.as_mut().poll_next(cx));
        match &item {
            Some(Ok(chunk)) => {
                this.size += chunk.len() as u64;
                this.md5.update(chunk);
                this.crc.write(chunk);
            }
            Some(Err(_)) => {}
            None => {
                // A second end-of-stream poll finds the digest already set; keeping the
                // first is right, since nothing passed in between.
                let _ = this.done.0.set(BlobDigest {
                    size: this.size,
                    md5: std::mem::take(&mut this.md5).finalize().into(),
                    crc64: this.crc.sum64(),
                });
            }
        }
        Poll::Ready(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{stream, TryStreamExt};

    #[test]
    fn crc64_check_value() {
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn crc64_combine_matches_the_concatenation() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
        for split in [0, 1, 7, 8, 9, 255, 256, 1000, 4999, 5000] {
            let (a, b) = data.split_at(split);
            assert_eq!(
                crc64_combine(crc64(a), crc64(b), b.len() as u64),
                crc64(&data),
                "split at {split}"
            );
        }
    }

    #[test]
    fn concat_matches_the_whole_with_repeated_and_odd_lengths() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let mut concat = Crc64Concat::default();
        let mut at = 0;
        for len in [1000, 1000, 1000, 0, 7, 1000, 12_345, 1000, 2648] {
            let piece = &data[at..at + len];
            concat.push(crc64(piece), len as u64);
            at += len;
            assert_eq!(concat.value(), crc64(&data[..at]), "after {at} bytes");
        }
        assert_eq!(at, data.len());
    }

    #[tokio::test]
    async fn hashing_stream_measures_what_passes() {
        let chunks = vec![
            Ok(Bytes::from_static(b"1234")),
            Ok(Bytes::from_static(b"56789")),
        ];
        let (hashing, digest) = HashingStream::new(Box::pin(stream::iter(chunks)));
        assert_eq!(digest.get(), None);
        let out: Vec<Bytes> = hashing.try_collect().await.unwrap();
        assert_eq!(out.concat(), b"123456789");
        let d = digest.get().unwrap();
        assert_eq!(d.size, 9);
        assert_eq!(hex::encode(d.md5), "25f9e794323b453885f5181f1b624d0b");
        assert_eq!(d.crc64, 0x995D_C9BB_DF19_39FA);
    }

    #[tokio::test]
    async fn hashing_stream_failure_leaves_no_digest() {
        let chunks = vec![Ok(Bytes::from_static(b"12")), Err(io::Error::other("cut"))];
        let (hashing, digest) = HashingStream::new(Box::pin(stream::iter(chunks)));
        assert!(hashing.try_collect::<Vec<Bytes>>().await.is_err());
        assert_eq!(digest.get(), None);
    }
}
