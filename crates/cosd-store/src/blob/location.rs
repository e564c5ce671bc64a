//! Where blobs live (`cosd serve --blobs`), parsed from one URL-style string:
//!
//! - a plain path (`/mnt/shared/blobs`, `./blobs`): [`super::FsBlobs`] on that directory;
//! - `fs:///abs/dir[?option=value…]`: OpenDAL's file-system service rooted there;
//! - `s3://bucket[/root][?option=value…]`: OpenDAL's S3 service;
//! - `opendal:<scheme>[?option=value…]`: any OpenDAL service compiled in, options as OpenDAL
//!   names them.
//!
//! Option values may hold secrets, so neither `Debug` nor `Display` ever shows them.

use percent_encoding::percent_decode_str;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Longest accepted location string: a URL, not a document.
const MAX_LEN: usize = 8 * 1024;

/// A parsed `--blobs` value.
#[derive(Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// A directory served by [`super::FsBlobs`].
    Dir(PathBuf),
    /// An OpenDAL service and its options.
    OpenDal(OpenDalConfig),
}

/// An OpenDAL service: its scheme and the options its builder takes.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenDalConfig {
    pub scheme: String,
    pub options: BTreeMap<String, String>,
}

impl FromStr for BlobLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("the blob location is empty".into());
        }
        if s.len() > MAX_LEN {
            return Err(format!("the blob location is longer than {MAX_LEN} bytes"));
        }
        let Some((scheme, rest)) = split_scheme(s) else {
            return Ok(BlobLocation::Dir(PathBuf::from(s)));
        };
        let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut options = parse_query(query)?;
        let mut set = |key: &str, value: String| match options.insert(key.into(), value) {
            Some(_) => Err(format!(
                "option {key} is given twice in the blob location {}",
                redacted_scheme_and_target(s)
            )),
            None => Ok(()),
        };
        let scheme = match scheme {
            "fs" => {
                let root = target.strip_prefix("//").filter(|r| r.starts_with('/'));
                let Some(root) = root else {
                    return Err(
                        "an fs blob location names an absolute directory: fs:///path/to/dir".into(),
                    );
                };
                set("root", decode(root)?)?;
                "fs"
            }
            "s3" => {
                let path = target.strip_prefix("//").unwrap_or_default();
                let (bucket, root) = path.split_once('/').unwrap_or((path, ""));
                if bucket.is_empty() {
                    return Err(
                        "an s3 blob location names a bucket: s3://bucket[/root]?endpoint=…".into(),
                    );
                }
                set("bucket", decode(bucket)?)?;
                if !root.is_empty() {
                    set("root", format!("/{}", decode(root)?))?;
                }
                "s3"
            }
            "opendal" => {
                if target.is_empty() || target.contains('/') {
                    return Err("a generic blob location names an OpenDAL scheme: opendal:<scheme>?option=value…".into());
                }
                target
            }
            other => {
                return Err(format!(
                    "unknown blob location scheme {other:?}: use a directory path, fs:///dir, \
                     s3://bucket[/root]?…, or opendal:<scheme>?…"
                ))
            }
        };
        Ok(BlobLocation::OpenDal(OpenDalConfig {
            scheme: scheme.to_ascii_lowercase(),
            options,
        }))
    }
}

/// `scheme:` and the rest, if `s` starts with one; a path never does (`./a:b` for such a file).
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut bytes = scheme.bytes();
    let first = bytes.next()?;
    let is_scheme = first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    is_scheme.then_some((scheme, rest))
}

fn parse_query(query: &str) -> Result<BTreeMap<String, String>, String> {
    let mut options = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key)?;
        if key.is_empty() {
            return Err("a blob location option has no name".into());
        }
        if options.insert(key.clone(), decode(value)?).is_some() {
            return Err(format!("option {key} is given twice in the blob location"));
        }
    }
    Ok(options)
}

fn decode(s: &str) -> Result<String, String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| "the blob location is not valid UTF-8 once percent-decoded".into())
}

/// The part of a location string before its options, which hold no secrets.
fn redacted_scheme_and_target(s: &str) -> &str {
    s.split_once('?').map_or(s, |(head, _)| head)
}

/// Whether an option's value must never be shown: keys, secrets, tokens, passwords.
pub fn is_secret_option(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["key", "secret", "token", "password", "credential", "sas"]
        .iter()
        .any(|word| key.contains(word))
}

impl fmt::Display for BlobLocation {
    /// The location with every secret option's value replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobLocation::Dir(dir) => write!(f, "{}", dir.display()),
            BlobLocation::OpenDal(config) => write!(f, "{config}"),
        }
    }
}

impl fmt::Display for OpenDalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "opendal:{}", self.scheme)?;
        for (i, (key, value)) in self.options.iter().enumerate() {
            let value = if is_secret_option(key) { "***" } else { value };
            write!(f, "{}{key}={value}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl fmt::Debug for BlobLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobLocation({self})")
    }
}

impl fmt::Debug for OpenDalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenDalConfig({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opendal(s: &str) -> OpenDalConfig {
        match s.parse::<BlobLocation>().unwrap() {
            BlobLocation::OpenDal(c) => c,
            other => panic!("{s} parsed as {other:?}"),
        }
    }

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_paths_are_directories() {
        for s in ["/mnt/blobs", "./blobs", "blobs", "./odd:name", "/a/b:c"] {
            assert_eq!(
                s.parse::<BlobLocation>().unwrap(),
                BlobLocation::Dir(PathBuf::from(s))
            );
        }
    }

    #[test]
    fn fs_needs_an_absolute_directory() {
        let c = opendal("fs:///srv/shared%20blobs");
        assert_eq!(c.scheme, "fs");
        assert_eq!(c.options, options(&[("root", "/srv/shared blobs")]));
        for bad in ["fs://relative", "fs:/x", "fs:", "fs://"] {
            assert!(bad.parse::<BlobLocation>().is_err(), "{bad}");
        }
        assert!("fs:///x?root=/y".parse::<BlobLocation>().is_err());
    }

    #[test]
    fn s3_takes_bucket_root_and_options() {
        let c = opendal(
            "s3://blobs-1250000000/node%2Fa/b?endpoint=http%3A%2F%2F127.0.0.1%3A9001&region=ap-guangzhou&access_key_id=AK&secret_access_key=S%2Fk",
        );
        assert_eq!(c.scheme, "s3");
        assert_eq!(
            c.options,
            options(&[
                ("bucket", "blobs-1250000000"),
                ("root", "/node/a/b"),
                ("endpoint", "http://127.0.0.1:9001"),
                ("region", "ap-guangzhou"),
                ("access_key_id", "AK"),
                ("secret_access_key", "S/k"),
            ])
        );
        assert_eq!(opendal("s3://b").options, options(&[("bucket", "b")]));
        for bad in ["s3://", "s3:///root", "s3:", "s3://b?region=x&region=y"] {
            assert!(bad.parse::<BlobLocation>().is_err(), "{bad}");
        }
    }

    #[test]
    fn generic_opendal_names_a_scheme() {
        let c = opendal("opendal:Memory?root=/x");
        assert_eq!(c.scheme, "memory");
        assert_eq!(c.options, options(&[("root", "/x")]));
        for bad in ["opendal:", "opendal:?a=b", "opendal://s3", "opendal:s3?=v"] {
            assert!(bad.parse::<BlobLocation>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_schemes_and_oversized_values_are_refused() {
        let err = "gcs://bucket".parse::<BlobLocation>().unwrap_err();
        assert!(
            err.contains("unknown blob location scheme \"gcs\""),
            "{err}"
        );
        assert!("".parse::<BlobLocation>().is_err());
        let long = format!("s3://b?endpoint={}", "x".repeat(MAX_LEN));
        assert!(long.parse::<BlobLocation>().is_err());
        assert!("s3://b?region=%FF".parse::<BlobLocation>().is_err());
    }

    #[test]
    fn secrets_never_show() {
        let loc: BlobLocation =
            "s3://b?access_key_id=AKIDvisible&secret_access_key=hunter2&session_token=tok&region=r"
                .parse()
                .unwrap();
        for shown in [loc.to_string(), format!("{loc:?}")] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("tok&"),
                "{shown}"
            );
            assert!(!shown.contains("AKIDvisible"), "{shown}");
            assert!(
                shown.contains("region=r") && shown.contains("bucket=b"),
                "{shown}"
            );
        }
        let err = "s3://b?secret_access_key=hunter2&secret_access_key=x"
            .parse::<BlobLocation>()
            .unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
