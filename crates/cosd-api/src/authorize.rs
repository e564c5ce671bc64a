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
        // The plain message: saying a policy denied it would tell an anonymous caller that the
        // bucket exists.
        return Err(ErrorCode::AccessDenied.into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{canned, Grant, Grantee, Level, Requested};
    use crate::route::Query;
    use std::sync::Arc;

    const BUCKET: &str = "b-100";
    const OWNER: &str = "100";

    fn account(id: &str) -> Principal {
        Principal::Account {
            account: id.into(),
            access_key: format!("AK{id}"),
            scope: None,
        }
    }

    fn scoped(scope: Scope) -> Principal {
        Principal::Account {
            account: OWNER.into(),
            access_key: "tmp".into(),
            scope: Some(Arc::new(scope)),
        }
    }

    fn route(op: Op, key: Option<&str>, prefix: Option<&str>) -> Route {
        Route {
            op,
            bucket: Some(BUCKET.into()),
            key: key.map(str::to_string),
            query: Query::parse(prefix.map(|p| format!("prefix={p}")).as_deref()).unwrap(),
            host: "h".into(),
        }
    }

    fn acl(name: &str) -> Acl {
        match canned(name, Level::Bucket).unwrap() {
            Requested::Set(a) => a,
            Requested::Inherit => unreachable!(),
        }
    }

    /// A request from loopback, now.
    fn request<'a>(who: &'a Principal, r: &'a Route, headers: &'a http::HeaderMap) -> Request<'a> {
        Request::new(
            who,
            r,
            headers,
            "127.0.0.1".parse().unwrap(),
            SystemTime::now(),
        )
    }

    fn bucket_access<'a>(acl: Option<&'a Acl>, policy: Option<&'a Policy>) -> BucketAccess<'a> {
        BucketAccess {
            name: BUCKET,
            owner: OWNER,
            acl,
            policy,
        }
    }

    fn grant(id: &str, permission: Permission) -> Acl {
        Acl {
            grants: vec![Grant {
                grantee: Grantee::Account(id.into()),
                permission,
            }],
        }
    }

    /// Whether `who` may do `op` (on key `k` for object operations).
    fn allowed(
        who: &Principal,
        op: Op,
        bucket_acl: Option<&Acl>,
        policy: Option<&Policy>,
        object_acl: Option<&Acl>,
    ) -> bool {
        let key = matches!(action(op).2, Need::Object(_)).then_some("k");
        let r = route(op, key, None);
        let headers = http::HeaderMap::new();
        let req = request(who, &r, &headers);
        let bucket = bucket_access(bucket_acl, policy);
        match decide(&req, &bucket, object_acl) {
            Ok(()) => true,
            Err(e) => {
                assert_eq!(e.code, ErrorCode::AccessDenied);
                false
            }
        }
    }

    const READS: &[Op] = &[
        Op::HeadBucket,
        Op::GetBucketLocation,
        Op::ListObjects,
        Op::ListObjectsV2,
        Op::ListMultipartUploads,
        Op::ListParts,
        Op::GetObject,
        Op::HeadObject,
    ];
    const WRITES: &[Op] = &[
        Op::PutObject,
        Op::CopyObject,
        Op::DeleteObject,
        Op::DeleteObjects,
        Op::PostObject,
        Op::InitiateMultipartUpload,
        Op::UploadPart,
        Op::UploadPartCopy,
        Op::CompleteMultipartUpload,
        Op::AbortMultipartUpload,
        Op::AppendObject,
    ];
    const OWNER_ONLY: &[Op] = &[
        Op::DeleteBucket,
        Op::GetBucketCors,
        Op::PutBucketCors,
        Op::DeleteBucketCors,
        Op::GetBucketPolicy,
        Op::PutBucketPolicy,
        Op::DeleteBucketPolicy,
        Op::NotImplemented("BucketTagging"),
    ];

    #[test]
    fn owner_may_do_everything_others_nothing_on_a_private_bucket() {
        for op in READS.iter().chain(WRITES).chain(OWNER_ONLY) {
            assert!(allowed(&account(OWNER), *op, None, None, None), "{op:?}");
            assert!(!allowed(&account("200"), *op, None, None, None), "{op:?}");
            assert!(
                !allowed(&Principal::Anonymous, *op, None, None, None),
                "{op:?}"
            );
        }
    }

    #[test]
    fn canned_acls_open_reads_then_writes_never_config() {
        let public_read = acl("public-read");
        let public_rw = acl("public-read-write");
        for who in [Principal::Anonymous, account("200")] {
            for op in READS {
                assert!(allowed(&who, *op, Some(&public_read), None, None), "{op:?}");
            }
            for op in WRITES {
                assert!(
                    !allowed(&who, *op, Some(&public_read), None, None),
                    "{op:?}"
                );
                assert!(allowed(&who, *op, Some(&public_rw), None, None), "{op:?}");
            }
            for op in OWNER_ONLY
                .iter()
                .chain(&[Op::GetBucketAcl, Op::PutBucketAcl])
            {
                assert!(!allowed(&who, *op, Some(&public_rw), None, None), "{op:?}");
            }
        }
        let authenticated = acl("authenticated-read");
        assert!(allowed(
            &account("200"),
            Op::GetObject,
            Some(&authenticated),
            None,
            None
        ));
        assert!(!allowed(
            &Principal::Anonymous,
            Op::GetObject,
            Some(&authenticated),
            None,
            None
        ));
    }

    #[test]
    fn grants_give_exactly_their_permission() {
        let reader = grant("200", Permission::Read);
        assert!(allowed(
            &account("200"),
            Op::ListObjects,
            Some(&reader),
            None,
            None
        ));
        assert!(!allowed(
            &account("300"),
            Op::ListObjects,
            Some(&reader),
            None,
            None
        ));
        assert!(!allowed(
            &account("200"),
            Op::PutObject,
            Some(&reader),
            None,
            None
        ));
        assert!(!allowed(
            &account("200"),
            Op::GetBucketAcl,
            Some(&reader),
            None,
            None
        ));
        let acp = grant("200", Permission::ReadAcp);
        assert!(allowed(
            &account("200"),
            Op::GetBucketAcl,
            Some(&acp),
            None,
            None
        ));
        assert!(!allowed(
            &account("200"),
            Op::PutBucketAcl,
            Some(&acp),
            None,
            None
        ));
        let full = grant("200", Permission::FullControl);
        for op in READS
            .iter()
            .chain(WRITES)
            .chain(&[Op::GetBucketAcl, Op::PutBucketAcl])
        {
            assert!(
                allowed(&account("200"), *op, Some(&full), None, None),
                "{op:?}"
            );
        }
        for op in OWNER_ONLY {
            assert!(
                !allowed(&account("200"), *op, Some(&full), None, None),
                "{op:?}"
            );
        }
    }

    #[test]
    fn an_objects_own_acl_replaces_the_buckets_for_object_reads() {
        let public_read = acl("public-read");
        let private = Acl::default();
        let anon = Principal::Anonymous;
        assert!(!allowed(
            &anon,
            Op::GetObject,
            Some(&public_read),
            None,
            Some(&private)
        ));
        assert!(allowed(
            &anon,
            Op::GetObject,
            None,
            None,
            Some(&public_read)
        ));
        assert!(allowed(
            &anon,
            Op::HeadObject,
            None,
            None,
            Some(&public_read)
        ));
        // Object ACLs govern reads of that object, not writes to the bucket.
        assert!(!allowed(
            &anon,
            Op::PutObject,
            None,
            None,
            Some(&public_read)
        ));
        assert!(!allowed(
            &anon,
            Op::ListObjects,
            None,
            None,
            Some(&public_read)
        ));
        let acp = grant("200", Permission::WriteAcp);
        assert!(allowed(
            &account("200"),
            Op::PutObjectAcl,
            None,
            None,
            Some(&acp)
        ));
        assert!(!allowed(
            &account("200"),
            Op::GetObjectAcl,
            None,
            None,
            Some(&acp)
        ));
    }

    #[test]
    fn policy_deny_wins_over_owner_and_acl_but_not_on_the_policy_itself() {
        let deny_all = Policy::parse(
            br#"{"Statement":[{"Principal":"*","Effect":"deny","Action":"*","Resource":"*"}]}"#,
            BUCKET,
        )
        .unwrap();
        let public_rw = acl("public-read-write");
        for op in READS.iter().chain(WRITES) {
            assert!(
                !allowed(&account(OWNER), *op, None, Some(&deny_all), None),
                "{op:?}"
            );
            assert!(!allowed(
                &Principal::Anonymous,
                *op,
                Some(&public_rw),
                Some(&deny_all),
                None
            ));
        }
        for op in [
            Op::GetBucketPolicy,
            Op::PutBucketPolicy,
            Op::DeleteBucketPolicy,
        ] {
            assert!(
                allowed(&account(OWNER), op, None, Some(&deny_all), None),
                "{op:?}"
            );
        }
    }

    #[test]
    fn policy_allow_opens_what_it_names() {
        let p = Policy::parse(
            br#"{"Statement":[{"Principal":{"qcs":["qcs::cam::uin/200:uin/200"]},"Effect":"allow","Action":["name/cos:GetObject","name/cos:PutBucketCORS"],"Resource":["qcs::cos:r:uid/100:b-100/*"]}]}"#,
            BUCKET,
        )
        .unwrap();
        assert!(allowed(
            &account("200"),
            Op::GetObject,
            None,
            Some(&p),
            None
        ));
        assert!(allowed(
            &account("200"),
            Op::PutBucketCors,
            None,
            Some(&p),
            None
        ));
        assert!(!allowed(
            &account("200"),
            Op::PutObject,
            None,
            Some(&p),
            None
        ));
        assert!(!allowed(
            &account("300"),
            Op::GetObject,
            None,
            Some(&p),
            None
        ));
        assert!(!allowed(
            &Principal::Anonymous,
            Op::GetObject,
            None,
            Some(&p),
            None
        ));
    }

    #[test]
    fn temporary_key_scope_limits_even_the_owner() {
        let in_bucket = scoped(Scope {
            bucket: Some(BUCKET.into()),
            prefix: Some("home/".into()),
            actions: vec!["name/cos:GetObject".into(), "cos:GetBucket".into()],
        });
        let check = |op, key: Option<&str>, prefix: Option<&str>| {
            let r = route(op, key, prefix);
            let headers = http::HeaderMap::new();
            let req = request(&in_bucket, &r, &headers);
            let bucket = bucket_access(None, None);
            decide(&req, &bucket, None).is_ok()
        };
        assert!(check(Op::GetObject, Some("home/a"), None));
        assert!(!check(Op::GetObject, Some("etc/a"), None));
        assert!(!check(Op::PutObject, Some("home/a"), None));
        assert!(check(Op::ListObjects, None, Some("home/x")));
        assert!(!check(Op::ListObjects, None, None));
        assert!(!check(Op::GetBucketAcl, None, None));
        let mut other = route(Op::GetObject, Some("home/a"), None);
        other.bucket = Some("c-100".into());
        let headers = http::HeaderMap::new();
        let req = request(&in_bucket, &other, &headers);
        assert_eq!(check_scope(&req).unwrap_err().code, ErrorCode::AccessDenied);
        let service = Route {
            bucket: None,
            op: Op::ListBuckets,
            ..route(Op::ListBuckets, None, None)
        };
        let req = request(&in_bucket, &service, &headers);
        assert!(decide_unbucketed(&req).is_err());
        let other_account = account("200");
        let req = request(&other_account, &service, &headers);
        assert!(decide_unbucketed(&req).is_ok());
        let req = request(&Principal::Anonymous, &service, &headers);
        assert!(decide_unbucketed(&req).is_err());
    }

    #[test]
    fn every_operation_has_action_names() {
        for op in READS.iter().chain(WRITES).chain(OWNER_ONLY).chain(&[
            Op::ListBuckets,
            Op::CreateBucket,
            Op::GetBucketAcl,
            Op::PutBucketAcl,
            Op::GetObjectAcl,
            Op::PutObjectAcl,
        ]) {
            if let Op::NotImplemented(_) = op {
                continue;
            }
            let (cos, s3, _) = action(*op);
            assert!(!cos.is_empty() && !s3.is_empty(), "{op:?}");
        }
        assert_eq!(
            action_names(Op::HeadObject),
            ["cos:headobject", "s3:getobject"]
        );
    }
}
