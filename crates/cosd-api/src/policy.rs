//! Bucket policies (COS §5.10): JSON statements that allow or deny actions on a bucket's
//! resources to principals, under conditions.
//!
//! The COS and the S3 dialects are both read: `Principal` as `*`, `{"qcs": […]}` or
//! `{"AWS": […]}`; `Action` as `name/cos:GetObject`, `cos:*`, `s3:GetObject`, `*`;
//! `Resource` as `qcs::cos:<region>:uid/<appid>:<bucket>/<key-pattern>`,
//! `qcs::cos:<region>:uid/<appid>:prefix//<appid>/<short-name>/<key-pattern>`,
//! `arn:aws:s3:::<bucket>/<key-pattern>` or `*`, with `*` and `?` wildcards. A policy is
//! validated whole when it is put: anything cosd would not enforce exactly as written (an
//! unknown condition operator or key, a resource of another bucket, `NotPrincipal`) is refused
//! with `MalformedPolicy` and a message naming the part, never silently ignored.

use crate::error::{ApiError, ApiResult, ErrorCode};
use serde_json::Value;
use std::net::IpAddr;
use std::time::SystemTime;

/// Largest policy document accepted (COS and S3: 20 KB).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// What a request looks like to a policy.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The caller's account (APPID); `None` when anonymous.
    pub caller: Option<&'a str>,
    /// The request's action in every naming a statement may use, lower-case:
    /// `cos:getobject`, `s3:getobject`.
    pub actions: &'a [String],
    /// `<bucket>` for a bucket operation, `<bucket>/<key>` for an object operation.
    pub resource: &'a str,
    /// Whether the request acts on an object (`resource` has a key).
    pub object: bool,
    pub ip: IpAddr,
    pub secure_transport: bool,
    pub now: SystemTime,
    /// The `prefix` parameter of a listing.
    pub prefix: Option<&'a str>,
    /// The canned ACL the request sets (`x-cos-acl` / `x-amz-acl`).
    pub acl: Option<&'a str>,
    pub referer: Option<&'a str>,
}

/// A parsed, validated policy, with the text it came from (GET returns that text).
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
    text: String,
}

#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    /// `None` matches anyone, anonymous callers included.
    principals: Option<Vec<String>>,
    actions: Vec<String>,
    /// `NotAction`: the statement applies to every action except these.
    not_action: bool,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
struct Condition {
    op: Operator,
    key: Key,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    IpAddress,
    NotIpAddress,
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    SourceIp,
    Prefix,
    Acl,
    Referer,
    CurrentTime,
    SecureTransport,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ip,
    Text,
    Date,
    Bool,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("ipaddress", Operator::IpAddress),
    ("notipaddress", Operator::NotIpAddress),
    ("stringequals", Operator::StringEquals),
    ("stringnotequals", Operator::StringNotEquals),
    ("stringequalsignorecase", Operator::StringEqualsIgnoreCase),
    (
        "stringnotequalsignorecase",
        Operator::StringNotEqualsIgnoreCase,
    ),
    ("stringlike", Operator::StringLike),
    ("stringnotlike", Operator::StringNotLike),
    ("dateequals", Operator::DateEquals),
    ("datenotequals", Operator::DateNotEquals),
    ("datelessthan", Operator::DateLessThan),
    ("datelessthanequals", Operator::DateLessThanEquals),
    ("dategreaterthan", Operator::DateGreaterThan),
    ("dategreaterthanequals", Operator::DateGreaterThanEquals),
    ("bool", Operator::Bool),
    // COS (CAM) spellings.
    ("ip_equal", Operator::IpAddress),
    ("ip_not_equal", Operator::NotIpAddress),
    ("string_equal", Operator::StringEquals),
    ("string_not_equal", Operator::StringNotEquals),
    ("string_equal_ignore_case", Operator::StringEqualsIgnoreCase),
    (
        "string_not_equal_ignore_case",
        Operator::StringNotEqualsIgnoreCase,
    ),
    ("string_like", Operator::StringLike),
    ("string_not_like", Operator::StringNotLike),
    ("date_equal", Operator::DateEquals),
    ("date_not_equal", Operator::DateNotEquals),
    ("date_less_than", Operator::DateLessThan),
    ("date_less_than_equal", Operator::DateLessThanEquals),
    ("date_greater_than", Operator::DateGreaterThan),
    ("date_greater_than_equal", Operator::DateGreaterThanEquals),
    ("bool_equal", Operator::Bool),
];

const KEYS: &[(&str, Key)] = &[
    ("qcs:ip", Key::SourceIp),
    ("aws:sourceip", Key::SourceIp),
    ("cos:prefix", Key::Prefix),
    ("s3:prefix", Key::Prefix),
    ("cos:x-cos-acl", Key::Acl),
    ("s3:x-amz-acl", Key::Acl),
    ("qcs:referer", Key::Referer),
    ("aws:referer", Key::Referer),
    ("qcs:current_time", Key::CurrentTime),
    ("aws:currenttime", Key::CurrentTime),
    ("qcs:secure_transport", Key::SecureTransport),
    ("cos:secure-transport", Key::SecureTransport),
    ("aws:securetransport", Key::SecureTransport),
];

impl Operator {
    fn kind(self) -> Kind {
        use Operator::*;
        match self {
            IpAddress | NotIpAddress => Kind::Ip,
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => Kind::Text,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Kind::Date,
            Bool => Kind::Bool,
        }
    }

    /// Negated operators hold when no value matches (and when the key is absent).
    fn negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            NotIpAddress
                | StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | DateNotEquals
        )
    }
}

impl Key {
    fn kind(self) -> Kind {
        match self {
            Key::SourceIp => Kind::Ip,
            Key::Prefix | Key::Acl | Key::Referer => Kind::Text,
            Key::CurrentTime => Kind::Date,
            Key::SecureTransport => Kind::Bool,
        }
    }
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::with_message(ErrorCode::MalformedPolicy, message.into())
}

/// A JSON string or array of strings, as policies allow almost everywhere.
fn strings(v: &Value, what: &str) -> ApiResult<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(malformed(format!(
            "{what} must be a string or a list of strings."
        ))),
    };
    match v {
        Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        Value::Array(_) => Err(malformed(format!("{what} is an empty list."))),
        other => Ok(vec![one(other)?]),
    }
}

/// The member of a JSON object named `name`, compared case-insensitively (COS writes
/// `effect`, `version`; S3 `Effect`, `Version`).
fn member<'v>(obj: &'v serde_json::Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

impl Policy {
    /// Parses and validates a policy for `bucket` (its full name, `<name>-<appid>`).
    pub fn parse(body: &[u8], bucket: &str) -> ApiResult<Policy> {
        if body.len() > MAX_POLICY_BYTES {
            return Err(malformed(format!(
                "The policy is {} bytes; at most {MAX_POLICY_BYTES} are allowed.",
                body.len()
            )));
        }
        let text =
            std::str::from_utf8(body).map_err(|_| malformed("The policy is not UTF-8 text."))?;
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| malformed(format!("The policy is not valid JSON: {e}.")))?;
        let Value::Object(doc) = doc else {
            return Err(malformed("The policy must be a JSON object."));
        };
        for k in doc.keys() {
            let known = ["version", "statement", "id", "principal"];
            if !known.contains(&k.to_ascii_lowercase().as_str()) {
                return Err(malformed(format!("Unknown policy element {k:?}.")));
            }
        }
        // COS allows one principal for the whole document, used by statements naming none.
        let default_principal = member(&doc, "principal");
        let statements = match member(&doc, "statement") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            _ => return Err(malformed("The policy needs a non-empty Statement list.")),
        };
        let statements = statements
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Statement::parse(s, bucket, default_principal)
                    .map_err(|e| malformed(format!("Statement {}: {}", i + 1, e.message)))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Policy {
            statements,
            text: text.to_string(),
        })
    }

    /// The document as it was put.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the policy says about the request: `Deny` if any matching statement denies,
    /// else `Allow` if any allows, else nothing.
    pub fn evaluate(&self, ctx: &Context<'_>) -> Option<Effect> {
        let mut verdict = None;
        for s in self.statements.iter().filter(|s| s.applies(ctx)) {
            match s.effect {
                Effect::Deny => return Some(Effect::Deny),
                Effect::Allow => verdict = Some(Effect::Allow),
            }
        }
        verdict
    }
}

impl Statement {
    fn parse(v: &Value, bucket: &str, default_principal: Option<&Value>) -> ApiResult<Statement> {
        let Value::Object(obj) = v else {
            return Err(malformed("a statement must be a JSON object."));
        };
        for k in obj.keys() {
            let known = [
                "sid",
                "effect",
                "principal",
                "action",
                "notaction",
                "resource",
                "condition",
            ];
            if !known.contains(&k.to_ascii_lowercase().as_str()) {
                return Err(malformed(format!("the element {k:?} is not supported.")));
            }
        }
        let effect = match member(obj, "effect").and_then(Value::as_str) {
            Some(e) if e.eq_ignore_ascii_case("allow") => Effect::Allow,
            Some(e) if e.eq_ignore_ascii_case("deny") => Effect::Deny,
            _ => return Err(malformed("Effect must be \"allow\" or \"deny\".")),
        };
        let principals = parse_principal(
            member(obj, "principal")
                .or(default_principal)
                .ok_or_else(|| malformed("Principal is missing."))?,
        )?;
        let (actions, not_action) = match (member(obj, "action"), member(obj, "notaction")) {
            (Some(a), None) => (strings(a, "Action")?, false),
            (None, Some(a)) => (strings(a, "NotAction")?, true),
            _ => return Err(malformed("exactly one of Action and NotAction is needed.")),
        };
        let actions = actions
            .iter()
            .map(|a| normalize_action(a))
            .collect::<ApiResult<Vec<_>>>()?;
        let resources = strings(
            member(obj, "resource").ok_or_else(|| malformed("Resource is missing."))?,
            "Resource",
        )?
        .iter()
        .map(|r| normalize_resource(r, bucket))
        .collect::<ApiResult<Vec<_>>>()?;
        let conditions = match member(obj, "condition") {
            None => vec![],
            Some(c) => parse_conditions(c)?,
        };
        Ok(Statement {
            effect,
            principals,
            actions,
            not_action,
            resources,
            conditions,
        })
    }

    fn applies(&self, ctx: &Context<'_>) -> bool {
        let principal = match &self.principals {
            None => true,
            Some(ids) => ctx.caller.is_some_and(|c| ids.iter().any(|id| id == c)),
        };
        let action_listed = self
            .actions
            .iter()
            .any(|p| ctx.actions.iter().any(|a| glob(p, a)));
        let resource = self.resources.iter().any(|p| {
            glob(p, ctx.resource) || (!ctx.object && glob(p, &format!("{}/", ctx.resource)))
        });
        principal
            && action_listed != self.not_action
            && resource
            && self.conditions.iter().all(|c| c.holds(ctx))
    }
}

/// `None` for anyone; otherwise the account ids named.
fn parse_principal(v: &Value) -> ApiResult<Option<Vec<String>>> {
    let values = match v {
        Value::String(s) if s == "*" => return Ok(None),
        Value::Object(map) if !map.is_empty() => {
            let mut all = Vec::new();
            for (k, v) in map {
                if !(k.eq_ignore_ascii_case("qcs") || k.eq_ignore_ascii_case("aws")) {
                    return Err(malformed(format!(
                        "the principal type {k:?} is not supported; use \"qcs\" or \"AWS\"."
                    )));
                }
                all.extend(strings(v, "Principal")?);
            }
            all
        }
        _ => {
            return Err(malformed(
                "Principal must be \"*\" or {\"qcs\": [...]} / {\"AWS\": [...]}.",
            ))
        }
    };
    let mut ids = Vec::new();
    for p in &values {
        match principal_account(p) {
            Some(None) => return Ok(None),
            Some(Some(id)) => ids.push(id),
            None => {
                return Err(malformed(format!(
                    "the principal {p:?} is not an account (qcs::cam::uin/<id>:uin/<id>, arn:aws:iam::<id>:root, <id>) or anyone (*, qcs::cam::anyone:anyone)."
                )))
            }
        }
    }
    Ok(Some(ids))
}

/// `Some(None)` for anyone, `Some(Some(id))` for an account, `None` if unreadable.
fn principal_account(p: &str) -> Option<Option<String>> {
    if p == "*" || p == "qcs::cam::anyone:anyone" {
        return Some(None);
    }
    let id = if let Some(rest) = p.strip_prefix("qcs::cam::uin/") {
        rest.split(':').next()?
    } else if let Some(rest) = p.strip_prefix("arn:aws:iam::") {
        rest.split(':').next()?
    } else {
        p
    };
    let valid = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| Some(id.to_string()))
}

/// `name/cos:GetObject` → `cos:getobject`; `s3:Get*` → `s3:get*`; `*` stays.
pub(crate) fn normalize_action(a: &str) -> ApiResult<String> {
    let lower = a.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("name/").unwrap_or(&lower);
    let valid = bare == "*"
        || ["cos:", "s3:"].iter().any(|p| {
            bare.strip_prefix(p).is_some_and(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
            })
        });
    if !valid {
        return Err(malformed(format!(
            "the action {a:?} is not of the form name/cos:<Action>, cos:<Action>, s3:<Action> or *."
        )));
    }
    Ok(bare.to_string())
}

/// A resource as a `<bucket>[/<key-pattern>]` pattern, refused unless it can name this bucket.
fn normalize_resource(r: &str, bucket: &str) -> ApiResult<String> {
    let r = r.trim();
    let pattern = if r == "*" {
        "*".to_string()
    } else if let Some(rest) = r.strip_prefix("arn:aws:s3:::") {
        rest.to_string()
    } else if let Some(rest) = r.strip_prefix("qcs::cos:") {
        // `<region>:uid/<appid>:<bucket>/<key>`
        let mut parts = rest.splitn(3, ':');
        let (_region, uid, path) = (parts.next(), parts.next(), parts.next());
        let appid = uid.and_then(|u| u.strip_prefix("uid/"));
        match (appid, path) {
            (Some(appid), Some(path)) => match path.strip_prefix("prefix//") {
                Some(p) => {
                    let mut seg = p.splitn(3, '/');
                    match (seg.next(), seg.next(), seg.next()) {
                        (Some(a), Some(short), rest) if a == appid => match rest {
                            Some(key) => format!("{short}-{appid}/{key}"),
                            None => format!("{short}-{appid}"),
                        },
                        _ => return Err(malformed(format!("the resource {r:?} is not of the form qcs::cos:<region>:uid/<appid>:prefix//<appid>/<bucket>/<key>."))),
                    }
                }
                // COS also names buckets by their short name: `examplebucket/*`.
                None => match path.split_once('/') {
                    Some((b, key)) if !b.ends_with(&format!("-{appid}")) && b != "*" => {
                        format!("{b}-{appid}/{key}")
                    }
                    None if !path.ends_with(&format!("-{appid}")) && path != "*" => {
                        format!("{path}-{appid}")
                    }
                    _ => path.to_string(),
                },
            },
            _ => return Err(malformed(format!("the resource {r:?} is not of the form qcs::cos:<region>:uid/<appid>:<bucket>/<key>."))),
        }
    } else {
        return Err(malformed(format!(
            "the resource {r:?} is not a qcs::cos:… or arn:aws:s3:::… resource, or *."
        )));
    };
    let bucket_part = pattern.split('/').next().unwrap_or("");
    if !glob(bucket_part, bucket) {
        return Err(malformed(format!(
            "the resource {r:?} is not in the bucket {bucket}."
        )));
    }
    Ok(pattern)
}

fn parse_conditions(v: &Value) -> ApiResult<Vec<Condition>> {
    let Value::Object(ops) = v else {
        return Err(malformed("Condition must be a JSON object."));
    };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let op = OPERATORS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(op_name))
            .map(|(_, o)| *o)
            .ok_or_else(|| {
                malformed(format!(
                    "the condition operator {op_name:?} is not supported; supported: IpAddress, NotIpAddress, StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike, StringNotLike, DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan, DateGreaterThanEquals, Bool, and their COS spellings (ip_equal, string_like, date_less_than, bool_equal, …)."
                ))
            })?;
        let Value::Object(keys) = keys else {
            return Err(malformed(format!(
                "the condition {op_name:?} must map keys to values."
            )));
        };
        for (key_name, values) in keys {
            let key = KEYS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(key_name))
                .map(|(_, k)| *k)
                .ok_or_else(|| {
                    malformed(format!(
                        "the condition key {key_name:?} is not supported; supported: qcs:ip, aws:SourceIp, cos:prefix, s3:prefix, cos:x-cos-acl, s3:x-amz-acl, qcs:referer, aws:Referer, qcs:current_time, aws:CurrentTime, qcs:secure_transport, cos:secure-transport, aws:SecureTransport."
                    ))
                })?;
            if key.kind() != op.kind() {
                return Err(malformed(format!(
                    "the condition key {key_name:?} cannot be used with {op_name:?}."
                )));
            }
            let values = strings(values, &format!("The value of {key_name}"))?;
            for value in &values {
                let ok = match op.kind() {
                    Kind::Ip => parse_cidr(value).is_some(),
                    Kind::Date => parse_date(value).is_some(),
                    Kind::Bool => value == "true" || value == "false",
                    Kind::Text => true,
                };
                if !ok {
                    return Err(malformed(format!(
                        "the value {value:?} of {key_name:?} is not valid for {op_name:?}."
                    )));
                }
            }
            out.push(Condition { op, key, values });
        }
    }
    Ok(out)
}

impl Condition {
    fn holds(&self, ctx: &Context<'_>) -> bool {
        let actual: Option<String> = match self.key {
            Key::SourceIp => Some(ctx.ip.to_string()),
            Key::Prefix => ctx.prefix.map(str::to_string),
            Key::Acl => ctx.acl.map(str::to_string),
            Key::Referer => ctx.referer.map(str::to_string),
            Key::CurrentTime => Some(
                ctx.now
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs()
                    .to_string(),
            ),
            Key::SecureTransport => Some(ctx.secure_transport.to_string()),
        };
        let Some(actual) = actual else {
            return self.op.negated();
        };
        let any = self.values.iter().any(|v| self.matches(v, &actual, ctx));
        any != self.op.negated()
    }

    /// Whether one policy value matches the request's value, for the positive form of the
    /// operator.
    fn matches(&self, value: &str, actual: &str, ctx: &Context<'_>) -> bool {
        use Operator::*;
        match self.op {
            IpAddress | NotIpAddress => parse_cidr(value).is_some_and(|c| c.contains(ctx.ip)),
            StringEquals | StringNotEquals => value == actual,
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                value.eq_ignore_ascii_case(actual)
            }
            StringLike | StringNotLike => glob(value, actual),
            Bool => value == actual,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => {
                let (Some(limit), Ok(now)) = (parse_date(value), actual.parse::<i64>()) else {
                    return false;
                };
                match self.op {
                    DateLessThan => now < limit,
                    DateLessThanEquals => now <= limit,
                    DateGreaterThan => now > limit,
                    DateGreaterThanEquals => now >= limit,
                    _ => now == limit,
                }
            }
        }
    }
}

/// An RFC 3339 time or Unix seconds, as Unix seconds.
fn parse_date(v: &str) -> Option<i64> {
    if let Ok(secs) = v.parse::<i64>() {
        return Some(secs);
    }
    if let Ok(t) = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return Some(t.unix_timestamp());
    }
    // CAM's `2022-05-31 00:00:00`, read as UTC.
    let cam = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(v, &cam)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

struct Cidr {
    net: IpAddr,
    bits: u32,
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

fn parse_cidr(v: &str) -> Option<Cidr> {
    let (addr, bits) = match v.trim().split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (v.trim(), None),
    };
    let net: IpAddr = addr.parse().ok()?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some(Cidr { net, bits })
}

/// Wildcard match, `*` any run of characters, `?` exactly one, case-sensitive (actions are
/// lower-cased before they get here; keys are case-sensitive). The single-backtrack algorithm:
/// at most pattern × text steps.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BUCKET: &str = "photos-1250000000";

    fn parse(doc: &str) -> ApiResult<Policy> {
        Policy::parse(doc.as_bytes(), BUCKET)
    }

    fn statement(body: &str) -> String {
        format!(r#"{{"version":"2.0","Statement":[{body}]}}"#)
    }

    struct Req {
        caller: Option<&'static str>,
        actions: Vec<String>,
        resource: String,
        object: bool,
        ip: IpAddr,
        now: SystemTime,
        prefix: Option<&'static str>,
    }

    fn get(key: &str) -> Req {
        Req {
            caller: None,
            actions: vec!["cos:getobject".into(), "s3:getobject".into()],
            resource: format!("{BUCKET}/{key}"),
            object: true,
            ip: "10.1.2.3".parse().unwrap(),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            prefix: None,
        }
    }

    fn list(prefix: Option<&'static str>) -> Req {
        Req {
            actions: vec!["cos:getbucket".into(), "s3:listbucket".into()],
            resource: BUCKET.into(),
            object: false,
            prefix,
            ..get("")
        }
    }

    fn eval(p: &Policy, r: &Req) -> Option<Effect> {
        p.evaluate(&Context {
            caller: r.caller,
            actions: &r.actions,
            resource: &r.resource,
            object: r.object,
            ip: r.ip,
            secure_transport: false,
            now: r.now,
            prefix: r.prefix,
            acl: None,
            referer: None,
        })
    }

    #[test]
    fn cos_and_s3_forms_match_the_same_requests() {
        let cos = parse(&statement(&format!(
            r#"{{"Principal":{{"qcs":["qcs::cam::anyone:anyone"]}},"Effect":"allow","Action":["name/cos:GetObject"],"Resource":["qcs::cos:ap-guangzhou:uid/1250000000:{BUCKET}/public/*"]}}"#
        )))
        .unwrap();
        let s3 = parse(&statement(&format!(
            r#"{{"Sid":"x","Principal":"*","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/public/*"}}"#
        )))
        .unwrap();
        let prefix_form = parse(&statement(
            r#"{"Principal":{"qcs":["*"]},"Effect":"allow","Action":["cos:Get*"],"Resource":["qcs::cos:*:uid/1250000000:prefix//1250000000/photos/public/*"]}"#,
        ))
        .unwrap();
        for p in [&cos, &s3, &prefix_form] {
            assert_eq!(eval(p, &get("public/a.jpg")), Some(Effect::Allow));
            assert_eq!(eval(p, &get("private/a.jpg")), None);
            assert_eq!(eval(p, &list(None)), None);
        }
        assert_eq!(
            cos.text(),
            statement(&format!(
                r#"{{"Principal":{{"qcs":["qcs::cam::anyone:anyone"]}},"Effect":"allow","Action":["name/cos:GetObject"],"Resource":["qcs::cos:ap-guangzhou:uid/1250000000:{BUCKET}/public/*"]}}"#
            ))
        );
    }

    #[test]
    fn principals_deny_wins_and_not_action() {
        let p = parse(&statement(&format!(
            r#"{{"Principal":{{"qcs":["qcs::cam::uin/100:uin/100"],"AWS":["arn:aws:iam::200:root","300"]}},"Effect":"allow","Action":"*","Resource":"*"}},
               {{"Principal":{{"AWS":"300"}},"Effect":"deny","NotAction":["s3:ListBucket"],"Resource":"arn:aws:s3:::{BUCKET}/*"}}"#
        )))
        .unwrap();
        let as_ = |caller, r: Req| eval(&p, &Req { caller, ..r });
        assert_eq!(as_(Some("100"), get("k")), Some(Effect::Allow));
        assert_eq!(as_(Some("200"), list(None)), Some(Effect::Allow));
        assert_eq!(as_(Some("300"), get("k")), Some(Effect::Deny));
        assert_eq!(as_(Some("300"), list(None)), Some(Effect::Allow));
        assert_eq!(as_(Some("400"), get("k")), None);
        assert_eq!(as_(None, get("k")), None);
    }

    #[test]
    fn bucket_resources_match_bucket_operations() {
        for resource in [
            format!("arn:aws:s3:::{BUCKET}"),
            format!("arn:aws:s3:::{BUCKET}/*"),
            format!("qcs::cos:ap-guangzhou:uid/1250000000:{BUCKET}/*"),
            "*".to_string(),
        ] {
            let p = parse(&statement(&format!(
                r#"{{"Principal":"*","Effect":"allow","Action":["cos:GetBucket"],"Resource":"{resource}"}}"#
            )))
            .unwrap();
            assert_eq!(eval(&p, &list(None)), Some(Effect::Allow), "{resource}");
        }
    }

    #[test]
    fn conditions_ip_string_date() {
        let p = parse(&statement(&format!(
            r#"{{"Principal":"*","Effect":"allow","Action":"cos:GetObject","Resource":"arn:aws:s3:::{BUCKET}/*",
                "Condition":{{"IpAddress":{{"qcs:ip":["10.1.0.0/16","2001:db8::/32"]}},"DateLessThan":{{"aws:CurrentTime":"2024-01-01T00:00:00Z"}}}}}},
               {{"Principal":"*","Effect":"allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{BUCKET}",
                "Condition":{{"StringLike":{{"s3:prefix":["home/*"]}}}}}},
               {{"Principal":"*","Effect":"deny","Action":"*","Resource":"*",
                "Condition":{{"NotIpAddress":{{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}}}}"#
        )))
        .unwrap();
        assert_eq!(eval(&p, &get("k")), Some(Effect::Allow));
        let v6 = Req {
            ip: "2001:db8::1".parse().unwrap(),
            ..get("k")
        };
        assert_eq!(eval(&p, &v6), Some(Effect::Allow));
        let mapped = Req {
            ip: "::ffff:10.1.9.9".parse().unwrap(),
            ..get("k")
        };
        assert_eq!(eval(&p, &mapped), Some(Effect::Allow));
        let elsewhere = Req {
            ip: "192.168.0.1".parse().unwrap(),
            ..get("k")
        };
        assert_eq!(eval(&p, &elsewhere), Some(Effect::Deny));
        let other_net = Req {
            ip: "10.2.0.1".parse().unwrap(),
            ..get("k")
        };
        assert_eq!(eval(&p, &other_net), None);
        let late = Req {
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            ..get("k")
        };
        assert_eq!(eval(&p, &late), None);
        assert_eq!(eval(&p, &list(Some("home/bob/"))), Some(Effect::Allow));
        assert_eq!(eval(&p, &list(Some("etc/"))), None);
        assert_eq!(
            eval(&p, &list(None)),
            None,
            "an absent key fails a positive condition"
        );
    }

    #[test]
    fn bool_secure_transport() {
        let p = parse(&statement(
            r#"{"Principal":"*","Effect":"deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        ))
        .unwrap();
        assert_eq!(eval(&p, &get("k")), Some(Effect::Deny));
        let q = parse(&statement(
            r#"{"Principal":"*","Effect":"deny","Action":"*","Resource":"*","Condition":{"Bool":{"qcs:secure_transport":true}}}"#,
        ))
        .unwrap();
        assert_eq!(eval(&q, &get("k")), None);
    }

    #[test]
    fn invalid_policies_say_what_is_wrong() {
        let ok = r#""Principal":"*","Effect":"allow","Action":"cos:GetObject","Resource":"*""#;
        let st = |fields: &str| statement(&format!("{{{fields}}}"));
        let cases: &[(&str, &str)] = &[
            ("not json", "not valid JSON"),
            ("[]", "JSON object"),
            (r#"{"Statement":[]}"#, "non-empty Statement"),
            (&st(&ok.replace("allow", "maybe")), "Effect"),
            (
                &st(&ok.replace(r#""Principal":"*","#, "")),
                "Principal is missing",
            ),
            (
                &st(&ok.replace(r#""*","Effect""#, r#"{"CanonicalUser":"x"},"Effect""#)),
                "principal type",
            ),
            (
                &st(&ok.replace(r#"Principal":"*""#, r#"Principal":{"qcs":["bob"]}"#)),
                "not an account",
            ),
            (&st(&ok.replace("cos:GetObject", "GetObject")), "the action"),
            (
                &st(&ok.replace(r#"Resource":"*""#, r#"Resource":"arn:aws:s3:::other-1/*""#)),
                "not in the bucket",
            ),
            (
                &st(&ok.replace(r#"Resource":"*""#, r#"Resource":"bucket/*""#)),
                "not a qcs::cos",
            ),
            (
                &st(&format!(
                    r#"{ok},"Condition":{{"NumericLessThan":{{"qcs:ip":"1"}}}}"#
                )),
                "operator \"NumericLessThan\"",
            ),
            (
                &st(&format!(
                    r#"{ok},"Condition":{{"StringEquals":{{"cos:tag":"1"}}}}"#
                )),
                "key \"cos:tag\"",
            ),
            (
                &st(&format!(
                    r#"{ok},"Condition":{{"IpAddress":{{"qcs:ip":"10.0.0.0/33"}}}}"#
                )),
                "not valid for",
            ),
            (
                &st(&format!(
                    r#"{ok},"Condition":{{"DateLessThan":{{"aws:CurrentTime":"tomorrow"}}}}"#
                )),
                "not valid for",
            ),
            (
                &st(&format!(
                    r#"{ok},"Condition":{{"StringEquals":{{"qcs:ip":"1"}}}}"#
                )),
                "cannot be used with",
            ),
            (&st(&format!(r#"{ok},"NotPrincipal":"*""#)), "NotPrincipal"),
            (
                &st(&format!(r#"{ok},"NotAction":"*""#)),
                "exactly one of Action",
            ),
        ];
        for (doc, expected) in cases {
            let err = parse(doc).unwrap_err();
            assert_eq!(err.code, ErrorCode::MalformedPolicy, "{doc}");
            assert!(err.message.contains(expected), "{doc}: {}", err.message);
        }
        let big = st(&format!("{ok}{}", " ".repeat(MAX_POLICY_BYTES)));
        assert!(parse(&big).unwrap_err().message.contains("at most"));
    }

    #[test]
    fn cos_spellings_document_principal_and_short_bucket_names() {
        let p = parse(
            r#"{"version":"2.0","principal":{"qcs":["qcs::cam::uin/100:uin/101"]},
                "statement":[{"effect":"allow","action":["name/cos:GetObject"],
                  "resource":["qcs::cos:ap-guangzhou:uid/1250000000:photos/*"],
                  "condition":{"ip_equal":{"qcs:ip":["10.0.0.0/8"]},
                               "date_less_than":{"qcs:current_time":"2030-01-01 00:00:00"},
                               "bool_equal":{"cos:secure-transport":"false"}}}]}"#,
        )
        .unwrap();
        let as_100 = Req {
            caller: Some("100"),
            ..get("k")
        };
        assert_eq!(eval(&p, &as_100), Some(Effect::Allow));
        assert_eq!(
            eval(&p, &get("k")),
            None,
            "the document's principal applies"
        );
        let elsewhere = Req {
            ip: "192.168.1.1".parse().unwrap(),
            ..as_100
        };
        assert_eq!(eval(&p, &elsewhere), None);
        let other_bucket = parse(&statement(
            r#"{"Principal":"*","Effect":"allow","Action":"*","Resource":"qcs::cos:r:uid/1250000000:videos/*"}"#,
        ));
        assert!(other_bucket
            .unwrap_err()
            .message
            .contains("not in the bucket"));
    }

    #[test]
    fn wildcards() {
        assert!(glob("a*c?e", "abbbcde"));
        assert!(glob("*", ""));
        assert!(glob("a/*", "a/"));
        assert!(!glob("a?", "a"));
        assert!(!glob("a*b", "acbx"));
        assert!(glob("*.jpg", "x/y.jpg"));
        assert!(!glob("A*", "abc"), "keys are case-sensitive");
    }
}
