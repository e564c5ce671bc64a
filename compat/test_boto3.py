"""boto3 against cosd: the S3 face of the foundation through the real AWS client.

boto3 1.44 talks path-style to http://127.0.0.1:PORT with SigV4. Over plain HTTP it signs the
payload (hex ``x-amz-content-sha256``), adds ``x-amz-checksum-crc32`` to PutObject and
DeleteObjects, and sends ``Expect: 100-continue`` on uploads; it uses aws-chunked bodies only
over HTTPS, so the aws-chunked forms (signed chunks as the aws CLI sends them, and the unsigned
trailer form boto3 uses over TLS) are sent by hand with a SigV4 signer checked against the
AWS documentation's example.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import time
import zlib
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import pytest
import requests
from botocore.exceptions import ClientError

import cosd_helpers as H


def client_error(fn, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    return ei.value


def assert_s3_error(e: ClientError, status: int, code: str) -> None:
    got = (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code"))
    assert got == (status, code), f"expected {status} {code}, got {got}: {e.response}"


def status(resp: dict) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def headers(resp: dict) -> dict:
    return resp["ResponseMetadata"]["HTTPHeaders"]  # lower-cased names


def head_status(s3, bucket, key) -> int:
    try:
        return status(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]


def keys_of(resp: dict) -> list[str]:
    return [c["Key"] for c in resp.get("Contents", [])]


def utf8_sorted(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


# =========================================================================== buckets


class TestBuckets:
    def test_create_head_list_location_delete(self, s3, bucket_name):
        resp = s3.create_bucket(Bucket=bucket_name)
        assert status(resp) == 200
        assert headers(resp).get("x-cos-request-id")
        assert status(s3.head_bucket(Bucket=bucket_name)) == 200
        listing = s3.list_buckets()
        by_name = {b["Name"]: b for b in listing["Buckets"]}
        assert bucket_name in by_name
        created = by_name[bucket_name]["CreationDate"]
        assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 300
        assert listing.get("Owner", {}).get("ID")
        assert s3.get_bucket_location(Bucket=bucket_name)["LocationConstraint"] == H.REGION
        resp = s3.delete_bucket(Bucket=bucket_name)
        assert status(resp) == 204
        e = client_error(s3.head_bucket, Bucket=bucket_name)
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert bucket_name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    def test_create_with_location_constraint(self, s3, bucket_name):
        # What S3 tools send when the region is not us-east-1.
        resp = s3.create_bucket(Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": H.REGION})
        try:
            assert status(resp) == 200
            assert s3.get_bucket_location(Bucket=bucket_name)["LocationConstraint"] == H.REGION
        finally:
            H.empty_and_delete_bucket(s3, bucket_name)

    def test_duplicate_bucket(self, s3, bucket):
        assert_s3_error(client_error(s3.create_bucket, Bucket=bucket), 409, "BucketAlreadyOwnedByYou")

    def test_invalid_bucket_names(self, s3):
        bad = ["bad_name-" + H.APPID, "-leading-" + H.APPID, "trailing--" + H.APPID, "dot.name-" + H.APPID,
               "x" * 40 + "-" + H.APPID]
        for name in bad[:-1]:
            assert_s3_error(client_error(s3.create_bucket, Bucket=name), 400, "InvalidBucketName")
        # Too long for COS (<name>-<appid>.cos.<region>.myqcloud.com over 60 characters).
        e = client_error(s3.create_bucket, Bucket=bad[-1])
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert e.response["Error"]["Code"] in ("InvalidBucketName", "BucketNameTooLong"), e.response
        assert not set(bad) & {b["Name"] for b in s3.list_buckets()["Buckets"]}

    def test_missing_bucket(self, s3):
        missing = H.unique_bucket("missing")
        e = client_error(s3.head_bucket, Bucket=missing)
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        for call in (lambda: s3.get_object(Bucket=missing, Key="k"),
                     lambda: s3.put_object(Bucket=missing, Key="k", Body=b"x"),
                     lambda: s3.list_objects(Bucket=missing),
                     lambda: s3.list_objects_v2(Bucket=missing),
                     lambda: s3.delete_bucket(Bucket=missing)):
            e = client_error(call)
            assert_s3_error(e, 404, "NoSuchBucket")
            assert headers(e.response).get("x-cos-request-id")

    def test_delete_non_empty_bucket(self, s3, bucket):
        s3.put_object(Bucket=bucket, Key="x", Body=b"x")
        assert_s3_error(client_error(s3.delete_bucket, Bucket=bucket), 409, "BucketNotEmpty")
        assert status(s3.head_bucket(Bucket=bucket)) == 200
        s3.delete_object(Bucket=bucket, Key="x")
        assert status(s3.delete_bucket(Bucket=bucket)) == 204


# =========================================================================== objects


EXPIRES = dt.datetime(2037, 10, 21, 7, 28, tzinfo=dt.timezone.utc)


class TestObjects:
    def test_put_get_with_all_headers(self, s3, bucket):
        data = gzip.compress(H.det_bytes(30000, seed=11))
        resp = s3.put_object(
            Bucket=bucket, Key="docs/report.bin", Body=data,
            ContentType="application/x-cosd-test", CacheControl="max-age=3600, private",
            ContentDisposition='attachment; filename="report.bin"', ContentEncoding="gzip",
            ContentLanguage="zh-CN", Expires=EXPIRES, StorageClass="STANDARD_IA",
            Metadata={"author": "bob", "Project-Name": "Cosd_Compat 1"})
        assert status(resp) == 200
        assert resp["ETag"] == H.quoted_etag(data)
        assert headers(resp)["x-cos-hash-crc64ecma"] == str(H.crc64(data))

        got = s3.get_object(Bucket=bucket, Key="docs/report.bin")
        assert got["Body"].read() == data
        assert status(got) == 200
        assert got["ContentLength"] == len(data)
        assert got["ETag"] == H.quoted_etag(data)
        assert got["ContentType"] == "application/x-cosd-test"
        assert got["CacheControl"] == "max-age=3600, private"
        assert got["ContentDisposition"] == 'attachment; filename="report.bin"'
        assert got["ContentEncoding"] == "gzip"
        assert got["ContentLanguage"] == "zh-CN"
        assert H.parse_http_date(headers(got)["expires"]) == EXPIRES.timestamp()
        # boto3 reads user metadata from x-amz-meta-* and the class from x-amz-storage-class.
        assert got["Metadata"] == {"author": "bob", "project-name": "Cosd_Compat 1"}
        assert got["StorageClass"] == "STANDARD_IA"
        assert headers(got)["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        assert headers(got).get("x-cos-request-id")
        assert abs((dt.datetime.now(dt.timezone.utc) - got["LastModified"]).total_seconds()) < 300

    def test_put_get_5mib(self, s3, bucket):
        data = H.det_bytes(5 * 1024 * 1024 + 7, seed=12)
        resp = s3.put_object(Bucket=bucket, Key="big.bin", Body=data)
        assert resp["ETag"] == H.quoted_etag(data)
        got = s3.get_object(Bucket=bucket, Key="big.bin")
        body = got["Body"].read()
        assert hashlib.md5(body).hexdigest() == H.md5_hex(data)
        assert headers(got)["x-cos-hash-crc64ecma"] == str(H.crc64(data))

    def test_what_boto3_sends_on_put_is_accepted(self, s3, bucket):
        sent = []

        def capture(request, **kwargs):
            sent.append(dict(request.headers))

        s3.meta.events.register("before-send.s3.PutObject", capture)
        try:
            data = b"checksummed by boto3"
            s3.put_object(Bucket=bucket, Key="crc32", Body=data)
        finally:
            s3.meta.events.unregister("before-send.s3.PutObject", capture)
        h = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in sent[-1].items()}
        crc32 = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        assert h.get("x-amz-checksum-crc32") == crc32
        assert h.get("x-amz-content-sha256") == hashlib.sha256(data).hexdigest()
        assert h.get("expect") == "100-continue"
        assert "aws-chunked" not in h.get("content-encoding", "")
        assert s3.get_object(Bucket=bucket, Key="crc32")["Body"].read() == data

    def test_bad_content_md5(self, s3, bucket):
        e = client_error(s3.put_object, Bucket=bucket, Key="bad-md5", Body=b"abc",
                         ContentMD5=H.md5_b64(b"something else"))
        assert_s3_error(e, 400, "BadDigest")
        assert head_status(s3, bucket, "bad-md5") == 404
        s3.put_object(Bucket=bucket, Key="good-md5", Body=b"abc", ContentMD5=H.md5_b64(b"abc"))
        assert s3.get_object(Bucket=bucket, Key="good-md5")["Body"].read() == b"abc"

    def test_range(self, s3, bucket):
        data = H.det_bytes(4096, seed=13)
        s3.put_object(Bucket=bucket, Key="r", Body=data)
        got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-1999")
        assert status(got) == 206
        assert got["ContentRange"] == "bytes 1000-1999/4096"
        assert got["ContentLength"] == 1000
        assert got["Body"].read() == data[1000:2000]
        got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=-96")
        assert got["ContentRange"] == "bytes 4000-4095/4096"
        assert got["Body"].read() == data[-96:]
        e = client_error(s3.get_object, Bucket=bucket, Key="r", Range="bytes=4096-")
        assert_s3_error(e, 416, "InvalidRange")

    def test_conditional_get(self, s3, bucket):
        etag = s3.put_object(Bucket=bucket, Key="c", Body=b"cond")["ETag"]
        lm = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
        assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"cond"
        assert_s3_error(client_error(s3.get_object, Bucket=bucket, Key="c", IfMatch='"abc"'), 412,
                        "PreconditionFailed")
        e = client_error(s3.get_object, Bucket=bucket, Key="c", IfNoneMatch=etag)
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 304
        e = client_error(s3.get_object, Bucket=bucket, Key="c", IfModifiedSince=lm)
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 304
        got = s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=lm - dt.timedelta(hours=1))
        assert got["Body"].read() == b"cond"
        e = client_error(s3.get_object, Bucket=bucket, Key="c", IfUnmodifiedSince=lm - dt.timedelta(hours=1))
        assert_s3_error(e, 412, "PreconditionFailed")
        got = s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=lm + dt.timedelta(hours=1))
        assert got["Body"].read() == b"cond"
        e = client_error(s3.head_object, Bucket=bucket, Key="c", IfMatch='"abc"')
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 412

    def test_response_overrides(self, s3, bucket):
        s3.put_object(Bucket=bucket, Key="o", Body=b"o", ContentType="text/original")
        got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="image/png",
                            ResponseContentDisposition="inline", ResponseCacheControl="no-cache",
                            ResponseContentLanguage="fr", ResponseContentEncoding="identity",
                            ResponseExpires=EXPIRES)
        assert got["ContentType"] == "image/png"
        assert got["ContentDisposition"] == "inline"
        assert got["CacheControl"] == "no-cache"
        assert got["ContentLanguage"] == "fr"
        assert got["ContentEncoding"] == "identity"
        assert H.parse_http_date(headers(got)["expires"]) == EXPIRES.timestamp()
        assert s3.head_object(Bucket=bucket, Key="o")["ContentType"] == "text/original"

    def test_head_object(self, s3, bucket):
        data = b"head" * 1000
        s3.put_object(Bucket=bucket, Key="h", Body=data, ContentType="text/x-h", Metadata={"k": "v"})
        h = s3.head_object(Bucket=bucket, Key="h")
        assert status(h) == 200
        assert h["ContentLength"] == len(data)
        assert h["ETag"] == H.quoted_etag(data)
        assert h["ContentType"] == "text/x-h"
        assert h["Metadata"] == {"k": "v"}
        assert headers(h)["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        e = client_error(s3.head_object, Bucket=bucket, Key="missing")
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert headers(e.response).get("x-cos-request-id")

    def test_no_such_key(self, s3, raw, bucket):
        e = client_error(s3.get_object, Bucket=bucket, Key="missing/key")
        assert_s3_error(e, 404, "NoSuchKey")
        assert e.response["Error"].get("Message")
        assert headers(e.response).get("x-cos-request-id")
        # The error document's RequestId (boto3 drops it from the parsed error) equals the header.
        resp = raw.request("GET", bucket, "missing/key", style="path")
        assert resp.status == 404
        assert resp.error()["RequestId"] == resp.headers["x-cos-request-id"]

    def test_delete_object(self, s3, bucket):
        s3.put_object(Bucket=bucket, Key="d", Body=b"d")
        assert status(s3.delete_object(Bucket=bucket, Key="d")) == 204
        assert head_status(s3, bucket, "d") == 404
        assert status(s3.delete_object(Bucket=bucket, Key="d")) == 204
        assert status(s3.delete_object(Bucket=bucket, Key="never/was")) == 204

    def test_delete_objects(self, s3, bucket):
        keys = ["x/1", "x/2", "x/中 3", "x/amp&4"]
        for k in keys:
            s3.put_object(Bucket=bucket, Key=k, Body=b"x")
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys + ["x/none"]]})
        assert status(resp) == 200
        assert sorted(d["Key"] for d in resp.get("Deleted", [])) == sorted(keys + ["x/none"])
        assert not resp.get("Errors")
        assert keys_of(s3.list_objects(Bucket=bucket)) == []
        for k in keys:
            s3.put_object(Bucket=bucket, Key=k, Body=b"x")
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        assert status(resp) == 200
        assert not resp.get("Deleted")
        assert not resp.get("Errors")
        assert keys_of(s3.list_objects(Bucket=bucket)) == []

    def test_copy_object(self, s3, bucket, bucket2):
        data = H.det_bytes(70_000, seed=14)
        src_key = "src/中 文+1.bin"
        etag = s3.put_object(Bucket=bucket, Key=src_key, Body=data, ContentType="text/x-src",
                             Metadata={"origin": "src"})["ETag"]
        src = {"Bucket": bucket, "Key": src_key}
        resp = s3.copy_object(Bucket=bucket, Key="dst/copy", CopySource=src)
        assert status(resp) == 200
        assert resp["CopyObjectResult"]["ETag"] == etag
        got = s3.get_object(Bucket=bucket, Key="dst/copy")
        assert got["Body"].read() == data
        assert got["ContentType"] == "text/x-src"
        assert got["Metadata"] == {"origin": "src"}

        s3.copy_object(Bucket=bucket, Key="dst/replaced", CopySource=src, MetadataDirective="REPLACE",
                       ContentType="text/x-new", Metadata={"fresh": "1"})
        h = s3.head_object(Bucket=bucket, Key="dst/replaced")
        assert h["ContentType"] == "text/x-new"
        assert h["Metadata"] == {"fresh": "1"}
        assert h["ETag"] == etag

        s3.copy_object(Bucket=bucket2, Key="elsewhere", CopySource=src)
        assert s3.get_object(Bucket=bucket2, Key="elsewhere")["Body"].read() == data

        e = client_error(s3.copy_object, Bucket=bucket, Key="dst/cond", CopySource=src,
                         CopySourceIfMatch='"00000000000000000000000000000000"')
        assert_s3_error(e, 412, "PreconditionFailed")
        assert head_status(s3, bucket, "dst/cond") == 404
        s3.copy_object(Bucket=bucket, Key="dst/cond", CopySource=src, CopySourceIfMatch=etag)
        assert head_status(s3, bucket, "dst/cond") == 200

        e = client_error(s3.copy_object, Bucket=bucket, Key="dst/x", CopySource={"Bucket": bucket, "Key": "nope"})
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert e.response["Error"]["Code"] in ("NoSuchKey", "NoSuchCopySource"), e.response


# =========================================================================== listing


LIST_KEYS = ["a/1.txt", "a/2.txt", "a/b/3.txt", "b/4.txt", "c.txt", "space key.txt", "plus+key",
             "中文/文件 5.txt", "z%percent"]


@pytest.fixture
def listed_bucket(s3, bucket):
    for k in LIST_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    return bucket


class TestListObjectsV1:
    def test_full_and_delimited(self, s3, listed_bucket):
        resp = s3.list_objects(Bucket=listed_bucket)
        assert keys_of(resp) == utf8_sorted(LIST_KEYS)
        assert resp["IsTruncated"] is False
        assert resp["Name"] == listed_bucket
        for c in resp["Contents"]:
            assert c["ETag"] == H.quoted_etag(c["Key"].encode())
            assert c["Size"] == len(c["Key"].encode())
        resp = s3.list_objects(Bucket=listed_bucket, Prefix="a/", Delimiter="/")
        assert keys_of(resp) == ["a/1.txt", "a/2.txt"]
        assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == ["a/b/"]
        resp = s3.list_objects(Bucket=listed_bucket, Delimiter="/")
        assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == utf8_sorted(["a/", "b/", "中文/"])
        assert keys_of(resp) == utf8_sorted(["c.txt", "space key.txt", "plus+key", "z%percent"])

    def test_paging(self, s3, listed_bucket):
        seen, marker = [], ""
        for _ in range(20):
            resp = s3.list_objects(Bucket=listed_bucket, MaxKeys=2, Marker=marker)
            assert resp["MaxKeys"] == 2
            keys = keys_of(resp)
            assert len(keys) <= 2
            seen += keys
            if not resp["IsTruncated"]:
                break
            marker = resp.get("NextMarker") or keys[-1]
        assert seen == utf8_sorted(LIST_KEYS)
        resp = s3.list_objects(Bucket=listed_bucket, Marker="a/b/3.txt", MaxKeys=3)
        assert keys_of(resp) == ["b/4.txt", "c.txt", "plus+key"]
        assert resp["IsTruncated"] is True

    def test_paginator(self, s3, listed_bucket):
        pages = list(s3.get_paginator("list_objects").paginate(Bucket=listed_bucket, PaginationConfig={"PageSize": 3}))
        assert [k for p in pages for k in keys_of(p)] == utf8_sorted(LIST_KEYS)
        assert len(pages) == 3

    def test_explicit_encoding_type_url(self, s3, listed_bucket):
        # boto3 adds encoding-type=url on its own and decodes (with unquote_plus, so a literal
        # "+" would turn into a space); asked for explicitly, it hands back the raw values.
        resp = s3.list_objects(Bucket=listed_bucket, EncodingType="url")
        assert resp["EncodingType"] == "url"
        raw_keys = keys_of(resp)
        assert "plus%2Bkey" in raw_keys
        assert "space%20key.txt" in raw_keys
        assert quote("中文/文件 5.txt", safe="/") in raw_keys
        assert [unquote(k) for k in raw_keys] == utf8_sorted(LIST_KEYS)


class TestListObjectsV2:
    KEYS = [f"k/{i:02d}" for i in range(25)] + ["k/中文 25", "k/sub/a", "k/sub/b", "other"]

    @pytest.fixture
    def v2_bucket(self, s3, bucket):
        for k in self.KEYS:
            s3.put_object(Bucket=bucket, Key=k, Body=b"v2")
        return bucket

    def test_paginator_continuation_tokens(self, s3, v2_bucket):
        pages = list(s3.get_paginator("list_objects_v2").paginate(
            Bucket=v2_bucket, Prefix="k/", PaginationConfig={"PageSize": 4}))
        want = utf8_sorted([k for k in self.KEYS if k.startswith("k/")])
        assert [k for p in pages for k in keys_of(p)] == want
        assert len(pages) == -(-len(want) // 4)
        for i, p in enumerate(pages):
            assert p["KeyCount"] == len(p.get("Contents", [])) <= 4
            assert p["MaxKeys"] == 4
            assert p["Prefix"] == "k/"
            if i < len(pages) - 1:
                assert p["IsTruncated"] is True and p.get("NextContinuationToken"), p
                assert pages[i + 1].get("ContinuationToken") == p["NextContinuationToken"]
            else:
                assert p["IsTruncated"] is False
                assert not p.get("NextContinuationToken")

    def test_start_after_and_delimiter(self, s3, v2_bucket):
        resp = s3.list_objects_v2(Bucket=v2_bucket, StartAfter="k/21")
        assert keys_of(resp) == utf8_sorted([k for k in self.KEYS if k.encode() > b"k/21"])
        assert resp["StartAfter"] == "k/21"
        resp = s3.list_objects_v2(Bucket=v2_bucket, Prefix="k/", Delimiter="/", MaxKeys=1000)
        assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == ["k/sub/"]
        assert len(keys_of(resp)) == 26
        assert resp["KeyCount"] == 27  # contents plus common prefixes
        resp = s3.list_objects_v2(Bucket=v2_bucket, Delimiter="/")
        assert keys_of(resp) == ["other"]
        assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["k/"]
        resp = s3.list_objects_v2(Bucket=v2_bucket, Prefix="k/中文")
        assert keys_of(resp) == ["k/中文 25"]

    def test_max_keys_with_start_after_and_token(self, s3, v2_bucket):
        first = s3.list_objects_v2(Bucket=v2_bucket, Prefix="k/", StartAfter="k/05", MaxKeys=3)
        assert keys_of(first) == ["k/06", "k/07", "k/08"]
        second = s3.list_objects_v2(Bucket=v2_bucket, Prefix="k/", StartAfter="k/05", MaxKeys=3,
                                    ContinuationToken=first["NextContinuationToken"])
        assert keys_of(second) == ["k/09", "k/10", "k/11"]


# =========================================================================== auth


class TestAuth:
    def test_wrong_secret(self, s3, port, bucket):
        s3.put_object(Bucket=bucket, Key="p", Body=b"p")
        bad = H.make_s3_client(port, secret_key="wrong-secret-key-00000000000000000")
        assert_s3_error(client_error(bad.get_object, Bucket=bucket, Key="p"), 403, "SignatureDoesNotMatch")
        assert_s3_error(client_error(bad.put_object, Bucket=bucket, Key="q", Body=b"q"), 403,
                        "SignatureDoesNotMatch")
        assert_s3_error(client_error(bad.list_buckets), 403, "SignatureDoesNotMatch")
        assert head_status(s3, bucket, "q") == 404

    def test_unknown_access_key(self, port, bucket):
        stranger = H.make_s3_client(port, access_key="AKIDnobodyHasThisKey000000000000000")
        assert_s3_error(client_error(stranger.get_object, Bucket=bucket, Key="p"), 403, "InvalidAccessKeyId")
        assert_s3_error(client_error(stranger.list_objects_v2, Bucket=bucket), 403, "InvalidAccessKeyId")

    def test_unsigned_requests_are_denied(self, s3, port, bucket):
        s3.put_object(Bucket=bucket, Key="p", Body=b"p")
        anon = H.make_s3_client(port, unsigned=True)
        for call in (lambda: anon.get_object(Bucket=bucket, Key="p"),
                     lambda: anon.put_object(Bucket=bucket, Key="anon", Body=b"x"),
                     lambda: anon.list_objects_v2(Bucket=bucket),
                     lambda: anon.list_buckets()):
            assert_s3_error(client_error(call), 403, "AccessDenied")
        assert head_status(s3, bucket, "anon") == 404


# =========================================================================== keys and limits


KEYS = ["中文/文件名.txt", "with space/two  spaces.txt", "plus+sign", "percent%20%", "question?mark=1&x",
        "hash#frag", "../../etc/passwd", "emoji-😀", "quote'\"<>&.txt", "trailing-slash/"]


class TestKeys:
    @pytest.mark.parametrize("key", KEYS)
    def test_round_trip(self, s3, bucket, key):
        data = ("boto3 " + key).encode()
        assert s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"] == H.quoted_etag(data)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data)
        assert keys_of(s3.list_objects(Bucket=bucket)) == [key]
        assert keys_of(s3.list_objects_v2(Bucket=bucket, Prefix=key)) == [key]
        s3.delete_object(Bucket=bucket, Key=key)
        assert keys_of(s3.list_objects_v2(Bucket=bucket)) == []

    def test_key_length(self, s3, bucket):
        s3.put_object(Bucket=bucket, Key="k" * 850, Body=b"ok")
        assert s3.get_object(Bucket=bucket, Key="k" * 850)["Body"].read() == b"ok"
        assert_s3_error(client_error(s3.put_object, Bucket=bucket, Key="k" * 851, Body=b"x"), 400, "KeyTooLong")
        assert_s3_error(client_error(s3.put_object, Bucket=bucket, Key="ü" * 426, Body=b"x"), 400, "KeyTooLong")

    def test_metadata_too_large(self, s3, bucket):
        e = client_error(s3.put_object, Bucket=bucket, Key="m", Body=b"x", Metadata={"big": "v" * 2100})
        assert_s3_error(e, 400, "MetadataTooLarge")
        assert head_status(s3, bucket, "m") == 404


# =========================================================================== presigned URLs


def _tamper_query(url: str, name: str) -> str:
    parts = urlsplit(url)
    q = parse_qsl(parts.query, keep_blank_values=True)
    q = [(k, (v[:-1] + ("0" if v[-1] != "0" else "1")) if k == name else v) for k, v in q]
    return urlunsplit(parts._replace(query=urlencode(q)))


class TestPresigned:
    def test_get_and_put(self, s3, bucket):
        data = H.det_bytes(50_000, seed=15)
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre/sig ned.bin"},
                                            ExpiresIn=300)
        resp = requests.put(put_url, data=data, timeout=60)
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("ETag") == H.quoted_etag(data)
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre/sig ned.bin"},
                                            ExpiresIn=300)
        resp = requests.get(get_url, timeout=60)
        assert resp.status_code == 200, resp.text
        assert resp.content == data
        url = s3.generate_presigned_url("get_object", ExpiresIn=300, Params={
            "Bucket": bucket, "Key": "pre/sig ned.bin", "ResponseContentType": "text/x-override"})
        resp = requests.get(url, timeout=60)
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/x-override"

    def test_expired(self, s3, bucket):
        s3.put_object(Bucket=bucket, Key="e", Body=b"e")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "e"}, ExpiresIn=1)
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "e2"}, ExpiresIn=1)
        time.sleep(2.5)
        resp = requests.get(url, timeout=60)
        assert resp.status_code == 403, resp.text
        assert H.parse_error(resp.content)["Code"] == "AccessDenied"
        resp = requests.put(put_url, data=b"late", timeout=60)
        assert resp.status_code == 403, resp.text
        assert head_status(s3, bucket, "e2") == 404

    def test_tampered(self, s3, bucket):
        s3.put_object(Bucket=bucket, Key="one", Body=b"1")
        s3.put_object(Bucket=bucket, Key="two", Body=b"2")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "one"}, ExpiresIn=300)
        assert requests.get(url, timeout=60).status_code == 200
        for bad in (_tamper_query(url, "X-Amz-Signature"), url.replace("/one?", "/two?"),
                    _tamper_query(url, "X-Amz-Expires")):
            resp = requests.get(bad, timeout=60)
            assert resp.status_code == 403, (bad, resp.text)
            assert H.parse_error(resp.content)["Code"] == "SignatureDoesNotMatch", resp.text
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "three"}, ExpiresIn=300)
        resp = requests.put(put_url.replace("/three?", "/four?"), data=b"x", timeout=60)
        assert resp.status_code == 403
        assert head_status(s3, bucket, "four") == 404


# =========================================================================== POST Object (browser forms)


def _post_form(url: str, fields: dict, filename: str, data: bytes) -> requests.Response:
    """Posts as a browser does: the fields, then the file last (requests encodes them in that
    order), the file part carrying its own MIME type, which the server must ignore."""
    return requests.post(url, data=fields, files={"file": (filename, data, "image/png")},
                         allow_redirects=False, timeout=60)  # a redirect target is never contacted


class TestPresignedPost:
    """boto3's generate_presigned_post (SigV4 policy), posted with requests' multipart encoder."""

    def test_upload_with_filename_fields_and_conditions(self, s3, bucket):
        data = H.det_bytes(300_000, seed=21)
        fields = {"Content-Type": "text/plain", "x-amz-meta-origin": "browser", "success_action_status": "201"}
        post = s3.generate_presigned_post(
            bucket, "uploads/${filename}", Fields=fields,
            Conditions=[{"Content-Type": "text/plain"}, {"x-amz-meta-origin": "browser"},
                        {"success_action_status": "201"}, ["content-length-range", 1, 1_000_000]],
            ExpiresIn=300)
        resp = _post_form(post["url"], post["fields"], "report.txt", data)
        assert resp.status_code == 201, resp.text
        assert "<Key>uploads/report.txt</Key>" in resp.text
        assert resp.headers.get("ETag") == H.quoted_etag(data)
        obj = s3.get_object(Bucket=bucket, Key="uploads/report.txt")
        assert obj["Body"].read() == data
        assert obj["ContentType"] == "text/plain"
        assert obj["Metadata"] == {"origin": "browser"}

    def test_size_range_tampering_and_extra_fields_are_refused(self, s3, bucket):
        post = s3.generate_presigned_post(bucket, "limited", Conditions=[["content-length-range", 1, 10]],
                                          ExpiresIn=300)
        resp = _post_form(post["url"], post["fields"], "f", b"x" * 11)
        assert resp.status_code == 400, resp.text
        assert H.parse_error(resp.content)["Code"] == "EntityTooLarge"
        assert head_status(s3, bucket, "limited") == 404
        for name, value, code in (("key", "elsewhere", "AccessDenied"),
                                  ("x-amz-signature", "0" * 64, "SignatureDoesNotMatch"),
                                  ("x-amz-meta-extra", "1", "AccessDenied")):
            resp = _post_form(post["url"], dict(post["fields"], **{name: value}), "f", b"x")
            assert resp.status_code == 403, (name, resp.text)
            assert H.parse_error(resp.content)["Code"] == code, (name, resp.text)
        assert head_status(s3, bucket, "elsewhere") == 404
        resp = _post_form(post["url"], post["fields"], "f", b"0123456789")
        assert resp.status_code == 204, resp.text
        assert s3.get_object(Bucket=bucket, Key="limited")["Body"].read() == b"0123456789"


# =========================================================================== SigV4 payload forms


AWS_DOC = dict(  # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
    access_key="AKIAIOSFODNN7EXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    amz_date="20130524T000000Z", region="us-east-1",
    seed="4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    chunks=["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"],
)


def test_sigv4_streaming_signer_matches_aws_example():
    """The hand-made signer used below reproduces the AWS documentation's worked example."""
    d = AWS_DOC
    hdrs = {"Host": "s3.amazonaws.com", "x-amz-date": d["amz_date"], "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": "66560", "Content-Length": "66824"}
    _, seed = H.sigv4_authorization("PUT", "/examplebucket/chunkObject.txt", [], hdrs,
                                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", d["access_key"], d["secret_key"],
                                    d["region"], d["amz_date"])
    assert seed == d["seed"]
    body, sigs = H.aws_chunked_signed_body(b"a" * 66560, 65536, seed, d["secret_key"], d["region"], d["amz_date"])
    assert sigs == d["chunks"]
    assert len(body) == 66824


def sigv4_put(port: int, bucket: str, key: str, body: bytes, payload_hash: str,
              extra: dict | None = None, secret_key: str = H.SECRET_KEY, amz_date: str | None = None,
              tamper_seed: bool = False) -> H.RawResponse:
    amz_date = amz_date or H.amz_now()
    path = f"/{bucket}/{H.encode_key_path(key)}"
    hdrs = {"Host": f"127.0.0.1:{port}", "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash,
            "Content-Length": str(len(body))}
    hdrs.update(extra or {})
    auth, _ = H.sigv4_authorization("PUT", path, [], hdrs, payload_hash, H.SECRET_ID, secret_key, H.REGION,
                                    amz_date)
    hdrs["Authorization"] = auth
    return H.http_request(port, "PUT", path, hdrs, body)


class TestSigV4Payloads:
    def test_aws_chunked_signed_stream(self, s3, port, bucket):
        data = H.det_bytes(200_000, seed=16)
        amz_date = H.amz_now()
        path = f"/{bucket}/chunked/signed.bin"
        hdrs = {"Host": f"127.0.0.1:{port}", "x-amz-date": amz_date,
                "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
                "x-amz-decoded-content-length": str(len(data)), "Content-Type": "application/x-chunked"}
        # Content-Length is that of the encoded body: compute it with a throw-away signature.
        probe, _ = H.aws_chunked_signed_body(data, 65536, "0" * 64, H.SECRET_KEY, H.REGION, amz_date)
        hdrs["Content-Length"] = str(len(probe))
        auth, seed = H.sigv4_authorization("PUT", path, [], hdrs, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                           H.SECRET_ID, H.SECRET_KEY, H.REGION, amz_date)
        body, _ = H.aws_chunked_signed_body(data, 65536, seed, H.SECRET_KEY, H.REGION, amz_date)
        resp = H.http_request(port, "PUT", path, dict(hdrs, Authorization=auth), body)
        assert resp.status == 200, resp
        assert resp.headers["ETag"] == H.quoted_etag(data)
        got = s3.get_object(Bucket=bucket, Key="chunked/signed.bin")
        assert got["Body"].read() == data
        assert got["ContentLength"] == len(data)
        assert got["ContentType"] == "application/x-chunked"
        assert "aws-chunked" not in got.get("ContentEncoding", "")

        # A chunk whose signature does not chain: refused, and nothing is stored.
        bad_path = f"/{bucket}/chunked/bad.bin"
        auth, seed = H.sigv4_authorization("PUT", bad_path, [], hdrs, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                           H.SECRET_ID, H.SECRET_KEY, H.REGION, amz_date)
        good_body, _ = H.aws_chunked_signed_body(data, 65536, seed, H.SECRET_KEY, H.REGION, amz_date)
        corrupted = bytearray(good_body)
        corrupted[len(corrupted) // 2] ^= 0xFF  # flip a data byte in the second chunk
        resp = H.http_request(port, "PUT", bad_path, dict(hdrs, Authorization=auth), bytes(corrupted))
        assert resp.status == 403, resp
        assert resp.error()["Code"] == "SignatureDoesNotMatch", resp
        assert head_status(s3, bucket, "chunked/bad.bin") == 404

    def test_aws_chunked_unsigned_trailer(self, s3, port, bucket):
        # What boto3 sends over HTTPS: unsigned chunks with a CRC32 trailer.
        data = H.det_bytes(150_000, seed=17)
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        body = H.aws_chunked_unsigned_trailer_body(data, 65536, "x-amz-checksum-crc32", crc)
        resp = sigv4_put(port, bucket, "chunked/trailer.bin", body, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", {
            "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm": "CRC32"})
        assert resp.status == 200, resp
        assert resp.headers["ETag"] == H.quoted_etag(data)
        assert s3.get_object(Bucket=bucket, Key="chunked/trailer.bin")["Body"].read() == data

    def test_unsigned_payload_and_payload_hash(self, s3, port, bucket):
        resp = sigv4_put(port, bucket, "unsigned-payload", b"not hashed", "UNSIGNED-PAYLOAD")
        assert resp.status == 200, resp
        assert s3.get_object(Bucket=bucket, Key="unsigned-payload")["Body"].read() == b"not hashed"
        # A hex payload hash that does not match the body: refused, nothing stored.
        resp = sigv4_put(port, bucket, "wrong-hash", b"actual body", hashlib.sha256(b"other body").hexdigest())
        assert resp.status in (400, 403), resp
        assert resp.error()["Code"] in ("XAmzContentSHA256Mismatch", "BadDigest", "SignatureDoesNotMatch"), resp
        assert head_status(s3, bucket, "wrong-hash") == 404
        # A signature made with the wrong secret.
        resp = sigv4_put(port, bucket, "bad-sig", b"x", "UNSIGNED-PAYLOAD", secret_key="nope" * 8)
        assert resp.status == 403 and resp.error()["Code"] == "SignatureDoesNotMatch", resp
