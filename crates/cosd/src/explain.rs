//! `cosd cors explain`: why a bucket's CORS rules allow or refuse a preflight, rule by rule.
//!
//! Browsers hide why a preflight failed; this answers it for an operator. The rules come from a
//! running server (`--endpoint`, a signed `GET /<bucket>?cors`) or, when the server is stopped,
//! straight from its data directory.

use crate::config::{Config, ServeArgs};
use crate::credentials::Credentials;
use clap::Args;
use cosd_api::cors::{self, CorsConfiguration, PreflightDenied};
use http_body_util::{BodyExt, Empty};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The bucket, `<name>-<appid>`.
    #[arg(long)]
    bucket: String,
    /// The page's origin, e.g. `https://app.example.com`.
    #[arg(long)]
    origin: String,
    /// The method the page will use (`Access-Control-Request-Method`).
    #[arg(long)]
    method: String,
    /// The headers the page will send (`Access-Control-Request-Headers`), comma-separated.
    #[arg(long)]
    headers: Option<String>,
    /// Ask a running server, e.g. `http://127.0.0.1:9000` (keys from COSD_SECRET_ID and
    /// COSD_SECRET_KEY, else from the data directory).
    #[arg(long)]
    endpoint: Option<String>,
    /// The store to read when the server is stopped (the flags of `cosd serve`).
    #[command(flatten)]
    store: ServeArgs,
}

/// Prints the decision; exits 0 when the preflight is allowed, 1 when refused, 2 on error.
pub fn run(args: ExplainArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let store_config = match Config::resolve(args.store, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let config = match &args.endpoint {
        Some(endpoint) => runtime.block_on(fetch(endpoint, &args.bucket, &store_config.data_dir)),
        None => runtime.block_on(read_store(&store_config, &args.bucket)),
    };
    match config {
        Ok(config) => {
            let (text, allowed) = explain(
                &args.bucket,
                config.as_ref(),
                &args.origin,
                &args.method,
                args.headers.as_deref(),
            );
            print!("{text}");
            if allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(msg) => fail(msg),
    }
}

fn fail(msg: String) -> ExitCode {
    eprintln!("cosd cors explain: {msg}");
    ExitCode::from(2)
}

/// The decision as text, and whether the preflight is allowed.
pub fn explain(
    bucket: &str,
    config: Option<&CorsConfiguration>,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> (String, bool) {
    let mut out = match config {
        None => format!("bucket {bucket}: no CORS configuration\n"),
        Some(c) => format!(
            "bucket {bucket}: {} CORS rule(s), ResponseVary {}\n",
            c.rules.len(),
            c.response_vary
        ),
    };
    let decision = cors::preflight(config, Some(origin), Some(method), headers);
    let allowed = decision.is_ok();
    match decision {
        Ok(grant) => {
            let config = config.expect("a grant needs rules");
            // The rules before the winner did not match; evaluating just them says why.
            let earlier = CorsConfiguration {
                rules: config.rules[..grant.rule_index].to_vec(),
                response_vary: config.response_vary,
            };
            if let Err(PreflightDenied::NoMatchingRule { verdicts, .. }) =
                cors::preflight(Some(&earlier), Some(origin), Some(method), headers)
            {
                for verdict in verdicts {
                    out.push_str(&format!("  {verdict}\n"));
                }
            }
            out.push_str(&format!(
                "  rule {}: matches\nallowed: the preflight is answered 200 with\n",
                grant.rule_index + 1
            ));
            for (name, value) in grant.headers() {
                out.push_str(&format!("  {name}: {value}\n"));
            }
        }
        Err(PreflightDenied::NoMatchingRule { verdicts, .. }) => {
            for verdict in verdicts {
                out.push_str(&format!("  {verdict}\n"));
            }
            out.push_str(
                "refused: no rule allows this preflight; the answer is 403 AccessForbidden\n",
            );
        }
        Err(denied) => out.push_str(&format!("refused: {denied}\n")),
    }
    (out, allowed)
}

async fn read_store(config: &Config, bucket: &str) -> Result<Option<CorsConfiguration>, String> {
    let store = crate::storage::open_store(config)
        .await
        .map_err(|e| format!("{e}; if the server is running, ask it with --endpoint"))?;
    if store
        .meta
        .get_bucket(bucket)
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("no bucket {bucket} in this store"));
    }
    match store
        .meta
        .get_bucket_config(bucket, cosd_api::config_cache::CORS)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(bytes) => CorsConfiguration::parse(&bytes)
            .map(Some)
            .map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

async fn fetch(
    endpoint: &str,
    bucket: &str,
    data_dir: &std::path::Path,
) -> Result<Option<CorsConfiguration>, String> {
    let creds = keys(data_dir)?;
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|e| format!("invalid --endpoint {endpoint:?}: {e}"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| format!("--endpoint {endpoint:?} has no host"))?
        .to_string();
    if uri.scheme_str() != Some("http") {
        return Err("--endpoint must be an http:// URL".to_string());
    }
    let path = format!("/{bucket}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let signed = cosd_api::auth::RequestToSign {
        method: "GET",
        path: &path,
        params: &[("cors", "")],
        headers: &[("host", authority.as_str())],
    };
    let authorization = cosd_api::auth::cos_v5::sign(
        &creds.secret_id,
        &creds.secret_key,
        &signed,
        now - 60,
        now + 300,
    );
    let stream = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request = http::Request::get(format!("{path}?cors"))
        .header(http::header::HOST, &authority)
        .header(http::header::AUTHORIZATION, authorization)
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    match status.as_u16() {
        200 => CorsConfiguration::parse(&body)
            .map(Some)
            .map_err(|e| e.to_string()),
        404 if body.windows(23).any(|w| w == b"NoSuchCORSConfiguration") => Ok(None),
        _ => Err(format!(
            "{endpoint} answered {status}: {}",
            String::from_utf8_lossy(&body)
        )),
    }
}

/// The root keys: from the environment, else from the data directory.
fn keys(data_dir: &std::path::Path) -> Result<Credentials, String> {
    if let (Ok(secret_id), Ok(secret_key)) = (
        std::env::var("COSD_SECRET_ID"),
        std::env::var("COSD_SECRET_KEY"),
    ) {
        return Ok(Credentials {
            appid: String::new(),
            secret_id,
            secret_key,
        });
    }
    crate::credentials::load_stored(data_dir)
        .map_err(|e| format!("no keys: set COSD_SECRET_ID and COSD_SECRET_KEY, or point --data-dir at the server's data directory ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_rule_by_rule() {
        let config = CorsConfiguration::parse(
            b"<CORSConfiguration>\
              <CORSRule><ID>uploads</ID><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>content-type</AllowedHeader></CORSRule>\
              <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>\
              </CORSConfiguration>",
        )
        .unwrap();
        let (text, allowed) = explain(
            "b-1",
            Some(&config),
            "https://app.example",
            "PUT",
            Some("content-type,x-cos-meta-a"),
        );
        assert!(!allowed);
        assert!(
            text.contains("rule 1 (ID \"uploads\"): header x-cos-meta-a not allowed"),
            "{text}"
        );
        assert!(text.contains("rule 2: method not allowed"), "{text}");
        assert!(text.contains("403 AccessForbidden"), "{text}");

        let (text, allowed) = explain("b-1", Some(&config), "https://other.example", "GET", None);
        assert!(allowed);
        assert!(
            text.contains("rule 1 (ID \"uploads\"): origin not allowed, method not allowed"),
            "{text}"
        );
        assert!(text.contains("rule 2: matches"), "{text}");
        assert!(text.contains("access-control-allow-origin: *"), "{text}");

        let (text, allowed) = explain("b-1", None, "https://app.example", "GET", None);
        assert!(!allowed);
        assert!(text.contains("no CORS configuration"), "{text}");
    }
}
