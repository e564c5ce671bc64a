//! Authorization: may this principal act on this bucket?
//!
//! Until ACLs and policies arrive, a bucket belongs to the account that created it and only
//! that account may use it; anonymous requests are refused everywhere. An anonymous caller is
//! refused before bucket existence is considered, so it learns nothing about which buckets
//! exist; a signed caller is told `NoSuchBucket`, as COS tells it.

use crate::auth::Principal;
use crate::error::{ApiResult, ErrorCode};
use cosd_store::BucketRecord;

/// What a request acts on.
pub enum Target {
    /// The service, or a bucket being created.
    NoBucket,
    /// An existing bucket (`Some`) or a named one that does not exist (`None`).
    Bucket(Option<BucketRecord>),
}

/// Allows the request, returning the bucket it acts on, or refuses it.
pub fn authorize(principal: &Principal, target: Target) -> ApiResult<Option<BucketRecord>> {
    let Principal::Account { account, .. } = principal else {
        return Err(ErrorCode::AccessDenied.into());
    };
    match target {
        Target::NoBucket => Ok(None),
        Target::Bucket(None) => Err(ErrorCode::NoSuchBucket.into()),
        Target::Bucket(Some(b)) if b.owner != *account => Err(ErrorCode::AccessDenied.into()),
        Target::Bucket(Some(b)) => Ok(Some(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(owner: &str) -> Target {
        Target::Bucket(Some(BucketRecord {
            name: "b-1".into(),
            owner: owner.into(),
            region: "r".into(),
            created_ms: 0,
        }))
    }

    fn code(r: ApiResult<Option<BucketRecord>>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn owner_only_and_anonymous_learns_nothing() {
        let alice = Principal::Account {
            account: "1".into(),
            access_key: "ak".into(),
            scope: None,
        };
        assert!(authorize(&alice, bucket("1")).unwrap().is_some());
        assert!(authorize(&alice, Target::NoBucket).unwrap().is_none());
        assert_eq!(
            code(authorize(&alice, bucket("2"))),
            ErrorCode::AccessDenied
        );
        assert_eq!(
            code(authorize(&alice, Target::Bucket(None))),
            ErrorCode::NoSuchBucket
        );
        let anon = Principal::Anonymous;
        assert_eq!(
            code(authorize(&anon, Target::NoBucket)),
            ErrorCode::AccessDenied
        );
        assert_eq!(code(authorize(&anon, bucket("1"))), ErrorCode::AccessDenied);
        assert_eq!(
            code(authorize(&anon, Target::Bucket(None))),
            ErrorCode::AccessDenied
        );
    }
}
