//! Building blocks shared by COS v5 and SigV4: the one percent-encoding both protocols use,
//! query splitting, header-value access, time conversion and HMAC helpers whose comparisons run
//! in constant time.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest `Authorization` value accepted. Real signatures are a few hundred bytes; the bound
/// keeps a hostile header from costing more than a fixed amount of parsing.
pub(crate) const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;

/// Most header or parameter names one signature may list (`q-header-list`, `SignedHeaders`, …).
/// hyper accepts at most 100 request headers, so honest clients stay far below this.
pub(crate) const MAX_SIGNED_NAMES: usize = 128;

/// Everything but the RFC 3986 unreserved set `A-Za-z0-9-_.~` is escaped. This is COS's
/// `UrlEncode` (GO `safeURLEncode`, JS `camSafeUrlEncode`) and AWS's `UriEncode` alike.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// [`UNRESERVED`] that also keeps `/`: AWS's encoding of the canonical URI.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

pub(crate) type HmacSha1 = Hmac<Sha1>;
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Percent-encodes every byte outside `A-Za-z0-9-_.~`, with upper-case hex as all SDKs send.
pub fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED).to_string()
}

/// [`encode`], but keeping `/` so path segments stay apart.
pub fn encode_path(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED_AND_SLASH).to_string()
}

/// Percent-decodes (hex digits of either case, as the JS SDK writes `%3b`). Malformed escapes
/// stay as they are, which is what every signer that produced them would have signed.
pub(crate) fn decode(s: &str) -> Cow<'_, [u8]> {
    percent_decode_str(s).into()
}

/// Decodes a query-string key or value: `+` is a space (the form encoding that clients built
/// on Python's `requests` send, e.g. the COS SDK's `prefix=a+b`), then percent-decoding. The
/// routing step reads the query the same way, so what is signed is what is acted on.
pub(crate) fn decode_query(s: &str) -> Vec<u8> {
    percent_decode_str(&s.replace('+', " ")).collect()
}

/// [`decode`] into text for values that must be text (keys, times, names); invalid UTF-8 becomes
/// U+FFFD, which then fails whatever check the value is for.
pub(crate) fn decode_str(s: &str) -> Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

/// Splits a raw query string into its `key=value` pairs as sent (still percent-encoded). A pair
/// without `=` has an empty value: `?acl` is `acl=`, which is how both COS and AWS sign it.
pub(crate) fn raw_query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Sorts encoded `(key, value)` pairs by key, then value, and joins them as `k=v&k=v`: the
/// shape of COS's HttpParameters and HttpHeaders and of SigV4's canonical query string.
pub(crate) fn join_sorted_pairs(pairs: &mut [(String, String)]) -> String {
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// A header as text, if present and visible ASCII.
pub(crate) fn header_str<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `Host` the client addressed: the header, or the URI authority (HTTP/2 `:authority`).
pub(crate) fn request_host<'a>(head: &super::RequestHead<'a>) -> Option<&'a [u8]> {
    head.headers
        .get(http::header::HOST)
        .map(|v| v.as_bytes())
        .or_else(|| head.uri.authority().map(|a| a.as_str().as_bytes()))
}

/// Seconds since the Unix epoch; a clock before 1970 counts as 0.
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A keyed MAC over `parts` in order.
pub(crate) fn mac<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        m.update(part);
    }
    m
}

/// `HMAC-SHA256(key, msg)`, the step of SigV4's key derivation and signatures.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    mac::<HmacSha256>(key, &[msg])
        .finalize()
        .into_bytes()
        .into()
}

/// Whether `provided_hex` is the hex form of `expected`'s tag. The comparison is constant-time
/// (`verify_slice`), so timing does not reveal how many leading bytes of a forgery were right.
pub(crate) fn mac_matches_hex<M: Mac>(expected: M, provided_hex: &str) -> bool {
    match hex::decode(provided_hex) {
        Ok(provided) => expected.verify_slice(&provided).is_ok(),
        Err(_) => false,
    }
}

/// Lower-case hex SHA-256, the digest form SigV4 strings-to-sign carry.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_leaves_only_unreserved_bytes() {
        assert_eq!(encode(b"a-Z_0.~"), "a-Z_0.~");
        assert_eq!(
            encode(b"a b/c=d;e!'()*+"),
            "a%20b%2Fc%3Dd%3Be%21%27%28%29%2A%2B"
        );
        assert_eq!(encode("腾".as_bytes()), "%E8%85%BE");
        assert_eq!(encode_path(b"/a b/c$"), "/a%20b/c%24");
    }

    #[test]
    fn decoding_accepts_either_hex_case_and_keeps_bad_escapes() {
        assert_eq!(&*decode("a%3bb%3Bc"), b"a;b;c");
        assert_eq!(&*decode("100%"), b"100%");
        assert_eq!(&*decode("%zz+"), b"%zz+");
    }

    #[test]
    fn query_pairs_treat_bare_keys_as_empty_values() {
        let pairs: Vec<_> = raw_query_pairs("acl&a=1&&b=x=y&c=").collect();
        assert_eq!(pairs, [("acl", ""), ("a", "1"), ("b", "x=y"), ("c", "")]);
    }

    #[test]
    fn pairs_sort_by_key_then_value() {
        let mut pairs =
            [("b", "1"), ("a", "2"), ("a", "1")].map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(join_sorted_pairs(&mut pairs), "a=1&a=2&b=1");
        assert_eq!(join_sorted_pairs(&mut []), "");
    }

    #[test]
    fn mac_check_rejects_bad_hex_and_wrong_tags() {
        let tag = hex::encode(hmac_sha256(b"k", b"m"));
        assert!(mac_matches_hex(mac::<HmacSha256>(b"k", &[b"m"]), &tag));
        assert!(mac_matches_hex(
            mac::<HmacSha256>(b"k", &[b"m"]),
            &tag.to_uppercase()
        ));
        assert!(!mac_matches_hex(mac::<HmacSha256>(b"k", &[b"n"]), &tag));
        assert!(!mac_matches_hex(
            mac::<HmacSha256>(b"k", &[b"m"]),
            &tag[..62]
        ));
        assert!(!mac_matches_hex(mac::<HmacSha256>(b"k", &[b"m"]), "zz"));
    }
}
