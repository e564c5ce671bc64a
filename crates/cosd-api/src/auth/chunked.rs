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
