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

/// The store flags (besides `--data-dir`) of a server on `data_dir` under test: the metadata
/// backend `COSD_TEST_META` asks for and the extra arguments of `COSD_TEST_SERVE_ARGS`. Admin
/// commands on that server's store take the same ones.
pub fn store_args(data_dir: &Path) -> Vec<String> {
    let mut args = meta_args(data_dir);
    args.extend(extra_serve_args());
    args
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

    /// Starts a server on a fresh data directory with an account declared for each of `keys`
    /// (with that one key), besides the root account.
    pub fn start_with_accounts(keys: &[TestKey]) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let config = accounts_config(tmp.path(), keys);
        let mut server = Server::start_on(tmp.path(), &[("COSD_CONFIG", config.to_str().unwrap())]);
        server._tmp = Some(tmp);
        server
    }

    /// Starts a server on `data_dir` with extra environment variables (the root keys are set
    /// unless `envs` overrides them).
    pub fn start_on(data_dir: &Path, envs: &[(&str, &str)]) -> Server {
        Server::start_with(data_dir, envs, &store_args(data_dir))
    }

    /// Starts a server on `data_dir` with exactly these store arguments (none: the embedded
    /// default), whatever `COSD_TEST_META` and `COSD_TEST_SERVE_ARGS` say.
    pub fn start_with(data_dir: &Path, envs: &[(&str, &str)], args: &[String]) -> Server {
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

/// With `COSD_TEST_META=postgres`, the `--meta` of a server on `data_dir`: a database of its
/// own on the cluster `COSD_TEST_POSTGRES_URL`, the same one again when a test restarts a
/// server on the same directory (the throw-away cluster goes with all of them at the end).
pub fn meta_args(data_dir: &Path) -> Vec<String> {
    use std::hash::{Hash, Hasher};
    match std::env::var("COSD_TEST_META").as_deref() {
        Err(_) | Ok("embedded") => return vec![],
        Ok("postgres") => {}
        Ok(other) => panic!("COSD_TEST_META={other}: use embedded or postgres"),
    }
    let cluster = std::env::var("COSD_TEST_POSTGRES_URL")
        .expect("COSD_TEST_META=postgres needs COSD_TEST_POSTGRES_URL (scripts/postgres start)");
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hash);
    let name = format!("cosd_bb_{}_{:016x}", std::process::id(), hash.finish());
    let out = Command::new("psql")
        .arg(&cluster)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("run psql");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("already exists"),
        "CREATE DATABASE {name}: {stderr}"
    );
    vec![
        "--meta".into(),
        cosd_store::testing::with_database(&cluster, &name),
    ]
}

/// Writes `<data_dir>/accounts.toml`, declaring an account named `a<appid>` for each of `keys`
/// (with that one key), and returns its path for `COSD_CONFIG`. Declared accounts are taken in
/// at start by every metadata backend.
pub fn accounts_config(data_dir: &Path, keys: &[TestKey]) -> PathBuf {
    let toml: String = keys
        .iter()
        .map(|k| {
            format!(
                "[[accounts]]\nappid = \"{}\"\nname = \"a{}\"\n[[accounts.keys]]\nsecret_id = \"{}\"\nsecret_key = \"{}\"\n",
                k.appid, k.appid, k.secret_id, k.secret_key
            )
        })
        .collect();
    let config = data_dir.join("accounts.toml");
    std::fs::write(&config, toml).expect("write the config file");
    config
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
    match try_send(addr, req).await {
        Ok(resp) => resp,
        Err(e) => panic!("request to {addr}: {e}"),
    }
}

/// Like [`send`], but a refused, cut or failed connection is an error, not a panic (for tests
/// that kill servers under load).
pub async fn try_send(addr: SocketAddr, req: Request) -> Result<Response, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
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
        .map_err(|e| format!("send request: {e}"))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("read body: {e}"))?
        .to_bytes();
    Ok(Response {
        status,
        headers,
        body,
    })
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
    cos_signed_as(server, &TestKey::root(), method, path, params, headers)
}

/// [`cos_signed`] with any key; a temporary key's token goes in `x-cos-security-token`
/// (unsigned, as cos-python-sdk-v5 sends it).
pub fn cos_signed_as(
    server: &Server,
    key: &TestKey,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Request {
    cos_signed_at(server.addr, key, method, path, params, headers)
}

/// [`cos_signed_as`] for a server known by its address only.
pub fn cos_signed_at(
    addr: SocketAddr,
    key: &TestKey,
    method: &str,
    path: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Request {
    let host = addr.to_string();
    let mut signed: Vec<(&str, &str)> = headers.to_vec();
    signed.push(("host", host.as_str()));
    let now = now_secs();
    let auth = cosd_api::auth::cos_v5::sign(
        &key.secret_id,
        &key.secret_key,
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
    if let Some(token) = &key.token {
        req = req.header("x-cos-security-token", token);
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

/// A key pair a test signs with: permanent (`token: None`) or temporary.
#[derive(Debug, Clone)]
pub struct TestKey {
    pub appid: String,
    pub secret_id: String,
    pub secret_key: String,
    pub token: Option<String>,
}

impl TestKey {
    /// The root account's key that [`Server::start_on`] configures.
    pub fn root() -> TestKey {
        TestKey {
            appid: APPID.into(),
            secret_id: SECRET_ID.into(),
            secret_key: SECRET_KEY.into(),
            token: None,
        }
    }
}

/// Runs `cosd <args> --data-dir <data_dir>` (an admin command) to its end: its stdout, or its
/// stderr when it fails.
pub fn cosd_cli(data_dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_cosd"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        // The same store the server on `data_dir` uses.
        .args(store_args(data_dir))
        .env("RUST_LOG", "warn")
        .env_remove("COSD_CONFIG")
        .output()
        .expect("run cosd");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

/// Creates account `appid` with one key pair through `cosd account add` and `cosd key add`
/// (which work while a server runs on `data_dir`; it picks the key up within about a second,
/// see [`wait_for_key`]).
pub fn add_account_with_key(data_dir: &Path, appid: &str) -> TestKey {
    cosd_cli(data_dir, &["account", "add", appid]).expect("account add");
    add_key(data_dir, appid)
}

/// Adds a key pair to an existing account with `cosd key add`.
pub fn add_key(data_dir: &Path, appid: &str) -> TestKey {
    let out = cosd_cli(data_dir, &["key", "add", "--account", appid]).expect("key add");
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    TestKey {
        appid: appid.into(),
        secret_id: field("SecretId:"),
        secret_key: field("SecretKey:"),
        token: None,
    }
}

/// Issues a temporary key for `appid` with `cosd token issue`; `flags` are more of its flags
/// (`--duration 1h`, `--bucket B`, `--prefix P`, `--action cos:GetObject`, …).
pub fn issue_temp_key(data_dir: &Path, appid: &str, flags: &[&str]) -> TestKey {
    let mut args = vec!["token", "issue", "--account", appid];
    args.extend_from_slice(flags);
    let out = cosd_cli(data_dir, &args).expect("token issue");
    temp_key_from_json(appid, &out)
}

/// A temporary key from the JSON `cosd token issue` and the admin API answer with.
pub fn temp_key_from_json(appid: &str, json: &str) -> TestKey {
    let v: serde_json::Value = serde_json::from_str(json).expect("credentials JSON");
    let c = &v["Credentials"];
    let s = |name: &str| c[name].as_str().expect("credential field").to_string();
    TestKey {
        appid: appid.into(),
        secret_id: s("TmpSecretId"),
        secret_key: s("TmpSecretKey"),
        token: Some(s("Token")),
    }
}

/// Waits (at most 10 s, polling) until `key` is accepted (`works`) or refused (`!works`) by the
/// server, judged by a signed GET Service.
pub async fn wait_for_key(server: &Server, key: &TestKey, works: bool) -> Response {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let resp = send(
            server.addr,
            cos_signed_as(server, key, "GET", "/", &[], &[]),
        )
        .await;
        if (resp.status == 200) == works || std::time::Instant::now() > deadline {
            return resp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
