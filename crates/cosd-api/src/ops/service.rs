//! GET Service: the buckets of the signed-in account.

use super::{iso8601, store_error, Ctx};
use crate::error::ApiResult;
use crate::response::Reply;
use crate::xml;

pub async fn list_buckets(ctx: &Ctx<'_>) -> ApiResult<Reply> {
    let account = ctx.account();
    let region_filter = ctx.route.query.get("region");
    let buckets = ctx.store.meta.list_buckets().await.map_err(store_error)?;
    let entries = buckets
        .into_iter()
        .filter(|b| b.owner == account && region_filter.is_none_or(|r| r == b.region))
        .map(|b| xml::BucketEntry {
            name: b.name,
            location: b.region,
            creation_date: iso8601(b.created_ms),
            bucket_type: "cos",
        })
        .collect();
    Ok(Reply::xml(xml::to_document(&xml::ListAllMyBucketsResult {
        owner: owner_of(account),
        buckets: xml::Buckets { bucket: entries },
    })))
}

/// The owner element of an account, in COS's CAM form.
pub fn owner_of(account: &str) -> xml::Owner {
    xml::Owner {
        id: format!("qcs::cam::uin/{account}:uin/{account}"),
        display_name: account.to_string(),
    }
}
