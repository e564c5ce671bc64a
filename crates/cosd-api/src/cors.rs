//! CORS: the preflight (`OPTIONS`) decision.
//!
//! Bucket CORS rules are not configurable yet (PUT Bucket cors answers `NotImplemented`), so
//! every well-formed preflight is refused with COS's documented 403 `AccessForbidden`, exactly
//! as COS answers for a bucket without CORS rules.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::response::Reply;
use http::HeaderMap;

/// Answers a preflight request.
pub fn preflight(headers: &HeaderMap) -> ApiResult<Reply> {
    if !headers.contains_key(http::header::ORIGIN) {
        return Err(ApiError::with_message(
            ErrorCode::BadRequest,
            "Insufficient information. Origin request header needed.",
        ));
    }
    if !headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD) {
        return Err(ApiError::with_message(
            ErrorCode::BadRequest,
            "Insufficient information. Access-Control-Request-Method request header needed.",
        ));
    }
    Err(ErrorCode::AccessForbidden.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_without_rules_is_forbidden() {
        let mut h = HeaderMap::new();
        assert_eq!(preflight(&h).unwrap_err().code, ErrorCode::BadRequest);
        h.insert(http::header::ORIGIN, "https://example.com".parse().unwrap());
        assert_eq!(preflight(&h).unwrap_err().code, ErrorCode::BadRequest);
        h.insert(
            http::header::ACCESS_CONTROL_REQUEST_METHOD,
            "PUT".parse().unwrap(),
        );
        assert_eq!(preflight(&h).unwrap_err().code, ErrorCode::AccessForbidden);
    }
}
