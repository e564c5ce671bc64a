//! Content digests computed while a body streams: size, MD5 (the ETag) and CRC-64 (the
//! `x-cos-hash-crc64ecma` header).

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
