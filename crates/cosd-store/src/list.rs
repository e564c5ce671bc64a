//! Listing with prefix, marker, delimiter and page size, built on the ordered scans of
//! [`MetaStore`]: objects ([`list`]) and multipart uploads ([`list_uploads`]).
//!
//! One implementation of the S3/COS listing rules for every backend: a backend only has to
//! scan its ordered index. Keys that roll up into a common prefix are skipped by restarting the
//! scan just past the prefix, so each common prefix costs at most one batch of reads however
//! many keys hide under it.

use crate::meta::{MetaStore, ObjectRecord, ScanFrom, UploadRecord, UploadsFrom};
use crate::Result;
use async_trait::async_trait;

/// The batch size of the first scan and the cap it doubles up to.
const MAX_BATCH: usize = 1000;
/// The batch size after skipping a common prefix: the next rows may well belong to another
/// large prefix, so fetch few before the next jump.
const MIN_BATCH: usize = 32;

/// What to list: the parameters of GET Bucket (v1 and v2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub prefix: String,
    /// Rolls keys up into common prefixes; `None` or `Some("")` means no delimiter.
    pub delimiter: Option<String>,
    /// Start strictly after this key (`marker`, `start-after`, or a continuation token's key).
    /// If it names a common prefix, the whole prefix is skipped: that is how a page that ended
    /// on a common prefix continues.
    pub after: Option<String>,
    /// Entries (objects plus common prefixes) per page.
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Objects in key order.
    pub objects: Vec<(String, ObjectRecord)>,
    /// Common prefixes in order, each once.
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned, set only when truncated; pass it back as
    /// [`ListQuery::after`] to get the next page.
    pub next_marker: Option<String>,
}

/// What to list of the multipart uploads in progress: the parameters of List Multipart Uploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadQuery {
    pub prefix: String,
    /// As in [`ListQuery::delimiter`].
    pub delimiter: Option<String>,
    /// Start after this key: past all its uploads, or, with `upload_id_marker`, after that
    /// upload of it. A key marker naming a common prefix skips the prefix.
    pub key_marker: Option<String>,
    /// Ignored without `key_marker`, as COS and S3 do.
    pub upload_id_marker: Option<String>,
    /// Entries (uploads plus common prefixes) per page.
    pub max_uploads: usize,
}

/// One page of the uploads in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadPage {
    /// Uploads ordered by key, then upload id.
    pub uploads: Vec<UploadRecord>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// Set only when truncated: the last key (or common prefix) returned and, after an
    /// upload, its id; pass them back as the markers to get the next page.
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
}

/// Lists one page of `bucket`. See [`ListQuery`] for the rules.
pub async fn list(meta: &dyn MetaStore, bucket: &str, q: &ListQuery) -> Result<ListPage> {
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let start = match q.after.as_deref() {
        None => Cursor::Start,
        Some(after) if common_prefix(after, &q.prefix, delimiter) == Some(after) => {
            skip_past(after)
        }
        Some(after) => Cursor::AfterKey(after.to_owned()),
    };
    let index = Objects { meta, bucket };
    let w = walk(&index, &q.prefix, delimiter, start, q.max_keys).await?;
    let next_marker = match (w.truncated, w.last_was_prefix) {
        (false, _) => None,
        (true, true) => w.common_prefixes.last().cloned(),
        (true, false) => w.rows.last().map(|(k, _)| k.clone()),
    };
    Ok(ListPage {
        objects: w.rows,
        common_prefixes: w.common_prefixes,
        is_truncated: w.truncated,
        next_marker,
    })
}

/// Lists one page of the uploads in progress in `bucket`. See [`UploadQuery`] for the rules.
pub async fn list_uploads(
    meta: &dyn MetaStore,
    bucket: &str,
    q: &UploadQuery,
) -> Result<UploadPage> {
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let upload_id = q.upload_id_marker.as_deref().filter(|u| !u.is_empty());
    let start = match (q.key_marker.as_deref().filter(|k| !k.is_empty()), upload_id) {
        (None, _) => Cursor::Start,
        (Some(key), _) if common_prefix(key, &q.prefix, delimiter) == Some(key) => skip_past(key),
        (Some(key), Some(id)) => Cursor::After((key.to_owned(), id.to_owned())),
        (Some(key), None) => Cursor::AfterKey(key.to_owned()),
    };
    let index = Uploads { meta, bucket };
    let w = walk(&index, &q.prefix, delimiter, start, q.max_uploads).await?;
    let (next_key_marker, next_upload_id_marker) = match (w.truncated, w.last_was_prefix) {
        (false, _) => (None, None),
        (true, true) => (w.common_prefixes.last().cloned(), None),
        (true, false) => match w.rows.last() {
            Some(u) => (Some(u.key.clone()), Some(u.upload_id.clone())),
            None => (None, None),
        },
    };
    Ok(UploadPage {
        uploads: w.rows,
        common_prefixes: w.common_prefixes,
        is_truncated: w.truncated,
        next_key_marker,
        next_upload_id_marker,
    })
}

/// Where the next scan starts, or nothing left to scan.
enum Cursor<P> {
    Start,
    /// At the first row of this key or after it.
    AtKey(String),
    /// Past every row of this key.
    AfterKey(String),
    /// Strictly after this row.
    After(P),
    End,
}

/// An ordered index a listing walks; rows are ordered by key first.
#[async_trait]
trait Index: Sync {
    type Row: Send;
    /// Where a row is, so that a scan can continue strictly after it.
    type Pos: Send + Sync;
    fn key(row: &Self::Row) -> &str;
    fn pos(row: &Self::Row) -> Self::Pos;
    /// Up to `limit` rows whose key starts with `prefix`, from `from` (never [`Cursor::End`]).
    async fn scan(
        &self,
        prefix: &str,
        from: &Cursor<Self::Pos>,
        limit: usize,
    ) -> Result<Vec<Self::Row>>;
}

struct Objects<'a> {
    meta: &'a dyn MetaStore,
    bucket: &'a str,
}

#[async_trait]
impl Index for Objects<'_> {
    type Row = (String, ObjectRecord);
    type Pos = String;

    fn key(row: &Self::Row) -> &str {
        &row.0
    }

    fn pos(row: &Self::Row) -> String {
        row.0.clone()
    }

    async fn scan(
        &self,
        prefix: &str,
        from: &Cursor<String>,
        limit: usize,
    ) -> Result<Vec<Self::Row>> {
        let from = match from {
            Cursor::Start | Cursor::End => ScanFrom::Start,
            Cursor::AtKey(k) => ScanFrom::AtLeast(k),
            Cursor::AfterKey(k) | Cursor::After(k) => ScanFrom::After(k),
        };
        self.meta
            .scan_objects(self.bucket, prefix, from, limit)
            .await
    }
}

struct Uploads<'a> {
    meta: &'a dyn MetaStore,
    bucket: &'a str,
}

#[async_trait]
impl Index for Uploads<'_> {
    type Row = UploadRecord;
    /// (key, upload id)
    type Pos = (String, String);

    fn key(row: &UploadRecord) -> &str {
        &row.key
    }

    fn pos(row: &UploadRecord) -> (String, String) {
        (row.key.clone(), row.upload_id.clone())
    }

    async fn scan(
        &self,
        prefix: &str,
        from: &Cursor<(String, String)>,
        limit: usize,
    ) -> Result<Vec<UploadRecord>> {
        let from = match from {
            Cursor::Start | Cursor::End => UploadsFrom::Start,
            Cursor::AtKey(k) => UploadsFrom::AtKey(k),
            Cursor::AfterKey(k) => UploadsFrom::AfterKey(k),
            Cursor::After((key, upload_id)) => UploadsFrom::After { key, upload_id },
        };
        self.meta
            .scan_uploads(self.bucket, prefix, from, limit)
            .await
    }
}

/// What a walk found: rows and common prefixes in order, at most `max` together.
struct Walked<R> {
    rows: Vec<R>,
    common_prefixes: Vec<String>,
    truncated: bool,
    /// Whether the last entry is a common prefix (it decides the next marker).
    last_was_prefix: bool,
}

/// Walks `index` from `start`, rolling keys up into common prefixes, until `max` entries.
async fn walk<I: Index>(
    index: &I,
    prefix: &str,
    delimiter: Option<&str>,
    start: Cursor<I::Pos>,
    max: usize,
) -> Result<Walked<I::Row>> {
    let mut out = Walked {
        rows: Vec::new(),
        common_prefixes: Vec::new(),
        truncated: false,
        last_was_prefix: false,
    };
    if max == 0 {
        return Ok(out);
    }
    let mut cursor = start;
    let mut batch = MAX_BATCH;
    let mut count = 0;
    while !matches!(cursor, Cursor::End) {
        let limit = batch.min((max - count).saturating_add(1));
        let rows = index.scan(prefix, &cursor, limit).await?;
        // A short batch was the end of the prefix's keys.
        let next = match rows.last() {
            Some(row) if rows.len() == limit => match common_prefix(I::key(row), prefix, delimiter)
            {
                Some(cp) => skip_past(cp),
                None => Cursor::After(I::pos(row)),
            },
            _ => Cursor::End,
        };
        for row in rows {
            let cp = common_prefix(I::key(&row), prefix, delimiter);
            if cp.is_some() && cp == out.common_prefixes.last().map(String::as_str) {
                continue;
            }
            if count == max {
                out.truncated = true;
                return Ok(out);
            }
            count += 1;
            out.last_was_prefix = cp.is_some();
            match cp {
                Some(cp) => out.common_prefixes.push(cp.to_owned()),
                None => out.rows.push(row),
            }
        }
        batch = match next {
            Cursor::AtKey(_) => MIN_BATCH,
            _ => (batch * 2).min(MAX_BATCH),
        };
        cursor = next;
    }
    Ok(out)
}

/// The common prefix `key` rolls up into: `prefix` plus the rest of the key up to and
/// including the first `delimiter` after the prefix.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let delimiter = delimiter?;
    let at = key.strip_prefix(prefix)?.find(delimiter)?;
    Some(&key[..prefix.len() + at + delimiter.len()])
}

/// A cursor just past every key that starts with `cp`.
fn skip_past<P>(cp: &str) -> Cursor<P> {
    successor(cp).map_or(Cursor::End, Cursor::AtKey)
}

/// The least string above every string that starts with `s`, if there is one.
///
/// Keys compare by their UTF-8 bytes, which orders them by code point, so this is `s` with
/// its last character raised by one; a last character of U+10FFFF cannot be raised and is
/// dropped in favor of the one before. (Raising the last *byte* instead could produce
/// invalid UTF-8.)
fn successor(s: &str) -> Option<String> {
    s.char_indices().rev().find_map(|(i, c)| {
        let next = match c {
            '\u{D7FF}' => '\u{E000}',
            c => char::from_u32(u32::from(c) + 1)?,
        };
        let mut out = String::with_capacity(i + next.len_utf8());
        out.push_str(&s[..i]);
        out.push(next);
        Some(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{BucketRecord, Completed, ObjectAttrs, PartRecord};
    use crate::StoreError;
    use async_trait::async_trait;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An in-memory index that counts the rows it hands out, so tests can check both what a
    /// listing returns and how much it read. Only the scan is needed here.
    #[derive(Default)]
    struct Index {
        keys: BTreeMap<String, ObjectRecord>,
        rows_read: AtomicUsize,
    }

    fn unused<T>() -> Result<T> {
        Err(StoreError::Meta("not used by listing".into()))
    }

    #[async_trait]
    impl MetaStore for Index {
        async fn create_bucket(&self, _: BucketRecord) -> Result<()> {
            unused()
        }
        async fn get_bucket(&self, _: &str) -> Result<Option<BucketRecord>> {
            unused()
        }
        async fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
            unused()
        }
        async fn delete_bucket(&self, _: &str) -> Result<()> {
            unused()
        }
        async fn get_bucket_config(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>> {
            unused()
        }
        async fn put_bucket_config(&self, _: &str, _: &str, _: Option<Vec<u8>>) -> Result<()> {
            unused()
        }
        async fn get_object(&self, _: &str, _: &str) -> Result<Option<ObjectRecord>> {
            unused()
        }
        async fn put_object(
            &self,
            _: &str,
            _: &str,
            _: ObjectRecord,
        ) -> Result<Option<ObjectRecord>> {
            unused()
        }
        async fn replace_object(
            &self,
            _: &str,
            _: &str,
            _: Option<ObjectRecord>,
            _: ObjectRecord,
        ) -> Result<bool> {
            unused()
        }
        async fn delete_object(&self, _: &str, _: &str) -> Result<Option<ObjectRecord>> {
            unused()
        }
        async fn scan_objects(
            &self,
            _: &str,
            prefix: &str,
            from: ScanFrom<'_>,
            limit: usize,
        ) -> Result<Vec<(String, ObjectRecord)>> {
            use std::ops::Bound::{Excluded, Included, Unbounded};
            let start = match from {
                ScanFrom::After(k) if k >= prefix => Excluded(k),
                ScanFrom::AtLeast(k) if k > prefix => Included(k),
                _ => Included(prefix),
            };
            let rows: Vec<_> = self
                .keys
                .range::<str, _>((start, Unbounded))
                .take_while(|(k, _)| k.starts_with(prefix))
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.rows_read.fetch_add(rows.len(), Ordering::Relaxed);
            Ok(rows)
        }
        async fn create_upload(&self, _: &str, _: UploadRecord) -> Result<()> {
            unused()
        }
        async fn get_upload(&self, _: &str, _: &str, _: &str) -> Result<Option<UploadRecord>> {
            unused()
        }
        async fn put_part(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: PartRecord,
        ) -> Result<Option<PartRecord>> {
            unused()
        }
        async fn list_parts(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: u32,
            _: usize,
        ) -> Result<Vec<PartRecord>> {
            unused()
        }
        async fn scan_uploads(
            &self,
            _: &str,
            _: &str,
            _: UploadsFrom<'_>,
            _: usize,
        ) -> Result<Vec<UploadRecord>> {
            unused()
        }
        async fn abort_upload(&self, _: &str, _: &str, _: &str) -> Result<Vec<PartRecord>> {
            unused()
        }
        async fn complete_upload(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: ObjectRecord,
        ) -> Result<Completed> {
            unused()
        }
        async fn blob_in_use(&self, _: &str) -> Result<bool> {
            unused()
        }
        async fn get_setting(&self, _: &str) -> Result<Option<crate::Setting>> {
            unused()
        }
        async fn put_setting(&self, _: &str, _: Vec<u8>, _: u64) -> Result<bool> {
            unused()
        }
    }

    fn index<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> Index {
        let rec = ObjectRecord {
            segments: vec![],
            size: 0,
            etag: String::new(),
            crc64: 0,
            modified_ms: 0,
            attrs: ObjectAttrs::default(),
            version_id: None,
            appendable: false,
        };
        Index {
            keys: keys
                .into_iter()
                .map(|k| (k.as_ref().to_owned(), rec.clone()))
                .collect(),
            rows_read: AtomicUsize::new(0),
        }
    }

    fn query(prefix: &str, delimiter: &str, after: Option<&str>, max_keys: usize) -> ListQuery {
        ListQuery {
            prefix: prefix.into(),
            delimiter: Some(delimiter.into()),
            after: after.map(Into::into),
            max_keys,
        }
    }

    /// The page as (keys, common prefixes, next marker).
    async fn run(idx: &Index, q: &ListQuery) -> (Vec<String>, Vec<String>, Option<String>) {
        let page = list(idx, "b", q).await.unwrap();
        assert_eq!(page.is_truncated, page.next_marker.is_some());
        let keys = page.objects.into_iter().map(|(k, _)| k).collect();
        (keys, page.common_prefixes, page.next_marker)
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const TREE: &[&str] = &[
        "a.txt",
        "dir/",
        "dir/x",
        "dir/sub/y",
        "dir/sub/z",
        "dir2/q",
        "e",
        "photos/2024/1.jpg",
        "photos/2024/2.jpg",
        "photos/2025/1.jpg",
        "z/last",
    ];

    #[tokio::test]
    async fn prefix_without_delimiter() {
        let idx = index(TREE);
        let q = query("dir/", "", None, 1000);
        let (keys, cps, next) = run(&idx, &q).await;
        assert_eq!(keys, strings(&["dir/", "dir/sub/y", "dir/sub/z", "dir/x"]));
        assert!(cps.is_empty());
        assert_eq!(next, None);
        let q = ListQuery {
            delimiter: None,
            ..q
        };
        assert_eq!(run(&idx, &q).await.0.len(), 4);
    }

    #[tokio::test]
    async fn delimiter_rolls_up_keys() {
        let idx = index(TREE);
        let (keys, cps, _) = run(&idx, &query("", "/", None, 1000)).await;
        assert_eq!(keys, strings(&["a.txt", "e"]));
        assert_eq!(cps, strings(&["dir/", "dir2/", "photos/", "z/"]));
    }

    #[tokio::test]
    async fn nested_prefixes() {
        let idx = index(TREE);
        let (keys, cps, _) = run(&idx, &query("dir/", "/", None, 1000)).await;
        assert_eq!(keys, strings(&["dir/", "dir/x"]));
        assert_eq!(cps, strings(&["dir/sub/"]));
        let (keys, cps, _) = run(&idx, &query("photos/", "/", None, 1000)).await;
        assert!(keys.is_empty());
        assert_eq!(cps, strings(&["photos/2024/", "photos/2025/"]));
        let (keys, cps, _) = run(&idx, &query("photos/20", "/", None, 1000)).await;
        assert!(keys.is_empty());
        assert_eq!(cps, strings(&["photos/2024/", "photos/2025/"]));
    }

    #[tokio::test]
    async fn marker_equal_to_a_common_prefix_skips_it() {
        let idx = index(TREE);
        let (keys, cps, _) = run(&idx, &query("", "/", Some("dir/"), 1000)).await;
        assert_eq!(keys, strings(&["e"]));
        assert_eq!(cps, strings(&["dir2/", "photos/", "z/"]));
    }

    #[tokio::test]
    async fn marker_inside_a_prefix_returns_the_rest_of_it() {
        let idx = index(TREE);
        let (keys, cps, _) = run(&idx, &query("", "/", Some("dir/sub/y"), 1000)).await;
        assert_eq!(keys, strings(&["e"]));
        assert_eq!(cps, strings(&["dir/", "dir2/", "photos/", "z/"]));
        // Past the last key under `dir/`, the prefix is not repeated.
        let (_, cps, _) = run(&idx, &query("", "/", Some("dir/x"), 1000)).await;
        assert_eq!(cps, strings(&["dir2/", "photos/", "z/"]));
        // A marker before the prefix changes nothing.
        let (keys, _, _) = run(&idx, &query("dir/", "", Some("a"), 1000)).await;
        assert_eq!(keys.len(), 4);
    }

    #[tokio::test]
    async fn truncation_sets_the_next_marker() {
        let idx = index(TREE);
        let (keys, cps, next) = run(&idx, &query("", "/", None, 2)).await;
        assert_eq!((keys, cps), (strings(&["a.txt"]), strings(&["dir/"])));
        assert_eq!(next.as_deref(), Some("dir/"));
        let (keys, cps, next) = run(&idx, &query("", "/", Some("dir2/"), 2)).await;
        assert_eq!((keys, cps), (strings(&["e"]), strings(&["photos/"])));
        assert_eq!(next.as_deref(), Some("photos/"));
        let (keys, _, next) = run(&idx, &query("dir/", "", None, 3)).await;
        assert_eq!(keys.last(), next.as_ref());
        assert_eq!(next.as_deref(), Some("dir/sub/z"));
        // Exactly max-keys entries left: not truncated.
        let (_, _, next) = run(&idx, &query("", "/", Some("photos/"), 1)).await;
        assert_eq!(next, None);
    }

    #[tokio::test]
    async fn zero_max_keys_is_an_empty_page() {
        let idx = index(TREE);
        let page = list(&idx, "b", &query("", "/", None, 0)).await.unwrap();
        assert_eq!(page, ListPage::default());
    }

    #[tokio::test]
    async fn paging_reproduces_the_full_listing_once() {
        let keys: Vec<String> = (0..300)
            .map(|i| match i % 3 {
                0 => format!("k{i:03}"),
                1 => format!("d{}/k{i:03}", i % 7),
                _ => format!("d{}/s/k{i:03}", i % 5),
            })
            .collect();
        let idx = index(&keys);
        for (prefix, delimiter) in [("", "/"), ("", ""), ("d1/", "/"), ("d", "/"), ("", "/s/")] {
            let full = run(&idx, &query(prefix, delimiter, None, usize::MAX)).await;
            for max_keys in [1, 2, 7, 1000] {
                let (mut keys, mut cps, mut after) = (vec![], vec![], None);
                loop {
                    let q = query(prefix, delimiter, after.as_deref(), max_keys);
                    let (k, c, next) = run(&idx, &q).await;
                    assert!(k.len() + c.len() <= max_keys);
                    keys.extend(k);
                    cps.extend(c);
                    match next {
                        Some(n) => after = Some(n),
                        None => break,
                    }
                }
                assert_eq!(
                    (&keys, &cps),
                    (&full.0, &full.1),
                    "{prefix:?} {delimiter:?} {max_keys}"
                );
            }
        }
    }

    #[tokio::test]
    async fn unicode_keys_and_delimiter() {
        let idx = index([
            "日本/東京/a",
            "日本/東京/b",
            "日本/大阪",
            "日本語",
            "ü€x",
            "ü€y€z",
            "\u{10FFFF}x",
        ]);
        let (keys, cps, _) = run(&idx, &query("日本", "/", None, 1000)).await;
        assert_eq!(keys, strings(&["日本語"]));
        assert_eq!(cps, strings(&["日本/"]));
        let (keys, cps, _) = run(&idx, &query("", "€", None, 1000)).await;
        assert_eq!(cps, strings(&["ü€"]));
        assert_eq!(keys.len(), 5);
        // A delimiter whose last character cannot be raised still skips its prefix.
        let idx = index(["\u{10FFFF}a", "\u{10FFFF}\u{10FFFF}b", "\u{10FFFF}c"]);
        let (keys, cps, next) = run(&idx, &query("", "\u{10FFFF}", None, 1)).await;
        assert_eq!((keys, cps), (vec![], strings(&["\u{10FFFF}"])));
        assert_eq!(next, None);
        let (keys, cps, _) = run(&idx, &query("", "\u{10FFFF}", Some("\u{10FFFF}"), 10)).await;
        assert!(keys.is_empty() && cps.is_empty());
    }

    #[test]
    fn successor_is_the_least_upper_bound() {
        assert_eq!(successor("a/").as_deref(), Some("a0"));
        assert_eq!(successor("x\u{D7FF}").as_deref(), Some("x\u{E000}"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{10FFFF}"), None);
        assert_eq!(successor("ü€").as_deref(), Some("ü\u{20AD}"));
    }

    #[tokio::test]
    async fn big_prefixes_are_skipped_not_walked() {
        let keys = (0..5).flat_map(|d| (0..50_000).map(move |i| format!("big{d}/{i:06}")));
        let idx = index(keys.chain(["top".to_owned()]));
        let (keys, cps, _) = run(&idx, &query("", "/", None, 1000)).await;
        assert_eq!(keys, strings(&["top"]));
        assert_eq!(cps.len(), 5);
        assert!(idx.rows_read.load(Ordering::Relaxed) < 2 * MAX_BATCH);
    }
}
