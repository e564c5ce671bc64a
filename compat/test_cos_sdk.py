"""cos-python-sdk-v5 against cosd: every foundation operation through the real COS client.

The SDK runs in its IP mode (connects to 127.0.0.1:PORT, sends the virtual-host Host header
``<bucket>.cos.ap-guangzhou.myqcloud.com`` and signs it). Where the SDK hides what the server
answered (status codes, error documents, requests it refuses to build), ``raw`` sends the exact
request, signed with the SDK's own signer unless the test is about unsigned requests.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import pytest
import requests
from qcloud_cos import CosClientError, CosServiceError
from requests.structures import CaseInsensitiveDict

import cosd_helpers as H

ISO_8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def service_error(fn, *args, **kwargs) -> CosServiceError:
    with pytest.raises(CosServiceError) as ei:
        fn(*args, **kwargs)
    return ei.value


def assert_cos_error(e: CosServiceError, status: int, code: str) -> None:
    got = (e.get_status_code(), e.get_error_code())
    assert got == (status, code), f"expected {status} {code}, got {got}: {e.get_digest_msg()!r} {e.get_origin_msg()!r}"


def assert_raw_error(resp: H.RawResponse, status: int, code: str) -> dict:
    assert resp.status == status, resp
    doc = resp.error()
    assert doc.get("Code") == code, resp
    return doc


def body_of(resp: dict) -> bytes:
    # The raw stream: exactly the bytes the server sent (no Content-Encoding decoding).
    return resp["Body"].get_raw_stream().read()


def hdrs(resp: dict) -> CaseInsensitiveDict:
    return CaseInsensitiveDict({k: v for k, v in resp.items() if isinstance(v, str)})


def last(cos) -> requests.Response:
    return cos.responses[-1]


def put(cos, bucket: str, key: str, data: bytes, **kw) -> CaseInsensitiveDict:
    return hdrs(cos.put_object(Bucket=bucket, Key=key, Body=data, **kw))


def head_status(cos, bucket: str, key: str) -> int:
    try:
        cos.head_object(Bucket=bucket, Key=key)
        return last(cos).status_code
    except CosServiceError as e:
        return e.get_status_code()


def list_keys(cos, bucket: str, **kw) -> list[str]:
    return [c["Key"] for c in cos.list_objects(Bucket=bucket, **kw).get("Contents", [])]


def utf8_sorted(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


# =========================================================================== buckets


class TestBuckets:
    def test_create_head_location_list_delete(self, cos, raw, bucket_name):
        assert cos.create_bucket(Bucket=bucket_name) is None
        assert last(cos).status_code == 200
        assert "x-cos-request-id" in last(cos).headers

        head = hdrs(cos.head_bucket(Bucket=bucket_name))
        assert last(cos).status_code == 200
        assert head.get("x-cos-bucket-region") == H.REGION, head
        assert head.get("x-cos-request-id")

        assert cos.get_bucket_location(Bucket=bucket_name) == {"LocationConstraint": H.REGION}

        listing = cos.list_buckets()
        buckets = {b["Name"]: b for b in (listing.get("Buckets") or {}).get("Bucket", [])}
        assert bucket_name in buckets, listing
        assert buckets[bucket_name]["Location"] == H.REGION
        assert ISO_8601.match(buckets[bucket_name]["CreationDate"]), buckets[bucket_name]
        assert listing.get("Owner", {}).get("ID"), listing

        assert cos.delete_bucket(Bucket=bucket_name) is None
        assert last(cos).status_code == 204
        e = service_error(cos.head_bucket, Bucket=bucket_name)
        assert e.get_status_code() == 404
        listing = cos.list_buckets()
        names = [b["Name"] for b in (listing.get("Buckets") or {}).get("Bucket", [])]
        assert bucket_name not in names

    def test_create_existing_bucket_is_bucket_already_owned_by_you(self, cos, bucket):
        e = service_error(cos.create_bucket, Bucket=bucket)
        assert_cos_error(e, 409, "BucketAlreadyOwnedByYou")

    def test_invalid_bucket_names(self, cos, raw):
        # The SDK refuses names outside [A-Za-z0-9-] before sending anything ...
        with pytest.raises(CosClientError):
            cos.create_bucket(Bucket="bad_name-" + H.APPID)
        # ... so the server side is checked with the same (COS-signed) request sent by hand,
        # path-style like the JS SDK's ForcePathStyle.
        bad = ["bad_name-" + H.APPID, "-leading-" + H.APPID, "trailing--" + H.APPID, "dot.name-" + H.APPID]
        for name in bad:
            resp = raw.request("PUT", name, style="path")
            assert_raw_error(resp, 400, "InvalidBucketName")
        names = [b["Name"] for b in (cos.list_buckets().get("Buckets") or {}).get("Bucket", [])]
        assert not set(bad) & set(names)

    def test_missing_bucket(self, cos, raw):
        missing = H.unique_bucket("missing")
        e = service_error(cos.head_bucket, Bucket=missing)
        assert e.get_status_code() == 404
        e = service_error(cos.get_object, Bucket=missing, Key="k")
        assert_cos_error(e, 404, "NoSuchBucket")
        e = service_error(cos.put_object, Bucket=missing, Key="k", Body=b"x")
        assert_cos_error(e, 404, "NoSuchBucket")
        e = service_error(cos.list_objects, Bucket=missing)
        assert_cos_error(e, 404, "NoSuchBucket")
        e = service_error(cos.delete_bucket, Bucket=missing)
        assert_cos_error(e, 404, "NoSuchBucket")
        resp = raw.request("GET", missing, "some/key")
        doc = assert_raw_error(resp, 404, "NoSuchBucket")
        assert doc["RequestId"] == resp.headers["x-cos-request-id"]

    def test_delete_bucket_not_empty(self, cos, bucket):
        put(cos, bucket, "keep.txt", b"x")
        e = service_error(cos.delete_bucket, Bucket=bucket)
        assert_cos_error(e, 409, "BucketNotEmpty")
        assert hdrs(cos.head_bucket(Bucket=bucket)).get("x-cos-request-id")
        cos.delete_object(Bucket=bucket, Key="keep.txt")
        cos.delete_bucket(Bucket=bucket)
        assert last(cos).status_code == 204
        assert service_error(cos.head_bucket, Bucket=bucket).get_status_code() == 404


# =========================================================================== objects


FULL_HEADERS = dict(
    ContentType="application/x-cosd-test",
    CacheControl="max-age=3600, private",
    ContentDisposition='attachment; filename="report.bin"',
    ContentEncoding="gzip",
    ContentLanguage="zh-CN",
    Expires="Wed, 21 Oct 2037 07:28:00 GMT",
    StorageClass="STANDARD_IA",
)


class TestPutGet:
    def test_put_get_with_all_headers(self, cos, bucket):
        data = gzip.compress(H.det_bytes(20000, seed=1))
        meta = {"x-cos-meta-author": "alice", "x-cos-meta-Project-Name": "Cosd_Compat 1"}
        resp = put(cos, bucket, "dir/report.bin", data, Metadata=meta, **FULL_HEADERS)
        assert last(cos).status_code == 200
        assert resp["ETag"] == H.quoted_etag(data)
        assert resp["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        assert resp.get("x-cos-request-id")

        got = cos.get_object(Bucket=bucket, Key="dir/report.bin")
        h = hdrs(got)
        assert body_of(got) == data
        assert last(cos).status_code == 200
        assert h["Content-Length"] == str(len(data))
        assert h["ETag"] == H.quoted_etag(data)
        assert h["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        assert h["Content-Type"] == "application/x-cosd-test"
        assert h["Cache-Control"] == "max-age=3600, private"
        assert h["Content-Disposition"] == 'attachment; filename="report.bin"'
        assert h["Content-Encoding"] == "gzip"
        assert h["Content-Language"] == "zh-CN"
        assert h["Expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
        assert h["x-cos-meta-author"] == "alice"
        assert h["x-cos-meta-project-name"] == "Cosd_Compat 1"
        assert h["x-cos-storage-class"] == "STANDARD_IA"
        assert h.get("Accept-Ranges") == "bytes"
        assert abs(H.parse_http_date(h["Last-Modified"]) - time.time()) < 300
        assert h.get("x-cos-request-id")
        # And it really is the gzip stream that was uploaded.
        assert gzip.decompress(body_of(cos.get_object(Bucket=bucket, Key="dir/report.bin"))) == \
            H.det_bytes(20000, seed=1)

    def test_sdk_result_dicts_have_cos_header_names(self, cos, bucket):
        # The SDK returns response headers as a plain dict keyed by the names exactly as the
        # server wrote them, and code written against COS (the SDK's own docstrings:
        # ``print(response['ETag'])``) indexes it with COS's spelling.
        resp = cos.put_object(Bucket=bucket, Key="casing", Body=b"abc")
        assert "ETag" in resp, sorted(resp)
        assert resp["ETag"] == H.quoted_etag(b"abc")
        assert "x-cos-request-id" in resp, sorted(resp)
        head = cos.head_object(Bucket=bucket, Key="casing")
        for name in ("ETag", "Content-Length", "Content-Type", "Last-Modified", "x-cos-hash-crc64ecma",
                     "x-cos-request-id"):
            assert name in head, f"{name!r} not among {sorted(head)}"

    def test_put_get_5mib(self, cos, bucket):
        data = H.det_bytes(5 * 1024 * 1024 + 123, seed=2)
        resp = put(cos, bucket, "big/5mib.bin", data)
        assert resp["ETag"] == H.quoted_etag(data)
        assert resp["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        got = cos.get_object(Bucket=bucket, Key="big/5mib.bin")
        body = body_of(got)
        assert len(body) == len(data)
        assert hashlib.md5(body).hexdigest() == H.md5_hex(data)
        assert hdrs(got)["x-cos-hash-crc64ecma"] == str(H.crc64(data))

    def test_empty_object(self, cos, bucket):
        resp = put(cos, bucket, "empty", b"")
        assert resp["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
        assert resp["x-cos-hash-crc64ecma"] == "0"
        got = cos.get_object(Bucket=bucket, Key="empty")
        assert body_of(got) == b""
        assert hdrs(got)["Content-Length"] == "0"

    def test_overwrite_replaces_content_and_metadata(self, cos, bucket):
        put(cos, bucket, "k", b"first", Metadata={"x-cos-meta-gen": "1"}, ContentType="text/one")
        put(cos, bucket, "k", b"second!", Metadata={"x-cos-meta-other": "2"})
        got = cos.get_object(Bucket=bucket, Key="k")
        h = hdrs(got)
        assert body_of(got) == b"second!"
        assert h["x-cos-meta-other"] == "2"
        assert "x-cos-meta-gen" not in h
        assert h.get("Content-Type") != "text/one"

    def test_content_md5(self, cos, raw, bucket):
        data = b"checked body"
        put(cos, bucket, "md5-ok", data, EnableMD5=True)
        assert body_of(cos.get_object(Bucket=bucket, Key="md5-ok")) == data
        e = service_error(cos.put_object, Bucket=bucket, Key="md5-bad", Body=data, ContentMD5=H.md5_b64(b"other"))
        assert_cos_error(e, 400, "BadDigest")
        assert head_status(cos, bucket, "md5-bad") == 404  # nothing was committed
        resp = raw.request("PUT", bucket, "md5-bad", body=data, headers={"Content-MD5": "not-base64!"})
        assert resp.status == 400 and resp.error()["Code"] in ("InvalidDigest", "BadDigest"), resp

    def test_range(self, cos, bucket):
        data = H.det_bytes(1000, seed=3)
        put(cos, bucket, "r", data)
        cases = {
            "bytes=100-199": (data[100:200], "bytes 100-199/1000"),
            "bytes=0-0": (data[:1], "bytes 0-0/1000"),
            "bytes=-10": (data[-10:], "bytes 990-999/1000"),
            "bytes=990-": (data[990:], "bytes 990-999/1000"),
            "bytes=900-5000": (data[900:], "bytes 900-999/1000"),
        }
        for rng, (want, content_range) in cases.items():
            got = cos.get_object(Bucket=bucket, Key="r", Range=rng)
            assert last(cos).status_code == 206, rng
            h = hdrs(got)
            assert body_of(got) == want, rng
            assert h["Content-Range"] == content_range, rng
            assert h["Content-Length"] == str(len(want)), rng

    def test_range_not_satisfiable(self, cos, raw, bucket):
        put(cos, bucket, "r", b"0123456789")
        for rng in ("bytes=10-", "bytes=5000-6000"):
            e = service_error(cos.get_object, Bucket=bucket, Key="r", Range=rng)
            assert_cos_error(e, 416, "InvalidRange")
        resp = raw.request("GET", bucket, "r", headers={"Range": "bytes=10-20"})
        doc = assert_raw_error(resp, 416, "InvalidRange")
        assert doc["RequestId"] == resp.headers["x-cos-request-id"]

    def test_conditional_requests(self, cos, raw, bucket):
        data = b"conditional body"
        etag = put(cos, bucket, "c", data)["ETag"]
        lm = H.parse_http_date(hdrs(cos.head_object(Bucket=bucket, Key="c"))["Last-Modified"])
        past, future = H.http_date(lm - 3600), H.http_date(lm + 3600)
        same = H.http_date(lm)
        expectations = [
            ({"If-Match": etag}, 200),
            ({"If-Match": '"00000000000000000000000000000000"'}, 412),
            ({"If-None-Match": etag}, 304),
            ({"If-None-Match": '"00000000000000000000000000000000"'}, 200),
            ({"If-Modified-Since": same}, 304),
            ({"If-Modified-Since": past}, 200),
            ({"If-Unmodified-Since": past}, 412),
            ({"If-Unmodified-Since": future}, 200),
        ]
        for headers, status in expectations:
            for method in ("GET", "HEAD"):
                resp = raw.request(method, bucket, "c", headers=headers)
                assert resp.status == status, (method, headers, resp)
                assert resp.headers.get("x-cos-request-id"), resp
                if status == 200 and method == "GET":
                    assert resp.body == data
                if status == 304:
                    assert resp.body == b""
                    assert resp.headers.get("ETag") == etag, resp
                if status == 412 and method == "GET":
                    assert resp.error()["Code"] == "PreconditionFailed", resp
        # The same through the SDK.
        assert body_of(cos.get_object(Bucket=bucket, Key="c", IfMatch=etag)) == data
        e = service_error(cos.get_object, Bucket=bucket, Key="c", IfMatch='"0123"')
        assert_cos_error(e, 412, "PreconditionFailed")
        e = service_error(cos.get_object, Bucket=bucket, Key="c", IfUnmodifiedSince=past)
        assert_cos_error(e, 412, "PreconditionFailed")
        cos.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
        assert last(cos).status_code == 304

    def test_response_header_overrides(self, cos, bucket):
        put(cos, bucket, "o", b"override me", ContentType="text/original")
        got = cos.get_object(
            Bucket=bucket, Key="o",
            ResponseContentType="text/plain; charset=utf-8",
            ResponseContentLanguage="en-US",
            ResponseExpires="Thu, 01 Jan 2037 00:00:00 GMT",
            ResponseCacheControl="no-cache",
            ResponseContentDisposition='inline; filename="o.txt"',
            ResponseContentEncoding="identity",
        )
        h = hdrs(got)
        assert body_of(got) == b"override me"
        assert h["Content-Type"] == "text/plain; charset=utf-8"
        assert h["Content-Language"] == "en-US"
        assert h["Expires"] == "Thu, 01 Jan 2037 00:00:00 GMT"
        assert h["Cache-Control"] == "no-cache"
        assert h["Content-Disposition"] == 'inline; filename="o.txt"'
        assert h["Content-Encoding"] == "identity"
        # Overrides apply to that response only.
        assert hdrs(cos.head_object(Bucket=bucket, Key="o"))["Content-Type"] == "text/original"

    def test_head_object(self, cos, bucket):
        data = b"head me" * 100
        put(cos, bucket, "h", data, ContentType="text/x-head", Metadata={"x-cos-meta-color": "blue"},
            CacheControl="no-store")
        h = hdrs(cos.head_object(Bucket=bucket, Key="h"))
        resp = last(cos)
        assert resp.status_code == 200
        assert resp.content == b""
        assert h["Content-Length"] == str(len(data))
        assert h["ETag"] == H.quoted_etag(data)
        assert h["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        assert h["Content-Type"] == "text/x-head"
        assert h["Cache-Control"] == "no-store"
        assert h["x-cos-meta-color"] == "blue"
        assert h.get("Last-Modified")
        assert h.get("x-cos-request-id")

    def test_missing_key(self, cos, raw, bucket):
        e = service_error(cos.get_object, Bucket=bucket, Key="nope/missing.txt")
        assert_cos_error(e, 404, "NoSuchKey")
        assert e.get_request_id() == last(cos).headers["x-cos-request-id"]
        e = service_error(cos.head_object, Bucket=bucket, Key="nope/missing.txt")
        assert e.get_status_code() == 404
        assert last(cos).headers.get("x-cos-request-id")
        assert last(cos).content == b""  # HEAD: no body

        resp = raw.request("GET", bucket, "nope/missing.txt")
        assert resp.status == 404
        assert "xml" in resp.headers.get("Content-Type", ""), resp
        doc = resp.error()
        assert doc["Code"] == "NoSuchKey"
        assert doc.get("Message")
        assert doc.get("Resource")
        assert doc["RequestId"] == resp.headers["x-cos-request-id"]
        assert "TraceId" in doc, doc


class TestDelete:
    def test_delete_object_is_idempotent(self, cos, bucket):
        put(cos, bucket, "d", b"bye")
        cos.delete_object(Bucket=bucket, Key="d")
        assert last(cos).status_code == 204
        assert head_status(cos, bucket, "d") == 404
        cos.delete_object(Bucket=bucket, Key="d")
        assert last(cos).status_code == 204
        cos.delete_object(Bucket=bucket, Key="never/existed")
        assert last(cos).status_code == 204

    def test_delete_objects_verbose(self, cos, bucket):
        keys = ["m/1", "m/2", "m/中文 3", "m/amp&<4>"]
        for k in keys:
            put(cos, bucket, k, k.encode())
        put(cos, bucket, "m/keep", b"keep")
        resp = cos.delete_objects(Bucket=bucket, Delete={
            "Quiet": "false", "Object": [{"Key": k} for k in keys + ["m/never-existed"]]})
        assert last(cos).status_code == 200
        deleted = sorted(d["Key"] for d in resp.get("Deleted", []))
        assert deleted == sorted(keys + ["m/never-existed"]), resp
        assert not resp.get("Error"), resp
        assert list_keys(cos, bucket, Prefix="m/") == ["m/keep"]

    def test_delete_objects_quiet(self, cos, bucket):
        keys = [f"q/{i}" for i in range(5)]
        for k in keys:
            put(cos, bucket, k, b"x")
        resp = cos.delete_objects(Bucket=bucket, Delete={"Quiet": "true", "Object": [{"Key": k} for k in keys]})
        assert last(cos).status_code == 200
        assert resp.get("Deleted", []) == [], resp
        assert not resp.get("Error"), resp
        assert list_keys(cos, bucket, Prefix="q/") == []


class TestCopy:
    SRC_KEY = "src/源 文件+1.txt"

    def _src(self, cos, bucket, data=b"copy source body"):
        return put(cos, bucket, self.SRC_KEY, data, ContentType="text/x-src", CacheControl="max-age=1",
                   Metadata={"x-cos-meta-origin": "src"})

    def test_copy_same_bucket_keeps_metadata(self, cos, bucket):
        data = b"copy source body"
        self._src(cos, bucket, data)
        resp = cos.copy_object(Bucket=bucket, Key="dst/copy.txt",
                               CopySource={"Bucket": bucket, "Key": self.SRC_KEY, "Region": H.REGION})
        assert last(cos).status_code == 200
        assert resp["ETag"] == H.quoted_etag(data)
        got = cos.get_object(Bucket=bucket, Key="dst/copy.txt")
        h = hdrs(got)
        assert body_of(got) == data
        assert h["Content-Type"] == "text/x-src"
        assert h["Cache-Control"] == "max-age=1"
        assert h["x-cos-meta-origin"] == "src"
        assert h["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        # The source is untouched.
        assert body_of(cos.get_object(Bucket=bucket, Key=self.SRC_KEY)) == data

    def test_copy_replaced_metadata(self, cos, bucket):
        data = b"copy source body"
        self._src(cos, bucket, data)
        src = {"Bucket": bucket, "Key": self.SRC_KEY, "Region": H.REGION}
        cos.copy_object(Bucket=bucket, Key="dst/replaced.txt", CopySource=src, CopyStatus="Replaced",
                        ContentType="text/x-new", Metadata={"x-cos-meta-new": "yes"})
        h = hdrs(cos.head_object(Bucket=bucket, Key="dst/replaced.txt"))
        assert h["Content-Type"] == "text/x-new"
        assert h["x-cos-meta-new"] == "yes"
        assert "x-cos-meta-origin" not in h
        assert h["ETag"] == H.quoted_etag(data)
        # Replacing the metadata of an object in place (source == destination).
        cos.copy_object(Bucket=bucket, Key=self.SRC_KEY, CopySource=src, CopyStatus="Replaced",
                        ContentType="text/x-inplace", Metadata={"x-cos-meta-rev": "2"})
        got = cos.get_object(Bucket=bucket, Key=self.SRC_KEY)
        h = hdrs(got)
        assert body_of(got) == data
        assert h["Content-Type"] == "text/x-inplace"
        assert h["x-cos-meta-rev"] == "2"
        assert "x-cos-meta-origin" not in h

    def test_copy_across_buckets(self, cos, bucket, bucket2):
        data = H.det_bytes(300_000, seed=4)
        self._src(cos, bucket, data)
        cos.copy_object(Bucket=bucket2, Key="from-other-bucket",
                        CopySource={"Bucket": bucket, "Key": self.SRC_KEY, "Region": H.REGION})
        got = cos.get_object(Bucket=bucket2, Key="from-other-bucket")
        assert body_of(got) == data
        assert hdrs(got)["x-cos-meta-origin"] == "src"

    def test_copy_source_conditions(self, cos, bucket):
        etag = self._src(cos, bucket)["ETag"]
        src = {"Bucket": bucket, "Key": self.SRC_KEY, "Region": H.REGION}
        e = service_error(cos.copy_object, Bucket=bucket, Key="dst/cond", CopySource=src,
                          CopySourceIfMatch='"00000000000000000000000000000000"')
        assert_cos_error(e, 412, "PreconditionFailed")
        e = service_error(cos.copy_object, Bucket=bucket, Key="dst/cond", CopySource=src, CopySourceIfNoneMatch=etag)
        assert_cos_error(e, 412, "PreconditionFailed")
        assert head_status(cos, bucket, "dst/cond") == 404
        cos.copy_object(Bucket=bucket, Key="dst/cond", CopySource=src, CopySourceIfMatch=etag)
        assert head_status(cos, bucket, "dst/cond") == 200

    def test_copy_missing_source(self, cos, bucket):
        e = service_error(cos.copy_object, Bucket=bucket, Key="dst/x",
                          CopySource={"Bucket": bucket, "Key": "no/such/source", "Region": H.REGION})
        assert e.get_status_code() == 404, e.get_digest_msg()
        assert e.get_error_code() in ("NoSuchCopySource", "NoSuchKey"), e.get_digest_msg()


# =========================================================================== listing


LIST_KEYS = ["a/1.txt", "a/2.txt", "a/b/3.txt", "b/4.txt", "c.txt", "space key.txt", "plus+key",
             "中文/文件 5.txt", "z%percent"]


@pytest.fixture
def listed_bucket(cos, bucket):
    for k in LIST_KEYS:
        put(cos, bucket, k, k.encode())
    return bucket


class TestListObjects:
    def test_full_listing(self, cos, listed_bucket):
        resp = cos.list_objects(Bucket=listed_bucket)
        assert resp["Name"] == listed_bucket
        assert resp["IsTruncated"] == "false"
        contents = resp["Contents"]
        assert [c["Key"] for c in contents] == utf8_sorted(LIST_KEYS)
        for c in contents:
            assert c["ETag"] == H.quoted_etag(c["Key"].encode()), c
            assert c["Size"] == str(len(c["Key"].encode())), c
            assert c["StorageClass"] == "STANDARD", c
            assert ISO_8601.match(c["LastModified"]), c
            assert c.get("Owner", {}).get("ID"), c

    def test_prefix_and_delimiter(self, cos, listed_bucket):
        resp = cos.list_objects(Bucket=listed_bucket, Prefix="a/", Delimiter="/")
        assert [c["Key"] for c in resp.get("Contents", [])] == ["a/1.txt", "a/2.txt"]
        assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == ["a/b/"]
        assert resp["Prefix"] == "a/"
        assert resp["Delimiter"] == "/"

        resp = cos.list_objects(Bucket=listed_bucket, Delimiter="/")
        assert [c["Key"] for c in resp.get("Contents", [])] == utf8_sorted(
            ["c.txt", "space key.txt", "plus+key", "z%percent"])
        assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == utf8_sorted(["a/", "b/", "中文/"])

        assert list_keys(cos, listed_bucket, Prefix="中文/") == ["中文/文件 5.txt"]
        assert list_keys(cos, listed_bucket, Prefix="nothing-here") == []

    def test_max_keys_paging_with_marker(self, cos, listed_bucket):
        seen, marker, pages = [], "", 0
        while True:
            resp = cos.list_objects(Bucket=listed_bucket, MaxKeys=2, Marker=marker)
            pages += 1
            keys = [c["Key"] for c in resp.get("Contents", [])]
            assert len(keys) <= 2
            assert resp["MaxKeys"] == "2"
            seen += keys
            if resp["IsTruncated"] == "false":
                break
            assert resp["IsTruncated"] == "true"
            assert resp.get("NextMarker") == keys[-1], resp
            marker = resp["NextMarker"]
            assert pages < 20
        assert seen == utf8_sorted(LIST_KEYS)
        assert pages == 5

        after = cos.list_objects(Bucket=listed_bucket, Marker="b/4.txt")
        expected = [k for k in utf8_sorted(LIST_KEYS) if k.encode() > b"b/4.txt"]
        assert [c["Key"] for c in after.get("Contents", [])] == expected

    def test_paging_counts_common_prefixes(self, cos, listed_bucket):
        entries, marker = [], ""
        for _ in range(20):
            resp = cos.list_objects(Bucket=listed_bucket, Delimiter="/", MaxKeys=2, Marker=marker)
            keys = [c["Key"] for c in resp.get("Contents", [])]
            prefixes = [p["Prefix"] for p in resp.get("CommonPrefixes", [])]
            assert len(keys) + len(prefixes) <= 2, resp
            entries += keys + prefixes
            if resp["IsTruncated"] == "false":
                break
            marker = resp["NextMarker"]
        else:
            pytest.fail("listing never ended")
        assert entries == utf8_sorted(["a/", "b/", "c.txt", "plus+key", "space key.txt", "z%percent", "中文/"])

    def test_encoding_type_url(self, cos, listed_bucket):
        resp = cos.list_objects(Bucket=listed_bucket, EncodingType="url")
        assert resp.get("EncodingType") == "url"
        raw_keys = [c["Key"] for c in resp["Contents"]]
        assert [unquote(k) for k in raw_keys] == utf8_sorted(LIST_KEYS)
        by_key = {unquote(k): k for k in raw_keys}
        assert by_key["space key.txt"] == "space%20key.txt"
        assert by_key["plus+key"] == "plus%2Bkey"
        assert by_key["z%percent"] == "z%25percent"
        assert by_key["中文/文件 5.txt"] == quote("中文/文件 5.txt", safe="/")
        assert by_key["a/b/3.txt"] == "a/b/3.txt"

        resp = cos.list_objects(Bucket=listed_bucket, EncodingType="url", Prefix="中文/", Delimiter="/")
        assert resp["Prefix"] == quote("中文/", safe="/")
        resp = cos.list_objects(Bucket=listed_bucket, EncodingType="url", Delimiter="/")
        assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["a/", "b/", quote("中文/", safe="/")]


# =========================================================================== auth


class TestAuth:
    def test_wrong_secret_key(self, cos, port, bucket):
        put(cos, bucket, "private.txt", b"secret")
        bad = H.make_cos_client(port, secret_key="not-the-right-secret-key-000000000")
        e = service_error(bad.get_object, Bucket=bucket, Key="private.txt")
        assert_cos_error(e, 403, "SignatureDoesNotMatch")
        e = service_error(bad.put_object, Bucket=bucket, Key="written-with-bad-sig", Body=b"x")
        assert_cos_error(e, 403, "SignatureDoesNotMatch")
        assert head_status(cos, bucket, "written-with-bad-sig") == 404
        e = service_error(bad.list_buckets)
        assert_cos_error(e, 403, "SignatureDoesNotMatch")

    def test_unknown_secret_id(self, port, bucket):
        stranger = H.make_cos_client(port, secret_id="AKIDnobodyHasThisKey000000000000000", secret_key=H.SECRET_KEY)
        e = service_error(stranger.get_object, Bucket=bucket, Key="whatever")
        assert_cos_error(e, 403, "InvalidAccessKeyId")
        e = service_error(stranger.create_bucket, Bucket=H.unique_bucket())
        assert_cos_error(e, 403, "InvalidAccessKeyId")

    def test_anonymous_requests_are_denied(self, cos, port, raw, bucket):
        put(cos, bucket, "private.txt", b"secret")
        anon = H.make_cos_client(port, anonymous=True)  # sends an empty Authorization header
        for call in (lambda: anon.get_object(Bucket=bucket, Key="private.txt"),
                     lambda: anon.put_object(Bucket=bucket, Key="anon-write", Body=b"x"),
                     lambda: anon.list_objects(Bucket=bucket),
                     lambda: anon.delete_object(Bucket=bucket, Key="private.txt")):
            e = service_error(call)
            assert_cos_error(e, 403, "AccessDenied")
        assert head_status(cos, bucket, "anon-write") == 404
        assert head_status(cos, bucket, "private.txt") == 200
        for method, key, body in (("GET", "private.txt", None), ("PUT", "anon-raw", b"x"),
                                  ("DELETE", "private.txt", None), ("GET", None, None)):
            resp = raw.request(method, bucket, key, body=body, sign=False)
            doc = assert_raw_error(resp, 403, "AccessDenied")
            assert doc["RequestId"] == resp.headers["x-cos-request-id"]
        resp = raw.request("GET", None, None, sign=False)  # List Buckets
        assert_raw_error(resp, 403, "AccessDenied")
        assert head_status(cos, bucket, "anon-raw") == 404

    def test_expired_authorization_header(self, raw, bucket):
        # Signed by the SDK's signer with a window that ended 10 s ago.
        resp = raw.request("GET", bucket, None, expire=-10)
        assert resp.status == 403, resp
        doc = resp.error()
        assert doc["Code"] == "AccessDenied", doc
        assert "expire" in doc["Message"].lower(), doc

    def test_every_response_has_a_distinct_request_id(self, raw, bucket):
        ids = []
        for i in range(10):
            ids.append(raw.request("PUT", bucket, f"id/{i}", body=b"x").headers.get("x-cos-request-id"))
            ids.append(raw.request("GET", bucket, f"id/{i}").headers.get("x-cos-request-id"))
            ids.append(raw.request("GET", bucket, "id/missing").headers.get("x-cos-request-id"))
            ids.append(raw.request("GET", bucket, f"id/{i}", sign=False).headers.get("x-cos-request-id"))
        assert all(ids), ids
        assert len(set(ids)) == len(ids), ids

    def test_path_style_cos_signature(self, cos, raw, bucket):
        data = b"path style"
        resp = raw.request("PUT", bucket, "p/s.txt", body=data, style="path")
        assert resp.status == 200, resp
        assert resp.headers["ETag"] == H.quoted_etag(data)
        resp = raw.request("GET", bucket, "p/s.txt", style="path")
        assert resp.status == 200, resp
        assert resp.body == data
        assert body_of(cos.get_object(Bucket=bucket, Key="p/s.txt")) == data


# =========================================================================== keys and limits


SPECIAL_KEYS = [
    "中文/文件名.txt",
    "with space/and  two spaces.txt",
    "plus+sign.txt",
    "percent%20literal%.txt",
    "question?mark=1&x.txt",
    "hash#fragment.txt",
    "../../etc/passwd",
    "./dot/./segments/../x",
    "emoji-😀.bin",
    "quote'and\"dq<>.txt",
    "tilde~star*(paren)!.txt",
    "semi;colon,comma:at@dollar$.txt",
    "trailing-slash-dir/",
]


class TestKeys:
    @pytest.mark.parametrize("key", SPECIAL_KEYS)
    def test_special_key_round_trip(self, cos, bucket, key):
        data = ("body of " + key).encode()
        resp = put(cos, bucket, key, data)
        assert resp["ETag"] == H.quoted_etag(data)
        assert body_of(cos.get_object(Bucket=bucket, Key=key, KeySimplifyCheck=False)) == data
        assert hdrs(cos.head_object(Bucket=bucket, Key=key))["Content-Length"] == str(len(data))
        assert list_keys(cos, bucket) == [key]
        assert list_keys(cos, bucket, Prefix=key) == [key]
        cos.delete_object(Bucket=bucket, Key=key)
        assert list_keys(cos, bucket) == []

    def test_traversal_keys_never_touch_the_filesystem(self, cos, cosd, workdir, bucket):
        passwd = Path("/etc/passwd")
        before = passwd.read_bytes() if passwd.exists() else None
        marker = f"cosd-escape-{uuid.uuid4().hex}"
        keys = ["../../etc/passwd", "../../../" + marker, "../" * 12 + "tmp/" + marker, "a/../../../" + marker]
        for k in keys:
            put(cos, bucket, k, b"#cosd traversal probe\n")
        data_dir = cosd.data_dir.resolve()
        for path in workdir.rglob("*"):
            if data_dir in path.resolve().parents or path.resolve() == data_dir:
                continue
            assert path.name not in ("passwd", marker), f"{path} was written outside the data dir"
        assert not (Path("/tmp") / marker).exists()
        if before is not None:
            assert passwd.read_bytes() == before
        assert utf8_sorted(list_keys(cos, bucket)) == utf8_sorted(keys)
        for k in keys:
            assert body_of(cos.get_object(Bucket=bucket, Key=k, KeySimplifyCheck=False)) == b"#cosd traversal probe\n"

    def test_key_length_limit_is_850_bytes(self, cos, bucket):
        for key in ("k" * 850, "é" * 425):  # 850 bytes either way
            assert len(key.encode()) == 850
            put(cos, bucket, key, b"long key")
            assert body_of(cos.get_object(Bucket=bucket, Key=key)) == b"long key"
        for key in ("k" * 851, "é" * 425 + "k", "k" * 2000):
            e = service_error(cos.put_object, Bucket=bucket, Key=key, Body=b"x")
            assert_cos_error(e, 400, "KeyTooLong")
        assert utf8_sorted(list_keys(cos, bucket)) == utf8_sorted(["k" * 850, "é" * 425])

    def test_user_metadata_limit(self, cos, bucket):
        ok = {"x-cos-meta-fine": "v" * 1000}
        put(cos, bucket, "meta-ok", b"x", Metadata=ok)
        assert hdrs(cos.head_object(Bucket=bucket, Key="meta-ok"))["x-cos-meta-fine"] == "v" * 1000
        # One value over 2 KB, and five values totalling ~5 KB: too large under either COS rule
        # (2 KB in all, or 2 KB per header and 4 KB in all).
        for meta in ({"x-cos-meta-big": "v" * 2100},
                     {f"x-cos-meta-part{i}": "v" * 1000 for i in range(5)}):
            e = service_error(cos.put_object, Bucket=bucket, Key="meta-big", Body=b"x", Metadata=meta)
            assert_cos_error(e, 400, "MetadataTooLarge")
        assert head_status(cos, bucket, "meta-big") == 404


# =========================================================================== presigned URLs


def _with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    q = parse_qsl(parts.query, keep_blank_values=True)
    q = [(k, changes.pop(k) if k in changes else v) for k, v in q]
    return urlunsplit(parts._replace(query=urlencode(q)))


def _flip(sig: str) -> str:
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


class TestPresigned:
    def test_presigned_download(self, cos, cos_presign, port, bucket):
        data = b"presigned download"
        put(cos, bucket, "dl/file.txt", data)
        url = cos_presign.get_presigned_download_url(Bucket=bucket, Key="dl/file.txt", Expired=300)
        assert "q-signature=" in url and url.startswith(f"http://{H.vhost(bucket)}/")
        # requests.get as a user would, with DNS for the bucket host pointing at the server.
        parts = urlsplit(url)
        resp = requests.get(urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}")),
                            headers={"Host": parts.netloc}, timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.content == data
        assert resp.headers.get("x-cos-request-id")

    def test_presigned_upload(self, cos, cos_presign, raw, bucket):
        data = H.det_bytes(100_000, seed=5)
        url = cos_presign.get_presigned_url(Bucket=bucket, Key="ul/中文 file.bin", Method="PUT", Expired=300)
        resp = raw.fetch_url(url, "PUT", body=data)
        assert resp.status == 200, resp
        assert resp.headers["ETag"] == H.quoted_etag(data)
        assert body_of(cos.get_object(Bucket=bucket, Key="ul/中文 file.bin")) == data

    def test_presigned_with_signed_response_params(self, cos, cos_presign, raw, bucket):
        put(cos, bucket, "p.txt", b"params")
        url = cos_presign.get_presigned_download_url(
            Bucket=bucket, Key="p.txt", Params={"response-content-type": "text/x-presigned"})
        resp = raw.fetch_url(url)
        assert resp.status == 200, resp
        assert resp.headers["Content-Type"] == "text/x-presigned"

    def test_presigned_expired(self, cos, cos_presign, raw, bucket):
        put(cos, bucket, "exp.txt", b"soon gone")
        url = cos_presign.get_presigned_download_url(Bucket=bucket, Key="exp.txt", Expired=1)
        time.sleep(2.5)
        resp = raw.fetch_url(url)
        assert resp.status == 403, resp
        doc = resp.error()
        assert doc["Code"] == "AccessDenied", doc
        assert "expire" in doc["Message"].lower(), doc
        # Same with a window that ended in the past from the start.
        url = cos_presign.get_presigned_download_url(Bucket=bucket, Key="exp.txt", Expired=-30)
        resp = raw.fetch_url(url)
        assert resp.status == 403, resp
        assert resp.error()["Code"] == "AccessDenied"

    def test_presigned_tampered(self, cos, cos_presign, raw, bucket, bucket2):
        for b in (bucket, bucket2):
            put(cos, b, "one.txt", b"one")
            put(cos, b, "two.txt", b"two")
        url = cos_presign.get_presigned_download_url(Bucket=bucket, Key="one.txt", Expired=300)
        assert raw.fetch_url(url).status == 200
        sig = dict(parse_qsl(urlsplit(url).query))["q-signature"]
        # A changed signature.
        resp = raw.fetch_url(_with_query(url, **{"q-signature": _flip(sig)}))
        assert_raw_error(resp, 403, "SignatureDoesNotMatch")
        # The same signature on another key of the bucket.
        resp = raw.fetch_url(url.replace("/one.txt?", "/two.txt?"))
        assert_raw_error(resp, 403, "SignatureDoesNotMatch")
        # The same signature and key on another bucket (the host is signed).
        resp = raw.fetch_url(url.replace(H.vhost(bucket), H.vhost(bucket2)))
        assert_raw_error(resp, 403, "SignatureDoesNotMatch")
        # A PUT signature is not a GET signature.
        put_url = cos_presign.get_presigned_url(Bucket=bucket, Key="one.txt", Method="PUT", Expired=300)
        resp = raw.fetch_url(put_url, "GET")
        assert_raw_error(resp, 403, "SignatureDoesNotMatch")


# =========================================================================== POST Object (browser forms)


def cos_post_signature(secret_key: str, key_time: str, policy_json: bytes) -> str:
    """The COS form signature, written from the POST Object documentation: SignKey = hex
    HMAC-SHA1(SecretKey, KeyTime); StringToSign = hex SHA1(policy JSON); Signature = hex
    HMAC-SHA1(SignKey, StringToSign)."""
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    string_to_sign = hashlib.sha1(policy_json).hexdigest()
    return hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()


def test_cos_post_signer_matches_tencent_example():
    """The signer used below reproduces the POST Object documentation's worked example."""
    policy = (
        '{\n    "expiration": "2019-08-30T09:38:12.414Z",\n    "conditions": [\n'
        '        { "acl": "default" },\n        { "bucket": "examplebucket-1250000000" },\n'
        '        [ "starts-with", "$key", "folder/subfolder/" ],\n'
        '        [ "starts-with", "$Content-Type", "image/" ],\n'
        '        [ "starts-with", "$success_action_redirect", "https://my.website/" ],\n'
        '        [ "eq", "$x-cos-server-side-encryption", "AES256" ],\n'
        '        { "q-sign-algorithm": "sha1" },\n'
        '        { "q-ak": "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q" },\n'
        '        { "q-sign-time": "1567150692;1567157892" }\n    ]\n}'
    ).encode()
    assert hashlib.sha1(policy).hexdigest() == "d5d903b8360468bc81c1311f134989bc8c8b5b89"
    assert cos_post_signature("BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz", "1567150692;1567157892", policy) \
        == "7758dc9a832e9d301dca704cacbf9d9f8172fdef"


def cos_form_fields(bucket: str, key: str, fields: dict, conditions: list) -> dict:
    now = int(time.time())
    key_time = f"{now - 60};{now + 900}"
    expiration = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    policy = json.dumps({"expiration": expiration, "conditions": [
        {"bucket": bucket}, ["starts-with", "$key", ""], *conditions,
        {"q-sign-algorithm": "sha1"}, {"q-ak": H.SECRET_ID}, {"q-sign-time": key_time}]}).encode()
    return {"key": key, **fields, "policy": base64.b64encode(policy).decode(), "q-sign-algorithm": "sha1",
            "q-ak": H.SECRET_ID, "q-key-time": key_time,
            "q-signature": cos_post_signature(H.SECRET_KEY, key_time, policy)}


class TestPostObject:
    """COS-signed forms posted as a browser posts them, to the bucket's virtual host."""

    def post(self, port: int, bucket: str, fields: dict, filename: str, data: bytes) -> requests.Response:
        return requests.post(f"http://127.0.0.1:{port}/", headers={"Host": H.vhost(bucket)}, data=fields,
                             files={"file": (filename, data, "application/x-browser-guess")},
                             allow_redirects=False, timeout=60)  # a redirect target is never contacted

    def test_upload_then_read_with_the_sdk(self, cos, port, bucket):
        data = H.det_bytes(200_000, seed=31)
        fields = cos_form_fields(bucket, "forms/${filename}",
                                 {"Content-Type": "image/png", "x-cos-meta-from": "form"},
                                 [{"Content-Type": "image/png"}, {"x-cos-meta-from": "form"}])
        resp = self.post(port, bucket, fields, "pic 1.png", data)
        assert resp.status_code == 204, resp.text
        assert resp.headers["ETag"] == H.quoted_etag(data)
        assert resp.headers["Location"] == f"http://{H.vhost(bucket)}/forms/pic%201.png"
        got = cos.get_object(Bucket=bucket, Key="forms/pic 1.png")
        assert body_of(got) == data
        assert hdrs(got)["Content-Type"] == "image/png"
        assert hdrs(got)["x-cos-meta-from"] == "form"

    def test_redirect_and_refusals(self, cos, port, bucket):
        fields = cos_form_fields(bucket, "r.txt", {"success_action_redirect": "https://app.example/ok"},
                                 [["starts-with", "$success_action_redirect", "https://app.example/"]])
        resp = requests.post(f"http://127.0.0.1:{port}/", headers={"Host": H.vhost(bucket)}, data=fields,
                             files={"file": ("r.txt", b"redirected")}, allow_redirects=False, timeout=60)
        assert resp.status_code == 303, resp.text
        assert resp.headers["Location"] == (f"https://app.example/ok?bucket={bucket}&key=r.txt"
                                            f"&etag=%22{H.md5_hex(b'redirected')}%22")
        bad = dict(fields, **{"q-signature": "0" * 40})
        resp = self.post(port, bucket, bad, "x", b"x")
        assert resp.status_code == 403 and H.parse_error(resp.content)["Code"] == "SignatureDoesNotMatch"
        # COS accepts fields no condition names (its own documented forms post such fields);
        # only SigV4 forms must cover every field (test_boto3 checks that).
        resp = self.post(port, bucket, dict(fields, **{"Cache-Control": "no-cache"}), "x", b"x")
        assert resp.status_code == 303, resp.text
        resp = self.post(port, bucket, {"key": "anon.txt"}, "x", b"x")
        assert resp.status_code == 403 and H.parse_error(resp.content)["Code"] == "AccessDenied"
        assert head_status(cos, bucket, "anon.txt") == 404
