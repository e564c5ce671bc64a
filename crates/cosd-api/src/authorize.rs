//! Authorization: may this principal act on this bucket?
//!
//! Until ACLs and policies arrive, a bucket belongs to the account that created it and only
//! that account may use it; anonymous requests are refused everywhere.

use crate::auth::Principal;
use crate::error::{ApiResult, ErrorCode};
use cosd_store::BucketRecord;

/// Allows the request or refuses it with `AccessDenied`. `bucket` is the bucket the request
/// names, when it names an existing one.
pub fn authorize(principal: &Principal, bucket: Option<&BucketRecord>) -> ApiResult<()> {
    match (principal, bucket) {
        (Principal::Anonymous, _) => Err(ErrorCode::AccessDenied.into()),
        (Principal::Account { account, .. }, Some(b)) if b.owner != *account => Err(ErrorCode::AccessDenied.into()),
        (Principal::Account { .. }, _) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(owner: &str) -> BucketRecord {
        BucketRecord { name: "b-1".into(), owner: owner.into(), region: "r".into(), created_ms: 0 }
    }

    #[test]
    fn owner_only() {
        let alice = Principal::Account { account: "1".into(), access_key: "ak".into() };
        assert!(authorize(&alice, Some(&bucket("1"))).is_ok());
        assert!(authorize(&alice, None).is_ok());
        assert_eq!(authorize(&alice, Some(&bucket("2"))).unwrap_err().code, ErrorCode::AccessDenied);
        assert_eq!(authorize(&Principal::Anonymous, None).unwrap_err().code, ErrorCode::AccessDenied);
        assert_eq!(authorize(&Principal::Anonymous, Some(&bucket("1"))).unwrap_err().code, ErrorCode::AccessDenied);
    }
}
