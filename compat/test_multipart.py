"""Multipart upload and APPEND Object through the real clients.

cos-python-sdk-v5: ``upload_file`` (several threads, small parts) and ``download_file`` with its
CRC-64 check, the low-level multipart calls, and ``append_object``. boto3: ``upload_file`` /
``download_file`` above a small multipart threshold, and the managed ``copy``, which uses
UploadPartCopy above its threshold. Expected ETags and CRCs are computed here, independently of
the server.
"""

from __future__ import annotations

import time

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from qcloud_cos import CosServiceError

import cosd_helpers as H

MB = 1024 * 1024


def cos_error(fn, *args, **kwargs) -> tuple[int, str]:
    with pytest.raises(CosServiceError) as ei:
        fn(*args, **kwargs)
    return ei.value.get_status_code(), ei.value.get_error_code()


def s3_error(fn, *args, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    err = ei.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]


class TestCosSdk:
    @pytest.mark.slow
    def test_upload_file_in_threads_then_download_file_with_crc64(self, cos, bucket, tmp_path):
        data = H.det_bytes(25 * MB + 12345, seed=11)
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        key = "big/大 file.bin"
        done = cos.upload_file(Bucket=bucket, Key=key, LocalFilePath=str(src), PartSize=2, MAXThread=4)
        assert done["ETag"] == H.multipart_etag(H.split(data, 2 * MB))
        head = cos.head_object(Bucket=bucket, Key=key)
        assert head["Content-Length"] == str(len(data))
        assert head["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        assert "Upload" not in cos.list_multipart_uploads(Bucket=bucket)
        dst = tmp_path / "dst.bin"
        # Ranged, threaded download; EnableCRC makes the SDK compare the CRC-64 of the file it
        # wrote with the object's x-cos-hash-crc64ecma.
        cos.download_file(Bucket=bucket, Key=key, DestFilePath=str(dst), PartSize=3, MAXThread=4,
                          EnableCRC=True)
        assert dst.read_bytes() == data

    def test_upload_file_resumes_the_newest_upload_of_the_key(self, cos, bucket, tmp_path):
        data = H.det_bytes(5 * MB + 10, seed=12)
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        key = "resume.bin"
        older = cos.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        time.sleep(0.01)  # upload ids sort by initiation time, to the millisecond
        newest = cos.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        for n in (1, 3):
            cos.upload_part(Bucket=bucket, Key=key, Body=data[(n - 1) * MB:n * MB], PartNumber=n, UploadId=newest)
        cos.responses.clear()  # it keeps the last 50: start counting from here
        # The SDK lists the key's uploads, takes the last one, checks its parts against the
        # file (List Parts: sizes and ETags) and uploads only the missing ones.
        done = cos.upload_file(Bucket=bucket, Key=key, LocalFilePath=str(src), PartSize=1, MAXThread=2)
        assert done["ETag"] == H.multipart_etag(H.split(data, MB))
        sent = [r.request.url for r in cos.responses if r.request.method == "PUT"]
        assert len(sent) == 4 and all(newest in url for url in sent), sent
        assert [u["UploadId"] for u in cos.list_multipart_uploads(Bucket=bucket)["Upload"]] == [older]
        body = cos.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()
        assert body == data

    def test_managed_copy(self, port, bucket):
        cos = H.make_cos_client(port)  # its copy threshold is changed below: not the session's client
        data = H.det_bytes(12 * MB + 5, seed=13)
        cos.put_object(Bucket=bucket, Key="src.bin", Body=data)
        # copy() HEADs the source with a URL of its own (no IP mode): name the source by endpoint,
        # <bucket>.cos.localhost:PORT (resolved to loopback by libnss-myhostname).
        src = {"Bucket": bucket, "Key": "src.bin", "Endpoint": f"{H.LOCAL_DOMAIN}:{port}"}
        # Same region and storage class: one PUT Object - Copy.
        cos.copy(Bucket=bucket, Key="same.bin", CopySource=src)
        assert cos.head_object(Bucket=bucket, Key="same.bin")["ETag"] == H.quoted_etag(data)
        # Another storage class, above the copy threshold (lowered from 5 GB to 5 MB): a multipart
        # upload of Upload Part - Copy parts, in threads.
        cos._conf.set_copy_part_threshold_size(5 * MB)
        cos.copy(Bucket=bucket, Key="parts.bin", CopySource=src, StorageClass="STANDARD_IA", PartSize=5, MAXThread=3)
        head = cos.head_object(Bucket=bucket, Key="parts.bin")
        assert head["ETag"] == H.multipart_etag(H.split(data, 5 * MB))
        assert (head["x-cos-storage-class"], head["x-cos-hash-crc64ecma"]) == ("STANDARD_IA", str(H.crc64(data)))
        assert cos.get_object(Bucket=bucket, Key="parts.bin")["Body"].get_raw_stream().read() == data
        assert "Upload" not in cos.list_multipart_uploads(Bucket=bucket)

    def test_low_level_calls(self, cos, bucket):
        key = "low/level.bin"
        up = cos.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/x-test",
                                         Metadata={"x-cos-meta-origin": "compat"})
        uid = up["UploadId"]
        assert up["Key"] == key and up["Bucket"] == bucket
        p1, p2 = H.det_bytes(MB, 1), H.det_bytes(1000, 2)
        r2 = cos.upload_part(Bucket=bucket, Key=key, Body=p2, PartNumber=2, UploadId=uid)
        r1 = cos.upload_part(Bucket=bucket, Key=key, Body=p1, PartNumber=1, UploadId=uid, EnableMD5=True)
        assert r1["ETag"] == H.quoted_etag(p1)
        assert r1["x-cos-hash-crc64ecma"] == str(H.crc64(p1))

        first = cos.list_parts(Bucket=bucket, Key=key, UploadId=uid, MaxParts=1)
        assert first["IsTruncated"] == "true"
        assert [p["PartNumber"] for p in first["Part"]] == ["1"]
        assert first["Part"][0]["Size"] == str(MB)
        rest = cos.list_parts(Bucket=bucket, Key=key, UploadId=uid, PartNumberMarker=first["NextPartNumberMarker"])
        assert rest["IsTruncated"] == "false"
        assert [(p["PartNumber"], p["ETag"]) for p in rest["Part"]] == [("2", H.quoted_etag(p2))]

        listed = cos.list_multipart_uploads(Bucket=bucket, Prefix="low/")
        assert [(u["Key"], u["UploadId"]) for u in listed["Upload"]] == [(key, uid)]

        done = cos.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={
            "Part": [{"PartNumber": 1, "ETag": r1["ETag"]}, {"PartNumber": 2, "ETag": r2["ETag"]}]})
        assert done["ETag"] == H.multipart_etag([p1, p2])
        assert done["Key"] == key
        got = cos.get_object(Bucket=bucket, Key=key)
        assert got["Body"].get_raw_stream().read() == p1 + p2
        assert got["Content-Type"] == "application/x-test"
        assert got["x-cos-meta-origin"] == "compat"
        assert got["x-cos-hash-crc64ecma"] == str(H.crc64(p1 + p2))

    def test_abort_and_errors(self, cos, bucket):
        key = "aborted"
        uid = cos.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        small = cos.upload_part(Bucket=bucket, Key=key, Body=b"small", PartNumber=1, UploadId=uid)
        last = cos.upload_part(Bucket=bucket, Key=key, Body=b"last", PartNumber=2, UploadId=uid)
        parts = [{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]
        assert cos_error(cos.complete_multipart_upload, Bucket=bucket, Key=key, UploadId=uid,
                         MultipartUpload={"Part": parts}) == (400, "EntityTooSmall")
        assert cos_error(cos.complete_multipart_upload, Bucket=bucket, Key=key, UploadId=uid,
                         MultipartUpload={"Part": parts[::-1]}) == (400, "InvalidPartOrder")
        wrong = [{"PartNumber": 2, "ETag": small["ETag"]}]
        assert cos_error(cos.complete_multipart_upload, Bucket=bucket, Key=key, UploadId=uid,
                         MultipartUpload={"Part": wrong}) == (400, "InvalidPart")
        # Refused while the upload exists.
        assert cos_error(cos.delete_bucket, Bucket=bucket) == (409, "BucketNotEmpty")
        cos.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)
        assert cos_error(cos.list_parts, Bucket=bucket, Key=key, UploadId=uid) == (404, "NoSuchUpload")
        assert cos_error(cos.abort_multipart_upload, Bucket=bucket, Key=key, UploadId=uid) == (404, "NoSuchUpload")
        assert cos_error(cos.upload_part, Bucket=bucket, Key=key, Body=b"x", PartNumber=1,
                         UploadId=uid) == (404, "NoSuchUpload")

    def test_append_object(self, cos, bucket):
        key = "logs/app.log"
        r = cos.append_object(Bucket=bucket, Key=key, Position=0, Data=b"hello ", ContentType="text/plain")
        assert r["x-cos-next-append-position"] == "6"
        r = cos.append_object(Bucket=bucket, Key=key, Position=int(r["x-cos-next-append-position"]), Data=b"world")
        assert r["x-cos-next-append-position"] == "11"
        head = cos.head_object(Bucket=bucket, Key=key)
        assert head["x-cos-object-type"] == "appendable"
        assert head["Content-Type"] == "text/plain"
        assert head["x-cos-hash-crc64ecma"] == str(H.crc64(b"hello world"))
        assert head["ETag"] == r["ETag"]
        body = cos.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()
        assert body == b"hello world"
        assert cos_error(cos.append_object, Bucket=bucket, Key=key, Position=3,
                         Data=b"x") == (409, "PositionNotEqualToLength")
        cos.put_object(Bucket=bucket, Key=key, Body=b"normal now")
        assert "x-cos-object-type" not in cos.head_object(Bucket=bucket, Key=key)
        assert cos_error(cos.append_object, Bucket=bucket, Key=key, Position=10,
                         Data=b"x") == (409, "ObjectNotAppendable")


class TestBoto3:
    CONFIG = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=4)

    @pytest.mark.slow
    def test_upload_download_and_managed_copy(self, s3, bucket, tmp_path):
        data = H.det_bytes(20 * MB + 333, seed=21)
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        s3.upload_file(str(src), bucket, "b/big.bin", Config=self.CONFIG)
        expected = H.multipart_etag(H.split(data, 5 * MB))
        head = s3.head_object(Bucket=bucket, Key="b/big.bin")
        assert (head["ETag"], head["ContentLength"]) == (expected, len(data))
        dst = tmp_path / "dst.bin"
        s3.download_file(bucket, "b/big.bin", str(dst), Config=self.CONFIG)
        assert dst.read_bytes() == data

        # Above the threshold, boto3's managed copy is a multipart upload of UploadPartCopy parts.
        s3.copy({"Bucket": bucket, "Key": "b/big.bin"}, bucket, "b/copy.bin", Config=self.CONFIG)
        copied = s3.get_object(Bucket=bucket, Key="b/copy.bin")
        assert copied["Body"].read() == data
        assert copied["ETag"] == expected
        assert copied["ResponseMetadata"]["HTTPHeaders"]["x-cos-hash-crc64ecma"] == str(H.crc64(data))
        assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)

    def test_low_level_calls_and_errors(self, s3, bucket):
        key = "dir/low.bin"
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/x-low",
                                         Metadata={"who": "boto3"})["UploadId"]
        p1, p2 = H.det_bytes(MB + 1, 3), H.det_bytes(10, 4)
        e1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=p1)["ETag"]
        e2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=p2)["ETag"]
        assert (e1, e2) == (H.quoted_etag(p1), H.quoted_etag(p2))
        page = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, MaxParts=1)
        assert page["IsTruncated"] and page["NextPartNumberMarker"] == 1
        assert [p["PartNumber"] for p in page["Parts"]] == [1]
        page = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, PartNumberMarker=1)
        assert [(p["PartNumber"], p["Size"]) for p in page["Parts"]] == [(2, 10)]
        other = s3.create_multipart_upload(Bucket=bucket, Key="top")["UploadId"]
        ups = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
        assert [(u["Key"], u["UploadId"]) for u in ups["Uploads"]] == [("top", other)]
        assert [p["Prefix"] for p in ups["CommonPrefixes"]] == ["dir/"]
        ups = s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")
        assert [u["UploadId"] for u in ups["Uploads"]] == [uid]

        complete = lambda parts: s3.complete_multipart_upload(  # noqa: E731
            Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})
        assert s3_error(complete, [{"PartNumber": 1, "ETag": e2}]) == (400, "InvalidPart")
        assert s3_error(complete, [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]) \
            == (400, "InvalidPartOrder")
        done = complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}])
        assert done["ETag"] == H.multipart_etag([p1, p2])
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == p1 + p2
        assert (got["ContentType"], got["Metadata"]) == ("text/x-low", {"who": "boto3"})

        s3.abort_multipart_upload(Bucket=bucket, Key="top", UploadId=other)
        assert s3_error(s3.list_parts, Bucket=bucket, Key="top", UploadId=other) == (404, "NoSuchUpload")
        assert s3_error(complete, [{"PartNumber": 1, "ETag": e1}]) == (404, "NoSuchUpload")
