//! The HTTP service: accepts connections and walks every request along one path —
//! [`route`](crate::route) → [`auth`](crate::auth) → [`cors`](crate::cors) →
//! [`authorize`](crate::authorize) → [`ops`](crate::ops) → [`response`](crate::response) —
//! then logs one line for it.

use crate::accounts::AccountKeyring;
use crate::auth::{self, Keyring, RequestHead};
use crate::config_cache::{BucketConfig, ConfigCache};
use crate::error::ApiResult;
use crate::ops::{self, Ctx, Dialect};
use crate::response::{error_reply, Body, Reply};
use crate::route::{self, Op, Route, RouteConfig};
use crate::{admin, authorize, cors};
use base64::Engine;
use cosd_store::{ByteStream, Store};
use futures_util::TryStreamExt;
use http::header::{
    HeaderValue, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, CONNECTION, EXPECT,
    ORIGIN, SERVER, VARY,
};
use http::StatusCode;
use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;

/// How long shutdown waits for in-flight requests before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What every request handler shares.
pub struct AppState {
    pub store: Store,
    pub keys: Arc<dyn Keyring>,
    pub routes: RouteConfig,
    pub region: String,
    /// The keyring the admin API issues temporary keys from; `None` while the API is off.
    pub admin: Option<Arc<AccountKeyring>>,
    configs: ConfigCache,
    request_ids: RequestIds,
}

impl AppState {
    pub fn new(store: Store, keys: Arc<dyn Keyring>, routes: RouteConfig, region: String) -> Self {
        // Follows the store's change feed, so changes through other nodes reach the cache.
        let configs = ConfigCache::new(store.meta.changes());
        AppState {
            store,
            keys,
            routes,
            region,
            admin: None,
            configs,
            request_ids: RequestIds::new(),
        }
    }

    /// Turns the admin API on.
    pub fn with_admin(mut self, keyring: Arc<AccountKeyring>) -> Self {
        self.admin = Some(keyring);
        self
    }
}

/// Serves HTTP/1.1 on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish (up to [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) {
    let header_case = Arc::new(crate::header_case::cos_header_case().await);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let header_case = header_case.clone();
                let svc = service_fn(move |req| handle(state.clone(), header_case.clone(), peer, req));
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(%peer, error = %err, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// Handles one request; never fails (every error becomes a COS error response).
/// `header_case` goes on the response so that header names are spelled as COS spells them.
pub async fn handle(
    state: Arc<AppState>,
    header_case: Arc<http::Extensions>,
    peer: SocketAddr,
    req: http::Request<Incoming>,
) -> Result<http::Response<Body>, Infallible> {
    let started = Instant::now();
    let request_id = state.request_ids.next();
    let (parts, body) = req.into_parts();
    let is_head = parts.method == http::Method::HEAD;
    let routed = route::resolve(&parts.method, &parts.uri, &parts.headers, &state.routes);
    let (op, bucket) = match &routed {
        Ok(r) => (r.op.name(), r.bucket.clone().unwrap_or_default()),
        Err(_) => ("Unrouted", String::new()),
    };
    let resource = resource_of(&parts, routed.as_ref().ok());
    let mut reply = match &routed {
        Ok(route) => process(&state, &parts, route, peer, body, &request_id, &resource).await,
        Err(err) => Err(err.clone()),
    }
    .unwrap_or_else(|err| {
        let trace_id = trace_id_for(&request_id);
        error_reply(&err, &resource, &request_id, &trace_id)
    });
    if let Ok(route) = &routed {
        decorate_cors(&state, &parts, route, &mut reply).await;
    }
    reply.set_header("x-cos-request-id", &request_id);
    let status = reply.status.as_u16();
    let bytes_out = reply.body_len();
    let mut response = reply.into_response(is_head);
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static("tencent-cos"));
    *response.extensions_mut() = (*header_case).clone();
    // A client that asked for `100 Continue` and got an error instead may never send the
    // body; on a kept connection its next request would be read as the rest of this body
    // (botocore does exactly that). RFC 9110 §10.1.1: the server says it closes.
    if status >= 400 && parts.headers.contains_key(EXPECT) {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    tracing::info!(
        target: "cosd::request",
        request_id = %request_id,
        %peer,
        method = %parts.method,
        op,
        bucket,
        status,
        bytes_in = parts.headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).unwrap_or("0"),
        bytes_out,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
    );
    Ok(response)
}

/// Everything after routing: authentication, CORS, authorization, the operation.
async fn process(
    state: &AppState,
    parts: &http::request::Parts,
    route: &Route,
    peer: SocketAddr,
    body: Incoming,
    request_id: &str,
    resource: &str,
) -> ApiResult<Reply> {
    let head = RequestHead {
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
    };
    if route.bucket.as_deref() == Some(admin::BUCKET) {
        let body = incoming_stream(body);
        let admin_keys = state.admin.as_deref();
        return admin::handle(
            admin_keys,
            &head,
            route.key.as_deref(),
            body,
            SystemTime::now(),
        )
        .await;
    }
    if route.op == Op::Preflight {
        // Preflights carry no credentials (browsers never sign them); a presigned URL's query
        // signature is deliberately not checked here.
        return preflight(state, parts, route).await;
    }
    if route.op == Op::PostObject {
        // A form upload is signed in its fields, not its headers: the operation authenticates
        // and authorizes it once the fields before the file have arrived.
        let now = SystemTime::now();
        let body = incoming_stream(body);
        return ops::post_object::post(
            &state.store,
            &state.configs,
            state.keys.as_ref(),
            route,
            parts,
            peer.ip(),
            body,
            now,
        )
        .await;
    }
    let now = SystemTime::now();
    let authenticated = auth::authenticate(&head, state.keys.as_ref(), now)?;
    let request = authorize::Request::new(
        &authenticated.principal,
        route,
        &parts.headers,
        peer.ip(),
        now,
    );
    let bucket = authorize::authorize(&state.store, &state.configs, &request).await?;
    let body = auth::verify_body(incoming_stream(body), authenticated.body);
    let ctx = Ctx {
        store: &state.store,
        configs: &state.configs,
        route,
        headers: &parts.headers,
        principal: &authenticated.principal,
        accounts: state.keys.as_ref(),
        request: &request,
        dialect: dialect_of(parts),
        region: &state.region,
        bucket: bucket.as_ref(),
        request_id,
        resource,
    };
    ops::dispatch(&ctx, body).await
}

/// Answers a CORS preflight from the bucket's rules. A bucket that does not exist answers like
/// one without rules, so an anonymous caller learns nothing about which buckets exist.
async fn preflight(
    state: &AppState,
    parts: &http::request::Parts,
    route: &Route,
) -> ApiResult<Reply> {
    let config = match &route.bucket {
        Some(bucket) => state.configs.get(&state.store, bucket).await?,
        None => Arc::new(BucketConfig::default()),
    };
    let h = |name| header_text(&parts.headers, name);
    match cors::preflight(
        config.cors.as_ref(),
        h(ORIGIN),
        h(ACCESS_CONTROL_REQUEST_METHOD),
        h(ACCESS_CONTROL_REQUEST_HEADERS),
    ) {
        Ok(grant) => {
            let mut reply = Reply::empty(StatusCode::OK);
            for (name, value) in grant.headers() {
                reply.set_header(name, value);
            }
            Ok(reply)
        }
        Err(denied) => {
            // Browsers hide why a preflight failed; the operator finds it here.
            tracing::info!(target: "cosd::cors", bucket = route.bucket.as_deref().unwrap_or(""), %denied, "CORS preflight refused");
            Err(denied.into())
        }
    }
}

/// Adds the CORS headers the bucket's rules grant an actual (non-preflight) request, whatever
/// its outcome — a browser can only read an error it is allowed to see — and `Vary: Origin`
/// when the bucket asks for it. CORS never changes the outcome; it only adds headers.
async fn decorate_cors(
    state: &AppState,
    parts: &http::request::Parts,
    route: &Route,
    reply: &mut Reply,
) {
    let Some(bucket) = &route.bucket else { return };
    let config = match state.configs.get(&state.store, bucket).await {
        Ok(config) => config,
        Err(err) => {
            tracing::warn!(bucket, error = %err, "CORS configuration unavailable; response sent without CORS headers");
            return;
        }
    };
    let Some(rules) = &config.cors else { return };
    if route.op != Op::Preflight {
        let origin = header_text(&parts.headers, ORIGIN);
        if let Some(grant) = cors::actual(Some(rules), origin, parts.method.as_str()) {
            for (name, value) in grant.headers() {
                reply.set_header(name, value);
            }
        }
    }
    if rules.response_vary && !reply.headers.contains_key(VARY) {
        reply.set_header(VARY, "Origin");
    }
}

fn header_text(headers: &http::HeaderMap, name: http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn incoming_stream(body: Incoming) -> ByteStream {
    Box::pin(BodyDataStream::new(body).map_err(std::io::Error::other))
}

/// S3 clients sign with AWS signatures; they read `x-amz-meta-*` rather than `x-cos-meta-*`.
fn dialect_of(parts: &http::request::Parts) -> Dialect {
    let header_sig = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS"));
    let query_sig = parts
        .uri
        .query()
        .is_some_and(|q| q.contains("X-Amz-Signature=") || q.contains("AWSAccessKeyId="));
    if header_sig || query_sig {
        Dialect::S3
    } else {
        Dialect::Cos
    }
}

/// The error document's `Resource`: host (without port) and path, as COS shows it.
fn resource_of(parts: &http::request::Parts, route: Option<&Route>) -> String {
    let host = match route {
        Some(r) => r.host.clone(),
        None => parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string(),
    };
    let path =
        route::decode_path(parts.uri.path()).unwrap_or_else(|_| parts.uri.path().to_string());
    format!("{host}{path}")
}

/// Request ids unique across restarts and nodes: start time, a random node tag, a counter.
struct RequestIds {
    prefix: String,
    counter: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let node = uuid::Uuid::new_v4().as_u128() as u32;
        RequestIds {
            prefix: format!("{secs:08x}_{node:08x}"),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        base64::engine::general_purpose::STANDARD.encode(format!("{}_{n:x}", self.prefix))
    }
}

pub(crate) fn trace_id_for(request_id: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("{request_id}_{}", uuid::Uuid::new_v4().simple()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_header_safe() {
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert!(HeaderValue::from_str(&a).is_ok());
    }
}
