//! POST Object authentication (cos-api.md §6.8). A browser form carries no `Authorization`
//! header: its signature travels in its fields, and what it signs is a *policy* — base64 JSON
//! naming an expiration and conditions on the rest of the form. This module verifies the
//! signature and evaluates the policy.
//!
//! * COS: fields `q-sign-algorithm` (`sha1`), `q-ak`, `q-key-time`, `q-signature`.
//!   SignKey = hex(HMAC-SHA1(SecretKey, KeyTime)); StringToSign = hex(SHA1(policy JSON text,
//!   i.e. the base64-decoded `policy`)); Signature = hex(HMAC-SHA1(SignKey as hex text,
//!   StringToSign)).
//! * AWS SigV4: fields `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`, `x-amz-signature`;
//!   Signature = hex(HMAC-SHA256(signing key of the credential scope, `policy` as sent)).
//!
//! Every condition must hold, and — as S3 requires, so that a signed policy cannot be stretched
//! by adding fields — every field except the policy, the signature itself and `x-ignore-*` must
//! be named by some condition.
//!
//! Everything here is pure: the caller passes the fields, the current time and, once the form
//! has been read up to its file, the bucket and the final key.

use super::primitives::{mac, mac_matches_hex, unix_secs, HmacSha1, HmacSha256};
use super::{cos_v5, sigv4, Keyring, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use base64::Engine;
use hmac::Mac;
use serde_json::Value;
use sha1::{Digest, Sha1};
use std::time::SystemTime;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The fields that make a form COS-signed.
const COS_FIELDS: [&str; 4] = ["q-sign-algorithm", "q-ak", "q-key-time", "q-signature"];
/// The fields that make a form SigV4-signed.
const SIGV4_FIELDS: [&str; 4] = [
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-signature",
];
/// Fields of forms signed some other way (AWS signature version 2, or a whole authorization
/// string in a `Signature` field), which cosd does not accept.
const OTHER_SIGNATURE_FIELDS: [&str; 2] = ["awsaccesskeyid", "signature"];
/// Fields no condition needs to name: the policy and the signatures over it.
const UNCONDITIONED: [&str; 3] = ["policy", "q-signature", "x-amz-signature"];

/// The text fields of a POST form (every field before `file`), in the order sent. Field names
/// are case-insensitive, so they are kept lower-cased; values are kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Adds a field. A name may appear once: a repeated field would leave it ambiguous which
    /// value the policy approved and which one is acted on.
    pub fn insert(&mut self, name: &str, value: String) -> ApiResult<()> {
        let name = name.to_ascii_lowercase();
        if self.get(&name).is_some() {
            return Err(ApiError::with_message(
                ErrorCode::InvalidArgument,
                format!("The form field {name} appears more than once."),
            ));
        }
        self.0.push((name, value));
        Ok(())
    }

    /// The value of the field `name` (lower-case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// Who sent a form, and the policy its signature covers.
#[derive(Debug, Clone, PartialEq)]
pub struct FormAuth {
    pub principal: Principal,
    /// `None` only for an unsigned form that carries no policy.
    pub policy: Option<Policy>,
}

/// Authenticates a form from its fields: verifies the COS or SigV4 signature over the policy,
/// then the policy's expiration. A form with no signature fields at all is anonymous.
pub fn authenticate(
    fields: &FormFields,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<FormAuth> {
    let has_any = |names: &[&str]| names.iter().any(|name| fields.get(name).is_some());
    let scheme = if has_any(&COS_FIELDS) {
        Scheme::Cos
    } else if has_any(&SIGV4_FIELDS) {
        Scheme::SigV4
    } else if has_any(&OTHER_SIGNATURE_FIELDS) {
        return Err(ApiError::with_message(
            ErrorCode::InvalidArgument,
            "Forms signed with AWSAccessKeyId or Signature fields are not supported; sign the \
             policy with the COS q-* fields or AWS4-HMAC-SHA256 x-amz-* fields.",
        ));
    } else {
        Scheme::Anonymous
    };
    let Some(encoded) = fields.get("policy") else {
        return match scheme {
            Scheme::Anonymous => Ok(FormAuth {
                principal: Principal::Anonymous,
                policy: None,
            }),
            _ => Err(ApiError::with_message(
                ErrorCode::InvalidPolicyDocument,
                "A signed form must carry the policy its signature covers in a policy field.",
            )),
        };
    };
    let text = decode_policy(encoded)?;
    let principal = match scheme {
        Scheme::Cos => verify_cos(fields, &text, keys, now)?,
        Scheme::SigV4 => verify_sigv4(fields, encoded, keys, now)?,
        Scheme::Anonymous => Principal::Anonymous,
    };
    let mut policy = Policy::parse(&text)?;
    policy.every_field_conditioned = !matches!(scheme, Scheme::Cos);
    policy.check_expiration(now)?;
    Ok(FormAuth {
        principal,
        policy: Some(policy),
    })
}

enum Scheme {
    Cos,
    SigV4,
    Anonymous,
}

/// The policy JSON text. ASCII whitespace inside the base64 is skipped, since some encoders
/// wrap long output into lines.
fn decode_policy(encoded: &str) -> ApiResult<Vec<u8>> {
    let compact: Vec<u8> = encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| invalid_policy("the policy field is not base64"))
}

/// A signature field, which must be present once any field of its scheme is.
/// A temporary key's security token, sent as a form field (either dialect's name).
fn form_token(fields: &FormFields) -> Option<&str> {
    fields
        .get("x-cos-security-token")
        .or_else(|| fields.get("x-amz-security-token"))
}

fn required<'f>(fields: &'f FormFields, name: &str) -> ApiResult<&'f str> {
    fields.get(name).ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::InvalidArgument,
            format!("The form's signature is incomplete: the {name} field is missing."),
        )
    })
}

fn verify_cos(
    fields: &FormFields,
    policy_text: &[u8],
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Principal> {
    if required(fields, "q-sign-algorithm")? != "sha1" {
        return Err(ApiError::with_message(
            ErrorCode::InvalidArgument,
            "q-sign-algorithm must be sha1.",
        ));
    }
    let access_key = required(fields, "q-ak")?;
    let key_time = required(fields, "q-key-time")?;
    let signature = required(fields, "q-signature")?;
    let secret = keys.lookup(access_key, form_token(fields), now)?;
    let (start, end) = cos_v5::parse_time_range(key_time).ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::InvalidArgument,
            "q-key-time is not <start>;<end> in Unix seconds.",
        )
    })?;
    cos_v5::check_window(start, end, unix_secs(now), "q-key-time")?;
    if !mac_matches_hex(
        cos_mac(&secret.secret_key, key_time, policy_text),
        signature,
    ) {
        return Err(ApiError::new(ErrorCode::SignatureDoesNotMatch));
    }
    Ok(Principal::Account {
        account: secret.account,
        access_key: access_key.to_owned(),
        scope: secret.scope,
    })
}

fn verify_sigv4(
    fields: &FormFields,
    encoded_policy: &str,
    keys: &dyn Keyring,
    now: SystemTime,
) -> ApiResult<Principal> {
    let malformed = |what: &str| {
        ApiError::with_message(
            ErrorCode::InvalidArgument,
            format!("The form's x-amz-* signature fields are malformed: {what}."),
        )
    };
    if required(fields, "x-amz-algorithm")? != sigv4::ALGORITHM {
        return Err(malformed("x-amz-algorithm must be AWS4-HMAC-SHA256"));
    }
    let credential =
        sigv4::parse_credential(required(fields, "x-amz-credential")?).map_err(malformed)?;
    let date = required(fields, "x-amz-date")?;
    if sigv4::parse_amz_date(date).is_none() {
        return Err(malformed("x-amz-date is not yyyymmddThhmmssZ"));
    }
    if date.get(..8) != Some(credential.date) {
        return Err(malformed(
            "the credential date is not the date of x-amz-date",
        ));
    }
    let signature = required(fields, "x-amz-signature")?;
    let secret = keys.lookup(credential.access_key, form_token(fields), now)?;
    if !mac_matches_hex(
        sigv4_mac(
            &secret.secret_key,
            credential.date,
            credential.region,
            encoded_policy,
        ),
        signature,
    ) {
        return Err(ApiError::new(ErrorCode::SignatureDoesNotMatch));
    }
    Ok(Principal::Account {
        account: secret.account,
        access_key: credential.access_key.to_owned(),
        scope: secret.scope,
    })
}

/// The MAC whose hex is a COS form's `q-signature`.
fn cos_mac(secret_key: &str, key_time: &str, policy_text: &[u8]) -> HmacSha1 {
    let sign_key = cos_v5::sign_key(secret_key, key_time);
    let string_to_sign = hex::encode(Sha1::digest(policy_text));
    mac(sign_key.as_bytes(), &[string_to_sign.as_bytes()])
}

/// The MAC whose hex is a SigV4 form's `x-amz-signature`.
fn sigv4_mac(secret_key: &str, date: &str, region: &str, encoded_policy: &str) -> HmacSha256 {
    mac(
        &sigv4::signing_key(secret_key, date, region),
        &[encoded_policy.as_bytes()],
    )
}

/// Client side: the `q-signature` of a COS form whose `policy` field is the base64 of
/// `policy_json` and whose `q-key-time` is `key_time` (`<start>;<end>`).
pub fn cos_signature(secret_key: &str, key_time: &str, policy_json: &str) -> String {
    hex::encode(
        cos_mac(secret_key, key_time, policy_json.as_bytes())
            .finalize()
            .into_bytes(),
    )
}

/// Client side: the `x-amz-signature` of a SigV4 form whose `policy` field is
/// `encoded_policy`, for the credential scope of `date` (`yyyymmdd`) and `region`.
pub fn sigv4_signature(secret_key: &str, date: &str, region: &str, encoded_policy: &str) -> String {
    hex::encode(
        sigv4_mac(secret_key, date, region, encoded_policy)
            .finalize()
            .into_bytes(),
    )
}

fn invalid_policy(what: &str) -> ApiError {
    ApiError::with_message(
        ErrorCode::InvalidPolicyDocument,
        format!("Invalid Policy: {what}."),
    )
}

/// A POST policy: until when the form may be used and what it may contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Unix seconds.
    expiration: i64,
    conditions: Vec<Condition>,
    /// Whether every form field must be named by a condition. S3 requires it; COS does not
    /// (its own documented forms post fields no condition names), so only SigV4 forms get it.
    every_field_conditioned: bool,
}

/// One condition. Field names are lower-cased and without the `$` of the array forms.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// `{"field": "value"}` or `["eq", "$field", "value"]`.
    Eq { field: String, value: String },
    /// `["starts-with", "$field", "prefix"]`; an empty prefix allows any value.
    StartsWith { field: String, prefix: String },
    /// `["content-length-range", min, max]`: the file's size, in bytes, inclusive.
    ContentLengthRange(SizeRange),
}

impl Condition {
    fn field(&self) -> Option<&str> {
        match self {
            Condition::Eq { field, .. } | Condition::StartsWith { field, .. } => Some(field),
            Condition::ContentLengthRange(_) => None,
        }
    }

    /// Whether this condition constrains the form field `name`. COS policies name the key time
    /// `q-sign-time` while the form carries it as `q-key-time`.
    fn covers(&self, name: &str) -> bool {
        self.field()
            .is_some_and(|field| field == name || (field == "q-sign-time" && name == "q-key-time"))
    }
}

impl Policy {
    /// Parses the policy JSON text: `{"expiration": "<ISO 8601>", "conditions": [...]}`.
    pub fn parse(text: &[u8]) -> ApiResult<Policy> {
        let doc: Value =
            serde_json::from_slice(text).map_err(|_| invalid_policy("the policy is not JSON"))?;
        let expiration = doc
            .get("expiration")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_policy("the policy has no expiration"))?;
        let expiration = OffsetDateTime::parse(expiration, &Rfc3339)
            .map_err(|_| invalid_policy("the expiration is not an ISO 8601 time"))?
            .unix_timestamp();
        let conditions = doc
            .get("conditions")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ApiError::with_message(
                    ErrorCode::InvalidPolicyDocument,
                    "You must provide condition if you specify a policy in post object request.",
                )
            })?;
        let mut parsed = Vec::with_capacity(conditions.len());
        for condition in conditions {
            match condition {
                Value::Object(exact) => {
                    for (field, value) in exact {
                        parsed.push(Condition::Eq {
                            field: field.to_ascii_lowercase(),
                            value: scalar(value)?,
                        });
                    }
                }
                Value::Array(parts) => parsed.push(parse_array_condition(parts)?),
                _ => {
                    return Err(invalid_policy(
                        "a condition is neither an object nor an array",
                    ))
                }
            }
        }
        Ok(Policy {
            expiration,
            conditions: parsed,
            every_field_conditioned: true,
        })
    }

    /// Refuses a policy used after its expiration.
    pub fn check_expiration(&self, now: SystemTime) -> ApiResult<()> {
        let now = unix_secs(now) as i64;
        if now > self.expiration {
            return Err(ApiError::with_message(
                ErrorCode::AccessDenied,
                format!(
                    "You post object request has been expired, expiration time: {} but the \
                     time now : {now}",
                    self.expiration
                ),
            ));
        }
        Ok(())
    }

    /// Checks the form against every condition but the file size, and, for SigV4 forms, that
    /// every field is named by a condition. `bucket` is the bucket the form is posted to; `key` is the object
    /// key after `${filename}` substitution.
    pub fn check_fields(&self, fields: &FormFields, bucket: &str, key: &str) -> ApiResult<()> {
        let value_of = |field: &str| match field {
            "bucket" => Some(bucket),
            "key" => Some(key),
            "q-sign-time" => fields.get(field).or_else(|| fields.get("q-key-time")),
            _ => fields.get(field),
        };
        for condition in &self.conditions {
            let (field, expected, holds) = match condition {
                Condition::Eq { field, value } => {
                    (field, value, value_of(field) == Some(value.as_str()))
                }
                Condition::StartsWith { field, prefix } => (
                    field,
                    prefix,
                    value_of(field).is_some_and(|v| v.starts_with(prefix.as_str())),
                ),
                Condition::ContentLengthRange(_) => continue,
            };
            if !holds {
                return Err(ApiError::with_message(
                    ErrorCode::AccessDenied,
                    format!("Condition key {field} doesn't match the value {expected}"),
                ));
            }
        }
        if !self.every_field_conditioned {
            return Ok(());
        }
        let extra = fields.iter().map(|(name, _)| name).find(|name| {
            !UNCONDITIONED.contains(name)
                && !name.starts_with("x-ignore-")
                && !self.conditions.iter().any(|c| c.covers(name))
        });
        match extra {
            Some(name) => Err(ApiError::with_message(
                ErrorCode::AccessDenied,
                format!("Invalid according to Policy: Extra input fields: {name}"),
            )),
            None => Ok(()),
        }
    }

    /// The file sizes every `content-length-range` condition allows.
    pub fn size_range(&self) -> SizeRange {
        self.conditions
            .iter()
            .fold(SizeRange::ANY, |acc, condition| match condition {
                Condition::ContentLengthRange(r) => SizeRange {
                    min: acc.min.max(r.min),
                    max: acc.max.min(r.max),
                },
                _ => acc,
            })
    }
}

/// `["eq" | "starts-with", "$field", value]` or `["content-length-range", min, max]`.
fn parse_array_condition(parts: &[Value]) -> ApiResult<Condition> {
    let [op, a, b] = parts else {
        return Err(invalid_policy(
            "an array condition does not have three elements",
        ));
    };
    let op = op
        .as_str()
        .ok_or_else(|| invalid_policy("a condition's operator is not a string"))?;
    if op.eq_ignore_ascii_case("content-length-range") {
        let (min, max) = (length(a)?, length(b)?);
        if min > max {
            return Err(invalid_policy(
                "content-length-range has its minimum above its maximum",
            ));
        }
        return Ok(Condition::ContentLengthRange(SizeRange { min, max }));
    }
    let field = a
        .as_str()
        .and_then(|f| f.strip_prefix('$'))
        .ok_or_else(|| invalid_policy("a condition's field does not start with $"))?
        .to_ascii_lowercase();
    let value = scalar(b)?;
    if op.eq_ignore_ascii_case("eq") {
        Ok(Condition::Eq { field, value })
    } else if op.eq_ignore_ascii_case("starts-with") {
        Ok(Condition::StartsWith {
            field,
            prefix: value,
        })
    } else {
        Err(invalid_policy(
            "a condition's operator is not eq, starts-with or content-length-range",
        ))
    }
}

/// A condition value: a string, or a number written as one (`201` for `success_action_status`).
fn scalar(value: &Value) -> ApiResult<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(invalid_policy("a condition value is not a string")),
    }
}

/// A content-length-range bound: a non-negative integer, or one written as a string.
fn length(value: &Value) -> ApiResult<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid_policy("a content-length-range bound is not a non-negative integer"))
}

/// The file sizes a policy allows, in bytes, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    pub min: u64,
    pub max: u64,
}

impl SizeRange {
    /// No `content-length-range` condition.
    pub const ANY: SizeRange = SizeRange {
        min: 0,
        max: u64::MAX,
    };

    /// Checked as the file streams: `seen` bytes so far must not pass the maximum, so an
    /// oversized upload stops as soon as it is one.
    pub fn check_so_far(&self, seen: u64) -> ApiResult<()> {
        if seen > self.max {
            return Err(self.violated(ErrorCode::EntityTooLarge));
        }
        Ok(())
    }

    /// Checked once the whole file has arrived, before the object is committed.
    pub fn check_total(&self, size: u64) -> ApiResult<()> {
        if size < self.min {
            return Err(self.violated(ErrorCode::EntityTooSmall));
        }
        self.check_so_far(size)
    }

    /// COS's message for both directions, with the range it was checked against.
    fn violated(&self, code: ErrorCode) -> ApiError {
        ApiError::with_message(
            code,
            format!(
                "Condition key content-length-range doesn't match the value [{}, {}]",
                self.min, self.max
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{at, OneKey};
    use super::*;

    /// The COS documentation's example (POST Object, "Signature protection use cases").
    const COS_ID: &str = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q";
    const COS_SECRET: &str = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz";
    const COS_KEY_TIME: &str = "1567150692;1567157892";
    const COS_POLICY_B64: &str = "ewogICAgImV4cGlyYXRpb24iOiAiMjAxOS0wOC0zMFQwOTozODoxMi40MTRaIiwKICAgICJjb25kaXRpb25zIjogWwogICAgICAgIHsgImFjbCI6ICJkZWZhdWx0IiB9LAogICAgICAgIHsgImJ1Y2tldCI6ICJleGFtcGxlYnVja2V0LTEyNTAwMDAwMDAiIH0sCiAgICAgICAgWyAic3RhcnRzLXdpdGgiLCAiJGtleSIsICJmb2xkZXIvc3ViZm9sZGVyLyIgXSwKICAgICAgICBbICJzdGFydHMtd2l0aCIsICIkQ29udGVudC1UeXBlIiwgImltYWdlLyIgXSwKICAgICAgICBbICJzdGFydHMtd2l0aCIsICIkc3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiLCAiaHR0cHM6Ly9teS53ZWJzaXRlLyIgXSwKICAgICAgICBbICJlcSIsICIkeC1jb3Mtc2VydmVyLXNpZGUtZW5jcnlwdGlvbiIsICJBRVMyNTYiIF0sCiAgICAgICAgeyAicS1zaWduLWFsZ29yaXRobSI6ICJzaGExIiB9LAogICAgICAgIHsgInEtYWsiOiAiQUtJRFFqejNsdG9tcFZqQm5pNUxpdGtXSEZsRnB3a245VTVxIiB9LAogICAgICAgIHsgInEtc2lnbi10aW1lIjogIjE1NjcxNTA2OTI7MTU2NzE1Nzg5MiIgfQogICAgXQp9";
    const COS_SIGNATURE: &str = "7758dc9a832e9d301dca704cacbf9d9f8172fdef";
    /// 2019-08-30T09:00:00Z: inside both the key time and the policy's expiration.
    const COS_NOW: u64 = 1_567_155_600;

    /// The AWS documentation's example (sigv4-post-example).
    const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const AWS_POLICY_B64: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
    const AWS_SIGNATURE: &str = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";
    /// 2015-12-29T12:00:00Z.
    const AWS_NOW: u64 = 1_451_390_400;

    fn form(pairs: &[(&str, &str)]) -> FormFields {
        let mut fields = FormFields::default();
        for (name, value) in pairs {
            fields.insert(name, value.to_string()).unwrap();
        }
        fields
    }

    fn cos_form(signature: &str) -> FormFields {
        form(&[
            ("key", "folder/subfolder/${filename}"),
            ("Content-Type", "image/png"),
            ("success_action_redirect", "https://my.website/done"),
            ("acl", "default"),
            ("x-cos-server-side-encryption", "AES256"),
            ("policy", COS_POLICY_B64),
            ("q-sign-algorithm", "sha1"),
            ("q-ak", COS_ID),
            ("q-key-time", COS_KEY_TIME),
            ("q-signature", signature),
        ])
    }

    fn aws_form(signature: &str) -> FormFields {
        form(&[
            ("key", "user/user1/${filename}"),
            ("acl", "public-read"),
            (
                "success_action_redirect",
                "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
            ),
            ("Content-Type", "image/jpeg"),
            ("x-amz-meta-uuid", "14365123651274"),
            ("x-amz-server-side-encryption", "AES256"),
            (
                "X-Amz-Credential",
                "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
            ),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Date", "20151229T000000Z"),
            ("x-amz-meta-tag", ""),
            ("Policy", AWS_POLICY_B64),
            ("X-Amz-Signature", signature),
        ])
    }

    fn cos_keys() -> OneKey {
        OneKey {
            access_key: COS_ID,
            secret_key: COS_SECRET,
        }
    }

    fn aws_keys() -> OneKey {
        OneKey {
            access_key: AWS_ID,
            secret_key: AWS_SECRET,
        }
    }

    fn code<T: std::fmt::Debug>(result: ApiResult<T>) -> ErrorCode {
        result.unwrap_err().code
    }

    fn policy(json: &str) -> Policy {
        Policy::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn tencent_vector_sign_key_string_to_sign_and_signature() {
        let text = decode_policy(COS_POLICY_B64).unwrap();
        assert_eq!(
            cos_v5::sign_key(COS_SECRET, COS_KEY_TIME),
            "39acc8c9f34ba5b19bce4e965b370cd3f62d2fba"
        );
        assert_eq!(
            hex::encode(Sha1::digest(&text)),
            "d5d903b8360468bc81c1311f134989bc8c8b5b89"
        );
        let json = String::from_utf8(text).unwrap();
        assert_eq!(
            cos_signature(COS_SECRET, COS_KEY_TIME, &json),
            COS_SIGNATURE
        );
    }

    #[test]
    fn tencent_vector_verifies_and_its_policy_admits_the_form() {
        let auth = authenticate(&cos_form(COS_SIGNATURE), &cos_keys(), at(COS_NOW)).unwrap();
        assert_eq!(
            auth.principal,
            Principal::Account {
                account: "1250000000".into(),
                access_key: COS_ID.into(),
                scope: None
            }
        );
        let policy = auth.policy.unwrap();
        policy
            .check_fields(
                &cos_form(COS_SIGNATURE),
                "examplebucket-1250000000",
                "folder/subfolder/a.png",
            )
            .unwrap();
        assert_eq!(policy.size_range(), SizeRange::ANY);
    }

    #[test]
    fn aws_vector_verifies() {
        assert_eq!(
            sigv4_signature(AWS_SECRET, "20151229", "us-east-1", AWS_POLICY_B64),
            AWS_SIGNATURE
        );
        let fields = aws_form(AWS_SIGNATURE);
        let auth = authenticate(&fields, &aws_keys(), at(AWS_NOW)).unwrap();
        assert!(matches!(auth.principal, Principal::Account { .. }));
        auth.policy
            .unwrap()
            .check_fields(&fields, "sigv4examplebucket", "user/user1/photo.jpg")
            .unwrap();
    }

    #[test]
    fn bad_signatures_keys_and_fields_are_refused() {
        let keys = cos_keys();
        let tampered = COS_SIGNATURE.replace('7', "8");
        assert_eq!(
            code(authenticate(&cos_form(&tampered), &keys, at(COS_NOW))),
            ErrorCode::SignatureDoesNotMatch
        );
        let other = OneKey {
            access_key: "AKIDother",
            secret_key: COS_SECRET,
        };
        assert_eq!(
            code(authenticate(&cos_form(COS_SIGNATURE), &other, at(COS_NOW))),
            ErrorCode::InvalidAccessKeyId
        );
        let mut incomplete = form(&[("policy", COS_POLICY_B64), ("q-ak", COS_ID)]);
        assert_eq!(
            code(authenticate(&incomplete, &keys, at(COS_NOW))),
            ErrorCode::InvalidArgument
        );
        incomplete = form(&[("q-ak", COS_ID)]);
        assert_eq!(
            code(authenticate(&incomplete, &keys, at(COS_NOW))),
            ErrorCode::InvalidPolicyDocument
        );
        let v2 = form(&[("AWSAccessKeyId", AWS_ID), ("signature", "x")]);
        assert_eq!(
            code(authenticate(&v2, &keys, at(COS_NOW))),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(authenticate(
                &aws_form(&AWS_SIGNATURE.replace('8', "9")),
                &aws_keys(),
                at(AWS_NOW)
            )),
            ErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn expired_key_time_and_policy_are_refused() {
        // After the key time's end.
        let err =
            authenticate(&cos_form(COS_SIGNATURE), &cos_keys(), at(1_567_157_893)).unwrap_err();
        assert_eq!(
            (err.code, &*err.message),
            (ErrorCode::RequestExpired, "Request has expired")
        );
        // Key time not started yet (beyond the allowed skew).
        assert_eq!(
            code(authenticate(
                &cos_form(COS_SIGNATURE),
                &cos_keys(),
                at(1_567_140_000)
            )),
            ErrorCode::AccessDenied
        );
        // The AWS example's policy expired at 2015-12-30T12:00:00Z.
        let err =
            authenticate(&aws_form(AWS_SIGNATURE), &aws_keys(), at(1_451_476_801)).unwrap_err();
        assert_eq!(err.code, ErrorCode::AccessDenied);
        assert_eq!(
            err.message,
            "You post object request has been expired, expiration time: 1451476800 but the \
             time now : 1451476801"
        );
    }

    #[test]
    fn unsigned_forms_are_anonymous() {
        let auth = authenticate(&form(&[("key", "k")]), &cos_keys(), at(COS_NOW)).unwrap();
        assert_eq!(
            auth,
            FormAuth {
                principal: Principal::Anonymous,
                policy: None
            }
        );
        let with_policy = form(&[("key", "k"), ("policy", COS_POLICY_B64)]);
        let auth = authenticate(&with_policy, &cos_keys(), at(COS_NOW)).unwrap();
        assert_eq!(auth.principal, Principal::Anonymous);
        assert!(auth.policy.is_some());
    }

    #[test]
    fn policy_documents_must_be_well_formed() {
        let bad = |json: &str| code(Policy::parse(json.as_bytes()));
        assert_eq!(bad("not json"), ErrorCode::InvalidPolicyDocument);
        assert_eq!(
            bad(r#"{"conditions": []}"#),
            ErrorCode::InvalidPolicyDocument
        );
        assert_eq!(
            bad(r#"{"expiration": "tomorrow", "conditions": []}"#),
            ErrorCode::InvalidPolicyDocument
        );
        assert_eq!(
            bad(r#"{"expiration": "2030-01-01T00:00:00Z"}"#),
            ErrorCode::InvalidPolicyDocument
        );
        for condition in [
            r#""key""#,
            r#"["eq", "key", "a"]"#,
            r#"["eq", "$key"]"#,
            r#"["like", "$key", "a"]"#,
            r#"["content-length-range", 10, 1]"#,
            r#"["content-length-range", -1, 1]"#,
            r#"{"key": ["a"]}"#,
        ] {
            let json =
                format!(r#"{{"expiration": "2030-01-01T00:00:00Z", "conditions": [{condition}]}}"#);
            assert_eq!(bad(&json), ErrorCode::InvalidPolicyDocument, "{condition}");
        }
        assert_eq!(
            code(authenticate(
                &form(&[("policy", "%%%")]),
                &cos_keys(),
                at(0)
            )),
            ErrorCode::InvalidPolicyDocument
        );
    }

    #[test]
    fn conditions_exact_prefix_and_case() {
        let p = policy(
            r#"{"expiration": "2030-01-01T00:00:00.000Z", "conditions": [
                {"bucket": "b-1"},
                ["eq", "$Content-Type", "text/plain"],
                ["starts-with", "$key", "user/"],
                ["starts-with", "$x-cos-meta-tag", ""],
                {"success_action_status": 201}
            ]}"#,
        );
        let fields = form(&[
            ("key", "user/${filename}"),
            ("content-type", "text/plain"),
            ("X-Cos-Meta-Tag", "anything"),
            ("success_action_status", "201"),
        ]);
        p.check_fields(&fields, "b-1", "user/a.txt").unwrap();
        let denied = |bucket: &str, key: &str| p.check_fields(&fields, bucket, key).unwrap_err();
        let err = denied("b-2", "user/a.txt");
        assert_eq!(err.code, ErrorCode::AccessDenied);
        assert_eq!(
            err.message,
            "Condition key bucket doesn't match the value b-1"
        );
        assert_eq!(
            denied("b-1", "other/a.txt").message,
            "Condition key key doesn't match the value user/"
        );
        let wrong_type = form(&[
            ("key", "user/a"),
            ("content-type", "Text/Plain"),
            ("x-cos-meta-tag", ""),
            ("success_action_status", "201"),
        ]);
        assert_eq!(
            p.check_fields(&wrong_type, "b-1", "user/a")
                .unwrap_err()
                .message,
            "Condition key content-type doesn't match the value text/plain"
        );
        // A condition on a field the form lacks does not hold, even an empty prefix.
        let missing = form(&[
            ("key", "user/a"),
            ("content-type", "text/plain"),
            ("success_action_status", "201"),
        ]);
        assert_eq!(
            p.check_fields(&missing, "b-1", "user/a")
                .unwrap_err()
                .message,
            "Condition key x-cos-meta-tag doesn't match the value "
        );
    }

    #[test]
    fn every_field_must_be_named_by_a_condition() {
        let p = policy(
            r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [
                ["starts-with", "$key", ""],
                {"q-sign-algorithm": "sha1"}, {"q-ak": "ak"}, {"q-sign-time": "1;2"}
            ]}"#,
        );
        let mut fields = form(&[
            ("key", "k"),
            ("policy", "…"),
            ("q-sign-algorithm", "sha1"),
            ("q-ak", "ak"),
            ("q-key-time", "1;2"),
            ("q-signature", "…"),
            ("x-ignore-tracking", "1"),
        ]);
        p.check_fields(&fields, "b", "k").unwrap();
        fields.insert("Content-Type", "text/plain".into()).unwrap();
        let err = p.check_fields(&fields, "b", "k").unwrap_err();
        assert_eq!(err.code, ErrorCode::AccessDenied);
        assert_eq!(
            err.message,
            "Invalid according to Policy: Extra input fields: content-type"
        );
        // q-sign-time is matched against the form's q-key-time.
        let late = form(&[
            ("key", "k"),
            ("q-sign-algorithm", "sha1"),
            ("q-ak", "ak"),
            ("q-key-time", "1;3"),
        ]);
        assert_eq!(
            p.check_fields(&late, "b", "k").unwrap_err().message,
            "Condition key q-sign-time doesn't match the value 1;2"
        );
    }

    #[test]
    fn content_length_ranges_intersect_and_check_sizes() {
        let p = policy(
            r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [
                ["content-length-range", 1, 100], ["content-length-range", "10", "1000"]
            ]}"#,
        );
        let range = p.size_range();
        assert_eq!(range, SizeRange { min: 10, max: 100 });
        assert!(range.check_so_far(5).is_ok());
        assert!(range.check_so_far(100).is_ok());
        let err = range.check_so_far(101).unwrap_err();
        assert_eq!(err.code, ErrorCode::EntityTooLarge);
        assert_eq!(
            err.message,
            "Condition key content-length-range doesn't match the value [10, 100]"
        );
        assert_eq!(
            range.check_total(9).unwrap_err().code,
            ErrorCode::EntityTooSmall
        );
        assert!(range.check_total(10).is_ok());
        assert!(SizeRange::ANY.check_total(0).is_ok());
    }

    #[test]
    fn repeated_fields_are_refused_whatever_their_case() {
        let mut fields = form(&[("Content-Type", "a")]);
        assert_eq!(
            code(fields.insert("content-type", "b".into())),
            ErrorCode::InvalidArgument
        );
        assert_eq!(fields.iter().collect::<Vec<_>>(), [("content-type", "a")]);
    }
}
