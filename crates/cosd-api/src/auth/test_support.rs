//! Test fixtures shared by the signature modules: a keyring, owned request heads, and body
//! streams.

use super::{authenticate, Authenticated, Keyring, RequestHead, Secret};
use crate::error::{ApiError, ApiResult, ErrorCode};
use bytes::Bytes;
use cosd_store::ByteStream;
use futures_util::{stream, StreamExt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A keyring holding one key of account `1250000000`.
pub(crate) struct OneKey {
    pub access_key: &'static str,
    pub secret_key: &'static str,
}

impl crate::acl::Accounts for OneKey {
    fn has_account(&self, appid: &str) -> bool {
        appid == "1250000000"
    }
}

impl Keyring for OneKey {
    fn lookup(
        &self,
        access_key: &str,
        _token: Option<&str>,
        _now: SystemTime,
    ) -> ApiResult<Secret> {
        (access_key == self.access_key)
            .then(|| Secret {
                secret_key: self.secret_key.to_owned(),
                account: "1250000000".to_owned(),
                scope: None,
            })
            .ok_or_else(|| ErrorCode::InvalidAccessKeyId.into())
    }
}

/// A request head that owns its parts.
pub(crate) struct Head {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
}

impl Head {
    pub fn new(method: &str, uri: &str, headers: &[(&str, &str)]) -> Self {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
                http::HeaderValue::from_str(value).expect("test header value"),
            );
        }
        Head {
            method: method.parse().expect("test method"),
            uri: uri.parse().expect("test uri"),
            headers: map,
        }
    }

    pub fn head(&self) -> RequestHead<'_> {
        RequestHead {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
        }
    }

    /// Runs [`authenticate`] at Unix time `now`.
    pub fn authenticate(&self, keys: &OneKey, now: u64) -> ApiResult<Authenticated> {
        authenticate(&self.head(), keys, at(now))
    }
}

pub(crate) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A body stream delivering `data` in pieces of the given lengths (the rest as one last piece).
pub(crate) fn body_in_pieces(data: &[u8], lengths: impl IntoIterator<Item = usize>) -> ByteStream {
    let mut pieces = Vec::new();
    let mut rest = Bytes::copy_from_slice(data);
    for len in lengths {
        if rest.is_empty() {
            break;
        }
        pieces.push(rest.split_to(len.min(rest.len())));
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    Box::pin(stream::iter(pieces.into_iter().map(Ok)))
}

/// Reads a body to its end: the bytes, or the API error the stream failed with. Also checks that
/// the stream stays ended after an error or its end.
pub(crate) async fn read_body(mut body: ByteStream) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(item) = body.next().await {
        match item {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(err) => {
                assert!(
                    body.next().await.is_none(),
                    "the stream goes on after an error"
                );
                return Err(ApiError::from_io(err));
            }
        }
    }
    Ok(out)
}
