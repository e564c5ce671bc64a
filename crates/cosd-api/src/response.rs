//! Response: an operation's [`Reply`] (or an [`ApiError`]) becomes an HTTP response with the
//! COS common headers and, for errors, the COS error document.

use crate::error::ApiError;
use crate::xml;
use bytes::Bytes;
use cosd_store::ByteStream;
use futures_util::TryStreamExt;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};

/// The HTTP body type of every response.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// What an operation answers: status, headers and body, before the common headers are added.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: ReplyBody,
}

pub enum ReplyBody {
    Empty,
    Xml(String),
    /// A streamed body of exactly this many bytes.
    Stream(ByteStream, u64),
    /// A streamed body of a length unknown when the status is sent (chunked transfer
    /// encoding): a Complete Multipart Upload that keeps the connection alive while it works.
    Chunked(ByteStream),
    /// No body, but `Content-Length` announces this many bytes (a HEAD reply).
    Length(u64),
}

impl std::fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyBody::Empty => f.write_str("Empty"),
            ReplyBody::Xml(s) => f.debug_tuple("Xml").field(s).finish(),
            ReplyBody::Stream(_, n) => f.debug_tuple("Stream").field(n).finish(),
            ReplyBody::Chunked(_) => f.write_str("Chunked"),
            ReplyBody::Length(n) => f.debug_tuple("Length").field(n).finish(),
        }
    }
}

impl Reply {
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: ReplyBody::Empty,
        }
    }

    pub fn xml(body: String) -> Reply {
        Reply {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: ReplyBody::Xml(body),
        }
    }

    /// Adds a header (see [`Reply::set_header`]).
    pub fn header(mut self, name: impl TryInto<HeaderName>, value: impl AsRef<str>) -> Reply {
        self.set_header(name, value);
        self
    }

    /// Sets a header. The value is sent as its UTF-8 bytes, so metadata stored with non-ASCII
    /// text comes back as it went in; a value a header cannot carry (control characters) is
    /// dropped rather than sent broken — stored values were checked for that when they arrived.
    pub fn set_header(&mut self, name: impl TryInto<HeaderName>, value: impl AsRef<str>) {
        let value = HeaderValue::from_bytes(value.as_ref().as_bytes());
        if let (Ok(name), Ok(value)) = (name.try_into(), value) {
            self.headers.insert(name, value);
        }
    }

    /// The number of body bytes this reply will send (0 when unknown in advance).
    pub fn body_len(&self) -> u64 {
        match &self.body {
            ReplyBody::Empty | ReplyBody::Chunked(_) => 0,
            ReplyBody::Xml(s) => s.len() as u64,
            ReplyBody::Stream(_, n) | ReplyBody::Length(n) => *n,
        }
    }

    /// Builds the HTTP response. `head` drops the body but keeps its length, as HEAD requires.
    pub fn into_response(self, head: bool) -> http::Response<Body> {
        let len = self.body_len();
        let chunked = matches!(self.body, ReplyBody::Chunked(_));
        let mut headers = self.headers;
        let body = match self.body {
            _ if head => Empty::new().map_err(|never| match never {}).boxed_unsync(),
            ReplyBody::Empty | ReplyBody::Length(_) => {
                Empty::new().map_err(|never| match never {}).boxed_unsync()
            }
            ReplyBody::Xml(s) => {
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/xml"));
                Full::new(Bytes::from(s))
                    .map_err(|never| match never {})
                    .boxed_unsync()
            }
            ReplyBody::Stream(stream, _) | ReplyBody::Chunked(stream) => {
                StreamBody::new(stream.map_ok(http_body::Frame::data)).boxed_unsync()
            }
        };
        if !chunked {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        let mut response = http::Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = headers;
        response
    }
}

/// The error reply: status from the code, the COS error document as body.
pub fn error_reply(err: &ApiError, resource: &str, request_id: &str, trace_id: &str) -> Reply {
    let doc = xml::to_document(&xml::ErrorDocument {
        code: err.code.as_str(),
        message: &err.message,
        resource,
        request_id,
        trace_id,
    });
    let mut reply = Reply::xml(doc);
    reply.status = err.code.status();
    reply.set_header("x-cos-trace-id", trace_id);
    reply
}
