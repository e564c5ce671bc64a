//! Black-box harness: starts the real `cosd` binary on a free loopback port with a temporary
//! data directory, and speaks HTTP/1.1 to it.

#![allow(dead_code)] // each test binary uses a different part of the harness

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SECRET_ID: &str = "AKIDblackboxtest0000000000000000";
pub const SECRET_KEY: &str = "blackboxsecret000000000000000000";
pub const APPID: &str = "1250000000";

/// A running server; killed when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub child: Child,
    /// What the server printed on stdout up to and including its "listening on" line.
    pub startup_output: String,
    pub data_dir: PathBuf,
    /// Where the server keeps blob files: `<data_dir>/blobs` under the embedded default, `None`
    /// when `COSD_TEST_SERVE_ARGS` puts blobs elsewhere (tests then skip looking at files).
    pub local_blobs: Option<PathBuf>,
    _tmp: Option<tempfile::TempDir>,
}

/// Extra `cosd serve` arguments from `COSD_TEST_SERVE_ARGS` (whitespace-split), so that the
/// whole suite can be rerun against another backend, e.g. `--blobs fs:///tmp/shared`.
pub fn extra_serve_args() -> Vec<String> {
    std::env::var("COSD_TEST_SERVE_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

impl Server {
    /// Starts a server on a fresh temporary data directory.
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let mut server = Server::start_on(&dir, &[]);
        server._tmp = Some(tmp);
        server
    }

    /// Starts a server on `data_dir` with extra environment variables (the root keys are set
    /// unless `envs` overrides them).
    pub fn start_on(data_dir: &Path, envs: &[(&str, &str)]) -> Server {
        Server::start_with(data_dir, envs, &extra_serve_args())
    }

    /// Starts a server on the embedded default backend, whatever `COSD_TEST_SERVE_ARGS` says,
    /// with `args` added to `cosd serve`.
    pub fn start_embedded_on(data_dir: &Path, envs: &[(&str, &str)], args: &[String]) -> Server {
        Server::start_with(data_dir, envs, args)
    }

    fn start_with(data_dir: &Path, envs: &[(&str, &str)], args: &[String]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cosd"));
        // Port 0: the server picks a free port and announces it, so parallel tests never race
        // for the same one.
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("COSD_SECRET_ID", SECRET_ID)
            .env("COSD_SECRET_KEY", SECRET_KEY)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let mut child = cmd.spawn().expect("start cosd");
        let (addr, startup_output) = announced_addr(&mut child);
        Server {
            addr,
            child,
            startup_output,
            data_dir: data_dir.to_path_buf(),
            local_blobs: (!args.iter().any(|a| a.starts_with("--blobs")))
                .then(|| data_dir.join("blobs")),
            _tmp: None,
        }
    }

    /// Sends SIGKILL and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the child's stdout until it announces its address (at most 20 s).
fn announced_addr(child: &mut Child) -> (SocketAddr, String) {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if let Some(addr) = line.strip_prefix("cosd: listening on http://") {
                let addr = addr.parse::<SocketAddr>().expect("announced address");
                let _ = tx.send((addr, seen.clone()));
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("cosd did not announce its address within 20 s")
}

/// A response, body read whole (tests only use small bodies).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The text of `<tag>` in an XML body.
    pub fn xml(&self, tag: &str) -> Option<String> {
        let text = self.text();
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].to_string())
    }
}

/// One request to the server.
pub struct Request {
    pub method: http::Method,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Request {
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.parse().unwrap(),
            target: target.to_string(),
            headers: vec![],
            body: Bytes::new(),
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Request {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Request {
        self.body = body.into();
        self
    }
}

/// Sends a request over a new connection and reads the whole response.
pub async fn send(addr: SocketAddr, req: Request) -> Response {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let mut builder = http::Request::builder()
        .method(req.method.clone())
        .uri(&req.target);
    let has = |name: &str| {
        req.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    if !has("host") {
        builder = builder.header("host", addr.to_string());
    }
    if !has("content-length") && matches!(req.method, http::Method::PUT | http::Method::POST) {
        // As real clients do; hyper leaves it out for an empty body.
        builder = builder.header("content-length", req.body.len());
    }
    for (k, v) in &req.headers {
        // From bytes: tests send UTF-8 metadata values as real clients do.
        let value = http::HeaderValue::from_bytes(v.as_bytes()).expect("header value");
        builder = builder.header(k.as_str(), value);
    }
    let resp = sender
        .send_request(builder.body(Full::new(req.body)).unwrap())
        .await
        .expect("send request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("read body")
        .to_bytes();
    Response {
        status,
        headers,
        body,
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Percent-encodes a decoded path for the wire (`/` kept).
pub fn encode_path(path: &str) -> String {
    cosd_api::auth::percent_encode_path(path.as_bytes())
}

/// Percent-encodes a query component.
pub fn encode_component(s: &str) -> String {
    cosd_api::auth::percent_encode(s.as_bytes())
}

/// A request signed with COS signature v5 by the root test key, path style on the server's
/// address. `path` and `params` are decoded; every given header is signed, plus `host`.
pub fn cos_signed(
    server: &Server,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Request {
    let host = server.addr.to_string();
    let mut signed: Vec<(&str, &str)> = headers.to_vec();
    signed.push(("host", host.as_str()));
    let now = now_secs();
    let auth = cosd_api::auth::cos_v5::sign(
        SECRET_ID,
        SECRET_KEY,
        &cosd_api::auth::RequestToSign {
            method,
            path,
            params,
            headers: &signed,
        },
        now - 60,
        now + 900,
    );
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    let target = if query.is_empty() {
        encode_path(path)
    } else {
        format!("{}?{}", encode_path(path), query.join("&"))
    };
    let mut req = Request::new(method, &target).header("authorization", &auth);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req
}

/// Creates a bucket with a COS-signed request, asserting success.
pub async fn create_bucket(server: &Server, bucket: &str) {
    let resp = send(
        server.addr,
        cos_signed(server, "PUT", &format!("/{bucket}"), &[], &[]),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
}
