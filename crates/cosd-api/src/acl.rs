//! Access control lists (COS §5.9, §6.10): who besides the owner may do what to a bucket or an
//! object.
//!
//! An ACL is a list of grants; the bucket owner always has full control and is not listed. A
//! request sets an ACL in exactly one of three ways: a canned ACL (`x-cos-acl` / `x-amz-acl`,
//! or the `acl` form field of POST Object), grant headers (`x-cos-grant-read: id="…"`), or an
//! `AccessControlPolicy` XML body (the `?acl` operations only). Grantees are accounts (by
//! APPID), everyone (anonymous callers included) or every signed-in account. An account grantee
//! must be an account the server knows (see [`Accounts`]), as COS refuses grants to accounts
//! that do not exist: a typo would otherwise grant nothing, silently, or later grant a stranger.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops::headers::{cos_or_amz, Fields};
use cosd_store::AclGrant;
use serde::Deserialize;

/// Most grants one ACL may hold (COS: 100).
pub const MAX_GRANTS: usize = 100;
/// Largest `AccessControlPolicy` body accepted.
pub const MAX_ACL_BODY: usize = 64 * 1024;

/// The group URIs COS and S3 use for "everyone" and "every signed-in account".
const ALL_USERS: [&str; 2] = [
    "http://cam.qcloud.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AllUsers",
];
const AUTHENTICATED_USERS: [&str; 2] = [
    "http://cam.qcloud.com/groups/global/AuthenticatedUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// The accounts a grant may name.
pub trait Accounts {
    fn has_account(&self, appid: &str) -> bool;
}

impl<F: Fn(&str) -> bool> Accounts for F {
    fn has_account(&self, appid: &str) -> bool {
        self(appid)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
            Permission::FullControl => "FULL_CONTROL",
        }
    }

    fn parse(s: &str) -> Option<Permission> {
        [
            Permission::Read,
            Permission::Write,
            Permission::ReadAcp,
            Permission::WriteAcp,
            Permission::FullControl,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// Whether holding `self` lets one do what needs `needed`.
    fn covers(self, needed: Permission) -> bool {
        self == needed || self == Permission::FullControl
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// Anyone, signed or not.
    Everyone,
    /// Any signed-in account.
    Authenticated,
    /// One account, by APPID.
    Account(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: Permission,
}

/// The grants of a bucket or object beyond its owner's full control.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    pub grants: Vec<Grant>,
}

/// Whether an ACL belongs to a bucket or an object: they accept different canned values and
/// objects have no WRITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Bucket,
    Object,
}

/// What a request asks an object's ACL to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// `default`: follow the bucket's ACL.
    Inherit,
    Set(Acl),
}

impl Acl {
    /// Whether the caller (`None` when anonymous) holds `needed` through some grant.
    pub fn allows(&self, caller: Option<&str>, needed: Permission) -> bool {
        self.grants.iter().any(|g| {
            let matches = match &g.grantee {
                Grantee::Everyone => true,
                Grantee::Authenticated => caller.is_some(),
                Grantee::Account(id) => caller == Some(id.as_str()),
            };
            matches && g.permission.covers(needed)
        })
    }

    /// The stored form (see [`AclGrant`]).
    pub fn to_stored(&self) -> Vec<AclGrant> {
        self.grants
            .iter()
            .map(|g| AclGrant {
                grantee: match &g.grantee {
                    Grantee::Everyone => "*".to_string(),
                    Grantee::Authenticated => "authenticated".to_string(),
                    Grantee::Account(id) => id.clone(),
                },
                permission: g.permission.as_str().to_string(),
            })
            .collect()
    }

    /// Reads the stored form; a grant it cannot read is dropped (and logged) rather than
    /// widened into something it never said.
    pub fn from_stored(stored: &[AclGrant]) -> Acl {
        let grants = stored
            .iter()
            .filter_map(|g| {
                let permission = Permission::parse(&g.permission);
                if permission.is_none() {
                    tracing::error!(permission = %g.permission, "stored ACL grant has an unknown permission; ignored");
                }
                let grantee = match g.grantee.as_str() {
                    "*" => Grantee::Everyone,
                    "authenticated" => Grantee::Authenticated,
                    id => Grantee::Account(id.to_string()),
                };
                Some(Grant {
                    grantee,
                    permission: permission?,
                })
            })
            .collect();
        Acl { grants }
    }

    /// The stored bucket ACL document (JSON of [`AclGrant`]s).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_stored()).expect("grants serialize")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Acl, serde_json::Error> {
        let stored: Vec<AclGrant> = serde_json::from_slice(bytes)?;
        Ok(Acl::from_stored(&stored))
    }

    /// The `AccessControlPolicy` document: the owner's full control first, then the grants.
    pub fn to_xml(&self, owner: &str) -> String {
        let mut out = String::from(crate::xml::DECLARATION);
        out.push_str("<AccessControlPolicy><Owner>");
        out.push_str(&format!(
            "<ID>{}</ID><DisplayName>{owner}</DisplayName>",
            cam_id(owner)
        ));
        out.push_str("</Owner><AccessControlList>");
        let owner_grant = Grant {
            grantee: Grantee::Account(owner.to_string()),
            permission: Permission::FullControl,
        };
        for g in std::iter::once(&owner_grant).chain(&self.grants) {
            const XSI: &str = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
            let grantee = match &g.grantee {
                Grantee::Everyone => format!(
                    "<Grantee {XSI} xsi:type=\"Group\"><URI>{}</URI></Grantee>",
                    ALL_USERS[0]
                ),
                Grantee::Authenticated => format!(
                    "<Grantee {XSI} xsi:type=\"Group\"><URI>{}</URI></Grantee>",
                    AUTHENTICATED_USERS[0]
                ),
                Grantee::Account(id) => format!(
                    "<Grantee {XSI} xsi:type=\"CanonicalUser\"><ID>{}</ID><DisplayName>{id}</DisplayName></Grantee>",
                    cam_id(id)
                ),
            };
            out.push_str(&format!(
                "<Grant>{grantee}<Permission>{}</Permission></Grant>",
                g.permission.as_str()
            ));
        }
        out.push_str("</AccessControlList></AccessControlPolicy>");
        out
    }
}

/// An account's CAM id, as COS writes owners and grantees.
pub fn cam_id(account: &str) -> String {
    format!("qcs::cam::uin/{account}:uin/{account}")
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidArgument, message.into())
}

/// The canned ACL named `value`.
pub fn canned(value: &str, level: Level) -> ApiResult<Requested> {
    let everyone = |permission| Grant {
        grantee: Grantee::Everyone,
        permission,
    };
    let grants = match (value, level) {
        ("default", Level::Object) => return Ok(Requested::Inherit),
        // Objects belong to their bucket's owner, so the bucket-owner ACLs add nothing.
        ("private", _) | ("bucket-owner-read" | "bucket-owner-full-control", Level::Object) => {
            vec![]
        }
        ("public-read", _) => vec![everyone(Permission::Read)],
        ("public-read-write", Level::Bucket) => {
            vec![everyone(Permission::Read), everyone(Permission::Write)]
        }
        ("authenticated-read", _) => vec![Grant {
            grantee: Grantee::Authenticated,
            permission: Permission::Read,
        }],
        _ => {
            let allowed = match level {
                Level::Bucket => "private, public-read, public-read-write, authenticated-read",
                Level::Object => "default, private, public-read, authenticated-read, bucket-owner-read, bucket-owner-full-control",
            };
            return Err(invalid(format!(
                "The canned ACL {value:?} is not valid here; use one of: {allowed}."
            )));
        }
    };
    Ok(Requested::Set(Acl { grants }))
}

const GRANT_HEADERS: [(&str, Permission); 5] = [
    ("grant-read", Permission::Read),
    ("grant-write", Permission::Write),
    ("grant-read-acp", Permission::ReadAcp),
    ("grant-write-acp", Permission::WriteAcp),
    ("grant-full-control", Permission::FullControl),
];

/// The ACL a write's headers (or form fields) ask for: a canned ACL or grant headers, not both;
/// `None` when they name none. `form_acl` is POST Object's `acl` field.
pub fn from_fields<F: Fields>(
    fields: &F,
    level: Level,
    form_acl: Option<&str>,
    accounts: &dyn Accounts,
) -> ApiResult<Option<Requested>> {
    let canned_value = match form_acl {
        Some(v) => Some(v),
        None => cos_or_amz(fields, "acl")?,
    };
    let mut grants = Vec::new();
    let mut any_grant_header = false;
    for (suffix, permission) in GRANT_HEADERS {
        let Some(value) = cos_or_amz(fields, suffix)? else {
            continue;
        };
        any_grant_header = true;
        if level == Level::Object && permission == Permission::Write {
            return Err(invalid("Objects have no WRITE permission to grant."));
        }
        for grantee in parse_grantee_list(value)? {
            grants.push(Grant {
                grantee: known(grantee, accounts)?,
                permission,
            });
        }
    }
    check_count(grants.len())?;
    match (canned_value, any_grant_header) {
        (Some(_), true) => Err(invalid(
            "Specify either a canned ACL or grant headers, not both.",
        )),
        (Some(v), false) => canned(v.trim(), level).map(Some),
        (None, true) => Ok(Some(Requested::Set(Acl { grants }))),
        (None, false) => Ok(None),
    }
}

fn check_count(n: usize) -> ApiResult<()> {
    if n > MAX_GRANTS {
        return Err(invalid(format!(
            "The ACL has {n} grants; at most {MAX_GRANTS} are allowed."
        )));
    }
    Ok(())
}

/// A grant header's value: `id="…"`, `uin="…"` or `uri="…"` items separated by commas.
fn parse_grantee_list(value: &str) -> ApiResult<Vec<Grantee>> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (kind, quoted) = item
            .split_once('=')
            .ok_or_else(|| invalid(format!("The grantee {item:?} is not of the form id=\"…\".")))?;
        let v = quoted.trim().trim_matches('"');
        let grantee = match kind.trim().to_ascii_lowercase().as_str() {
            "id" | "uin" => account_grantee(v)?,
            "uri" => group_grantee(v)?,
            other => {
                return Err(invalid(format!(
                    "The grantee type {other:?} is not supported; use id=\"…\" or uri=\"…\"."
                )))
            }
        };
        out.push(grantee);
        check_count(out.len())?;
    }
    if out.is_empty() {
        return Err(invalid("A grant header names no grantee."));
    }
    Ok(out)
}

/// An account grantee: a bare APPID, its CAM form `qcs::cam::uin/<id>:uin/<id>` (the root
/// account is the one that counts), or COS's `qcs::cam::anyone:anyone`.
pub fn account_grantee(v: &str) -> ApiResult<Grantee> {
    if v == "qcs::cam::anyone:anyone" || v == "anyone" {
        return Ok(Grantee::Everyone);
    }
    let id = v
        .strip_prefix("qcs::cam::uin/")
        .map(|rest| rest.split(':').next().unwrap_or(""))
        .unwrap_or(v);
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "The grantee {v:?} is not an account id (an APPID, or qcs::cam::uin/<APPID>:uin/<APPID>)."
        )));
    }
    Ok(Grantee::Account(id.to_string()))
}

/// `grantee`, unless it is an account the server does not know.
fn known(grantee: Grantee, accounts: &dyn Accounts) -> ApiResult<Grantee> {
    match &grantee {
        Grantee::Account(id) if !accounts.has_account(id) => {
            Err(invalid(format!("The grantee account {id} does not exist.")))
        }
        _ => Ok(grantee),
    }
}

fn group_grantee(uri: &str) -> ApiResult<Grantee> {
    if ALL_USERS.contains(&uri) {
        Ok(Grantee::Everyone)
    } else if AUTHENTICATED_USERS.contains(&uri) {
        Ok(Grantee::Authenticated)
    } else {
        Err(invalid(format!("The group {uri:?} is not known.")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessControlPolicyDoc {
    access_control_list: Option<AclListDoc>,
}

#[derive(Deserialize)]
struct AclListDoc {
    #[serde(rename = "Grant", default)]
    grant: Vec<GrantDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GrantDoc {
    grantee: GranteeDoc,
    permission: String,
}

#[derive(Deserialize)]
struct GranteeDoc {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "URI")]
    uri: Option<String>,
}

/// Parses an `AccessControlPolicy` body. The owner's own full-control grant (as GET returns
/// it) is implied, so it is dropped rather than stored twice.
pub fn from_xml(body: &[u8], owner: &str, level: Level, accounts: &dyn Accounts) -> ApiResult<Acl> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::with_message(ErrorCode::MalformedXML, "The ACL is not UTF-8."))?;
    let doc: AccessControlPolicyDoc = crate::xml::from_document(text)?;
    let list = doc.access_control_list.ok_or_else(|| {
        ApiError::with_message(
            ErrorCode::MalformedXML,
            "The AccessControlPolicy has no AccessControlList.",
        )
    })?;
    check_count(list.grant.len())?;
    let mut grants = Vec::new();
    for g in list.grant {
        let permission = Permission::parse(g.permission.trim()).ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::MalformedXML,
                format!("The permission {:?} is not one of READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL.", g.permission),
            )
        })?;
        if level == Level::Object && permission == Permission::Write {
            return Err(invalid("Objects have no WRITE permission to grant."));
        }
        let grantee = match (g.grantee.id, g.grantee.uri) {
            (Some(id), None) => known(account_grantee(id.trim())?, accounts)?,
            (None, Some(uri)) => group_grantee(uri.trim())?,
            _ => {
                return Err(ApiError::with_message(
                    ErrorCode::MalformedXML,
                    "Each Grantee needs exactly one of ID and URI.",
                ))
            }
        };
        let grant = Grant {
            grantee,
            permission,
        };
        let owner_full = grant.permission == Permission::FullControl
            && grant.grantee == Grantee::Account(owner.to_string());
        if !owner_full {
            grants.push(grant);
        }
    }
    Ok(Acl { grants })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    /// Accounts where every APPID exists.
    fn anyone(_: &str) -> bool {
        true
    }

    #[test]
    fn grants_to_unknown_accounts_are_refused_in_headers_and_xml() {
        let accounts = |id: &str| id == "100" || id == "200";
        let grant = |value: &str| {
            from_fields(
                &headers(&[("x-cos-grant-read", value)]),
                Level::Bucket,
                None,
                &accounts,
            )
        };
        assert!(grant("id=\"100\", id=\"qcs::cam::uin/200:uin/200\"").is_ok());
        for unknown in ["id=\"100\", id=\"300\"", "id=\"qcs::cam::uin/300:uin/300\""] {
            let err = grant(unknown).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidArgument, "{unknown}");
            assert!(err.message.contains("300"), "{}", err.message);
        }
        // Groups name no account.
        assert!(grant("uri=\"http://cam.qcloud.com/groups/global/AllUsers\"").is_ok());
        let xml = |id: &str| {
            format!(
                "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>{id}</ID></Grantee>\
                 <Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"
            )
        };
        let from = |id: &str| from_xml(xml(id).as_bytes(), "100", Level::Object, &accounts);
        assert!(from("qcs::cam::uin/200:uin/200").is_ok());
        assert_eq!(
            from("qcs::cam::uin/300:uin/300").unwrap_err().code,
            ErrorCode::InvalidArgument
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                )
            })
            .collect()
    }

    fn set(r: ApiResult<Option<Requested>>) -> Acl {
        match r.unwrap() {
            Some(Requested::Set(acl)) => acl,
            other => panic!("expected an ACL, got {other:?}"),
        }
    }

    #[test]
    fn canned_acls_grant_what_they_say() {
        let Requested::Set(public) = canned("public-read", Level::Bucket).unwrap() else {
            panic!()
        };
        assert!(public.allows(None, Permission::Read));
        assert!(!public.allows(None, Permission::Write));
        assert!(!public.allows(Some("2"), Permission::ReadAcp));
        let Requested::Set(rw) = canned("public-read-write", Level::Bucket).unwrap() else {
            panic!()
        };
        assert!(rw.allows(None, Permission::Write));
        let Requested::Set(auth) = canned("authenticated-read", Level::Bucket).unwrap() else {
            panic!()
        };
        assert!(auth.allows(Some("2"), Permission::Read));
        assert!(!auth.allows(None, Permission::Read));
        assert_eq!(
            canned("default", Level::Object).unwrap(),
            Requested::Inherit
        );
        for (bad, level) in [
            ("default", Level::Bucket),
            ("public-read-write", Level::Object),
            ("Public-Read", Level::Bucket),
            ("", Level::Object),
        ] {
            assert_eq!(
                canned(bad, level).unwrap_err().code,
                ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn grant_headers_parse_all_id_forms() {
        let acl = set(from_fields(
            &headers(&[
                (
                    "x-cos-grant-read",
                    "id=\"100\", id=\"qcs::cam::uin/200:uin/200\"",
                ),
                ("x-amz-grant-full-control", "id=300"),
                (
                    "x-cos-grant-write",
                    "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"",
                ),
            ]),
            Level::Bucket,
            None,
            &anyone,
        ));
        assert!(acl.allows(Some("100"), Permission::Read));
        assert!(acl.allows(Some("200"), Permission::Read));
        assert!(!acl.allows(Some("200"), Permission::ReadAcp));
        assert!(acl.allows(Some("300"), Permission::WriteAcp));
        assert!(acl.allows(None, Permission::Write));
        assert!(!acl.allows(None, Permission::Read));
        assert_eq!(acl.grants.len(), 4);
    }

    #[test]
    fn bad_grants_and_mixtures_are_refused() {
        let refused = |pairs: &[(&str, &str)], level| {
            from_fields(&headers(pairs), level, None, &anyone)
                .unwrap_err()
                .code
        };
        let both = [("x-cos-acl", "private"), ("x-cos-grant-read", "id=\"1\"")];
        assert_eq!(refused(&both, Level::Bucket), ErrorCode::InvalidArgument);
        for bad in [
            "",
            "id=\"abc\"",
            "email=\"a@b\"",
            "uri=\"http://x/y\"",
            "id=\"\"",
        ] {
            assert_eq!(
                refused(&[("x-cos-grant-read", bad)], Level::Bucket),
                ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
        assert_eq!(
            refused(&[("x-cos-grant-write", "id=\"1\"")], Level::Object),
            ErrorCode::InvalidArgument
        );
        let many = (0..=MAX_GRANTS)
            .map(|i| format!("id=\"{i}\""))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            refused(&[("x-cos-grant-read", &many)], Level::Bucket),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            from_fields(&headers(&[]), Level::Bucket, None, &anyone).unwrap(),
            None
        );
        assert_eq!(
            from_fields(&headers(&[]), Level::Object, Some("default"), &anyone).unwrap(),
            Some(Requested::Inherit)
        );
    }

    #[test]
    fn xml_round_trips_and_drops_the_implied_owner_grant() {
        let acl = Acl {
            grants: vec![
                Grant {
                    grantee: Grantee::Everyone,
                    permission: Permission::Read,
                },
                Grant {
                    grantee: Grantee::Account("222".into()),
                    permission: Permission::WriteAcp,
                },
                Grant {
                    grantee: Grantee::Authenticated,
                    permission: Permission::Read,
                },
            ],
        };
        let xml = acl.to_xml("111");
        assert!(xml.contains("<ID>qcs::cam::uin/111:uin/111</ID>"));
        assert!(xml.contains("xsi:type=\"Group\""));
        assert_eq!(
            from_xml(xml.as_bytes(), "111", Level::Bucket, &anyone).unwrap(),
            acl
        );
        assert_eq!(Acl::from_json(&acl.to_json()).unwrap(), acl);
    }

    #[test]
    fn malformed_xml_is_refused_with_the_right_code() {
        let doc = |grant: &str| {
            format!("<AccessControlPolicy><AccessControlList>{grant}</AccessControlList></AccessControlPolicy>")
        };
        let code = |body: &str| {
            from_xml(body.as_bytes(), "1", Level::Object, &anyone)
                .unwrap_err()
                .code
        };
        assert_eq!(code("<AccessControlPolicy>"), ErrorCode::MalformedXML);
        assert_eq!(code("<AccessControlPolicy/>"), ErrorCode::MalformedXML);
        assert_eq!(
            code(&doc(
                "<Grant><Grantee><ID>1</ID></Grantee><Permission>ALL</Permission></Grant>"
            )),
            ErrorCode::MalformedXML
        );
        assert_eq!(
            code(&doc(
                "<Grant><Grantee></Grantee><Permission>READ</Permission></Grant>"
            )),
            ErrorCode::MalformedXML
        );
        assert_eq!(
            code(&doc(
                "<Grant><Grantee><ID>x</ID></Grantee><Permission>READ</Permission></Grant>"
            )),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(&doc(
                "<Grant><Grantee><ID>2</ID></Grantee><Permission>WRITE</Permission></Grant>"
            )),
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn unreadable_stored_grants_are_dropped_not_widened() {
        let acl = Acl::from_stored(&[AclGrant {
            grantee: "*".into(),
            permission: "EVERYTHING".into(),
        }]);
        assert!(acl.grants.is_empty());
    }
}
