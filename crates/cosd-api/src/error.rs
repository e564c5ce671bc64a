//! COS error codes and the error value every step of a request can fail with.
//!
//! The response step turns an [`ApiError`] into the COS error document (`Code`, `Message`,
//! `Resource`, `RequestId`, `TraceId`) with the code's HTTP status.

use http::StatusCode;
use std::borrow::Cow;

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $status:literal, $message:literal),)*) => {
        /// The COS error codes cosd answers with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            /// The `Code` element.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::from_u16($status).expect("valid status"),)*
                }
            }
            /// The message used when the failing step has nothing more specific to say.
            pub fn default_message(self) -> &'static str {
                match self { $(ErrorCode::$variant => $message,)* }
            }
        }
    };
}

error_codes! {
    AccessDenied => ("AccessDenied", 403, "Access Denied."),
    AccessForbidden => ("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec"),
    AuthorizationHeaderMalformed => ("AuthorizationHeaderMalformed", 400, "The authorization header is malformed."),
    BadDigest => ("BadDigest", 400, "The Content-MD5 you specified did not match what we received."),
    BadRequest => ("BadRequest", 400, "Bad request."),
    BucketAlreadyExists => ("BucketAlreadyExists", 409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."),
    BucketAlreadyOwnedByYou => ("BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it."),
    BucketNotEmpty => ("BucketNotEmpty", 409, "The bucket you tried to delete is not empty."),
    EntityTooLarge => ("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."),
    EntityTooSmall => ("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."),
    ExpiredToken => ("ExpiredToken", 400, "The provided token has expired."),
    IncompleteBody => ("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header."),
    IncorrectNumberOfFilesInPostRequest => ("IncorrectNumberOfFilesInPostRequest", 400, "POST requires exactly one file upload per request."),
    InternalError => ("InternalError", 500, "We encountered an internal error. Please try again."),
    InvalidAccessKeyId => ("InvalidAccessKeyId", 403, "The access key Id you provided does not exist in our records."),
    InvalidArgument => ("InvalidArgument", 400, "Invalid Argument"),
    InvalidBucketName => ("InvalidBucketName", 400, "The specified bucket is not valid."),
    InvalidCopySource => ("InvalidCopySource", 400, "The copy source is not valid."),
    InvalidDelimiter => ("InvalidDelimiter", 400, "The delimiter must be a single character."),
    InvalidDigest => ("InvalidDigest", 400, "The Content-MD5 you specified is not valid."),
    InvalidPolicyDocument => ("InvalidPolicyDocument", 400, "You must provide condition if you specify a policy in post object request."),
    InvalidPart => ("InvalidPart", 400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."),
    InvalidPartOrder => ("InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be specified in order by part number."),
    InvalidRange => ("InvalidRange", 416, "The requested range is not satisfiable."),
    InvalidRequest => ("InvalidRequest", 400, "Invalid request."),
    InvalidURI => ("InvalidURI", 400, "Couldn't parse the specified URI."),
    KeyTooLong => ("KeyTooLong", 400, "Your key is too long."),
    MalformedPOSTRequest => ("MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data."),
    MalformedPolicy => ("MalformedPolicy", 400, "The policy is not valid."),
    MalformedXML => ("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema."),
    MetadataTooLarge => ("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size."),
    MethodNotAllowed => ("MethodNotAllowed", 405, "The specified method is not allowed against this resource."),
    MissingContentLength => ("MissingContentLength", 411, "You must provide the Content-Length HTTP header."),
    MissingRequestBodyError => ("MissingRequestBodyError", 400, "Request body is empty."),
    NoSuchBucket => ("NoSuchBucket", 404, "The specified bucket does not exist."),
    NoSuchCopySource => ("NoSuchCopySource", 404, "The specified copy source does not exist."),
    NoSuchUpload => ("NoSuchUpload", 404, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."),
    NoSuchBucketPolicy => ("NoSuchBucketPolicy", 404, "The bucket policy does not exist."),
    NoSuchKey => ("NoSuchKey", 404, "The specified key does not exist."),
    NoSuchVersion => ("NoSuchVersion", 404, "The specified version does not exist."),
    NotImplemented => ("NotImplemented", 501, "A header or query you provided implies functionality that is not implemented."),
    ObjectNotAppendable => ("ObjectNotAppendable", 409, "The operation is not valid for the current state of the object."),
    PositionNotEqualToLength => ("PositionNotEqualToLength", 409, "The position of the append is not equal to the length of the object."),
    PreconditionFailed => ("PreconditionFailed", 412, "Precondition not match."),
    RequestTimeTooSkewed => ("RequestTimeTooSkewed", 403, "The difference between the request time and the server's time is too large."),
    RequestExpired => ("AccessDenied", 403, "Request has expired"),
    TooManyBuckets => ("TooManyBuckets", 400, "You have attempted to create more buckets than allowed."),
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", 403, "The Signature you specified is invalid."),
    XAmzContentSHA256Mismatch => ("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."),
    XMLSizeLimit => ("XMLSizeLimit", 400, "The length of XML exceeds the limit."),
    NoSuchCORSConfiguration => ("NoSuchCORSConfiguration", 404, "The specified CORS configuration is not found"),
}

/// A failed request: the code plus, when the failing step knows more, a specific message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        ApiError {
            code,
            message: Cow::Borrowed(code.default_message()),
        }
    }

    pub fn with_message(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// Wraps this error so it can travel through a body stream (whose items are `io::Error`)
    /// and be recovered by [`ApiError::from_io`].
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }

    /// Recovers an [`ApiError`] carried by an `io::Error`; any other I/O failure of a request
    /// body means the client's body did not arrive whole.
    pub fn from_io(err: std::io::Error) -> Self {
        if err.get_ref().is_some_and(|e| e.is::<ApiError>()) {
            let inner = err.into_inner().expect("checked above");
            return *inner.downcast::<ApiError>().expect("checked above");
        }
        ApiError::with_message(
            ErrorCode::IncompleteBody,
            format!("The request body could not be read: {err}"),
        )
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_survives_a_trip_through_io_error() {
        let e = ApiError::new(ErrorCode::SignatureDoesNotMatch).into_io();
        assert_eq!(ApiError::from_io(e).code, ErrorCode::SignatureDoesNotMatch);
        let plain = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof");
        assert_eq!(ApiError::from_io(plain).code, ErrorCode::IncompleteBody);
    }

    #[test]
    fn codes_carry_cos_statuses() {
        assert_eq!(ErrorCode::AccessForbidden.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            ErrorCode::InvalidRange.status(),
            StatusCode::RANGE_NOT_SATISFIABLE
        );
        assert_eq!(ErrorCode::RequestExpired.as_str(), "AccessDenied");
    }
}
