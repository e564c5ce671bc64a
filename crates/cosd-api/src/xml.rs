//! XML documents of the COS API: response bodies (serialized) and request bodies (parsed).
//!
//! Element names and order follow the COS documentation; serde with quick-xml does the
//! escaping (quotes become `&quot;`, as in COS's own listings).

use crate::error::{ApiError, ApiResult, ErrorCode};
use serde::{Deserialize, Serialize};

/// The XML declaration COS puts in front of its documents.
pub const DECLARATION: &str = "<?xml version='1.0' encoding='utf-8' ?>\n";

/// Serializes a document with the COS declaration.
pub fn to_document<T: Serialize>(root: &T) -> String {
    let mut out = String::from(DECLARATION);
    out.push_str(&to_element(root));
    out
}

/// Serializes a document's root element alone, for a body whose declaration went out first.
pub fn to_element<T: Serialize>(root: &T) -> String {
    let mut out = String::new();
    let mut ser = quick_xml::se::Serializer::new(&mut out);
    // COS escapes quotes and apostrophes in text (`&quot;` in ETags, `&apos;` in messages).
    ser.set_quote_level(quick_xml::se::QuoteLevel::Full);
    root.serialize(ser)
        .expect("response documents always serialize");
    out
}

/// Parses a request document, mapping any failure to `MalformedXML`.
pub fn from_document<'de, T: Deserialize<'de>>(body: &'de str) -> ApiResult<T> {
    quick_xml::de::from_str(body).map_err(|e| {
        ApiError::with_message(ErrorCode::MalformedXML, format!("The XML you provided was not well-formed or did not validate against our published schema: {e}"))
    })
}

/// POST Object's answer to `success_action_status=201` (the S3 shape; COS documents none).
#[derive(Debug, Serialize)]
#[serde(rename = "PostResponse", rename_all = "PascalCase")]
pub struct PostResponse<'a> {
    pub location: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    #[serde(rename = "ETag")]
    pub etag: &'a str,
}

/// The `<Error>` document.
#[derive(Debug, Serialize)]
#[serde(rename = "Error", rename_all = "PascalCase")]
pub struct ErrorDocument<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub resource: &'a str,
    pub request_id: &'a str,
    pub trace_id: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Owner {
    #[serde(rename = "ID")]
    pub id: String,
    pub display_name: String,
}

/// GET Service.
#[derive(Debug, Serialize)]
#[serde(rename = "ListAllMyBucketsResult", rename_all = "PascalCase")]
pub struct ListAllMyBucketsResult {
    pub owner: Owner,
    pub buckets: Buckets,
}

#[derive(Debug, Serialize)]
pub struct Buckets {
    #[serde(rename = "Bucket")]
    pub bucket: Vec<BucketEntry>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketEntry {
    pub name: String,
    pub location: String,
    pub creation_date: String,
    pub bucket_type: &'static str,
}

/// GET Bucket location.
#[derive(Debug, Serialize)]
#[serde(rename = "LocationConstraint")]
pub struct LocationConstraint {
    #[serde(rename = "$text")]
    pub region: String,
}

/// One object in a listing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Contents {
    pub key: String,
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    pub storage_class: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommonPrefix {
    pub prefix: String,
}

/// GET Bucket (list objects, version 1).
#[derive(Debug, Serialize)]
#[serde(rename = "ListBucketResult", rename_all = "PascalCase")]
pub struct ListBucketResult {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    pub prefix: String,
    pub marker: String,
    pub max_keys: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub common_prefixes: Vec<CommonPrefix>,
    pub contents: Vec<Contents>,
}

/// ListObjectsV2 (`list-type=2`), in the S3 shape.
#[derive(Debug, Serialize)]
#[serde(rename = "ListBucketResult", rename_all = "PascalCase")]
pub struct ListBucketResultV2 {
    pub name: String,
    pub prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub max_keys: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    pub key_count: usize,
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_continuation_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    pub contents: Vec<Contents>,
    pub common_prefixes: Vec<CommonPrefix>,
}

/// PUT Object - Copy.
#[derive(Debug, Serialize)]
#[serde(rename = "CopyObjectResult", rename_all = "PascalCase")]
pub struct CopyObjectResult {
    #[serde(rename = "ETag")]
    pub etag: String,
    #[serde(rename = "CRC64")]
    pub crc64: String,
    pub last_modified: String,
}

/// Initiate Multipart Upload.
#[derive(Debug, Serialize)]
#[serde(rename = "InitiateMultipartUploadResult", rename_all = "PascalCase")]
pub struct InitiateMultipartUploadResult {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}

/// Complete Multipart Upload request. Elements clients add (`ChecksumCRC32`, …) are ignored.
#[derive(Debug, Deserialize)]
pub struct CompleteMultipartUpload {
    #[serde(default, rename = "Part")]
    pub parts: Vec<CompletedPart>,
}

#[derive(Debug, Deserialize)]
pub struct CompletedPart {
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// Complete Multipart Upload response; `xmlns` is COS's or S3's namespace, by dialect.
#[derive(Debug, Serialize)]
#[serde(rename = "CompleteMultipartUploadResult", rename_all = "PascalCase")]
pub struct CompleteMultipartUploadResult {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    pub location: String,
    pub bucket: String,
    pub key: String,
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// Upload Part - Copy.
#[derive(Debug, Serialize)]
#[serde(rename = "CopyPartResult", rename_all = "PascalCase")]
pub struct CopyPartResult {
    #[serde(rename = "ETag")]
    pub etag: String,
    pub last_modified: String,
    #[serde(rename = "CRC64")]
    pub crc64: String,
}

/// List Parts (COS spells `Encoding-type` with a lower-case `t` here).
#[derive(Debug, Serialize)]
#[serde(rename = "ListPartsResult", rename_all = "PascalCase")]
pub struct ListPartsResult {
    pub bucket: String,
    #[serde(rename = "Encoding-type", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    pub key: String,
    pub upload_id: String,
    pub initiator: Owner,
    pub owner: Owner,
    pub part_number_marker: u32,
    #[serde(rename = "Part")]
    pub parts: Vec<PartEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_part_number_marker: Option<u32>,
    pub storage_class: String,
    pub max_parts: usize,
    pub is_truncated: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PartEntry {
    pub part_number: u32,
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    pub size: u64,
}

/// List Multipart Uploads.
#[derive(Debug, Serialize)]
#[serde(rename = "ListMultipartUploadsResult", rename_all = "PascalCase")]
pub struct ListMultipartUploadsResult {
    pub bucket: String,
    #[serde(rename = "Encoding-Type", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    pub key_marker: String,
    pub upload_id_marker: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_key_marker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_upload_id_marker: Option<String>,
    pub max_uploads: usize,
    pub is_truncated: bool,
    pub prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(rename = "Upload")]
    pub uploads: Vec<UploadEntry>,
    pub common_prefixes: Vec<CommonPrefix>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UploadEntry {
    pub key: String,
    pub upload_id: String,
    pub storage_class: String,
    pub initiator: Owner,
    pub owner: Owner,
    pub initiated: String,
}

/// DELETE Multiple Objects request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Delete {
    #[serde(default)]
    pub quiet: Option<bool>,
    #[serde(default, rename = "Object")]
    pub objects: Vec<ObjectIdentifier>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectIdentifier {
    pub key: String,
    #[serde(default)]
    pub version_id: Option<String>,
}

/// DELETE Multiple Objects response.
#[derive(Debug, Serialize)]
#[serde(rename = "DeleteResult")]
pub struct DeleteResult {
    #[serde(rename = "$value")]
    pub entries: Vec<DeleteEntry>,
}

#[derive(Debug, Serialize)]
pub enum DeleteEntry {
    Deleted {
        #[serde(rename = "Key")]
        key: String,
    },
    Error {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Code")]
        code: &'static str,
        #[serde(rename = "Message")]
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_document_matches_cos_shape() {
        let doc = to_document(&ErrorDocument {
            code: "AccessForbidden",
            message: "resource's CORS spec",
            resource: "b-1.cos.r.myqcloud.com/k",
            request_id: "rid",
            trace_id: "tid",
        });
        assert_eq!(
            doc,
            "<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>AccessForbidden</Code><Message>resource&apos;s CORS spec</Message><Resource>b-1.cos.r.myqcloud.com/k</Resource><RequestId>rid</RequestId><TraceId>tid</TraceId></Error>"
        );
    }

    #[test]
    fn listing_escapes_etag_quotes_and_keeps_order() {
        let doc = to_document(&ListBucketResult {
            name: "b-1".into(),
            encoding_type: None,
            prefix: String::new(),
            marker: String::new(),
            max_keys: 1000,
            delimiter: Some("/".into()),
            is_truncated: false,
            next_marker: None,
            common_prefixes: vec![CommonPrefix {
                prefix: "d/".into(),
            }],
            contents: vec![Contents {
                key: "a&b".into(),
                last_modified: "2020-12-10T03:37:30.000Z".into(),
                etag: "\"abc\"".into(),
                size: 3,
                owner: Some(Owner {
                    id: "1250000000".into(),
                    display_name: "1250000000".into(),
                }),
                storage_class: "STANDARD".into(),
            }],
        });
        assert!(doc.contains("<Name>b-1</Name><Prefix/><Marker/><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"), "{doc}");
        assert!(doc.contains("<Key>a&amp;b</Key>"), "{doc}");
        assert!(doc.contains("<ETag>&quot;abc&quot;</ETag>"), "{doc}");
    }

    #[test]
    fn complete_request_in_cos_and_s3_forms() {
        let cos: CompleteMultipartUpload = from_document(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>",
        )
        .unwrap();
        assert_eq!(cos.parts.len(), 2);
        assert_eq!(
            (cos.parts[0].part_number, cos.parts[0].etag.as_str()),
            (1, "\"a\"")
        );
        let s3: CompleteMultipartUpload = from_document(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ETag>&quot;c&quot;</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32><PartNumber>3</PartNumber></Part></CompleteMultipartUpload>",
        )
        .unwrap();
        assert_eq!(
            (s3.parts[0].part_number, s3.parts[0].etag.as_str()),
            (3, "\"c\"")
        );
        assert!(
            from_document::<CompleteMultipartUpload>("<CompleteMultipartUpload/>")
                .unwrap()
                .parts
                .is_empty()
        );
        for bad in [
            "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part>",
        ] {
            assert_eq!(
                from_document::<CompleteMultipartUpload>(bad).unwrap_err().code,
                ErrorCode::MalformedXML,
                "{bad}"
            );
        }
    }

    #[test]
    fn complete_result_carries_the_namespace_and_an_escaped_etag() {
        let doc = to_element(&CompleteMultipartUploadResult {
            xmlns: "http://www.qcloud.com/document/product/436/7751",
            location: "http://b-1.cos.r.myqcloud.com/k".into(),
            bucket: "b-1".into(),
            key: "k".into(),
            etag: "\"abc-3\"".into(),
        });
        assert_eq!(doc, "<CompleteMultipartUploadResult xmlns=\"http://www.qcloud.com/document/product/436/7751\"><Location>http://b-1.cos.r.myqcloud.com/k</Location><Bucket>b-1</Bucket><Key>k</Key><ETag>&quot;abc-3&quot;</ETag></CompleteMultipartUploadResult>");
    }

    #[test]
    fn delete_request_and_result() {
        let d: Delete = from_document(
            "<?xml version=\"1.0\"?><Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key><VersionId>v</VersionId></Object></Delete>",
        )
        .unwrap();
        assert_eq!(d.quiet, Some(true));
        assert_eq!(d.objects.len(), 2);
        assert_eq!(d.objects[1].key, "b&c");
        assert_eq!(d.objects[1].version_id.as_deref(), Some("v"));
        assert_eq!(
            from_document::<Delete>("<Delete><Object>")
                .unwrap_err()
                .code,
            ErrorCode::MalformedXML
        );

        let doc = to_document(&DeleteResult {
            entries: vec![
                DeleteEntry::Deleted { key: "a".into() },
                DeleteEntry::Error {
                    key: "b".into(),
                    code: "InternalError",
                    message: "m".into(),
                },
            ],
        });
        assert!(doc.ends_with("<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>InternalError</Code><Message>m</Message></Error></DeleteResult>"), "{doc}");
        assert!(to_document(&DeleteResult { entries: vec![] }).ends_with("<DeleteResult/>"));
    }
}
