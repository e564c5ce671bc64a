//! CORS: a bucket's rules (the PUT/GET Bucket cors document) and the decisions made from them.
//!
//! Everything here is pure: the HTTP layer reads the bucket's stored configuration and the
//! request headers, asks this module, and writes what it answers.
//!
//! **Preflights** (`OPTIONS`) are decided by [`preflight`]. The service calls it before any
//! authentication, because browsers never sign preflights. COS semantics, which differ from
//! S3 in several visible ways:
//!
//! * Rules are tried top to bottom and the first rule that allows the origin, the requested
//!   method and *every* requested header wins (COS best practice 436/11488).
//! * An `AllowedOrigin` of `*` matches any origin; otherwise one `*` may stand anywhere in the
//!   pattern and matches zero or more characters (`http://*.abc.com` matches
//!   `http://.abc.com`); without `*` the origin must be equal, case-sensitively.
//! * The grant echoes the request's `Origin` (with `Access-Control-Allow-Credentials: true`),
//!   or answers `*` when only a bare `*` pattern admitted it; `Access-Control-Allow-Methods`
//!   lists *all* of the rule's methods; `Access-Control-Allow-Headers` echoes the requested
//!   list for an `AllowedHeader` of `*`, and otherwise lists the rule's configured headers,
//!   lower-cased (the OPTIONS Object page, examples 1 and 2).
//! * No configuration and no matching rule get the same 403 `AccessForbidden`, with COS's
//!   message verbatim (typos included). The denial also says, rule by rule, what failed, so
//!   an operator can see why without guessing.
//!
//! **Actual requests** carrying `Origin` are never refused because of CORS (COS evaluates
//! authentication and CORS independently; the browser does the blocking): [`actual`] only
//! says which headers to add.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::xml;
use http::header::{self, HeaderName};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// The largest PUT Bucket cors body COS accepts. Read at most one byte more than this, so that
/// [`CorsConfiguration::parse`] can still answer `XMLSizeLimit` for a longer body.
pub const MAX_CORS_BODY: usize = 64 * 1024;

/// The most rules a configuration may hold.
pub const MAX_RULES: usize = 100;

/// The most names of `Access-Control-Request-Headers` a preflight may ask for; a longer
/// list is refused rather than compared against every rule.
pub const MAX_REQUEST_HEADERS: usize = 64;

/// The longest `Access-Control-Request-Headers` value (in bytes) a preflight may send.
pub const MAX_REQUEST_HEADERS_LEN: usize = 8 * 1024;

/// The longest rule `ID` (in characters), as S3 allows.
const MAX_ID_LEN: usize = 255;

/// The methods an `AllowedMethod` may name: COS's enum, upper-case only.
const METHODS: [&str; 5] = ["PUT", "GET", "POST", "DELETE", "HEAD"];

/// How much of a configured value an error message quotes.
const SHOWN_CHARS: usize = 80;

/// A bucket's CORS configuration: its rules in stored order, values in their original case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "CORSConfiguration")]
pub struct CorsConfiguration {
    #[serde(rename = "CORSRule")]
    pub rules: Vec<CorsRule>,
    /// COS's `ResponseVary`: answer `Vary: Origin` on CORS responses.
    #[serde(rename = "ResponseVary")]
    pub response_vary: bool,
}

/// One `CORSRule`. Field order is the element order of the GET Bucket cors document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CorsRule {
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "AllowedOrigin")]
    pub allowed_origins: Vec<String>,
    #[serde(rename = "AllowedMethod")]
    pub allowed_methods: Vec<String>,
    #[serde(rename = "AllowedHeader")]
    pub allowed_headers: Vec<String>,
    #[serde(rename = "ExposeHeader")]
    pub expose_headers: Vec<String>,
    #[serde(rename = "MaxAgeSeconds", skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u64>,
}

impl CorsConfiguration {
    /// Parses and validates a PUT Bucket cors body.
    ///
    /// Accepts the COS form (with or without an XML declaration) and the S3 form (a namespaced
    /// root, as boto3 sends); elements may come in any order. Errors: `XMLSizeLimit` over
    /// [`MAX_CORS_BODY`], `MissingRequestBodyError` for an empty body, `MalformedXML` for
    /// anything that is not a well-formed `CORSConfiguration` with at least one rule, each
    /// with an `AllowedOrigin` and an `AllowedMethod` (a non-integer `MaxAgeSeconds` and a
    /// non-boolean `ResponseVary` are schema violations too), and `InvalidArgument` for values
    /// COS forbids (more than [`MAX_RULES`] rules, an unknown method, two `*` in an origin, a
    /// `*` in an `ExposeHeader`, a value that cannot be sent as a header).
    pub fn parse(body: &[u8]) -> ApiResult<Self> {
        if body.len() > MAX_CORS_BODY {
            return Err(ApiError::with_message(
                ErrorCode::XMLSizeLimit,
                format!(
                    "The CORS configuration is {} bytes long; at most {MAX_CORS_BODY} bytes are allowed.",
                    body.len()
                ),
            ));
        }
        if body.is_empty() {
            return Err(ApiError::with_message(
                ErrorCode::MissingRequestBodyError,
                "The CORS configuration body is empty.",
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|e| malformed(format!("The CORS configuration is not UTF-8 text: {e}.")))?;
        let config = Parser::new(text).document()?;
        config.validate()?;
        Ok(config)
    }

    /// The GET Bucket cors document. Values are written as stored and `ResponseVary` is always
    /// present, so [`CorsConfiguration::parse`] reads back exactly this configuration.
    pub fn to_xml(&self) -> String {
        xml::to_document(self)
    }

    fn validate(&self) -> ApiResult<()> {
        if self.rules.len() > MAX_RULES {
            return Err(invalid(format!(
                "The CORS configuration has {} CORSRule elements; at most {MAX_RULES} are allowed.",
                self.rules.len()
            )));
        }
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate().map_err(|problem| {
                invalid(format!(
                    "CORSRule {}: {problem}.",
                    rule_number(index, rule.id.as_deref())
                ))
            })?;
        }
        Ok(())
    }
}

impl CorsRule {
    /// Checks the values COS restricts; the problem is returned without the rule's label.
    fn validate(&self) -> Result<(), String> {
        if let Some(id) = &self.id {
            if id.chars().count() > MAX_ID_LEN {
                return Err(format!("the ID is longer than {MAX_ID_LEN} characters"));
            }
            if id.chars().any(char::is_control) {
                return Err(format!("the ID {} contains control characters", shown(id)));
            }
        }
        for origin in &self.allowed_origins {
            // Origins are echoed in a response header, so they must be header text.
            if origin.is_empty() || !origin.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!(
                    "AllowedOrigin {} is not an origin (expected e.g. https://example.com, without spaces)",
                    shown(origin)
                ));
            }
            if origin.matches('*').count() > 1 {
                return Err(format!(
                    "AllowedOrigin {} has more than one \"*\" wildcard",
                    shown(origin)
                ));
            }
        }
        for method in &self.allowed_methods {
            if !METHODS.contains(&method.as_str()) {
                return Err(format!(
                    "AllowedMethod {} is not one of PUT, GET, POST, DELETE, HEAD (upper-case)",
                    shown(method)
                ));
            }
        }
        for name in &self.allowed_headers {
            if !is_token(name) {
                return Err(format!(
                    "AllowedHeader {} is not a header name",
                    shown(name)
                ));
            }
            if name.matches('*').count() > 1 {
                return Err(format!(
                    "AllowedHeader {} has more than one \"*\" wildcard",
                    shown(name)
                ));
            }
        }
        for name in &self.expose_headers {
            if name.contains('*') {
                return Err(format!(
                    "ExposeHeader {} contains \"*\"; list the header names to expose instead",
                    shown(name)
                ));
            }
            if !is_token(name) {
                return Err(format!("ExposeHeader {} is not a header name", shown(name)));
            }
        }
        Ok(())
    }

    /// How this rule admits `origin`, if it does. A specific pattern wins over a bare `*`, so
    /// listing an origin next to `*` still grants it credentials.
    fn origin_grant(&self, origin: &str) -> Option<OriginGrant> {
        let mut any = false;
        for pattern in &self.allowed_origins {
            if pattern == "*" {
                any = true;
            } else if wildcard_match(pattern, origin, <str as PartialEq>::eq) {
                return Some(OriginGrant::Echo);
            }
        }
        any.then_some(OriginGrant::Any)
    }

    /// Methods are an upper-case enum, so the comparison is exact.
    fn allows_method(&self, method: &str) -> bool {
        self.allowed_methods.iter().any(|m| m == method)
    }

    /// Header names compare case-insensitively; one `*` in a pattern matches any run.
    fn allows_header(&self, name: &str) -> bool {
        self.allowed_headers
            .iter()
            .any(|pattern| header_matches(pattern, name))
    }

    /// The preflight's `Access-Control-Allow-Headers` for this (matching) rule.
    ///
    /// `AllowedHeader *` echoes the request's list as sent (example 1). An explicit list is
    /// answered in full, lower-cased, whatever was requested (example 2), so it is sent even
    /// when the preflight asked for no headers. A wildcard entry such as `x-cos-meta-*` cannot
    /// be sent as is (browsers only understand a bare `*`), so it stands for the requested
    /// names it matched. `None` when the list would be empty.
    fn allow_headers(&self, requested: &RequestedHeaders<'_>) -> Option<String> {
        if self.allowed_headers.iter().any(|h| h == "*") {
            return (!requested.names.is_empty()).then(|| requested.raw.to_string());
        }
        let mut names: Vec<String> = Vec::new();
        let mut add = |name: String| {
            if !names.contains(&name) {
                names.push(name);
            }
        };
        for pattern in &self.allowed_headers {
            if pattern.contains('*') {
                requested
                    .names
                    .iter()
                    .filter(|n| header_matches(pattern, n))
                    .for_each(|n| add(n.clone()));
            } else {
                add(pattern.to_ascii_lowercase());
            }
        }
        (!names.is_empty()).then(|| names.join(","))
    }
}

/// How a rule's `AllowedOrigin` list admitted an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OriginGrant {
    /// Only through a bare `*`: answer `*`, without credentials.
    Any,
    /// Through a specific pattern: echo the origin and allow credentials.
    Echo,
}

/// `*` in `pattern` matches zero or more characters. Only the first `*` is a wildcard
/// (validation allows one); without one, `eq` decides alone.
fn wildcard_match(pattern: &str, value: &str, eq: fn(&str, &str) -> bool) -> bool {
    let Some((prefix, suffix)) = pattern.split_once('*') else {
        return eq(pattern, value);
    };
    // The length check keeps prefix and suffix from overlapping (`ab*ba` must not match `aba`);
    // `get` refuses to split a character, so odd input is a non-match rather than a panic.
    value.len() >= prefix.len() + suffix.len()
        && value.get(..prefix.len()).is_some_and(|v| eq(v, prefix))
        && value
            .get(value.len() - suffix.len()..)
            .is_some_and(|v| eq(v, suffix))
}

fn header_matches(pattern: &str, name: &str) -> bool {
    wildcard_match(pattern, name, str::eq_ignore_ascii_case)
}

/// An HTTP token (RFC 9110 `tchar`s), which is what a header name is.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The `Access-Control-Request-Headers` of a preflight.
struct RequestedHeaders<'a> {
    /// The value as sent, echoed for `AllowedHeader *`.
    raw: &'a str,
    /// The names: trimmed, lower-cased, empty items dropped.
    names: Vec<String>,
}

impl<'a> RequestedHeaders<'a> {
    /// `None` when the list is longer than [`MAX_REQUEST_HEADERS_LEN`] bytes or names more
    /// than [`MAX_REQUEST_HEADERS`] headers.
    fn parse(value: Option<&'a str>) -> Option<Self> {
        let raw = value.unwrap_or("").trim();
        if raw.len() > MAX_REQUEST_HEADERS_LEN {
            return None;
        }
        let mut names = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if names.len() == MAX_REQUEST_HEADERS {
                return None;
            }
            names.push(item.to_ascii_lowercase());
        }
        Some(RequestedHeaders { raw, names })
    }
}

/// The CORS response headers a matching rule grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The matching rule's position in the configuration (0-based).
    pub rule_index: usize,
    allow_origin: String,
    allow_credentials: bool,
    allow_methods: String,
    allow_headers: Option<String>,
    expose_headers: Option<String>,
    max_age_seconds: Option<u64>,
    vary: bool,
}

impl Grant {
    fn new(
        rule_index: usize,
        rule: &CorsRule,
        origin: &str,
        how: OriginGrant,
        allow_headers: Option<String>,
        vary: bool,
    ) -> Grant {
        let echo = how == OriginGrant::Echo;
        Grant {
            rule_index,
            allow_origin: if echo {
                origin.to_string()
            } else {
                "*".to_string()
            },
            allow_credentials: echo,
            allow_methods: rule.allowed_methods.join(","),
            allow_headers,
            expose_headers: (!rule.expose_headers.is_empty())
                .then(|| rule.expose_headers.join(",")),
            max_age_seconds: rule.max_age_seconds,
            vary,
        }
    }

    /// The response headers, in this fixed order (the order of COS's examples), each present
    /// only when it applies:
    ///
    /// 1. `Access-Control-Allow-Credentials: true` — only when the origin is echoed;
    /// 2. `Access-Control-Allow-Headers` — preflights only (see the module documentation);
    /// 3. `Access-Control-Allow-Methods` — all of the rule's methods, joined by `,`;
    /// 4. `Access-Control-Allow-Origin` — the request's `Origin`, or `*`;
    /// 5. `Access-Control-Expose-Headers` — the rule's `ExposeHeader`s joined by `,`, if any;
    /// 6. `Access-Control-Max-Age` — the rule's `MaxAgeSeconds`, if set;
    /// 7. `Vary: Origin` — when the configuration's `ResponseVary` is true.
    pub fn headers(&self) -> Vec<(HeaderName, String)> {
        let mut out = Vec::with_capacity(7);
        if self.allow_credentials {
            out.push((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true".to_string()));
        }
        if let Some(names) = &self.allow_headers {
            out.push((header::ACCESS_CONTROL_ALLOW_HEADERS, names.clone()));
        }
        out.push((
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        ));
        out.push((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            self.allow_origin.clone(),
        ));
        if let Some(names) = &self.expose_headers {
            out.push((header::ACCESS_CONTROL_EXPOSE_HEADERS, names.clone()));
        }
        if let Some(seconds) = self.max_age_seconds {
            out.push((header::ACCESS_CONTROL_MAX_AGE, seconds.to_string()));
        }
        if self.vary {
            out.push((header::VARY, "Origin".to_string()));
        }
        out
    }
}

/// Why one rule did or did not match a preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleVerdict {
    /// The rule's position in the configuration (0-based; shown 1-based).
    pub index: usize,
    pub id: Option<String>,
    pub origin_ok: bool,
    pub method_ok: bool,
    /// The requested header names (lower-cased) the rule does not allow.
    pub rejected_headers: Vec<String>,
}

impl RuleVerdict {
    /// Whether the rule allows the whole preflight.
    pub fn matches(&self) -> bool {
        self.origin_ok && self.method_ok && self.rejected_headers.is_empty()
    }
}

impl fmt::Display for RuleVerdict {
    /// E.g. `rule 2 (ID "uploads"): origin not allowed, headers not allowed: x-a, x-b`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: ", rule_number(self.index, self.id.as_deref()))?;
        if self.matches() {
            return f.write_str("matches");
        }
        let mut failures = Vec::with_capacity(3);
        if !self.origin_ok {
            failures.push("origin not allowed".to_string());
        }
        if !self.method_ok {
            failures.push("method not allowed".to_string());
        }
        match self.rejected_headers.as_slice() {
            [] => {}
            [one] => failures.push(format!("header {one} not allowed")),
            many => failures.push(format!("headers not allowed: {}", many.join(", "))),
        }
        f.write_str(&failures.join(", "))
    }
}

/// A refused preflight. Convert it into the [`ApiError`] to answer with; its `Display` says
/// why, for the server log and `cosd cors explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightDenied {
    /// No `Origin` header: 400 `BadRequest`.
    MissingOrigin,
    /// No `Access-Control-Request-Method` header: 400 `BadRequest`.
    MissingMethod,
    /// The bucket has no CORS configuration: 403 `AccessForbidden`.
    NoConfiguration,
    /// `Access-Control-Request-Headers` is over [`MAX_REQUEST_HEADERS`] names or
    /// [`MAX_REQUEST_HEADERS_LEN`] bytes: 403 `AccessForbidden`, as no rule was evaluated.
    RequestHeadersTooLarge,
    /// No rule allows the preflight: 403 `AccessForbidden`; one verdict per rule, in order.
    NoMatchingRule {
        origin: String,
        method: String,
        /// The requested header names, lower-cased.
        request_headers: Vec<String>,
        verdicts: Vec<RuleVerdict>,
    },
}

impl From<PreflightDenied> for ApiError {
    fn from(denied: PreflightDenied) -> ApiError {
        match denied {
            PreflightDenied::MissingOrigin => ApiError::with_message(
                ErrorCode::BadRequest,
                "Insufficient information. Origin request header needed.",
            ),
            PreflightDenied::MissingMethod => ApiError::with_message(
                ErrorCode::BadRequest,
                "Insufficient information. Access-Control-Request-Method request header needed.",
            ),
            // COS answers a bucket without rules and a request no rule allows alike.
            PreflightDenied::NoConfiguration
            | PreflightDenied::RequestHeadersTooLarge
            | PreflightDenied::NoMatchingRule { .. } => ErrorCode::AccessForbidden.into(),
        }
    }
}

impl fmt::Display for PreflightDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreflightDenied::MissingOrigin => f.write_str("the preflight has no Origin header"),
            PreflightDenied::MissingMethod => {
                f.write_str("the preflight has no Access-Control-Request-Method header")
            }
            PreflightDenied::NoConfiguration => f.write_str("the bucket has no CORS configuration"),
            PreflightDenied::RequestHeadersTooLarge => write!(
                f,
                "Access-Control-Request-Headers names more than {MAX_REQUEST_HEADERS} headers or is longer than {MAX_REQUEST_HEADERS_LEN} bytes"
            ),
            PreflightDenied::NoMatchingRule { origin, method, request_headers, verdicts } => {
                write!(f, "no CORS rule allows origin {origin:?} with method {method:?}")?;
                if !request_headers.is_empty() {
                    write!(f, " and headers {}", request_headers.join(", "))?;
                }
                for (n, verdict) in verdicts.iter().enumerate() {
                    f.write_str(if n == 0 { ": " } else { "; " })?;
                    write!(f, "{verdict}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PreflightDenied {}

/// Decides a preflight (`OPTIONS`) from the bucket's configuration and the request's
/// `Origin`, `Access-Control-Request-Method` and `Access-Control-Request-Headers` (each
/// `None` when absent or not valid header text; an empty value counts as absent).
///
/// The first rule allowing the origin, the method (exactly: `put` or `PATCH` match nothing)
/// and every requested header is granted; see [`Grant::headers`] for what to answer.
pub fn preflight(
    config: Option<&CorsConfiguration>,
    origin: Option<&str>,
    method: Option<&str>,
    request_headers: Option<&str>,
) -> Result<Grant, PreflightDenied> {
    let origin = origin
        .filter(|o| !o.is_empty())
        .ok_or(PreflightDenied::MissingOrigin)?;
    let method = method
        .filter(|m| !m.is_empty())
        .ok_or(PreflightDenied::MissingMethod)?;
    let config = config.ok_or(PreflightDenied::NoConfiguration)?;
    let requested =
        RequestedHeaders::parse(request_headers).ok_or(PreflightDenied::RequestHeadersTooLarge)?;
    let mut verdicts = Vec::with_capacity(config.rules.len());
    for (index, rule) in config.rules.iter().enumerate() {
        let how = rule.origin_grant(origin);
        let verdict = RuleVerdict {
            index,
            id: rule.id.clone(),
            origin_ok: how.is_some(),
            method_ok: rule.allows_method(method),
            rejected_headers: requested
                .names
                .iter()
                .filter(|n| !rule.allows_header(n))
                .cloned()
                .collect(),
        };
        match how {
            Some(how) if verdict.matches() => {
                let allow_headers = rule.allow_headers(&requested);
                return Ok(Grant::new(
                    index,
                    rule,
                    origin,
                    how,
                    allow_headers,
                    config.response_vary,
                ));
            }
            _ => verdicts.push(verdict),
        }
    }
    Err(PreflightDenied::NoMatchingRule {
        origin: origin.to_string(),
        method: method.to_string(),
        request_headers: requested.names,
        verdicts,
    })
}

/// The CORS headers for an actual (non-preflight) request: the first rule allowing `origin`
/// and the request's own `method` (headers are not checked). `None` — add nothing, and do not
/// refuse the request — without an `Origin`, without a configuration or without a match.
/// The grant has no `Access-Control-Allow-Headers`.
pub fn actual(
    config: Option<&CorsConfiguration>,
    origin: Option<&str>,
    method: &str,
) -> Option<Grant> {
    let origin = origin.filter(|o| !o.is_empty())?;
    let config = config?;
    config.rules.iter().enumerate().find_map(|(index, rule)| {
        let how = rule
            .origin_grant(origin)
            .filter(|_| rule.allows_method(method))?;
        Some(Grant::new(
            index,
            rule,
            origin,
            how,
            None,
            config.response_vary,
        ))
    })
}

/// `3` or `3 (ID "r3")`: rules are numbered from 1 for people.
fn rule_number(index: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{} (ID {})", index + 1, shown(id)),
        None => (index + 1).to_string(),
    }
}

/// A configured value quoted for an error message, cut short when long.
fn shown(value: &str) -> String {
    if value.chars().count() <= SHOWN_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(SHOWN_CHARS).collect();
        format!("{head:?}…")
    }
}

fn malformed(message: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::with_message(ErrorCode::MalformedXML, message)
}

fn invalid(message: impl Into<Cow<'static, str>>) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidArgument, message)
}

/// XML whitespace, which may surround elements and values.
const XML_SPACE: [char; 4] = [' ', '\t', '\r', '\n'];

fn is_blank(text: &str) -> bool {
    text.trim_matches(XML_SPACE).is_empty()
}

/// One step of the document, with comments, processing instructions and the declaration
/// already skipped.
enum Node<'a> {
    /// An element opens; its local name (any namespace prefix dropped).
    Open(String),
    /// The innermost open element closes.
    Close,
    Text(Cow<'a, str>),
    Eof,
}

/// A small reader for the CORS document. It is hand-written rather than serde-derived so that
/// elements may come in any order (the Go SDK puts `AllowedMethod` first, the Node SDK puts
/// `MaxAgeSeconds` anywhere), the root name and unknown elements are checked, and every
/// failure says what is wrong. Nesting is at most three levels, by construction.
struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    /// An empty element (`<ID/>`) opened and must close before reading on.
    pending_close: bool,
    /// The root element has opened: a declaration is no longer allowed.
    in_root: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            reader: Reader::from_str(text.strip_prefix('\u{feff}').unwrap_or(text)),
            pending_close: false,
            in_root: false,
        }
    }

    fn next(&mut self) -> ApiResult<Node<'a>> {
        if std::mem::take(&mut self.pending_close) {
            return Ok(Node::Close);
        }
        loop {
            let event = self.reader.read_event().map_err(|e| self.syntax_error(e))?;
            let node = match event {
                Event::Start(e) => self.open(&e)?,
                Event::Empty(e) => {
                    self.pending_close = true;
                    self.open(&e)?
                }
                Event::End(_) => Node::Close,
                Event::Text(t) => Node::Text(t.unescape().map_err(|e| self.syntax_error(e))?),
                Event::CData(c) => Node::Text(c.decode().map_err(|e| self.syntax_error(e.into()))?),
                Event::Decl(_) if !self.in_root => continue,
                Event::Decl(_) => {
                    return Err(malformed("An XML declaration may only begin the document."))
                }
                Event::DocType(_) => {
                    return Err(malformed(
                        "A DOCTYPE is not allowed in a CORS configuration.",
                    ))
                }
                Event::Comment(_) | Event::PI(_) => continue,
                Event::Eof => Node::Eof,
            };
            return Ok(node);
        }
    }

    fn open(&mut self, element: &quick_xml::events::BytesStart<'_>) -> ApiResult<Node<'a>> {
        // Attributes (such as boto3's xmlns) are ignored, but must be well-formed.
        for attribute in element.attributes() {
            attribute.map_err(|e| self.syntax_error(e.into()))?;
        }
        self.in_root = true;
        Ok(Node::Open(
            String::from_utf8_lossy(element.local_name().as_ref()).into_owned(),
        ))
    }

    fn syntax_error(&self, e: quick_xml::Error) -> ApiError {
        malformed(format!(
            "The CORS configuration is not well-formed XML (at byte {}): {e}.",
            self.reader.error_position()
        ))
    }

    fn document(mut self) -> ApiResult<CorsConfiguration> {
        let root = loop {
            match self.next()? {
                Node::Open(name) => break name,
                Node::Text(text) if is_blank(&text) => {}
                Node::Text(_) => {
                    return Err(malformed("Text is not allowed before <CORSConfiguration>."))
                }
                Node::Close | Node::Eof => {
                    return Err(malformed("The body has no <CORSConfiguration> element."))
                }
            }
        };
        if root != "CORSConfiguration" {
            return Err(malformed(format!(
                "The root element is <{root}>; expected <CORSConfiguration>."
            )));
        }
        let mut rules = Vec::new();
        let mut response_vary = None;
        loop {
            match self.next()? {
                Node::Open(name) if name == "CORSRule" => rules.push(self.rule(rules.len())?),
                Node::Open(name) if name == "ResponseVary" => {
                    let value = self.leaf(&name)?;
                    let vary = match value.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(malformed(format!(
                                "ResponseVary is {}; expected true or false.",
                                shown(&value)
                            )))
                        }
                    };
                    if response_vary.replace(vary).is_some() {
                        return Err(malformed(
                            "<CORSConfiguration> has more than one <ResponseVary>.",
                        ));
                    }
                }
                Node::Open(name) => return Err(unexpected(&name, "CORSConfiguration")),
                Node::Text(text) => only_blank(&text, "CORSConfiguration")?,
                Node::Close => break,
                Node::Eof => return Err(unclosed("CORSConfiguration")),
            }
        }
        loop {
            match self.next()? {
                Node::Eof => break,
                Node::Text(text) if is_blank(&text) => {}
                _ => return Err(malformed("Nothing may follow </CORSConfiguration>.")),
            }
        }
        if rules.is_empty() {
            return Err(malformed("The CORS configuration has no <CORSRule>."));
        }
        Ok(CorsConfiguration {
            rules,
            response_vary: response_vary.unwrap_or(false),
        })
    }

    /// Reads a `CORSRule` whose start tag has been read; `index` is its position.
    fn rule(&mut self, index: usize) -> ApiResult<CorsRule> {
        let number = index + 1;
        let mut rule = CorsRule::default();
        loop {
            match self.next()? {
                Node::Open(name) => {
                    let list = match name.as_str() {
                        "AllowedOrigin" => &mut rule.allowed_origins,
                        "AllowedMethod" => &mut rule.allowed_methods,
                        "AllowedHeader" => &mut rule.allowed_headers,
                        "ExposeHeader" => &mut rule.expose_headers,
                        "ID" => {
                            let id = self.leaf(&name)?;
                            if rule.id.replace(id).is_some() {
                                return Err(malformed(format!(
                                    "CORSRule {number} has more than one <ID>."
                                )));
                            }
                            continue;
                        }
                        "MaxAgeSeconds" => {
                            let value = self.leaf(&name)?;
                            let seconds = parse_seconds(&value).ok_or_else(|| {
                                malformed(format!(
                                    "CORSRule {number}: MaxAgeSeconds is {}; expected a non-negative integer.",
                                    shown(&value)
                                ))
                            })?;
                            if rule.max_age_seconds.replace(seconds).is_some() {
                                return Err(malformed(format!(
                                    "CORSRule {number} has more than one <MaxAgeSeconds>."
                                )));
                            }
                            continue;
                        }
                        _ => return Err(unexpected(&name, "CORSRule")),
                    };
                    list.push(self.leaf(&name)?);
                }
                Node::Text(text) => only_blank(&text, "CORSRule")?,
                Node::Close => break,
                Node::Eof => return Err(unclosed("CORSRule")),
            }
        }
        if rule.allowed_origins.is_empty() {
            return Err(malformed(format!(
                "CORSRule {number} has no <AllowedOrigin>."
            )));
        }
        if rule.allowed_methods.is_empty() {
            return Err(malformed(format!(
                "CORSRule {number} has no <AllowedMethod>."
            )));
        }
        Ok(rule)
    }

    /// Reads the text of an element whose start tag has been read, trimmed of whitespace.
    fn leaf(&mut self, name: &str) -> ApiResult<String> {
        let mut value = String::new();
        loop {
            match self.next()? {
                Node::Text(text) => value.push_str(&text),
                Node::Close => return Ok(value.trim_matches(XML_SPACE).to_string()),
                Node::Open(child) => {
                    return Err(malformed(format!(
                        "<{name}> must hold text, not the element <{child}>."
                    )))
                }
                Node::Eof => return Err(unclosed(name)),
            }
        }
    }
}

/// Only whitespace may stand between the elements of a container.
fn only_blank(text: &str, container: &str) -> ApiResult<()> {
    if is_blank(text) {
        Ok(())
    } else {
        Err(malformed(format!(
            "<{container}> holds the text {}; only elements belong there.",
            shown(text.trim_matches(XML_SPACE))
        )))
    }
}

fn unexpected(name: &str, container: &str) -> ApiError {
    malformed(format!(
        "<{container}> cannot contain the element <{name}>."
    ))
}

fn unclosed(name: &str) -> ApiError {
    malformed(format!("The body ends before </{name}>."))
}

/// Digits only: no sign, no spaces inside, no fraction.
fn parse_seconds(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{error_reply, ReplyBody};

    // The four examples of the OPTIONS Object page (436/8288), request and response verbatim.

    const EXAMPLE_1_REQUEST: &str = "\
OPTIONS /exampleobject HTTP/1.1
Host: examplebucket-1250000000.cos.ap-beijing.myqcloud.com
Date: Thu, 09 Jul 2020 14:49:22 GMT
Origin: https://example.com
Access-Control-Request-Method: PUT
Access-Control-Request-Headers: content-md5,content-type,x-cos-meta-author
Connection: close
";

    const EXAMPLE_1_RESPONSE: &str = "\
HTTP/1.1 200 OK
Content-Length: 0
Connection: close
Access-Control-Allow-Credentials: true
Access-Control-Allow-Headers: content-md5,content-type,x-cos-meta-author
Access-Control-Allow-Methods: PUT,GET,POST,DELETE,HEAD
Access-Control-Allow-Origin: https://example.com
Access-Control-Expose-Headers: Content-Length,ETag,x-cos-meta-author
Access-Control-Max-Age: 600
Date: Thu, 09 Jul 2020 14:49:22 GMT
Server: tencent-cos
x-cos-request-id: NWYwNzJlNzJfODRjOTJhMDlfMjU0MWNfMTNmZDM5****
";

    const EXAMPLE_2_REQUEST: &str = "\
OPTIONS /exampleobject HTTP/1.1
Host: examplebucket-1250000000.cos.ap-beijing.myqcloud.com
Date: Thu, 09 Jul 2020 14:49:22 GMT
Origin: https://example.com
Access-Control-Request-Method: GET
Access-Control-Request-Headers: range
Connection: close
";

    const EXAMPLE_2_RESPONSE: &str = "\
HTTP/1.1 200 OK
Content-Length: 0
Connection: close
Access-Control-Allow-Headers: range,x-cos-server-side-encryption-customer-algorithm,x-cos-server-side-encryption-customer-key,x-cos-server-side-encryption-customer-key-md5
Access-Control-Allow-Methods: GET,HEAD
Access-Control-Allow-Origin: *
Access-Control-Expose-Headers: Content-Length,ETag,x-cos-meta-author
Access-Control-Max-Age: 600
Date: Thu, 09 Jul 2020 14:49:22 GMT
Server: tencent-cos
x-cos-request-id: NWYwNzJlNzJfZDUyNzVkNjRfYTA2Ml8yNGEz****
";

    const EXAMPLE_3_REQUEST: &str = "\
OPTIONS /?lifecycle HTTP/1.1
Host: examplebucket-1250000000.cos.ap-beijing.myqcloud.com
Date: Thu, 09 Jul 2020 14:29:40 GMT
Origin: https://bar.com
Access-Control-Request-Method: PUT
Access-Control-Request-Headers: content-md5,content-type
Connection: close
";

    const EXAMPLE_3_RESPONSE: &str = "\
HTTP/1.1 200 OK
Content-Length: 0
Connection: close
Access-Control-Allow-Credentials: true
Access-Control-Allow-Headers: content-md5,content-type
Access-Control-Allow-Methods: PUT,GET,POST,DELETE,HEAD
Access-Control-Allow-Origin: https://bar.com
Access-Control-Expose-Headers: Content-Length,ETag,x-cos-meta-author
Access-Control-Max-Age: 600
Date: Thu, 09 Jul 2020 14:29:40 GMT
Server: tencent-cos
x-cos-request-id: NWYwNzI5ZDRfNjFiMDJhMDlfYzk2NF8xYmZl****
";

    const EXAMPLE_4_REQUEST: &str = "\
OPTIONS /exampleobject HTTP/1.1
Host: examplebucket-1250000000.cos.ap-beijing.myqcloud.com
Date: Thu, 09 Jul 2020 11:45:26 GMT
Origin: https://example.com
Access-Control-Request-Method: PUT
Connection: close
";

    const EXAMPLE_4_RESPONSE: &str = "\
HTTP/1.1 403 Forbidden
Content-Type: application/xml
Content-Length: 687
Connection: close
Date: Thu, 09 Jul 2020 11:45:26 GMT
Server: tencent-cos
x-cos-request-id: NWYwNzAzNTZfNzNjODJhMDlfMzRiM2ZfMThjMjk4****
x-cos-trace-id: OGVmYzZiMmQzYjA2OWNhODk0NTRkMTBiOWVmMDAxODc0OWRkZjk0ZDM1NmI1M2E2MTRlY2MzZDhmNmI5MWI1OWE4OGMxZjNjY2JiNTBmMTVmMWY1MzAzYzkyZGQ2ZWM4OWM4Y2M5MzI5ZmUzN2FjZDk1OTRjYWI5Yjg5OTJlZDA=

<?xml version='1.0' encoding='utf-8' ?>
<Error>
<Code>AccessForbidden</Code>
<Message>CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource&apos;s CORS spec</Message>
<Resource>examplebucket-1250000000.cos.ap-beijing.myqcloud.com/exampleobject</Resource>
<RequestId>NWYwNzAzNTZfNzNjODJhMDlfMzRiM2ZfMThjMjk4****</RequestId>
<TraceId>OGVmYzZiMmQzYjA2OWNhODk0NTRkMTBiOWVmMDAxODc0OWRkZjk0ZDM1NmI1M2E2MTRlY2MzZDhmNmI5MWI1OWE4OGMxZjNjY2JiNTBmMTVmMWY1MzAzYzkyZGQ2ZWM4OWM4Y2M5MzI5ZmUzN2FjZDk1OTRjYWI5Yjg5OTJlZDA=</TraceId>
</Error>
";

    /// The bucket behind examples 1 and 3: one rule for both origins, every method, any header.
    const EXAMPLES_1_3_CONFIG: &str = "<?xml version='1.0' encoding='utf-8' ?>
<CORSConfiguration>
  <CORSRule>
    <ID>upload</ID>
    <AllowedOrigin>https://example.com</AllowedOrigin>
    <AllowedOrigin>https://bar.com</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>DELETE</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>Content-Length</ExposeHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <ExposeHeader>x-cos-meta-author</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>";

    /// The bucket behind example 2: any origin, reads only, the SSE-C headers plus `range`.
    const EXAMPLE_2_CONFIG: &str = "<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>range</AllowedHeader>
    <AllowedHeader>x-cos-server-side-encryption-customer-algorithm</AllowedHeader>
    <AllowedHeader>x-cos-server-side-encryption-customer-key</AllowedHeader>
    <AllowedHeader>x-cos-server-side-encryption-customer-key-MD5</AllowedHeader>
    <ExposeHeader>Content-Length</ExposeHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <ExposeHeader>x-cos-meta-author</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>";

    /// The header lines of an HTTP message (after the start line, up to the blank line).
    fn header_lines(message: &str) -> Vec<(&str, &str)> {
        message
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| l.split_once(": ").expect("header line"))
            .collect()
    }

    /// Runs the preflight a verbatim request describes.
    fn run(config: Option<&CorsConfiguration>, request: &str) -> Result<Grant, PreflightDenied> {
        let headers = header_lines(request);
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        preflight(
            config,
            get("Origin"),
            get("Access-Control-Request-Method"),
            get("Access-Control-Request-Headers"),
        )
    }

    /// The CORS headers of a verbatim response, names lower-cased (as `HeaderName` spells them).
    fn cors_headers_of(response: &str) -> Vec<(String, String)> {
        header_lines(response)
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .filter(|(n, _)| n.starts_with("access-control-") || n == "vary")
            .collect()
    }

    fn value_of(grant: &Grant, name: &str) -> Option<String> {
        grant
            .headers()
            .into_iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v)
    }

    fn headers_of(grant: &Grant) -> Vec<(String, String)> {
        grant
            .headers()
            .into_iter()
            .map(|(n, v)| (n.as_str().to_string(), v))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn config(body: &str) -> CorsConfiguration {
        CorsConfiguration::parse(body.as_bytes()).unwrap()
    }

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        CorsRule {
            allowed_origins: owned(origins),
            allowed_methods: owned(methods),
            allowed_headers: owned(headers),
            ..CorsRule::default()
        }
    }

    fn rules(rules: Vec<CorsRule>) -> CorsConfiguration {
        CorsConfiguration {
            rules,
            response_vary: false,
        }
    }

    fn parse_err(body: &str) -> ApiError {
        CorsConfiguration::parse(body.as_bytes()).unwrap_err()
    }

    /// A one-rule body with `inner` as the rule's content.
    fn one_rule(inner: &str) -> String {
        format!("<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>")
    }

    #[test]
    fn seed_example_1_put_object() {
        let cfg = config(EXAMPLES_1_3_CONFIG);
        let grant = run(Some(&cfg), EXAMPLE_1_REQUEST).unwrap();
        assert_eq!(headers_of(&grant), cors_headers_of(EXAMPLE_1_RESPONSE));
        assert_eq!(
            headers_of(&grant),
            pairs(&[
                ("access-control-allow-credentials", "true"),
                (
                    "access-control-allow-headers",
                    "content-md5,content-type,x-cos-meta-author"
                ),
                ("access-control-allow-methods", "PUT,GET,POST,DELETE,HEAD"),
                ("access-control-allow-origin", "https://example.com"),
                (
                    "access-control-expose-headers",
                    "Content-Length,ETag,x-cos-meta-author"
                ),
                ("access-control-max-age", "600"),
            ])
        );
    }

    #[test]
    fn seed_example_2_get_with_range_and_explicit_headers() {
        let cfg = config(EXAMPLE_2_CONFIG);
        let grant = run(Some(&cfg), EXAMPLE_2_REQUEST).unwrap();
        assert_eq!(headers_of(&grant), cors_headers_of(EXAMPLE_2_RESPONSE));
        assert_eq!(
            headers_of(&grant),
            pairs(&[
                ("access-control-allow-headers", "range,x-cos-server-side-encryption-customer-algorithm,x-cos-server-side-encryption-customer-key,x-cos-server-side-encryption-customer-key-md5"),
                ("access-control-allow-methods", "GET,HEAD"),
                ("access-control-allow-origin", "*"),
                ("access-control-expose-headers", "Content-Length,ETag,x-cos-meta-author"),
                ("access-control-max-age", "600"),
            ])
        );
        // A `*` origin grants no credentials.
        assert_eq!(value_of(&grant, "access-control-allow-credentials"), None);
        // GET Bucket cors still shows the configured case.
        assert!(cfg.to_xml().contains(
            "<AllowedHeader>x-cos-server-side-encryption-customer-key-MD5</AllowedHeader>"
        ));
    }

    #[test]
    fn seed_example_3_put_bucket_lifecycle() {
        let cfg = config(EXAMPLES_1_3_CONFIG);
        let grant = run(Some(&cfg), EXAMPLE_3_REQUEST).unwrap();
        assert_eq!(headers_of(&grant), cors_headers_of(EXAMPLE_3_RESPONSE));
        assert_eq!(
            headers_of(&grant),
            pairs(&[
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", "content-md5,content-type"),
                ("access-control-allow-methods", "PUT,GET,POST,DELETE,HEAD"),
                ("access-control-allow-origin", "https://bar.com"),
                (
                    "access-control-expose-headers",
                    "Content-Length,ETag,x-cos-meta-author"
                ),
                ("access-control-max-age", "600"),
            ])
        );
    }

    /// The error document cosd sends for a refusal, checked element by element against the page.
    fn assert_example_4(denied: PreflightDenied) {
        let err = ApiError::from(denied);
        assert_eq!(err.code, ErrorCode::AccessForbidden);
        assert!(EXAMPLE_4_RESPONSE.starts_with(&format!(
            "HTTP/1.1 {} Forbidden",
            err.code.status().as_u16()
        )));
        let reply = error_reply(
            &err,
            "examplebucket-1250000000.cos.ap-beijing.myqcloud.com/exampleobject",
            "NWYwNzAzNTZfNzNjODJhMDlfMzRiM2ZfMThjMjk4****",
            "OGVmYzZiMmQzYjA2OWNhODk0NTRkMTBiOWVmMDAxODc0OWRkZjk0ZDM1NmI1M2E2MTRlY2MzZDhmNmI5MWI1OWE4OGMxZjNjY2JiNTBmMTVmMWY1MzAzYzkyZGQ2ZWM4OWM4Y2M5MzI5ZmUzN2FjZDk1OTRjYWI5Yjg5OTJlZDA=",
        );
        let ReplyBody::Xml(doc) = reply.body else {
            panic!("error replies carry XML")
        };
        assert!(
            doc.starts_with("<?xml version='1.0' encoding='utf-8' ?>\n<Error>"),
            "{doc}"
        );
        for element in ["Code", "Message", "Resource", "RequestId", "TraceId"] {
            let open = format!("<{element}>");
            let close = format!("</{element}>");
            let start = doc.find(&open).expect("element present");
            let end = doc.find(&close).expect("element closed") + close.len();
            assert!(
                EXAMPLE_4_RESPONSE.contains(&doc[start..end]),
                "{} differs from the page",
                &doc[start..end]
            );
        }
    }

    #[test]
    fn seed_example_4_no_configuration() {
        let denied = run(None, EXAMPLE_4_REQUEST).unwrap_err();
        assert_eq!(denied, PreflightDenied::NoConfiguration);
        assert_example_4(denied);
    }

    #[test]
    fn seed_example_4_no_matching_rule() {
        // Example 2's bucket allows reads only; example 4 asks to PUT.
        let cfg = config(EXAMPLE_2_CONFIG);
        let denied = run(Some(&cfg), EXAMPLE_4_REQUEST).unwrap_err();
        let PreflightDenied::NoMatchingRule { verdicts, .. } = &denied else {
            panic!("{denied:?}")
        };
        assert_eq!(
            verdicts,
            &[RuleVerdict {
                index: 0,
                id: None,
                origin_ok: true,
                method_ok: false,
                rejected_headers: vec![]
            }]
        );
        assert_example_4(denied);
        // Nor does examples 1 and 3's bucket allow another origin.
        let cfg = config(EXAMPLES_1_3_CONFIG);
        let denied = run(
            Some(&cfg),
            &EXAMPLE_4_REQUEST.replace("https://example.com", "https://evil.com"),
        )
        .unwrap_err();
        assert_example_4(denied);
    }

    #[test]
    fn missing_origin_or_method_is_a_bad_request() {
        let cfg = config(EXAMPLE_2_CONFIG);
        for origin in [None, Some("")] {
            let denied = preflight(Some(&cfg), origin, Some("GET"), None).unwrap_err();
            assert_eq!(denied, PreflightDenied::MissingOrigin);
            let err = ApiError::from(denied);
            assert_eq!(err.code, ErrorCode::BadRequest);
            assert_eq!(err.code.status().as_u16(), 400);
            assert_eq!(
                err.message,
                "Insufficient information. Origin request header needed."
            );
        }
        for method in [None, Some("")] {
            let denied = preflight(Some(&cfg), Some("https://a.com"), method, None).unwrap_err();
            assert_eq!(denied, PreflightDenied::MissingMethod);
            let err = ApiError::from(denied);
            assert_eq!(err.code, ErrorCode::BadRequest);
            assert_eq!(
                err.message,
                "Insufficient information. Access-Control-Request-Method request header needed."
            );
        }
        // Missing headers are reported even for a bucket without rules.
        assert_eq!(
            preflight(None, None, Some("GET"), None).unwrap_err(),
            PreflightDenied::MissingOrigin
        );
    }

    #[test]
    fn first_matching_rule_wins() {
        let mut first = rule(&["*"], &["GET"], &[]);
        first.expose_headers = vec!["ETag".into()];
        let mut second = rule(&["https://a.com"], &["GET", "PUT"], &["*"]);
        second.max_age_seconds = Some(5);
        let cfg = rules(vec![first, second]);

        let grant = preflight(Some(&cfg), Some("https://a.com"), Some("GET"), None).unwrap();
        assert_eq!(grant.rule_index, 0);
        assert_eq!(
            headers_of(&grant),
            pairs(&[
                ("access-control-allow-methods", "GET"),
                ("access-control-allow-origin", "*"),
                ("access-control-expose-headers", "ETag"),
            ])
        );
        // The first rule refuses PUT, so the second one answers, echoing the origin.
        let grant = preflight(Some(&cfg), Some("https://a.com"), Some("PUT"), Some("x-a")).unwrap();
        assert_eq!(grant.rule_index, 1);
        assert_eq!(
            headers_of(&grant),
            pairs(&[
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-headers", "x-a"),
                ("access-control-allow-methods", "GET,PUT"),
                ("access-control-allow-origin", "https://a.com"),
                ("access-control-max-age", "5"),
            ])
        );
        // So does it when the first rule refuses a requested header.
        assert_eq!(
            preflight(Some(&cfg), Some("https://a.com"), Some("GET"), Some("x-a"))
                .unwrap()
                .rule_index,
            1
        );
    }

    #[test]
    fn wildcard_origins_match_zero_or_more_characters() {
        let cases: &[(&str, &str, bool)] = &[
            ("http://*.abc.com", "http://x.abc.com", true),
            ("http://*.abc.com", "http://x.y.abc.com", true),
            ("http://*.abc.com", "http://.abc.com", true),
            ("http://*.abc.com", "http://abc.com", false),
            ("http://*.abc.com", "https://x.abc.com", false),
            ("http://*.abc.com", "http://x.abc.com.evil.org", false),
            (
                "https://app-*.example.com",
                "https://app-blue.example.com",
                true,
            ),
            (
                "https://app-*.example.com",
                "https://app-.example.com",
                true,
            ),
            (
                "https://app-*.example.com",
                "https://api.example.com",
                false,
            ),
            ("*://example.com", "http://example.com", true),
            ("*://example.com", "https://example.com", true),
            ("*://example.com", "https://example.com:8443", false),
            ("http://localhost:*", "http://localhost:3000", true),
            ("http://localhost:*", "http://localhost", false),
            ("https://example.com:8443", "https://example.com:8443", true),
            ("https://example.com:8443", "https://example.com", false),
            ("http://10.10.10.10", "http://10.10.10.10", true),
            // Prefix and suffix must not overlap.
            ("ab*ba", "aba", false),
            ("ab*ba", "abba", true),
            ("*", "null", true),
        ];
        for &(pattern, origin, expected) in cases {
            let cfg = rules(vec![rule(&[pattern], &["GET"], &[])]);
            let granted = preflight(Some(&cfg), Some(origin), Some("GET"), None).is_ok();
            assert_eq!(granted, expected, "{pattern} vs {origin}");
            assert_eq!(
                actual(Some(&cfg), Some(origin), "GET").is_some(),
                expected,
                "{pattern} vs {origin}"
            );
        }
        // A wildcard pattern (not a bare `*`) echoes the origin with credentials.
        let cfg = rules(vec![rule(&["http://*.abc.com"], &["GET"], &[])]);
        let grant = preflight(Some(&cfg), Some("http://x.abc.com"), Some("GET"), None).unwrap();
        assert_eq!(
            value_of(&grant, "access-control-allow-origin").as_deref(),
            Some("http://x.abc.com")
        );
        assert_eq!(
            value_of(&grant, "access-control-allow-credentials").as_deref(),
            Some("true")
        );
    }

    #[test]
    fn an_origin_listed_next_to_star_is_echoed() {
        let cfg = rules(vec![rule(&["*", "https://a.com"], &["GET"], &[])]);
        let echoed = preflight(Some(&cfg), Some("https://a.com"), Some("GET"), None).unwrap();
        assert_eq!(
            value_of(&echoed, "access-control-allow-origin").as_deref(),
            Some("https://a.com")
        );
        let star = preflight(Some(&cfg), Some("https://b.com"), Some("GET"), None).unwrap();
        assert_eq!(
            value_of(&star, "access-control-allow-origin").as_deref(),
            Some("*")
        );
    }

    #[test]
    fn origins_and_methods_are_case_sensitive() {
        let cfg = rules(vec![rule(&["https://Example.com"], &["GET"], &[])]);
        assert!(preflight(Some(&cfg), Some("https://example.com"), Some("GET"), None).is_err());
        assert!(preflight(Some(&cfg), Some("https://Example.com"), Some("GET"), None).is_ok());
        assert!(preflight(Some(&cfg), Some("https://Example.com"), Some("get"), None).is_err());
        assert!(preflight(Some(&cfg), Some("https://Example.com"), Some("PATCH"), None).is_err());
    }

    #[test]
    fn header_names_compare_case_insensitively() {
        let cfg = rules(vec![rule(&["*"], &["PUT"], &["Content-Type", "X-Cos-Acl"])]);
        let grant = preflight(
            Some(&cfg),
            Some("https://a.com"),
            Some("PUT"),
            Some("CONTENT-TYPE, x-cos-acl"),
        )
        .unwrap();
        assert_eq!(
            value_of(&grant, "access-control-allow-headers").as_deref(),
            Some("content-type,x-cos-acl")
        );
        // Empty items and spaces are ignored.
        assert!(preflight(
            Some(&cfg),
            Some("https://a.com"),
            Some("PUT"),
            Some(" , content-type ,,")
        )
        .is_ok());
    }

    #[test]
    fn header_wildcards_cover_a_family() {
        let cfg = rules(vec![rule(
            &["*"],
            &["PUT"],
            &["Content-Type", "x-cos-meta-*"],
        )]);
        let grant = preflight(
            Some(&cfg),
            Some("https://a.com"),
            Some("PUT"),
            Some("x-cos-meta-author,X-Cos-Meta-Year,content-type"),
        )
        .unwrap();
        // The wildcard entry stands for the names it matched, since browsers only honour a bare `*`.
        assert_eq!(
            value_of(&grant, "access-control-allow-headers").as_deref(),
            Some("content-type,x-cos-meta-author,x-cos-meta-year")
        );
        let denied = preflight(
            Some(&cfg),
            Some("https://a.com"),
            Some("PUT"),
            Some("x-cos-meta-a,x-cos-acl"),
        )
        .unwrap_err();
        let PreflightDenied::NoMatchingRule { verdicts, .. } = denied else {
            panic!()
        };
        assert_eq!(verdicts[0].rejected_headers, vec!["x-cos-acl".to_string()]);
        // Without requested headers only the literal entries are listed.
        let grant = preflight(Some(&cfg), Some("https://a.com"), Some("PUT"), None).unwrap();
        assert_eq!(
            value_of(&grant, "access-control-allow-headers").as_deref(),
            Some("content-type")
        );
    }

    #[test]
    fn allow_headers_without_requested_headers() {
        // `*` echoes the request, so nothing is sent when nothing was asked.
        let star = rules(vec![rule(&["*"], &["GET"], &["*"])]);
        let grant = preflight(Some(&star), Some("https://a.com"), Some("GET"), None).unwrap();
        assert_eq!(value_of(&grant, "access-control-allow-headers"), None);
        let grant = preflight(Some(&star), Some("https://a.com"), Some("GET"), Some(" ")).unwrap();
        assert_eq!(value_of(&grant, "access-control-allow-headers"), None);
        // An explicit list is answered whatever was asked.
        let listed = rules(vec![rule(&["*"], &["GET"], &["Range"])]);
        let grant = preflight(Some(&listed), Some("https://a.com"), Some("GET"), None).unwrap();
        assert_eq!(
            value_of(&grant, "access-control-allow-headers").as_deref(),
            Some("range")
        );
        // No AllowedHeader at all: nothing to list, and any requested header is refused.
        let none = rules(vec![rule(&["*"], &["GET"], &[])]);
        let grant = preflight(Some(&none), Some("https://a.com"), Some("GET"), None).unwrap();
        assert_eq!(value_of(&grant, "access-control-allow-headers"), None);
        assert!(preflight(
            Some(&none),
            Some("https://a.com"),
            Some("GET"),
            Some("range")
        )
        .is_err());
    }

    #[test]
    fn a_rule_failing_on_one_header_of_three_is_explained() {
        let mut r = rule(
            &["https://a.com"],
            &["PUT", "POST"],
            &["content-type", "content-md5"],
        );
        r.id = Some("uploads".into());
        let cfg = rules(vec![rule(&["https://b.com"], &["GET"], &["*"]), r]);
        let denied = preflight(
            Some(&cfg),
            Some("https://a.com"),
            Some("PUT"),
            Some("Content-Type,x-cos-acl,content-md5"),
        )
        .unwrap_err();
        assert_eq!(
            denied,
            PreflightDenied::NoMatchingRule {
                origin: "https://a.com".into(),
                method: "PUT".into(),
                request_headers: vec![
                    "content-type".into(),
                    "x-cos-acl".into(),
                    "content-md5".into()
                ],
                verdicts: vec![
                    RuleVerdict {
                        index: 0,
                        id: None,
                        origin_ok: false,
                        method_ok: false,
                        rejected_headers: vec![]
                    },
                    RuleVerdict {
                        index: 1,
                        id: Some("uploads".into()),
                        origin_ok: true,
                        method_ok: true,
                        rejected_headers: vec!["x-cos-acl".into()],
                    },
                ],
            }
        );
        assert_eq!(
            denied.to_string(),
            "no CORS rule allows origin \"https://a.com\" with method \"PUT\" and headers content-type, x-cos-acl, content-md5: \
             rule 1: origin not allowed, method not allowed; rule 2 (ID \"uploads\"): header x-cos-acl not allowed"
        );
        assert_eq!(ApiError::from(denied).code, ErrorCode::AccessForbidden);
    }

    #[test]
    fn verdicts_read_well() {
        let verdict = RuleVerdict {
            index: 4,
            id: None,
            origin_ok: false,
            method_ok: true,
            rejected_headers: vec!["x-a".into(), "x-b".into()],
        };
        assert!(!verdict.matches());
        assert_eq!(
            verdict.to_string(),
            "rule 5: origin not allowed, headers not allowed: x-a, x-b"
        );
        let ok = RuleVerdict {
            index: 0,
            id: Some("r1".into()),
            origin_ok: true,
            method_ok: true,
            rejected_headers: vec![],
        };
        assert!(ok.matches());
        assert_eq!(ok.to_string(), "rule 1 (ID \"r1\"): matches");
        assert_eq!(
            PreflightDenied::NoConfiguration.to_string(),
            "the bucket has no CORS configuration"
        );
        assert_eq!(
            PreflightDenied::MissingOrigin.to_string(),
            "the preflight has no Origin header"
        );
    }

    #[test]
    fn requested_headers_are_bounded() {
        let cfg = rules(vec![rule(&["*"], &["GET"], &["*"])]);
        let at_limit = (0..MAX_REQUEST_HEADERS)
            .map(|i| format!("x-h{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(preflight(
            Some(&cfg),
            Some("https://a.com"),
            Some("GET"),
            Some(&at_limit)
        )
        .is_ok());
        let over = format!("{at_limit},x-one-more");
        let denied =
            preflight(Some(&cfg), Some("https://a.com"), Some("GET"), Some(&over)).unwrap_err();
        assert_eq!(denied, PreflightDenied::RequestHeadersTooLarge);
        assert_eq!(
            ApiError::from(denied.clone()).code,
            ErrorCode::AccessForbidden
        );
        assert!(denied.to_string().contains("more than 64 headers"));
        let long = "x".repeat(MAX_REQUEST_HEADERS_LEN + 1);
        assert_eq!(
            preflight(Some(&cfg), Some("https://a.com"), Some("GET"), Some(&long)).unwrap_err(),
            PreflightDenied::RequestHeadersTooLarge
        );
    }

    #[test]
    fn response_vary_adds_vary_origin() {
        let body = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule><ResponseVary>true</ResponseVary></CORSConfiguration>";
        let cfg = config(body);
        assert!(cfg.response_vary);
        let grant = preflight(Some(&cfg), Some("https://a.com"), Some("GET"), None).unwrap();
        assert_eq!(
            headers_of(&grant),
            pairs(&[
                ("access-control-allow-methods", "GET"),
                ("access-control-allow-origin", "*"),
                ("vary", "Origin"),
            ])
        );
        assert_eq!(
            headers_of(&actual(Some(&cfg), Some("https://a.com"), "GET").unwrap()),
            headers_of(&grant)
        );
        // Without the flag there is no Vary.
        let cfg = config(&body.replace("true", "false"));
        assert!(!cfg.response_vary);
        let grant = preflight(Some(&cfg), Some("https://a.com"), Some("GET"), None).unwrap();
        assert_eq!(value_of(&grant, "vary"), None);
    }

    #[test]
    fn actual_requests_match_origin_and_their_own_method() {
        let cfg = config(EXAMPLES_1_3_CONFIG);
        let grant = actual(Some(&cfg), Some("https://example.com"), "GET").unwrap();
        assert_eq!(
            headers_of(&grant),
            pairs(&[
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "PUT,GET,POST,DELETE,HEAD"),
                ("access-control-allow-origin", "https://example.com"),
                (
                    "access-control-expose-headers",
                    "Content-Length,ETag,x-cos-meta-author"
                ),
                ("access-control-max-age", "600"),
            ])
        );
        assert_eq!(actual(Some(&cfg), None, "GET"), None);
        assert_eq!(actual(Some(&cfg), Some(""), "GET"), None);
        assert_eq!(actual(None, Some("https://example.com"), "GET"), None);
        assert_eq!(actual(Some(&cfg), Some("https://evil.com"), "GET"), None);
        assert_eq!(
            actual(Some(&cfg), Some("https://example.com"), "OPTIONS"),
            None
        );
        let reads = config(EXAMPLE_2_CONFIG);
        assert_eq!(
            actual(Some(&reads), Some("https://example.com"), "PUT"),
            None
        );
        assert_eq!(
            actual(Some(&reads), Some("https://example.com"), "HEAD")
                .unwrap()
                .rule_index,
            0
        );
    }

    #[test]
    fn parses_the_python_sdk_body() {
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CORSConfiguration><CORSRule><ID>r1</ID><AllowedOrigin>http://www.qq.com</AllowedOrigin><AllowedOrigin>https://*.qq.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-cos-meta-test</AllowedHeader><ExposeHeader>x-cos-meta-test1</ExposeHeader><MaxAgeSeconds>500</MaxAgeSeconds></CORSRule></CORSConfiguration>";
        let cfg = config(body);
        assert_eq!(
            cfg,
            CorsConfiguration {
                rules: vec![CorsRule {
                    id: Some("r1".into()),
                    allowed_origins: vec!["http://www.qq.com".into(), "https://*.qq.com".into()],
                    allowed_methods: vec!["PUT".into(), "GET".into()],
                    allowed_headers: vec!["x-cos-meta-test".into()],
                    expose_headers: vec!["x-cos-meta-test1".into()],
                    max_age_seconds: Some(500),
                }],
                response_vary: false,
            }
        );
    }

    #[test]
    fn parses_the_node_sdk_body() {
        // No declaration, elements in the order the SDK happens to build them.
        let body = "<CORSConfiguration><CORSRule><MaxAgeSeconds>5</MaxAgeSeconds><AllowedOrigin>http://www.qq.com</AllowedOrigin><AllowedHeader>*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><ExposeHeader>ETag</ExposeHeader><AllowedOrigin>http://localhost:*</AllowedOrigin></CORSRule><ResponseVary>true</ResponseVary></CORSConfiguration>";
        let cfg = config(body);
        assert_eq!(
            cfg,
            CorsConfiguration {
                rules: vec![CorsRule {
                    id: None,
                    allowed_origins: vec!["http://www.qq.com".into(), "http://localhost:*".into()],
                    allowed_methods: vec!["GET".into(), "PUT".into()],
                    allowed_headers: vec!["*".into()],
                    expose_headers: vec!["ETag".into()],
                    max_age_seconds: Some(5),
                }],
                response_vary: true,
            }
        );
    }

    #[test]
    fn parses_the_boto3_body() {
        let body = "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule><ID>browser</ID><AllowedHeader>*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>https://app.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>";
        let cfg = config(body);
        assert_eq!(cfg.rules.len(), 2);
        assert_eq!(cfg.rules[0].id.as_deref(), Some("browser"));
        assert_eq!(
            cfg.rules[0].allowed_origins,
            vec!["https://app.example.com"]
        );
        assert_eq!(cfg.rules[0].allowed_methods, vec!["GET", "PUT"]);
        assert_eq!(cfg.rules[0].max_age_seconds, Some(3000));
        assert_eq!(cfg.rules[1], rule(&["*"], &["GET"], &[]));
        // A prefixed namespace works too.
        let prefixed = "<s3:CORSConfiguration xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\"><s3:CORSRule><s3:AllowedMethod>GET</s3:AllowedMethod><s3:AllowedOrigin>*</s3:AllowedOrigin></s3:CORSRule></s3:CORSConfiguration>";
        assert_eq!(config(prefixed).rules, vec![rule(&["*"], &["GET"], &[])]);
    }

    #[test]
    fn tolerates_whitespace_comments_bom_and_escapes() {
        let body = "\u{feff}\n<?xml version=\"1.0\"?>\n<!-- cors -->\n<CORSConfiguration>\r\n\t<CORSRule>\n\t\t<ID> a&amp;b &apos;q&apos; </ID>\n\t\t<AllowedOrigin>\n\t\t\thttps://a.com\n\t\t</AllowedOrigin>\n\t\t<AllowedMethod><![CDATA[GET]]></AllowedMethod>\n\t\t<AllowedHeader/>\n\t</CORSRule>\n\t<ResponseVary> TRUE </ResponseVary>\n</CORSConfiguration>\n\n";
        let err = parse_err(body);
        // The empty <AllowedHeader/> is not a header name.
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{err}");
        let cfg = config(&body.replace("\t\t<AllowedHeader/>\n", ""));
        assert_eq!(cfg.rules[0].id.as_deref(), Some("a&b 'q'"));
        assert_eq!(cfg.rules[0].allowed_origins, vec!["https://a.com"]);
        assert_eq!(cfg.rules[0].allowed_methods, vec!["GET"]);
        assert!(cfg.response_vary);
    }

    #[test]
    fn to_xml_is_the_get_bucket_cors_document() {
        let mut first = rule(
            &["https://a.com", "https://*.b.com"],
            &["PUT", "GET"],
            &["*"],
        );
        first.id = Some("r'1".into());
        first.expose_headers = vec!["ETag".into(), "x-cos-meta-author".into()];
        first.max_age_seconds = Some(600);
        let cfg = rules(vec![first, rule(&["*"], &["HEAD"], &[])]);
        assert_eq!(
            cfg.to_xml(),
            "<?xml version='1.0' encoding='utf-8' ?>\n<CORSConfiguration><CORSRule><ID>r&apos;1</ID><AllowedOrigin>https://a.com</AllowedOrigin><AllowedOrigin>https://*.b.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-cos-meta-author</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule><ResponseVary>false</ResponseVary></CORSConfiguration>"
        );
    }

    #[test]
    fn parse_reads_back_to_xml() {
        let mut full = rule(
            &["https://a.com", "http://*.b.com:8080"],
            &["PUT", "GET", "POST", "DELETE", "HEAD"],
            &["Content-Type", "x-cos-meta-*"],
        );
        full.id = Some("<odd> & \"quoted\" 'id'".into());
        full.expose_headers = vec!["Content-Length".into(), "ETag".into()];
        full.max_age_seconds = Some(0);
        let mut big_age = rule(&["*"], &["GET"], &["*"]);
        big_age.max_age_seconds = Some(u64::MAX);
        big_age.id = Some(String::new());
        let configs = vec![
            config(EXAMPLES_1_3_CONFIG),
            config(EXAMPLE_2_CONFIG),
            rules(vec![full.clone()]),
            CorsConfiguration {
                rules: vec![big_age, full],
                response_vary: true,
            },
            rules(
                (0..MAX_RULES)
                    .map(|i| rule(&[&format!("https://{i}.example.com")], &["GET"], &[]))
                    .collect(),
            ),
        ];
        for cfg in configs {
            let doc = cfg.to_xml();
            assert_eq!(
                CorsConfiguration::parse(doc.as_bytes()).as_ref(),
                Ok(&cfg),
                "{doc}"
            );
        }
    }

    #[test]
    fn rejects_bodies_that_are_not_a_cors_configuration() {
        let cases: &[(&str, &str)] = &[
            ("<CORSConfiguration><CORSRule>", "ends before"),
            ("<CORSConfiguration></CORSRule>", "not well-formed"),
            ("not xml at all", "Text is not allowed"),
            ("<LifecycleConfiguration/>", "root element is <LifecycleConfiguration>"),
            ("<CORSConfiguration/>", "no <CORSRule>"),
            ("<CORSConfiguration><ResponseVary>true</ResponseVary></CORSConfiguration>", "no <CORSRule>"),
            ("<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>", "CORSRule 1 has no <AllowedOrigin>"),
            ("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>", "CORSRule 1 has no <AllowedMethod>"),
            ("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Filter/></CORSRule></CORSConfiguration>", "<CORSRule> cannot contain the element <Filter>"),
            ("<CORSConfiguration><Rule/></CORSConfiguration>", "<CORSConfiguration> cannot contain the element <Rule>"),
            ("<CORSConfiguration>junk<CORSRule/></CORSConfiguration>", "holds the text \"junk\""),
            ("<CORSConfiguration><CORSRule><AllowedOrigin><x/></AllowedOrigin></CORSRule></CORSConfiguration>", "<AllowedOrigin> must hold text"),
            ("<CORSConfiguration></CORSConfiguration><CORSConfiguration/>", "Nothing may follow"),
            ("<!DOCTYPE x [<!ENTITY a \"b\">]><CORSConfiguration/>", "DOCTYPE"),
            ("<CORSConfiguration><?xml version=\"1.0\"?></CORSConfiguration>", "declaration"),
            ("<CORSConfiguration><CORSRule><AllowedOrigin>&bogus;</AllowedOrigin></CORSRule></CORSConfiguration>", "not well-formed"),
            ("<CORSConfiguration a=\"1\" a=\"2\"></CORSConfiguration>", "not well-formed"),
        ];
        for &(body, needle) in cases {
            let err = parse_err(body);
            assert_eq!(err.code, ErrorCode::MalformedXML, "{body}: {err}");
            assert!(err.message.contains(needle), "{body}: {err}");
        }
        let not_utf8 =
            CorsConfiguration::parse(b"<CORSConfiguration>\xff</CORSConfiguration>").unwrap_err();
        assert_eq!(not_utf8.code, ErrorCode::MalformedXML);
        assert!(not_utf8.message.contains("UTF-8"), "{not_utf8}");
    }

    #[test]
    fn rejects_malformed_values() {
        let rule_with = |extra: &str| {
            one_rule(&format!(
                "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>{extra}"
            ))
        };
        let cases: &[(&str, &str)] = &[
            (
                "<MaxAgeSeconds>-1</MaxAgeSeconds>",
                "MaxAgeSeconds is \"-1\"; expected a non-negative integer",
            ),
            ("<MaxAgeSeconds>1.5</MaxAgeSeconds>", "non-negative integer"),
            ("<MaxAgeSeconds>+5</MaxAgeSeconds>", "non-negative integer"),
            ("<MaxAgeSeconds></MaxAgeSeconds>", "non-negative integer"),
            (
                "<MaxAgeSeconds>99999999999999999999999</MaxAgeSeconds>",
                "non-negative integer",
            ),
            (
                "<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>",
                "more than one <MaxAgeSeconds>",
            ),
            ("<ID>a</ID><ID>b</ID>", "more than one <ID>"),
        ];
        for &(extra, needle) in cases {
            let err = parse_err(&rule_with(extra));
            assert_eq!(err.code, ErrorCode::MalformedXML, "{extra}: {err}");
            assert!(err.message.contains(needle), "{extra}: {err}");
        }
        let vary = |v: &str| {
            format!("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>{v}</CORSConfiguration>")
        };
        let err = parse_err(&vary("<ResponseVary>yes</ResponseVary>"));
        assert_eq!(err.code, ErrorCode::MalformedXML);
        assert!(
            err.message
                .contains("ResponseVary is \"yes\"; expected true or false"),
            "{err}"
        );
        let err = parse_err(&vary(
            "<ResponseVary>true</ResponseVary><ResponseVary>true</ResponseVary>",
        ));
        assert!(
            err.message.contains("more than one <ResponseVary>"),
            "{err}"
        );
    }

    #[test]
    fn rejects_values_cos_forbids() {
        let cases: &[(&str, &str)] = &[
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>", "CORSRule 1: AllowedMethod \"PATCH\" is not one of PUT, GET, POST, DELETE, HEAD"),
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>", "AllowedMethod \"get\""),
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod>", "AllowedMethod \"OPTIONS\""),
            ("<ID>r9</ID><AllowedOrigin>http://*.*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>", "CORSRule 1 (ID \"r9\"): AllowedOrigin \"http://*.*.com\" has more than one \"*\" wildcard"),
            ("<AllowedOrigin>**</AllowedOrigin><AllowedMethod>GET</AllowedMethod>", "more than one \"*\""),
            ("<AllowedOrigin></AllowedOrigin><AllowedMethod>GET</AllowedMethod>", "AllowedOrigin \"\" is not an origin"),
            ("<AllowedOrigin>https://a b.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>", "is not an origin"),
            ("<AllowedOrigin>https://a&#10;.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>", "AllowedOrigin \"https://a\\n.com\" is not an origin"),
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>*</ExposeHeader>", "ExposeHeader \"*\" contains \"*\""),
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x-cos-*</ExposeHeader>", "ExposeHeader \"x-cos-*\""),
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>E Tag</ExposeHeader>", "ExposeHeader \"E Tag\" is not a header name"),
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*-*</AllowedHeader>", "AllowedHeader \"x-*-*\" has more than one"),
            ("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>a:b</AllowedHeader>", "AllowedHeader \"a:b\" is not a header name"),
            ("<ID>a&#9;b</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>", "control characters"),
        ];
        for &(inner, needle) in cases {
            let err = parse_err(&one_rule(inner));
            assert_eq!(err.code, ErrorCode::InvalidArgument, "{inner}: {err}");
            assert_eq!(err.code.status().as_u16(), 400);
            assert!(err.message.contains(needle), "{inner}: {err}");
        }
        // The failing rule is named by its position among several.
        let body = format!(
            "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>{}</CORSConfiguration>",
            "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>TRACE</AllowedMethod></CORSRule>"
        );
        assert!(parse_err(&body)
            .message
            .starts_with("CORSRule 2: AllowedMethod \"TRACE\""));
        // Long values are quoted only in part.
        let long = "a".repeat(500);
        let err = parse_err(&one_rule(&format!(
            "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>{long}</AllowedMethod>"
        )));
        assert!(err.message.len() < 200, "{err}");
        let err = parse_err(&one_rule(&format!(
            "<ID>{}</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>",
            "i".repeat(256)
        )));
        assert!(err.message.contains("longer than 255"), "{err}");
    }

    #[test]
    fn limits_rules_and_body_size() {
        let rule_xml = "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
        let body = |n: usize| {
            format!(
                "<CORSConfiguration>{}</CORSConfiguration>",
                rule_xml.repeat(n)
            )
        };
        assert_eq!(config(&body(MAX_RULES)).rules.len(), MAX_RULES);
        let err = parse_err(&body(MAX_RULES + 1));
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert_eq!(
            err.message,
            "The CORS configuration has 101 CORSRule elements; at most 100 are allowed."
        );

        let padded = |len: usize| {
            let doc = body(1);
            format!("{doc}{}", " ".repeat(len - doc.len()))
        };
        assert_eq!(config(&padded(MAX_CORS_BODY)).rules.len(), 1);
        let err = parse_err(&padded(MAX_CORS_BODY + 1));
        assert_eq!(err.code, ErrorCode::XMLSizeLimit);
        assert!(err.message.contains("65537 bytes"), "{err}");

        assert_eq!(
            CorsConfiguration::parse(b"").unwrap_err().code,
            ErrorCode::MissingRequestBodyError
        );
    }

    #[test]
    fn no_such_cors_configuration_is_a_404() {
        assert_eq!(ErrorCode::NoSuchCORSConfiguration.status().as_u16(), 404);
        assert_eq!(
            ErrorCode::NoSuchCORSConfiguration.as_str(),
            "NoSuchCORSConfiguration"
        );
    }
}
