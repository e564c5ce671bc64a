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

/// The largest PUT Bucket cors body COS accepts; callers should stop reading beyond it.
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
    TooManyRequestHeaders,
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
            | PreflightDenied::TooManyRequestHeaders
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
            PreflightDenied::TooManyRequestHeaders => write!(
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
        RequestedHeaders::parse(request_headers).ok_or(PreflightDenied::TooManyRequestHeaders)?;
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
