//! Temporary credentials that need no storage: the security token *is* the credential.
//!
//! A token is `base64url(claims JSON) "." base64url(HMAC-SHA256(signing key, "token\n" claims))`.
//! The claims name the account, the temporary SecretId, the expiry and the scope. The temporary
//! SecretKey is `base64url(HMAC-SHA256(signing key, "secret-key\n" claims))`: whoever holds the
//! deployment's signing key (the `token-key` setting, the same on every node) can recompute it
//! from the token alone, so any node verifies any token and nothing is stored per token.
//!
//! A request signed with the temporary key proves it knows the SecretKey, which is bound to the
//! exact claims; editing a claim changes the MAC (the token no longer verifies) and the key.

use super::primitives::{mac, HmacSha256};
use super::{Scope, Secret};
use crate::error::{ApiError, ApiResult, ErrorCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest token accepted: a scope with every allowed action fits well below it.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Most actions one token may list.
pub const MAX_ACTIONS: usize = 64;
/// Longest a temporary key may live (COS STS allows up to 36 hours for GetFederationToken).
pub const MAX_DURATION_SECS: u64 = 36 * 3600;
/// Length of a temporary SecretId, like a COS `AKID…` key.
pub const SECRET_ID_LEN: usize = 36;
/// Every temporary SecretId starts with this, so logs and operators can tell them apart.
pub const TMP_ID_PREFIX: &str = "AKIDtmp";

const TOKEN_DOMAIN: &[u8] = b"token\n";
const SECRET_KEY_DOMAIN: &[u8] = b"secret-key\n";

/// What a token says about its temporary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account (APPID) the key acts for.
    #[serde(rename = "a")]
    pub account: String,
    /// The temporary SecretId.
    #[serde(rename = "k")]
    pub secret_id: String,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires: u64,
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

/// An issued temporary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub secret_id: String,
    pub secret_key: String,
    pub token: String,
    pub expires: u64,
}

impl Claims {
    /// Checks what an issuer may put in a token: a lifetime within bounds and a sane scope.
    pub fn validate(&self) -> Result<(), String> {
        if self.actions.len() > MAX_ACTIONS {
            return Err(format!("at most {MAX_ACTIONS} actions"));
        }
        for action in &self.actions {
            let ok = !action.is_empty()
                && action.len() <= 128
                && action.contains(':')
                && action
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/:*_-".contains(&b));
            if !ok {
                return Err(format!(
                    "invalid action {action:?}: use names like cos:GetObject, name/cos:PutObject or cos:*"
                ));
            }
        }
        if self.bucket.as_ref().is_some_and(|b| b.is_empty()) {
            return Err("the bucket must not be empty".into());
        }
        Ok(())
    }

    /// The scope a request with this token is held to.
    pub fn scope(&self) -> Scope {
        Scope {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            actions: self.actions.clone(),
        }
    }
}

/// Issues a token for `claims` (whose `secret_id` the caller generated) under `signing_key`.
pub fn issue(signing_key: &[u8], claims: &Claims) -> Issued {
    let body = serde_json::to_vec(claims).expect("claims serialize");
    let token = format!(
        "{}.{}",
        B64.encode(&body),
        B64.encode(token_mac(signing_key, &body).finalize().into_bytes())
    );
    Issued {
        secret_id: claims.secret_id.clone(),
        secret_key: secret_key(signing_key, &body),
        token,
        expires: claims.expires,
    }
}

/// Verifies `token` for a request signed by `access_key` at Unix time `now`: the token must be
/// well formed, carry a MAC made with `signing_key`, name `access_key` and not have expired.
/// Returns the claims and the temporary SecretKey the request's signature must use.
///
/// A token that does not verify (or names another key) leaves the key unknown: 403
/// `InvalidAccessKeyId`, as COS answers for a SecretId it does not know. An expired one is
/// 400 `ExpiredToken`, the code COS's error table lists for it.
pub fn verify(
    signing_key: &[u8],
    token: &str,
    access_key: &str,
    now: u64,
) -> ApiResult<(Claims, String)> {
    let invalid = || {
        ApiError::with_message(
            ErrorCode::InvalidAccessKeyId,
            "The security token is not valid for this SecretId.",
        )
    };
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid());
    }
    let (body, tag) = token.split_once('.').ok_or_else(invalid)?;
    let body = B64.decode(body).map_err(|_| invalid())?;
    let tag = B64.decode(tag).map_err(|_| invalid())?;
    token_mac(signing_key, &body)
        .verify_slice(&tag)
        .map_err(|_| invalid())?;
    let claims: Claims = serde_json::from_slice(&body).map_err(|_| invalid())?;
    if claims.secret_id != access_key {
        return Err(invalid());
    }
    if now >= claims.expires {
        return Err(ApiError::with_message(
            ErrorCode::ExpiredToken,
            "The provided token has expired.",
        ));
    }
    let key = secret_key(signing_key, &body);
    Ok((claims, key))
}

/// [`verify`], as the [`Secret`] the signature schemes check against.
pub fn secret(signing_key: &[u8], token: &str, access_key: &str, now: u64) -> ApiResult<Secret> {
    let (claims, secret_key) = verify(signing_key, token, access_key, now)?;
    Ok(Secret {
        secret_key,
        scope: Some(Arc::new(claims.scope())),
        account: claims.account,
    })
}

fn token_mac(signing_key: &[u8], body: &[u8]) -> HmacSha256 {
    mac::<HmacSha256>(signing_key, &[TOKEN_DOMAIN, body])
}

fn secret_key(signing_key: &[u8], body: &[u8]) -> String {
    B64.encode(
        mac::<HmacSha256>(signing_key, &[SECRET_KEY_DOMAIN, body])
            .finalize()
            .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const ID: &str = "AKIDtmp00000000000000000000000000001";

    fn claims() -> Claims {
        Claims {
            account: "1250000001".into(),
            secret_id: ID.into(),
            expires: 2_000,
            bucket: Some("photos-1250000001".into()),
            prefix: Some("user/ann/".into()),
            actions: vec!["name/cos:GetObject".into(), "cos:PutObject".into()],
        }
    }

    #[test]
    fn round_trip_recovers_claims_scope_and_key() {
        let issued = issue(KEY, &claims());
        assert_eq!(issued.secret_id, ID);
        assert_eq!(ID.len(), SECRET_ID_LEN);
        let (back, key) = verify(KEY, &issued.token, ID, 1_999).unwrap();
        assert_eq!(back, claims());
        assert_eq!(key, issued.secret_key);
        let secret = secret(KEY, &issued.token, ID, 1_000).unwrap();
        assert_eq!(secret.account, "1250000001");
        let scope = secret.scope.unwrap();
        assert_eq!(scope.bucket.as_deref(), Some("photos-1250000001"));
        assert_eq!(scope.prefix.as_deref(), Some("user/ann/"));
        assert_eq!(scope.actions.len(), 2);
    }

    #[test]
    fn an_unscoped_token_has_an_empty_scope() {
        let mut c = claims();
        (c.bucket, c.prefix, c.actions) = (None, None, vec![]);
        let issued = issue(KEY, &c);
        let secret = secret(KEY, &issued.token, ID, 0).unwrap();
        assert_eq!(*secret.scope.unwrap(), Scope::default());
    }

    #[test]
    fn expiry_is_exclusive_and_reported_as_expired_token() {
        let issued = issue(KEY, &claims());
        let err = verify(KEY, &issued.token, ID, 2_000).unwrap_err();
        assert_eq!(err.code, ErrorCode::ExpiredToken);
        assert_eq!(err.code.status(), 400);
    }

    #[test]
    fn tampering_other_keys_and_other_ids_fail() {
        let issued = issue(KEY, &claims());
        let invalid = |key: &[u8], token: &str, id: &str| {
            verify(key, token, id, 0).unwrap_err().code == ErrorCode::InvalidAccessKeyId
        };
        assert!(invalid(b"another signing key", &issued.token, ID));
        assert!(invalid(
            KEY,
            &issued.token,
            "AKIDtmp0000000000000000000000000other"
        ));
        // A longer expiry or a wider scope, with the old MAC.
        let (_, tag) = issued.token.split_once('.').unwrap();
        for edit in [
            Claims {
                expires: 9_999,
                ..claims()
            },
            Claims {
                bucket: None,
                ..claims()
            },
            Claims {
                account: "1250000000".into(),
                ..claims()
            },
        ] {
            let body = B64.encode(serde_json::to_vec(&edit).unwrap());
            assert!(invalid(KEY, &format!("{body}.{tag}"), ID));
        }
        for garbage in ["", ".", "abc", "a.b", &"x".repeat(MAX_TOKEN_LEN + 1)] {
            assert!(invalid(KEY, garbage, ID));
        }
        // A different scope yields a different secret key as well.
        let other = issue(
            KEY,
            &Claims {
                prefix: None,
                ..claims()
            },
        );
        assert_ne!(other.secret_key, issued.secret_key);
    }

    #[test]
    fn issuers_validate_actions_and_buckets() {
        assert!(claims().validate().is_ok());
        let with = |actions: Vec<&str>| Claims {
            actions: actions.into_iter().map(String::from).collect(),
            ..claims()
        };
        assert!(with(vec!["cos:*"]).validate().is_ok());
        assert!(with(vec!["GetObject"]).validate().is_err());
        assert!(with(vec!["cos:Get Object"]).validate().is_err());
        assert!(with(vec!["cos:GetObject"; MAX_ACTIONS + 1])
            .validate()
            .is_err());
        let empty_bucket = Claims {
            bucket: Some(String::new()),
            ..claims()
        };
        assert!(empty_bucket.validate().is_err());
    }
}
