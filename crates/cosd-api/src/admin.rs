//! The admin HTTP API (off unless `--admin-api`): `POST /-/admin/temporary-credentials` issues
//! a temporary key, for web pages whose back end hands browsers short-lived keys (cos-js-sdk-v5's
//! `getAuthorization`). No bucket can be named `-`, so the path never shadows a bucket.
//!
//! The caller signs the request (COS v5 or SigV4) with a permanent key of the root account;
//! anyone else gets `AccessDenied`. The body is JSON, every field optional:
//! `{"Account": "<appid>", "DurationSeconds": 1800, "Bucket": "…", "Prefix": "…", "Actions": ["cos:GetObject"]}`
//! (the account defaults to the root account). The answer is shaped like Tencent STS
//! GetFederationToken's: `{"Credentials": {"TmpSecretId", "TmpSecretKey", "Token"},
//! "ExpiredTime", "Expiration", "StartTime"}`.

use crate::accounts::{issue_temporary, AccountKeyring, TemporaryRequest};
use crate::acl::Accounts;
use crate::auth::token::Issued;
use crate::auth::{self, primitives::unix_secs, RequestHead};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use cosd_store::ByteStream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The path-style "bucket" of the admin API.
pub const BUCKET: &str = "-";
/// The one operation's key under it.
pub const TEMPORARY_CREDENTIALS: &str = "admin/temporary-credentials";
/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;
/// A temporary key's lifetime when the request does not say (COS STS's default).
const DEFAULT_DURATION_SECS: u64 = 1800;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct IssueRequest {
    account: Option<String>,
    duration_seconds: Option<u64>,
    bucket: Option<String>,
    prefix: Option<String>,
    #[serde(default)]
    actions: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct IssueResponse {
    credentials: Credentials,
    expired_time: u64,
    expiration: String,
    start_time: u64,
}

#[derive(Debug, Serialize)]
struct Credentials {
    #[serde(rename = "TmpSecretId")]
    tmp_secret_id: String,
    #[serde(rename = "TmpSecretKey")]
    tmp_secret_key: String,
    #[serde(rename = "Token")]
    token: String,
}

/// Answers a request to the admin path. `keyring` is `None` when the admin API is off.
pub async fn handle(
    keyring: Option<&AccountKeyring>,
    head: &RequestHead<'_>,
    key: Option<&str>,
    body: ByteStream,
    now: SystemTime,
) -> ApiResult<Reply> {
    let Some(keyring) = keyring else {
        return Err(ApiError::with_message(
            ErrorCode::NotImplemented,
            "The admin API is off; start cosd with --admin-api to use it.",
        ));
    };
    if key != Some(TEMPORARY_CREDENTIALS) {
        return Err(ApiError::with_message(
            ErrorCode::InvalidURI,
            "Unknown admin API path; the admin API has POST /-/admin/temporary-credentials.",
        ));
    }
    if head.method != http::Method::POST {
        return Err(ErrorCode::MethodNotAllowed.into());
    }
    let authenticated = auth::authenticate(head, keyring, now)?;
    if !keyring.is_admin(&authenticated.principal) {
        return Err(ApiError::with_message(
            ErrorCode::AccessDenied,
            "Only the root account's own keys may use the admin API.",
        ));
    }
    let body = read_bounded(auth::verify_body(body, authenticated.body)).await?;
    let req: IssueRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IssueRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| invalid(format!("invalid JSON: {e}")))?
    };
    let account = req
        .account
        .unwrap_or_else(|| keyring.root_account().to_owned());
    if !keyring.has_account(&account) {
        return Err(invalid(format!("there is no account {account:?}")));
    }
    let signing_key = keyring
        .token_key()
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError))?;
    let issued = issue_temporary(
        &signing_key,
        &TemporaryRequest {
            account,
            duration: Duration::from_secs(req.duration_seconds.unwrap_or(DEFAULT_DURATION_SECS)),
            bucket: req.bucket,
            prefix: req.prefix,
            actions: req.actions,
        },
        now,
    )
    .map_err(invalid)?;
    Ok(Reply::xml(credentials_json(issued, now))
        .header(http::header::CONTENT_TYPE, "application/json"))
}

/// A temporary key as STS GetFederationToken presents one (also what `cosd token issue` prints).
pub fn credentials_json(issued: Issued, now: SystemTime) -> String {
    let response = IssueResponse {
        credentials: Credentials {
            tmp_secret_id: issued.secret_id,
            tmp_secret_key: issued.secret_key,
            token: issued.token,
        },
        expired_time: issued.expires,
        expiration: rfc3339(issued.expires),
        start_time: unix_secs(now),
    };
    serde_json::to_string_pretty(&response).expect("response serializes")
}

fn invalid(message: String) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidArgument, message)
}

/// `2026-11-23T22:00:00Z`.
fn rfc3339(secs: u64) -> String {
    OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

async fn read_bounded(mut body: ByteStream) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ApiError::from_io)?;
        if out.len() + chunk.len() > MAX_BODY {
            return Err(invalid(format!(
                "the request body is larger than {MAX_BODY} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{token_key, update_accounts, Account, Key, RootKey};
    use crate::auth::test_support::{at, body_in_pieces, Head};
    use cosd_store::{MetaStore, RedbMeta};
    use std::sync::Arc;

    const NOW: u64 = 1_800_000_000;
    const PATH: &str = "/-/admin/temporary-credentials";

    async fn keyring() -> (tempfile::TempDir, Arc<AccountKeyring>) {
        let dir = tempfile::tempdir().unwrap();
        let meta: Arc<dyn MetaStore> = Arc::new(RedbMeta::open(&dir.path().join("m")).unwrap());
        token_key(meta.as_ref()).await.unwrap();
        update_accounts(meta.as_ref(), |doc| {
            doc.accounts.push(Account {
                appid: "1250000001".into(),
                keys: vec![Key {
                    secret_id: "AKIDalice".into(),
                    secret_key: "alicesecret".into(),
                    ..Key::default()
                }],
                ..Account::default()
            });
            Ok(())
        })
        .await
        .unwrap();
        let root = RootKey {
            appid: "1250000000".into(),
            secret_id: "AKIDroot".into(),
            secret_key: "rootsecret".into(),
        };
        (dir, AccountKeyring::load(root, meta).await.unwrap())
    }

    /// A request to `path` signed (COS v5) by `key`, or anonymous.
    fn request(method: &str, path: &str, key: Option<(&str, &str)>) -> Head {
        let host = ("host", "127.0.0.1:9000");
        let mut headers = vec![host];
        let auth;
        if let Some((id, secret)) = key {
            let req = auth::RequestToSign {
                method,
                path,
                params: &[],
                headers: &[host],
            };
            auth = auth::cos_v5::sign(id, secret, &req, NOW - 60, NOW + 60);
            headers.push(("authorization", &auth));
        }
        Head::new(method, path, &headers)
    }

    async fn run(
        keyring: Option<&AccountKeyring>,
        head: &Head,
        body: &str,
    ) -> ApiResult<serde_json::Value> {
        let key = head.uri.path().strip_prefix("/-/");
        let body = body_in_pieces(body.as_bytes(), [3]);
        let reply = handle(keyring, &head.head(), key, body, at(NOW)).await?;
        let crate::response::ReplyBody::Xml(json) = reply.body else {
            panic!("a JSON body")
        };
        Ok(serde_json::from_str(&json).unwrap())
    }

    #[tokio::test]
    async fn the_root_account_gets_sts_shaped_credentials_that_verify() {
        let (_dir, keys) = keyring().await;
        let head = request("POST", PATH, Some(("AKIDroot", "rootsecret")));
        let body = r#"{"Account":"1250000001","DurationSeconds":600,"Prefix":"a/"}"#;
        let json = run(Some(&keys), &head, body).await.unwrap();
        assert_eq!(json["ExpiredTime"], NOW + 600);
        assert_eq!(json["StartTime"], NOW);
        assert_eq!(json["Expiration"], "2027-01-15T08:10:00Z");
        let c = &json["Credentials"];
        let secret = crate::auth::Keyring::lookup(
            keys.as_ref(),
            c["TmpSecretId"].as_str().unwrap(),
            c["Token"].as_str(),
            at(NOW),
        )
        .unwrap();
        assert_eq!(secret.account, "1250000001");
        assert_eq!(secret.secret_key, c["TmpSecretKey"].as_str().unwrap());
        assert_eq!(secret.scope.unwrap().prefix.as_deref(), Some("a/"));
        // An empty body issues a key of the root account for the default duration.
        let json = run(Some(&keys), &head, "").await.unwrap();
        assert_eq!(json["ExpiredTime"], NOW + DEFAULT_DURATION_SECS);
    }

    #[tokio::test]
    async fn everyone_else_is_refused() {
        let (_dir, keys) = keyring().await;
        let code = |r: ApiResult<serde_json::Value>| r.unwrap_err().code;
        let root = Some(("AKIDroot", "rootsecret"));
        let off = run(None, &request("POST", PATH, root), "{}").await;
        assert_eq!(code(off), ErrorCode::NotImplemented);
        for key in [None, Some(("AKIDalice", "alicesecret"))] {
            let r = run(Some(&keys), &request("POST", PATH, key), "{}").await;
            assert_eq!(code(r), ErrorCode::AccessDenied);
        }
        let r = run(Some(&keys), &request("GET", PATH, root), "").await;
        assert_eq!(code(r), ErrorCode::MethodNotAllowed);
        let r = run(Some(&keys), &request("POST", "/-/admin/other", root), "").await;
        assert_eq!(code(r), ErrorCode::InvalidURI);
        let head = request("POST", PATH, root);
        for body in [
            r#"{"Account":"9"}"#,
            r#"{"DurationSeconds":999999}"#,
            "[",
            r#"{"X":1}"#,
        ] {
            let r = run(Some(&keys), &head, body).await;
            assert_eq!(code(r), ErrorCode::InvalidArgument, "{body}");
        }
        let big = format!(r#"{{"Prefix":"{}"}}"#, "a".repeat(MAX_BODY));
        assert_eq!(
            code(run(Some(&keys), &head, &big).await),
            ErrorCode::InvalidArgument
        );
    }
}
