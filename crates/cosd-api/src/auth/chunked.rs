//! `aws-chunked` bodies (SigV4 streaming uploads), decoded as they stream.
//!
//! Wire format, signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`):
//! `<hex size>;chunk-signature=<sig>\r\n<data>\r\n` … `0;chunk-signature=<sig>\r\n`, then
//! (trailer variant) `name:value\r\n` lines and `x-amz-trailer-signature:<sig>\r\n`, then `\r\n`.
//! Unsigned (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): `<hex size>\r\n<data>\r\n` … `0\r\n`,
//! trailer lines, `\r\n`.
//!
//! Memory is bounded: only a header or trailer line is ever buffered (at most
//! [`MAX_LINE_LEN`]); chunk data is forwarded as it arrives. A chunk's signature can only be
//! checked once its data has passed, so a failed check ends the stream with an error: the
//! consumer then aborts the write and nothing is committed.

use super::primitives::{mac, mac_matches_hex, HmacSha256};
use super::sigv4::EMPTY_SHA256;
use crate::error::{ApiError, ApiResult, ErrorCode};
use bytes::Bytes;
use cosd_store::ByteStream;
use futures_util::{stream, StreamExt};
use sha2::{Digest, Sha256};
use std::fmt;

/// Longest chunk-header or trailer line. A signed header line is under 100 bytes; the bound
/// keeps a client that never sends CRLF from making us buffer.
pub const MAX_LINE_LEN: usize = 4096;

/// Most trailer lines accepted (S3 sends one checksum, plus the trailer signature).
const MAX_TRAILERS: usize = 16;

/// Names the trailer that carries the trailer signature.
const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

/// Where a signed chunk chain starts: the request's SigV4 signing key, timestamp, scope and
/// signature (the seed).
#[derive(Clone)]
pub struct ChainStart {
    pub signing_key: [u8; 32],
    /// The request's ISO 8601 basic timestamp, e.g. `20130524T000000Z`.
    pub timestamp: String,
    /// `yyyymmdd/region/s3/aws4_request`.
    pub scope: String,
    /// The request's signature, lower-case hex.
    pub seed_signature: String,
}

/// Keeps the signing key (derived from a secret) out of logs.
impl fmt::Debug for ChainStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainStart")
            .field("signing_key", &"<redacted>")
            .field("timestamp", &self.timestamp)
            .field("scope", &self.scope)
            .field("seed_signature", &self.seed_signature)
            .finish()
    }
}

/// How an `aws-chunked` body is to be decoded and verified.
#[derive(Debug, Clone)]
pub struct ChunkedBody {
    /// `None` for the unsigned variant.
    chain: Option<ChainStart>,
    trailers_allowed: bool,
    decoded_length: Option<u64>,
}

impl ChunkedBody {
    /// A body with chunk signatures; `trailer` for the `-TRAILER` variant.
    pub fn signed(chain: ChainStart, trailer: bool) -> Self {
        ChunkedBody {
            chain: Some(chain),
            trailers_allowed: trailer,
            decoded_length: None,
        }
    }

    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: framing and trailers, no signatures.
    pub fn unsigned_trailer() -> Self {
        ChunkedBody {
            chain: None,
            trailers_allowed: true,
            decoded_length: None,
        }
    }

    /// Requires the decoded body to be exactly `len` bytes (`x-amz-decoded-content-length`).
    pub fn with_decoded_length(self, len: u64) -> Self {
        ChunkedBody {
            decoded_length: Some(len),
            ..self
        }
    }

    /// Decodes `body`, yielding the chunk data. Any framing, signature or length failure ends the
    /// stream with an [`ApiError`] (via [`ApiError::into_io`]), never with a clean end.
    pub fn decode(self, body: ByteStream) -> ByteStream {
        let decoder = Decoder::new(self);
        Box::pin(stream::unfold(
            Some((body, decoder, Bytes::new())),
            |state| async move {
                let (mut body, mut decoder, mut pending) = state?;
                loop {
                    if pending.is_empty() {
                        match body.next().await {
                            Some(Ok(bytes)) => pending = bytes,
                            Some(Err(err)) => return Some((Err(err), None)),
                            None => {
                                return decoder
                                    .finish()
                                    .err()
                                    .map(|err| (Err(err.into_io()), None));
                            }
                        }
                        continue;
                    }
                    match decoder.feed(&mut pending) {
                        Ok(Some(data)) => return Some((Ok(data), Some((body, decoder, pending)))),
                        Ok(None) => {}
                        Err(err) => return Some((Err(err.into_io()), None)),
                    }
                }
            },
        ))
    }
}

fn malformed(what: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::InvalidRequest,
        format!("Malformed aws-chunked body: {what}."),
    )
}

fn incomplete(what: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::IncompleteBody,
        format!("Incomplete aws-chunked body: {what}."),
    )
}

/// The running signature chain of a signed body.
struct Chain {
    start: ChainStart,
    /// The signature of the previous chunk (the seed, at first).
    previous: String,
}

impl Chain {
    /// The string to sign for one chunk or the trailer: `algorithm`, then the request's timestamp
    /// and scope, the previous signature, then `digests`.
    fn string_to_sign(&self, algorithm: &str, digests: &str) -> String {
        format!(
            "{algorithm}\n{}\n{}\n{}\n{digests}",
            self.start.timestamp, self.start.scope, self.previous
        )
    }

    fn chunk_string_to_sign(&self, data_sha256: &[u8]) -> String {
        let digests = format!("{EMPTY_SHA256}\n{}", hex::encode(data_sha256));
        self.string_to_sign("AWS4-HMAC-SHA256-PAYLOAD", &digests)
    }

    fn trailer_string_to_sign(&self, trailer_sha256: &[u8]) -> String {
        self.string_to_sign("AWS4-HMAC-SHA256-TRAILER", &hex::encode(trailer_sha256))
    }

    /// Checks `claimed` against `string_to_sign` and advances the chain.
    fn check(&mut self, string_to_sign: &str, claimed: &str) -> ApiResult<()> {
        let expected = mac::<HmacSha256>(&self.start.signing_key, &[string_to_sign.as_bytes()]);
        if !mac_matches_hex(expected, claimed) {
            return Err(ApiError::new(ErrorCode::SignatureDoesNotMatch));
        }
        self.previous = claimed.to_ascii_lowercase();
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-header line.
    Header,
    /// Forwarding a chunk's data.
    Data { remaining: u64 },
    /// Reading the CRLF after a chunk's data.
    DataEnd,
    /// After the final chunk: reading trailer lines up to the empty line.
    Trailers { signed: bool },
    /// The empty line arrived: only the end of the stream may follow.
    Done,
}

/// The `aws-chunked` state machine, fed whatever pieces the transport delivers.
struct Decoder {
    chain: Option<Chain>,
    trailers_allowed: bool,
    decoded_length: Option<u64>,
    decoded: u64,
    state: State,
    /// The partial header or trailer line.
    line: Vec<u8>,
    /// SHA-256 of the current chunk's data, and the signature claimed for it.
    chunk_hash: Sha256,
    chunk_signature: String,
    /// SHA-256 of the trailer lines so far, each as `line\n`, and how many there were.
    trailer_hash: Sha256,
    trailers: usize,
}

impl Decoder {
    fn new(body: ChunkedBody) -> Self {
        Decoder {
            chain: body.chain.map(|start| Chain {
                previous: start.seed_signature.clone(),
                start,
            }),
            trailers_allowed: body.trailers_allowed,
            decoded_length: body.decoded_length,
            decoded: 0,
            state: State::Header,
            line: Vec::new(),
            chunk_hash: Sha256::new(),
            chunk_signature: String::new(),
            trailer_hash: Sha256::new(),
            trailers: 0,
        }
    }

    /// Consumes some of `input` (at least one byte; `input` must not be empty) and returns the
    /// chunk data it contained, if any.
    fn feed(&mut self, input: &mut Bytes) -> ApiResult<Option<Bytes>> {
        match self.state {
            State::Header => {
                if let Some(line) = self.take_line(input)? {
                    self.chunk_header(&line)?;
                }
                Ok(None)
            }
            State::Data { remaining } => {
                let len = remaining.min(input.len() as u64);
                let data = input.split_to(len as usize);
                self.decoded += len;
                if self
                    .decoded_length
                    .is_some_and(|expected| self.decoded > expected)
                {
                    return Err(incomplete("more data than x-amz-decoded-content-length"));
                }
                self.chunk_hash.update(&data);
                let remaining = remaining - len;
                self.state = State::Data { remaining };
                if remaining == 0 {
                    self.end_of_chunk_data()?;
                }
                Ok(Some(data))
            }
            State::DataEnd => {
                if let Some(line) = self.take_line(input)? {
                    if !line.is_empty() {
                        return Err(malformed("chunk data is longer than its declared size"));
                    }
                    self.state = State::Header;
                }
                Ok(None)
            }
            State::Trailers { signed } => {
                if let Some(line) = self.take_line(input)? {
                    self.trailer_line(&line, signed)?;
                }
                Ok(None)
            }
            State::Done => Err(malformed("data follows the end of the body")),
        }
    }

    /// Checks the end of the stream.
    fn finish(&self) -> ApiResult<()> {
        match self.state {
            State::Done => {}
            // Everything was verified, up to the final chunk; only the closing CRLF is missing.
            State::Trailers { .. } if self.trailers == 0 && self.line.is_empty() => {}
            State::Trailers { .. } => return Err(incomplete("it ended inside the trailers")),
            _ => return Err(incomplete("it ended before the final chunk")),
        }
        match self.decoded_length {
            Some(expected) if expected != self.decoded => Err(incomplete(
                "the decoded length differs from x-amz-decoded-content-length",
            )),
            _ => Ok(()),
        }
    }

    /// Buffers `input` up to the next LF; returns the finished line without its CRLF.
    fn take_line(&mut self, input: &mut Bytes) -> ApiResult<Option<Vec<u8>>> {
        let newline = input.iter().position(|&b| b == b'\n');
        let len = newline.map_or(input.len(), |i| i + 1);
        if self.line.len() + len > MAX_LINE_LEN {
            return Err(malformed(
                "a chunk-header or trailer line is longer than 4096 bytes",
            ));
        }
        self.line.extend_from_slice(&input.split_to(len));
        if newline.is_none() {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if !line.ends_with(b"\r\n") {
            return Err(malformed("a line does not end with CRLF"));
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }

    /// `<hex size>[;chunk-signature=<sig>]`.
    fn chunk_header(&mut self, line: &[u8]) -> ApiResult<()> {
        let line =
            std::str::from_utf8(line).map_err(|_| malformed("a chunk header is not text"))?;
        let (size, extension) = match line.split_once(';') {
            Some((size, extension)) => (size, Some(extension)),
            None => (line, None),
        };
        let size = Some(size)
            .filter(|s| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .ok_or_else(|| malformed("a chunk size is not hexadecimal"))?;
        if self.chain.is_some() {
            self.chunk_signature = extension
                .and_then(|e| e.strip_prefix("chunk-signature="))
                .ok_or_else(|| malformed("a chunk has no chunk-signature"))?
                .to_owned();
        }
        self.chunk_hash = Sha256::new();
        if size == 0 {
            self.end_of_chunk_data()?;
        } else {
            self.state = State::Data { remaining: size };
        }
        Ok(())
    }

    /// A chunk's data is complete: verify its signature, then expect the CRLF (or, after the
    /// final, empty chunk, the trailers).
    fn end_of_chunk_data(&mut self) -> ApiResult<()> {
        let hash = std::mem::take(&mut self.chunk_hash).finalize();
        if let Some(chain) = &mut self.chain {
            chain.check(&chain.chunk_string_to_sign(&hash), &self.chunk_signature)?;
        }
        self.state = match self.state {
            State::Data { .. } => State::DataEnd,
            _ => State::Trailers { signed: false },
        };
        Ok(())
    }

    /// One line after the final chunk: a trailer, the trailer signature, or the closing
    /// empty line.
    fn trailer_line(&mut self, line: &[u8], signed: bool) -> ApiResult<()> {
        if line.is_empty() {
            self.state = State::Done;
            return Ok(());
        }
        if signed {
            return Err(malformed("a trailer follows the trailer signature"));
        }
        if !self.trailers_allowed {
            return Err(malformed(
                "trailers are only allowed with a -TRAILER x-amz-content-sha256",
            ));
        }
        let text = std::str::from_utf8(line).map_err(|_| malformed("a trailer is not text"))?;
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| malformed("a trailer is not name:value"))?;
        if let Some(chain) = &mut self.chain {
            if name.eq_ignore_ascii_case(TRAILER_SIGNATURE) {
                let hash = std::mem::take(&mut self.trailer_hash).finalize();
                chain.check(&chain.trailer_string_to_sign(&hash), value.trim())?;
                self.state = State::Trailers { signed: true };
                return Ok(());
            }
        }
        self.trailers += 1;
        if self.trailers > MAX_TRAILERS {
            return Err(malformed("too many trailers"));
        }
        self.trailer_hash.update(line);
        self.trailer_hash.update(b"\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::sigv4::{signing_key, STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER};
    use crate::auth::test_support::{body_in_pieces, read_body, Head, OneKey};
    use crate::auth::BodyCheck;

    // AWS's published examples: "Signature Calculation: Transfer Payload in Multiple Chunks"
    // (sigv4-streaming) and its trailing-header variant (sigv4-streaming-trailers): 65 KiB of
    // 'a' in 64 KiB chunks, PUT /examplebucket/chunkObject.txt on s3.amazonaws.com.
    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const KEYS: OneKey = OneKey {
        access_key: AK,
        secret_key: SK,
    };
    const NOW: u64 = 1_369_353_600;
    const TIMESTAMP: &str = "20130524T000000Z";
    const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
    const DECODED_LENGTH: usize = 66560;

    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    const CHUNK_SIGNATURES: [&str; 3] = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ];

    const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    const TRAILER_CHUNK_SIGNATURES: [&str; 3] = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ];
    const TRAILER: &str = "x-amz-checksum-crc32c:sOO8/Q==";
    const TRAILER_SIGNATURE_VALUE: &str =
        "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

    fn chain(seed: &str) -> ChainStart {
        ChainStart {
            signing_key: signing_key(SK, "20130524", "us-east-1"),
            timestamp: TIMESTAMP.to_owned(),
            scope: SCOPE.to_owned(),
            seed_signature: seed.to_owned(),
        }
    }

    /// The example's wire body: 64 KiB and 1 KiB of 'a', then the final chunk and `tail`.
    fn example_body(signatures: [&str; 3], tail: &str) -> Vec<u8> {
        let mut body = Vec::new();
        for (size, signature) in [(0x10000, signatures[0]), (0x400, signatures[1])] {
            body.extend_from_slice(format!("{size:x};chunk-signature={signature}\r\n").as_bytes());
            body.extend(std::iter::repeat_n(b'a', size));
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("0;chunk-signature={}\r\n{tail}", signatures[2]).as_bytes());
        body
    }

    fn signed_body() -> Vec<u8> {
        example_body(CHUNK_SIGNATURES, "\r\n")
    }

    fn decode_signed(body: &[u8], pieces: impl IntoIterator<Item = usize>) -> ByteStream {
        ChunkedBody::signed(chain(SEED), false)
            .with_decoded_length(DECODED_LENGTH as u64)
            .decode(body_in_pieces(body, pieces))
    }

    /// Deterministic piece lengths in 1..=max.
    fn random_lengths(seed: u64, max: u64) -> impl Iterator<Item = usize> {
        let mut state = seed;
        std::iter::repeat_with(move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % max + 1) as usize
        })
    }

    #[tokio::test]
    async fn aws_example_decodes_whole_and_in_awkward_pieces() {
        let body = signed_body();
        let expected = vec![b'a'; DECODED_LENGTH];
        assert_eq!(read_body(decode_signed(&body, [])).await.unwrap(), expected);
        assert_eq!(
            read_body(decode_signed(&body, std::iter::repeat(1)))
                .await
                .unwrap(),
            expected
        );
        for seed in 0..8 {
            let pieces = random_lengths(seed, 1 + seed * 4000);
            assert_eq!(
                read_body(decode_signed(&body, pieces)).await.unwrap(),
                expected,
                "{seed}"
            );
        }
    }

    /// The example's seed request, as sent.
    fn seed_request(payload: &str, signed_headers: &str, seed: &str, extra: (&str, &str)) -> Head {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={AK}/{SCOPE},SignedHeaders={signed_headers},Signature={seed}"
        );
        Head::new(
            "PUT",
            "/examplebucket/chunkObject.txt",
            &[
                ("host", "s3.amazonaws.com"),
                ("x-amz-date", TIMESTAMP),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("x-amz-content-sha256", payload),
                extra,
                ("authorization", &authorization),
            ],
        )
    }

    #[tokio::test]
    async fn aws_example_end_to_end_from_the_seed_request() {
        let head = seed_request(
            STREAMING_PAYLOAD,
            "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
             x-amz-decoded-content-length;x-amz-storage-class",
            SEED,
            ("content-length", "66824"),
        );
        let check = head
            .authenticate(&KEYS, NOW)
            .expect("seed signature verifies")
            .body;
        assert!(matches!(&check, BodyCheck::Chunked(_)));
        let body = crate::auth::verify_body(
            body_in_pieces(&signed_body(), random_lengths(9, 3000)),
            check,
        );
        assert_eq!(read_body(body).await.unwrap(), vec![b'a'; DECODED_LENGTH]);
    }

    #[tokio::test]
    async fn aws_trailer_example_verifies() {
        let head = seed_request(
            STREAMING_PAYLOAD_TRAILER,
            "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;\
             x-amz-storage-class;x-amz-trailer",
            TRAILER_SEED,
            ("x-amz-trailer", "x-amz-checksum-crc32c"),
        );
        let check = head
            .authenticate(&KEYS, NOW)
            .expect("trailer seed verifies")
            .body;
        let tail =
            format!("{TRAILER}\r\nx-amz-trailer-signature:{TRAILER_SIGNATURE_VALUE}\r\n\r\n");
        let body = example_body(TRAILER_CHUNK_SIGNATURES, &tail);
        let decoded =
            crate::auth::verify_body(body_in_pieces(&body, std::iter::repeat(1)), check.clone());
        assert_eq!(
            read_body(decoded).await.unwrap(),
            vec![b'a'; DECODED_LENGTH]
        );

        let tampered = example_body(TRAILER_CHUNK_SIGNATURES, &tail.replace("sOO8", "sOO9"));
        let decoded = crate::auth::verify_body(body_in_pieces(&tampered, []), check);
        assert_eq!(
            read_body(decoded).await.unwrap_err().code,
            ErrorCode::SignatureDoesNotMatch
        );
    }

    #[tokio::test]
    async fn tampered_data_or_signatures_fail() {
        let mut body = signed_body();
        body[100] = b'b';
        let err = read_body(decode_signed(&body, [4096])).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::SignatureDoesNotMatch);

        for (i, signature) in CHUNK_SIGNATURES.iter().enumerate() {
            let mut signatures = CHUNK_SIGNATURES;
            let wrong = signature.replace('a', "b");
            signatures[i] = &wrong;
            let err = read_body(decode_signed(&example_body(signatures, "\r\n"), []))
                .await
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::SignatureDoesNotMatch, "chunk {i}");
        }

        let wrong_seed = ChunkedBody::signed(chain(CHUNK_SIGNATURES[0]), false);
        let err = read_body(wrong_seed.decode(body_in_pieces(&signed_body(), [])))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::SignatureDoesNotMatch);
    }

    #[tokio::test]
    async fn a_truncated_body_is_incomplete() {
        let body = signed_body();
        let header = CHUNK_SIGNATURES[0].len() + 23;
        for cut in [
            0,
            3,
            header,
            header + 10,
            0x10000 + header + 1,
            body.len() - 90,
            body.len() - 3,
        ] {
            let err = read_body(decode_signed(&body[..cut], [1000]))
                .await
                .unwrap_err();
            assert_eq!(
                err.code,
                ErrorCode::IncompleteBody,
                "cut at {cut}: {}",
                err.message
            );
        }
        // Only the closing CRLF missing: everything was verified, so it is accepted.
        let decoded = read_body(decode_signed(&body[..body.len() - 2], []))
            .await
            .unwrap();
        assert_eq!(decoded.len(), DECODED_LENGTH);
    }

    #[tokio::test]
    async fn the_decoded_length_must_match() {
        for declared in [DECODED_LENGTH as u64 - 1, DECODED_LENGTH as u64 + 1] {
            let body = ChunkedBody::signed(chain(SEED), false)
                .with_decoded_length(declared)
                .decode(body_in_pieces(&signed_body(), []));
            assert_eq!(
                read_body(body).await.unwrap_err().code,
                ErrorCode::IncompleteBody,
                "{declared}"
            );
        }
    }

    #[tokio::test]
    async fn malformed_framing_is_an_invalid_request() {
        let valid = signed_body();
        let cases: Vec<Vec<u8>> = vec![
            [&valid[..], b"extra"].concat(),
            valid.replace_first(b"10000;", b"1000g;"),
            valid.replace_first(b"10000;", b"+10000;"),
            valid.replace_first(b"10000;chunk-signature=", b"10000;chunk-signatur="),
            valid.replace_first(b"\r\n", b"\n"),
            [
                &valid[..valid.len() - 2],
                b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n",
            ]
            .concat(),
            vec![b'1'; MAX_LINE_LEN + 1],
        ];
        for (i, body) in cases.iter().enumerate() {
            let err = read_body(decode_signed(body, [7])).await.unwrap_err();
            assert_eq!(
                err.code,
                ErrorCode::InvalidRequest,
                "case {i}: {}",
                err.message
            );
        }
        // Data longer than its declared size runs into the next header.
        let long = valid.replace_first(b"400;", b"3ff;");
        let err = read_body(decode_signed(&long, [])).await.unwrap_err();
        assert!(matches!(
            err.code,
            ErrorCode::InvalidRequest | ErrorCode::SignatureDoesNotMatch
        ));
    }

    #[tokio::test]
    async fn unsigned_trailer_bodies_round_trip() {
        let body = b"5\r\nhello\r\n7\r\n, world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        for pieces in [vec![], vec![1; body.len()], vec![4, 9, 2]] {
            let decoded = ChunkedBody::unsigned_trailer()
                .with_decoded_length(12)
                .decode(body_in_pieces(body, pieces));
            assert_eq!(read_body(decoded).await.unwrap(), b"hello, world");
        }
        let no_trailers = b"5\r\nhello\r\n0\r\n\r\n";
        let decoded = ChunkedBody::unsigned_trailer().decode(body_in_pieces(no_trailers, []));
        assert_eq!(read_body(decoded).await.unwrap(), b"hello");
        let cut =
            ChunkedBody::unsigned_trailer().decode(body_in_pieces(&body[..body.len() - 4], []));
        assert_eq!(
            read_body(cut).await.unwrap_err().code,
            ErrorCode::IncompleteBody
        );
        let many = format!("0\r\n{}\r\n", "a:b\r\n".repeat(MAX_TRAILERS + 1));
        let decoded = ChunkedBody::unsigned_trailer().decode(body_in_pieces(many.as_bytes(), []));
        assert_eq!(
            read_body(decoded).await.unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[tokio::test]
    async fn transport_errors_pass_through() {
        let failing: ByteStream = Box::pin(stream::iter([
            Ok(Bytes::from_static(b"5\r\nhel")),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "gone",
            )),
        ]));
        let mut decoded = ChunkedBody::unsigned_trailer().decode(failing);
        assert_eq!(&decoded.next().await.unwrap().unwrap()[..], b"hel");
        let err = decoded.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(decoded.next().await.is_none());
    }

    #[test]
    fn debug_output_hides_the_signing_key() {
        let shown = format!("{:?}", ChunkedBody::signed(chain(SEED), true));
        assert!(
            shown.contains("<redacted>") && shown.contains(SEED),
            "{shown}"
        );
        assert!(
            !shown.contains(&format!("{:?}", chain(SEED).signing_key)),
            "{shown}"
        );
    }

    trait ReplaceFirst {
        fn replace_first(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }

    impl ReplaceFirst for Vec<u8> {
        fn replace_first(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
            let at = self
                .windows(from.len())
                .position(|w| w == from)
                .expect("pattern present");
            [&self[..at], to, &self[at + from.len()..]].concat()
        }
    }
}
