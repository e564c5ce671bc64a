//! Header-name spelling on the wire, as COS spells it: `ETag`, `Content-Length`,
//! `Last-Modified`, … in their canonical case, `x-cos-*` in lower case.
//!
//! Why it matters: the COS Python SDK returns response headers as a plain `dict` keyed by the
//! names exactly as the server wrote them, and both its users (`response['ETag']`) and its own
//! resumable download and multipart code (`object_info['Content-Length']`,
//! `object_info['x-cos-hash-crc64ecma']`) index that dict by COS's spelling.
//!
//! hyper writes lower-case names unless the response carries its header-case map, a type hyper
//! keeps private but documents as honoured on any response ("preserve_header_case": it records
//! the cases a request arrived with and uses such a record found on a response). So the map is
//! obtained the one way hyper hands it out: by letting hyper parse, once, over an in-memory
//! pipe, a request whose headers are spelled the COS way. Its extensions are then attached to
//! every response; names absent from the map (`x-cos-*`) stay lower case.

use bytes::Bytes;
use http::Extensions;
use http_body_util::Empty;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

/// The names COS writes with capitals. Everything else is written in lower case.
const CANONICAL: &[&str] = &[
    "Accept-Ranges",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Cache-Control",
    "Connection",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "Date",
    "ETag",
    "Expires",
    "Last-Modified",
    "Location",
    "Server",
    "Vary",
];

/// Extensions to put on every response so that hyper spells header names as COS does.
/// Returns empty extensions (lower-case names) if hyper did not hand out a map.
pub async fn cos_header_case() -> Extensions {
    let (mut client, server) = tokio::io::duplex(4096);
    let captured = Arc::new(Mutex::new(Extensions::new()));
    let sink = captured.clone();
    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
        *sink.lock().expect("not poisoned") = req.extensions().clone();
        std::future::ready(Ok::<_, Infallible>(http::Response::new(
            Empty::<Bytes>::new(),
        )))
    });
    let conn = http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(TokioIo::new(server), svc);
    let mut request = String::from("GET / HTTP/1.1\r\nHost: cosd\r\n");
    for name in CANONICAL {
        // Content-Length has meaning in a request; zero keeps this one body-less.
        let value = if *name == "Content-Length" { "0" } else { "x" };
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let send = async move {
        client.write_all(request.as_bytes()).await?;
        // Drain the reply so the connection can finish.
        tokio::io::copy(&mut client, &mut tokio::io::sink()).await
    };
    let (served, sent) = tokio::join!(conn, send);
    if let Err(err) = served
        .map_err(|e| e.to_string())
        .and(sent.map(drop).map_err(|e| e.to_string()))
    {
        tracing::warn!(error = %err, "could not prepare header spelling; names will be lower case");
    }
    let extensions = captured.lock().expect("not poisoned").clone();
    extensions
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn responses_carry_cos_spelling() {
        let case = cos_header_case().await;
        let (mut client, server) = tokio::io::duplex(4096);
        let svc = service_fn(move |_req: http::Request<hyper::body::Incoming>| {
            let mut resp = http::Response::new(Full::new(Bytes::from_static(b"ok")));
            resp.headers_mut()
                .insert("etag", "\"abc\"".parse().unwrap());
            resp.headers_mut()
                .insert("x-cos-hash-crc64ecma", "1".parse().unwrap());
            resp.headers_mut()
                .insert("last-modified", "x".parse().unwrap());
            *resp.extensions_mut() = case.clone();
            std::future::ready(Ok::<_, Infallible>(resp))
        });
        let conn = http1::Builder::new().serve_connection(TokioIo::new(server), svc);
        let talk = async move {
            client
                .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            client.read_to_string(&mut out).await.unwrap();
            out
        };
        let (_, wire) = tokio::join!(conn, talk);
        for expected in [
            "\r\nETag: \"abc\"\r\n",
            "\r\nx-cos-hash-crc64ecma: 1\r\n",
            "\r\nLast-Modified: x\r\n",
            "\r\nContent-Length: 2\r\n",
            "\r\nDate: ",
        ] {
            assert!(wire.contains(expected), "{expected:?} missing in {wire:?}");
        }
    }
}
