//! Authorization: may this principal do this operation on this bucket or object?
//!
//! [`decide`] is the whole decision, pure: a temporary key's scope first (a request outside it
//! is refused whatever else says), then an explicit `Deny` in the bucket policy (it wins, even
//! over the owner — except that the owner can always read, replace and delete the policy, so
//! no policy can lock the owner out of fixing it), then the owner (allowed), then a policy
//! `Allow`, then the ACL grant the operation needs (the object's own ACL for object reads and
//! object ACL operations, unless the object inherits the bucket's), else refused.
//!
//! [`authorize`] gathers the inputs — the bucket record, its cached ACL and policy, and for the
//! few operations that need it the object's ACL — and calls [`decide`].
//!
//! Information hiding: an anonymous caller is refused before bucket existence is considered;
//! a signed caller is told `NoSuchBucket` for a bucket that does not exist, as COS tells it.
//! A caller who may not read an object gets `AccessDenied` whether or not it exists; one who
//! may read it (through the bucket's ACL or policy) learns `NoSuchKey`, which a listing would
//! have told it anyway.

use crate::acl::{Acl, Permission};
use crate::auth::{Principal, Scope};
use crate::config_cache::ConfigCache;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::policy::{self, Effect, Policy};
use crate::route::{Op, Route};
use cosd_store::{BucketRecord, Store};
use std::net::IpAddr;
use std::time::SystemTime;

/// What an operation needs besides ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any signed-in account (service operations and creating a bucket).
    Signed,
    /// This permission on the bucket's ACL.
    Bucket(Permission),
    /// This permission on the object's ACL (the bucket's when the object inherits it).
    Object(Permission),
    /// Only the owner, or a policy that allows it.
    Owner,
}

/// An operation's action name (COS, without `name/cos:`; S3, without `s3:`) and need.
pub fn action(op: Op) -> (&'static str, &'static str, Need) {
    use Permission::*;
    match op {
        Op::ListBuckets => ("GetService", "ListAllMyBuckets", Need::Signed),
        Op::CreateBucket => ("PutBucket", "CreateBucket", Need::Signed),
        Op::HeadBucket => ("HeadBucket", "ListBucket", Need::Bucket(Read)),
        Op::DeleteBucket => ("DeleteBucket", "DeleteBucket", Need::Owner),
        Op::GetBucketLocation => ("GetBucketLocation", "GetBucketLocation", Need::Bucket(Read)),
        Op::GetBucketCors => ("GetBucketCORS", "GetBucketCORS", Need::Owner),
        Op::PutBucketCors => ("PutBucketCORS", "PutBucketCORS", Need::Owner),
        Op::DeleteBucketCors => ("DeleteBucketCORS", "PutBucketCORS", Need::Owner),
        Op::GetBucketAcl => ("GetBucketACL", "GetBucketAcl", Need::Bucket(ReadAcp)),
        Op::PutBucketAcl => ("PutBucketACL", "PutBucketAcl", Need::Bucket(WriteAcp)),
        Op::GetBucketPolicy => ("GetBucketPolicy", "GetBucketPolicy", Need::Owner),
        Op::PutBucketPolicy => ("PutBucketPolicy", "PutBucketPolicy", Need::Owner),
        Op::DeleteBucketPolicy => ("DeleteBucketPolicy", "DeleteBucketPolicy", Need::Owner),
        Op::ListObjects | Op::ListObjectsV2 => ("GetBucket", "ListBucket", Need::Bucket(Read)),
        Op::DeleteObjects => ("DeleteMultipleObjects", "DeleteObject", Need::Bucket(Write)),
        Op::PutObject | Op::CopyObject => ("PutObject", "PutObject", Need::Bucket(Write)),
        Op::GetObject => ("GetObject", "GetObject", Need::Object(Read)),
        Op::HeadObject => ("HeadObject", "GetObject", Need::Object(Read)),
        Op::DeleteObject => ("DeleteObject", "DeleteObject", Need::Bucket(Write)),
        Op::PostObject => ("PostObject", "PutObject", Need::Bucket(Write)),
        Op::InitiateMultipartUpload => {
            ("InitiateMultipartUpload", "PutObject", Need::Bucket(Write))
        }
        Op::UploadPart => ("UploadPart", "PutObject", Need::Bucket(Write)),
        Op::UploadPartCopy => ("UploadPartCopy", "PutObject", Need::Bucket(Write)),
        Op::CompleteMultipartUpload => {
            ("CompleteMultipartUpload", "PutObject", Need::Bucket(Write))
        }
        Op::AbortMultipartUpload => (
            "AbortMultipartUpload",
            "AbortMultipartUpload",
            Need::Bucket(Write),
        ),
        Op::ListParts => ("ListParts", "ListMultipartUploadParts", Need::Bucket(Read)),
        Op::ListMultipartUploads => (
            "ListMultipartUploads",
            "ListBucketMultipartUploads",
            Need::Bucket(Read),
        ),
        Op::AppendObject => ("AppendObject", "PutObject", Need::Bucket(Write)),
        Op::GetObjectAcl => ("GetObjectACL", "GetObjectAcl", Need::Object(ReadAcp)),
        Op::PutObjectAcl => ("PutObjectACL", "PutObjectAcl", Need::Object(WriteAcp)),
        // Never authorized (answered before this step), or refused later for everyone but the
        // owner, who learns it is not implemented.
        Op::Preflight | Op::NotImplemented(_) => ("", "", Need::Owner),
    }
}

/// The action names a policy or a scope may match, lower-case: `cos:getobject`,
/// `s3:getobject`.
pub fn action_names(op: Op) -> Vec<String> {
    let (cos, s3, _) = action(op);
    vec![
        format!("cos:{}", cos.to_ascii_lowercase()),
        format!("s3:{}", s3.to_ascii_lowercase()),
    ]
}

/// Everything about a request the decision looks at.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    pub op: Op,
    /// The bucket named (also for CreateBucket); `None` for service requests.
    pub bucket: Option<&'a str>,
    pub key: Option<&'a str>,
    /// The `prefix` of a listing.
    pub prefix: Option<&'a str>,
    /// The canned ACL the request sets, if any.
    pub acl: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub ip: IpAddr,
    /// Whether the client's connection is TLS. cosd serves plain HTTP only and does not trust
    /// a client-supplied `X-Forwarded-Proto`, so this is `false` today.
    pub secure_transport: bool,
    pub now: SystemTime,
}

impl<'a> Request<'a> {
    /// Describes a routed request from `ip`.
    pub fn new(
        principal: &'a Principal,
        route: &'a Route,
        headers: &'a http::HeaderMap,
        ip: IpAddr,
        now: SystemTime,
    ) -> Self {
        let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Request {
            principal,
            op: route.op,
            bucket: route.bucket.as_deref(),
            key: route.key.as_deref(),
            prefix: route.query.get("prefix"),
            acl: h("x-cos-acl").or_else(|| h("x-amz-acl")),
            referer: h("referer"),
            ip,
            secure_transport: false,
            now,
        }
    }

    fn caller(&self) -> Option<&'a str> {
        match self.principal {
            Principal::Account { account, .. } => Some(account),
            Principal::Anonymous => None,
        }
    }

    fn scope(&self) -> Option<&'a Scope> {
        match self.principal {
            Principal::Account { scope, .. } => scope.as_deref(),
            Principal::Anonymous => None,
        }
    }
}

/// What the decision knows about the bucket.
#[derive(Debug, Clone, Copy)]
pub struct BucketAccess<'a> {
    pub name: &'a str,
    pub owner: &'a str,
    /// `None`: private.
    pub acl: Option<&'a Acl>,
    pub policy: Option<&'a Policy>,
}

fn denied(why: &str) -> ApiError {
    ApiError::with_message(ErrorCode::AccessDenied, format!("Access Denied: {why}."))
}

/// Refuses a request outside a temporary key's scope.
pub fn check_scope(req: &Request<'_>) -> ApiResult<()> {
    let Some(scope) = req.scope() else {
        return Ok(());
    };
    if let Some(only) = &scope.bucket {
        if req.bucket != Some(only.as_str()) || req.op == Op::ListBuckets {
            return Err(denied("the temporary key is limited to another bucket"));
        }
    }
    if let Some(prefix) = &scope.prefix {
        let listing = matches!(
            req.op,
            Op::ListObjects | Op::ListObjectsV2 | Op::ListMultipartUploads
        );
        let within = match req.key {
            Some(key) => key.starts_with(prefix.as_str()),
            // A listing stays in scope when it lists only under the prefix.
            None if listing => req.prefix.is_some_and(|p| p.starts_with(prefix.as_str())),
            None => false,
        };
        if !within {
            return Err(denied("the temporary key is limited to another key prefix"));
        }
    }
    if !scope.actions.is_empty() {
        let names = action_names(req.op);
        let allowed = scope.actions.iter().any(|a| {
            policy::normalize_action(a)
                .is_ok_and(|pattern| names.iter().any(|n| policy::glob(&pattern, n)))
        });
        if !allowed {
            return Err(denied("the temporary key may not perform this action"));
        }
    }
    Ok(())
}

/// Decides a request on an existing bucket. `object_acl` is the object's own ACL (`None` when
/// it inherits the bucket's, does not exist, or the operation is not an object read).
pub fn decide(
    req: &Request<'_>,
    bucket: &BucketAccess<'_>,
    object_acl: Option<&Acl>,
) -> ApiResult<()> {
    check_scope(req)?;
    let caller = req.caller();
    let owner = caller == Some(bucket.owner);
    let (_, _, need) = action(req.op);
    let verdict = bucket.policy.and_then(|p| {
        let resource = match req.key {
            Some(key) => format!("{}/{key}", bucket.name),
            None => bucket.name.to_string(),
        };
        let actions = action_names(req.op);
        p.evaluate(&policy::Context {
            caller,
            actions: &actions,
            resource: &resource,
            object: req.key.is_some(),
            ip: req.ip,
            secure_transport: req.secure_transport,
            now: req.now,
            prefix: req.prefix,
            acl: req.acl,
            referer: req.referer,
        })
    });
    let policy_op = matches!(
        req.op,
        Op::GetBucketPolicy | Op::PutBucketPolicy | Op::DeleteBucketPolicy
    );
    if verdict == Some(Effect::Deny) && !(owner && policy_op) {
        return Err(denied("the bucket policy denies it"));
    }
    if owner || verdict == Some(Effect::Allow) {
        return Ok(());
    }
    let granted = match need {
        Need::Signed | Need::Owner => false,
        Need::Bucket(p) => bucket.acl.is_some_and(|a| a.allows(caller, p)),
        Need::Object(p) => object_acl
            .or(bucket.acl)
            .is_some_and(|a| a.allows(caller, p)),
    };
    if granted {
        Ok(())
    } else {
        Err(ErrorCode::AccessDenied.into())
    }
}

/// Decides a request that names no existing bucket: the service, or a bucket to create.
pub fn decide_unbucketed(req: &Request<'_>) -> ApiResult<()> {
    check_scope(req)?;
    match req.principal {
        Principal::Anonymous => Err(ErrorCode::AccessDenied.into()),
        Principal::Account { .. } => Ok(()),
    }
}

/// Whether the decision for `op` may depend on the object's own ACL.
pub fn needs_object_acl(op: Op) -> bool {
    matches!(action(op).2, Need::Object(_))
}

/// Allows the request, returning the bucket it acts on (`None` for service requests and
/// CreateBucket), or refuses it. A cached bucket costs one bucket lookup; the object's ACL is
/// read only for object reads by someone other than the owner.
pub async fn authorize(
    store: &Store,
    configs: &ConfigCache,
    req: &Request<'_>,
) -> ApiResult<Option<BucketRecord>> {
    let name = match req.bucket {
        Some(name) if req.op != Op::CreateBucket => name,
        _ => return decide_unbucketed(req).map(|()| None),
    };
    // Scope before existence, so a scoped key learns nothing about other buckets.
    check_scope(req)?;
    let record = store
        .meta
        .get_bucket(name)
        .await
        .map_err(crate::ops::store_error)?;
    let Some(record) = record else {
        return Err(match req.principal {
            Principal::Anonymous => ErrorCode::AccessDenied.into(),
            Principal::Account { .. } => ErrorCode::NoSuchBucket.into(),
        });
    };
    let config = configs.get(store, name).await?;
    let object_acl = match req.key {
        Some(key) if needs_object_acl(req.op) && req.caller() != Some(record.owner.as_str()) => {
            object_acl(store, name, key).await?
        }
        _ => None,
    };
    decide(
        req,
        &BucketAccess {
            name,
            owner: &record.owner,
            acl: config.acl.as_ref(),
            policy: config.policy.as_ref(),
        },
        object_acl.as_ref(),
    )?;
    Ok(Some(record))
}

/// The object's own ACL; `None` if it inherits the bucket's or does not exist.
pub async fn object_acl(store: &Store, bucket: &str, key: &str) -> ApiResult<Option<Acl>> {
    let rec = store
        .meta
        .get_object(bucket, key)
        .await
        .map_err(crate::ops::store_error)?;
    Ok(rec.and_then(|r| r.attrs.acl).map(|g| Acl::from_stored(&g)))
}
