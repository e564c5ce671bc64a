//! One benchmark client: a keep-alive HTTP/1.1 connection that signs its own requests with
//! cosd's client-side signers, and the object operations the workloads are made of.

use crate::config::{Endpoint, Signature};
use crate::workload::MIB;
use base64::Engine;
use bytes::Bytes;
use cosd_api::auth::{cos_v5, sigv4, RequestToSign};
use http::{Method, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::SystemTime;

/// How long a COS v5 signature stays valid (the window starts a minute back for clock skew).
const COS_KEY_TIME_SECS: u64 = 3600;

/// The bytes every object body is cut from: 1 MiB of fixed pseudo-random data (so nothing on
/// the way can compress it), generated once and shared by reference by all clients; a large
/// body repeats it, so a client never holds more than this per request.
pub fn pattern() -> Bytes {
    static PATTERN: OnceLock<Bytes> = OnceLock::new();
    PATTERN
        .get_or_init(|| {
            let mut rng = crate::workload::Rng::new(0x636f_7364);
            let words = (MIB / 8) as usize;
            let data: Vec<u8> = (0..words)
                .flat_map(|_| rng.next_u64().to_le_bytes())
                .collect();
            Bytes::from(data)
        })
        .clone()
}

/// A request body of `remaining` bytes: `chunk` repeated (and cut at the end), sent one
/// chunk-sized frame at a time.
pub struct RepeatBody {
    chunk: Bytes,
    remaining: u64,
}

impl RepeatBody {
    pub fn new(chunk: Bytes, len: u64) -> RepeatBody {
        assert!(
            !chunk.is_empty() || len == 0,
            "an empty chunk cannot fill a body"
        );
        RepeatBody {
            chunk,
            remaining: len,
        }
    }

    pub fn empty() -> RepeatBody {
        RepeatBody::new(Bytes::new(), 0)
    }
}

impl Body for RepeatBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(self.chunk.len() as u64);
        self.remaining -= n;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n as usize)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Why an operation failed: the server's status, a wrong answer, or the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    Status(StatusCode),
    /// A 2xx whose content was not what the operation needs (short body, no CORS grant, …).
    BadAnswer(&'static str),
    Transport(String),
}

impl OpError {
    /// The key results are grouped by: the status code, or the kind of failure.
    pub fn class(&self) -> String {
        match self {
            OpError::Status(s) => s.as_u16().to_string(),
            OpError::BadAnswer(what) => format!("bad answer: {what}"),
            OpError::Transport(_) => "transport".to_string(),
        }
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Status(s) => write!(f, "HTTP {s}"),
            OpError::BadAnswer(what) => write!(f, "{what}"),
            OpError::Transport(e) => write!(f, "connection: {e}"),
        }
    }
}

/// What the client needs to know about its target, shared by all clients.
pub struct Target {
    pub addr: SocketAddr,
    pub endpoint: Endpoint,
    pub signature: Signature,
    pub secret_id: String,
    pub secret_key: String,
    pub region: String,
    pub bucket: String,
}

impl Target {
    /// The `Authorization` header (and for SigV4 `x-amz-date`, `x-amz-content-sha256`) for a
    /// request. Paths and parameters are decoded, exactly as [`RequestToSign`] wants them.
    fn sign(
        &self,
        method: &Method,
        path: &str,
        params: &[(&str, &str)],
    ) -> Vec<(&'static str, String)> {
        let headers = [("host", self.endpoint.authority.as_str())];
        let req = RequestToSign {
            method: method.as_str(),
            path,
            params,
            headers: &headers,
        };
        match self.signature {
            Signature::CosV5 => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let auth = cos_v5::sign(
                    &self.secret_id,
                    &self.secret_key,
                    &req,
                    now.saturating_sub(60),
                    now + COS_KEY_TIME_SECS,
                );
                vec![("authorization", auth)]
            }
            Signature::SigV4 => {
                let creds = sigv4::Credentials {
                    access_key: &self.secret_id,
                    secret_key: &self.secret_key,
                    region: &self.region,
                };
                let signed =
                    sigv4::sign_request(&creds, &req, sigv4::UNSIGNED_PAYLOAD, SystemTime::now());
                vec![
                    ("authorization", signed.authorization),
                    ("x-amz-date", signed.amz_date),
                    ("x-amz-content-sha256", signed.content_sha256),
                ]
            }
        }
    }

    fn object_path(&self, key: &str) -> String {
        debug_assert!(
            key.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)),
            "benchmark keys need no encoding: {key}"
        );
        format!("/{}/{key}", self.bucket)
    }
}

/// A successful operation: how many body bytes went up or came down.
pub type OpResult = Result<u64, OpError>;

/// One client connection. It reconnects when the server has closed the previous one.
pub struct Client {
    target: Arc<Target>,
    sender: Option<SendRequest<RepeatBody>>,
}

impl Client {
    pub fn new(target: Arc<Target>) -> Client {
        Client {
            target,
            sender: None,
        }
    }

    async fn connect(&self) -> Result<SendRequest<RepeatBody>, OpError> {
        let transport = |e: &dyn fmt::Display| OpError::Transport(e.to_string());
        let stream = tokio::net::TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| transport(&e))?;
        stream.set_nodelay(true).map_err(|e| transport(&e))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport(&e))?;
        tokio::spawn(conn);
        Ok(sender)
    }

    /// A request to the target: path style, `Host` the endpoint's authority, signed unless
    /// `signed` is false.
    fn build(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        headers: &[(&str, String)],
        body: RepeatBody,
        signed: bool,
    ) -> Result<http::Request<RepeatBody>, OpError> {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    encode(k)
                } else {
                    format!("{}={}", encode(k), encode(v))
                }
            })
            .collect();
        let uri = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(http::header::HOST, &self.target.endpoint.authority);
        if matches!(method, Method::PUT | Method::POST) {
            // hyper leaves Content-Length out of an empty body; servers want it on a PUT.
            builder = builder.header(http::header::CONTENT_LENGTH, body.remaining);
        }
        if signed {
            for (name, value) in self.target.sign(&method, path, params) {
                builder = builder.header(name, value);
            }
        }
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        builder
            .body(body)
            .map_err(|e| OpError::Transport(format!("cannot build the request: {e}")))
    }

    /// Sends a request on the kept-alive connection (opening one if needed) and returns the
    /// response head with its body still to read.
    async fn send_raw(
        &mut self,
        request: http::Request<RepeatBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, OpError> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        if sender.ready().await.is_err() {
            sender = self.connect().await?;
            sender
                .ready()
                .await
                .map_err(|e| OpError::Transport(e.to_string()))?;
        }
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| OpError::Transport(e.to_string()))?;
        self.sender = Some(sender);
        Ok(response)
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        headers: &[(&str, String)],
        body: RepeatBody,
    ) -> Result<http::Response<hyper::body::Incoming>, OpError> {
        let request = self.build(method, path, params, headers, body, true)?;
        self.send_raw(request).await
    }

    /// Reads the body to its end, keeping at most `keep` bytes of it; returns its length and
    /// the kept bytes. A failed status is an error (after the body is drained, so the
    /// connection stays usable).
    async fn finish(
        response: http::Response<hyper::body::Incoming>,
        keep: usize,
    ) -> Result<(u64, Vec<u8>), OpError> {
        let status = response.status();
        let mut body = response.into_body();
        let mut len = 0u64;
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| OpError::Transport(e.to_string()))?;
            if let Some(data) = frame.data_ref() {
                len += data.len() as u64;
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&data[..room.min(data.len())]);
            }
        }
        if !status.is_success() {
            return Err(OpError::Status(status));
        }
        Ok((len, kept))
    }

    /// Creates the bucket. A 409 (it exists) is taken as ours: peers word it differently,
    /// and if it is someone else's, every operation's 403 will say so.
    pub async fn create_bucket(&mut self) -> Result<(), OpError> {
        let path = format!("/{}", self.target.bucket);
        let response = self
            .send(Method::PUT, &path, &[], &[], RepeatBody::empty())
            .await?;
        match Self::finish(response, 2048).await {
            Ok(_) => Ok(()),
            Err(OpError::Status(StatusCode::CONFLICT)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn put(&mut self, key: &str, size: u64) -> OpResult {
        let path = self.target.object_path(key);
        let body = RepeatBody::new(pattern(), size);
        let response = self.send(Method::PUT, &path, &[], &[], body).await?;
        Self::finish(response, 0).await.map(|_| size)
    }

    /// GETs an object and checks that exactly `size` bytes came back.
    pub async fn get(&mut self, key: &str, size: u64) -> OpResult {
        let path = self.target.object_path(key);
        let response = self
            .send(Method::GET, &path, &[], &[], RepeatBody::empty())
            .await?;
        let (len, _) = Self::finish(response, 0).await?;
        if len != size {
            return Err(OpError::BadAnswer("body length differs from the object's"));
        }
        Ok(len)
    }

    /// HEAD (warp's STAT).
    pub async fn stat(&mut self, key: &str) -> OpResult {
        let path = self.target.object_path(key);
        let response = self
            .send(Method::HEAD, &path, &[], &[], RepeatBody::empty())
            .await?;
        Self::finish(response, 0).await.map(|_| 0)
    }

    pub async fn delete(&mut self, key: &str) -> OpResult {
        let path = self.target.object_path(key);
        let response = self
            .send(Method::DELETE, &path, &[], &[], RepeatBody::empty())
            .await?;
        Self::finish(response, 0).await.map(|_| 0)
    }

    /// One ListObjectsV2 page of `page` keys under `prefix`, after `start_after` (from the
    /// start without it); checks that it really holds `page` keys.
    pub async fn list_page(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        page: usize,
    ) -> OpResult {
        let path = format!("/{}", self.target.bucket);
        let max_keys = page.to_string();
        let mut params = vec![
            ("list-type", "2"),
            ("max-keys", max_keys.as_str()),
            ("prefix", prefix),
        ];
        params.extend(start_after.map(|key| ("start-after", key)));
        let response = self
            .send(Method::GET, &path, &params, &[], RepeatBody::empty())
            .await?;
        let (len, body) = Self::finish(response, usize::MAX).await?;
        if count_occurrences(&body, b"<Key>") != page {
            return Err(OpError::BadAnswer("list page has the wrong number of keys"));
        }
        Ok(len)
    }

    /// Uploads an object in parts of `part_size` (the last one shorter), one after the
    /// other: initiate, upload each part, complete with the parts' ETags.
    pub async fn multipart_put(&mut self, key: &str, size: u64, part_size: u64) -> OpResult {
        let path = self.target.object_path(key);
        let response = self
            .send(
                Method::POST,
                &path,
                &[("uploads", "")],
                &[],
                RepeatBody::empty(),
            )
            .await?;
        let (_, body) = Self::finish(response, 64 * 1024).await?;
        let upload_id = xml_text(&body, "UploadId")
            .ok_or(OpError::BadAnswer("initiate answered no UploadId"))?;
        let mut complete = String::from("<CompleteMultipartUpload>");
        for (i, start) in (0..size.max(1)).step_by(part_size as usize).enumerate() {
            let number = (i + 1).to_string();
            let params = [
                ("partNumber", number.as_str()),
                ("uploadId", upload_id.as_str()),
            ];
            let body = RepeatBody::new(pattern(), part_size.min(size - start));
            let response = self.send(Method::PUT, &path, &params, &[], body).await?;
            let etag = response
                .headers()
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Self::finish(response, 0).await?;
            let etag = etag.ok_or(OpError::BadAnswer("a part answered no ETag"))?;
            complete.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
            ));
        }
        complete.push_str("</CompleteMultipartUpload>");
        let len = complete.len() as u64;
        let body = RepeatBody::new(Bytes::from(complete), len);
        let response = self
            .send(Method::POST, &path, &[("uploadId", &upload_id)], &[], body)
            .await?;
        // S3 may answer a failed completion with 200 and an error document.
        let (_, answer) = Self::finish(response, 64 * 1024).await?;
        if xml_text(&answer, "Code").is_some() {
            return Err(OpError::BadAnswer("complete answered an error document"));
        }
        Ok(size)
    }

    /// Puts a CORS rule allowing [`PREFLIGHT_ORIGIN`] to PUT and GET with any header.
    pub async fn put_cors(&mut self) -> Result<(), OpError> {
        let xml = Bytes::from_static(
            b"<CORSConfiguration><CORSRule><AllowedOrigin>https://bench.example</AllowedOrigin>\
              <AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>\
              <AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>\
              <MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>",
        );
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&xml));
        let headers = [
            ("content-md5", md5),
            ("content-type", "application/xml".to_string()),
        ];
        let path = format!("/{}", self.target.bucket);
        let len = xml.len() as u64;
        let response = self
            .send(
                Method::PUT,
                &path,
                &[("cors", "")],
                &headers,
                RepeatBody::new(xml, len),
            )
            .await?;
        Self::finish(response, 2048).await.map(|_| ())
    }

    /// A browser's preflight for a PUT with a content type and a metadata header; the answer
    /// must grant the origin.
    pub async fn preflight(&mut self, key: &str) -> OpResult {
        let path = self.target.object_path(key);
        let headers = [
            ("origin", PREFLIGHT_ORIGIN.to_string()),
            ("access-control-request-method", "PUT".to_string()),
            (
                "access-control-request-headers",
                "content-type,x-cos-meta-author".to_string(),
            ),
        ];
        // Preflights are never signed: browsers send them without credentials.
        let request = self.build(
            Method::OPTIONS,
            &path,
            &[],
            &headers,
            RepeatBody::empty(),
            false,
        )?;
        let response = self.send_raw(request).await?;
        let granted = response
            .headers()
            .get(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_some();
        Self::finish(response, 0).await?;
        if !granted {
            return Err(OpError::BadAnswer("preflight granted no origin"));
        }
        Ok(0)
    }
}

/// The origin the preflight workload asks for.
pub const PREFLIGHT_ORIGIN: &str = "https://bench.example";

fn encode(s: &str) -> String {
    cosd_api::auth::percent_encode(s.as_bytes())
}

/// The text of the first `<tag>` element of an XML document.
fn xml_text(xml: &[u8], tag: &str) -> Option<String> {
    let xml = std::str::from_utf8(xml).ok()?;
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..end].to_string())
}

fn count_occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| w == &needle)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(body: RepeatBody) -> Vec<u8> {
        body.collect().await.unwrap().to_bytes().to_vec()
    }

    #[tokio::test]
    async fn repeat_body_repeats_and_cuts_the_chunk() {
        let body = RepeatBody::new(Bytes::from_static(b"abc"), 7);
        assert_eq!(body.size_hint().exact(), Some(7));
        assert_eq!(collect(body).await, b"abcabca");
        assert!(collect(RepeatBody::empty()).await.is_empty());
        let large = collect(RepeatBody::new(pattern(), 3 * MIB + 5)).await;
        assert_eq!(large.len() as u64, 3 * MIB + 5);
        assert_eq!(&large[MIB as usize..MIB as usize + 64], &pattern()[..64]);
    }

    #[test]
    fn the_pattern_is_fixed_and_not_trivially_compressible() {
        let p = pattern();
        assert_eq!(p.len() as u64, MIB);
        assert_eq!(p, pattern());
        let zeros = p.iter().filter(|&&b| b == 0).count();
        assert!(zeros < p.len() / 100, "{zeros} zero bytes");
    }

    #[test]
    fn keys_are_counted_in_a_list_page() {
        let page = b"<ListBucketResult><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents></ListBucketResult>";
        assert_eq!(count_occurrences(page, b"<Key>"), 2);
        assert_eq!(encode("list/"), "list%2F");
        let initiated = b"<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>u-1</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(xml_text(initiated, "UploadId").as_deref(), Some("u-1"));
        assert_eq!(xml_text(initiated, "Code"), None);
    }

    #[test]
    fn errors_group_by_status_or_kind() {
        assert_eq!(OpError::Status(StatusCode::NOT_FOUND).class(), "404");
        assert_eq!(OpError::Transport("reset".into()).class(), "transport");
        assert_eq!(
            OpError::BadAnswer("short").class(),
            "bad answer: short".to_string()
        );
    }
}
