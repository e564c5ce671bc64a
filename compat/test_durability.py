"""Crash safety of cosd: acknowledged writes survive SIGKILL, interrupted uploads never tear.

Each test runs its own cosd process on its own data dir, kills it with SIGKILL (no shutdown
code runs), restarts it on the same data dir and reads everything back through the clients.
"""

from __future__ import annotations

import hashlib
import http.client
import random
import time

import pytest
from botocore.exceptions import ClientError
from qcloud_cos import CosServiceError
from requests.structures import CaseInsensitiveDict

import cosd_helpers as H


@pytest.fixture
def server(workdir, request):
    name = request.node.name.replace("[", "_").replace("]", "")
    base = workdir / f"durability-{name}"
    srv = H.CosdServer(data_dir=base / "data", log_path=base.with_suffix(".log"), name=name)
    try:
        srv.start()
    except H.ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    srv.stop()


def restart(srv: H.CosdServer) -> None:
    try:
        srv.start()
    except H.ServerStartError as e:
        pytest.fail(f"cosd did not come back on its data dir after SIGKILL:\n{e}", pytrace=False)


def list_all(s3, bucket: str) -> dict[str, dict]:
    out, marker = {}, ""
    while True:
        page = s3.list_objects(Bucket=bucket, Marker=marker, MaxKeys=1000)
        contents = page.get("Contents", [])
        for c in contents:
            out[c["Key"]] = c
        if not page.get("IsTruncated"):
            return out
        marker = page.get("NextMarker") or contents[-1]["Key"]


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(server):
    s3 = H.make_s3_client(server.port)
    cos = H.make_cos_client(server.port)
    bucket = H.unique_bucket("dur")
    s3.create_bucket(Bucket=bucket)
    rng = random.Random(7)
    expected: dict[str, bytes] = {}

    for i in range(200):
        data = H.det_bytes(rng.randrange(0, 8192), seed=1000 + i)
        key = f"small/{i:04d}"
        assert s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"] == H.quoted_etag(data)
        expected[key] = data
    for i in range(4):  # a few MB-sized bodies, through the COS SDK
        data = H.det_bytes(rng.randrange(1, 4) * 1024 * 1024 + rng.randrange(0, 4096), seed=2000 + i)
        key = f"large/中文 {i}.bin"
        resp = CaseInsensitiveDict(cos.put_object(Bucket=bucket, Key=key, Body=data))
        assert resp["ETag"] == H.quoted_etag(data)
        expected[key] = data
    for i in range(0, 20):  # acknowledged overwrites
        data = b"overwritten %d" % i
        s3.put_object(Bucket=bucket, Key=f"small/{i:04d}", Body=data)
        expected[f"small/{i:04d}"] = data
    for i in range(190, 200):  # acknowledged deletes
        s3.delete_object(Bucket=bucket, Key=f"small/{i:04d}")
        del expected[f"small/{i:04d}"]
    copied = expected["large/中文 0.bin"]
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "large/中文 0.bin"})
    expected["copied"] = copied
    last_key, last_data = "last/acknowledged", H.det_bytes(100_000, seed=3000)
    s3.put_object(Bucket=bucket, Key=last_key, Body=last_data)
    expected[last_key] = last_data

    server.kill()  # right after the last acknowledgement
    restart(server)

    s3 = H.make_s3_client(server.port)
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    listed = list_all(s3, bucket)
    assert sorted(listed) == sorted(expected), (
        f"missing: {sorted(set(expected) - set(listed))[:10]}, unexpected: {sorted(set(listed) - set(expected))[:10]}")
    for key, data in expected.items():
        assert listed[key]["Size"] == len(data), key
        assert listed[key]["ETag"] == H.quoted_etag(data), key
        got = s3.get_object(Bucket=bucket, Key=key)
        body = got["Body"].read()
        assert hashlib.md5(body).hexdigest() == H.md5_hex(data), f"{key}: content changed across the crash"
        assert got["ResponseMetadata"]["HTTPHeaders"]["x-cos-hash-crc64ecma"] == str(H.crc64(data)), key
    # And the server keeps working on that data dir.
    s3.put_object(Bucket=bucket, Key="after-restart", Body=b"alive")
    assert s3.get_object(Bucket=bucket, Key="after-restart")["Body"].read() == b"alive"


def _start_put(port: int, bucket: str, key: str, length: int) -> http.client.HTTPConnection:
    """Opens a COS-signed PUT of ``length`` bytes and sends only the request head."""
    host = H.vhost(bucket)
    hdrs = {"Host": host, "Content-Length": str(length), "Content-Type": "application/octet-stream"}
    hdrs["Authorization"] = H.RawClient.cos_authorization("PUT", "/" + key, {}, hdrs, H.SECRET_ID, H.SECRET_KEY)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest("PUT", "/" + H.encode_key_path(key), skip_host=True, skip_accept_encoding=True)
    for k, v in hdrs.items():
        conn.putheader(k, v)
    conn.endheaders()
    return conn


@pytest.mark.slow
def test_sigkill_during_large_uploads_never_tears(server):
    s3 = H.make_s3_client(server.port)
    cos = H.make_cos_client(server.port)
    bucket = H.unique_bucket("tear")
    s3.create_bucket(Bucket=bucket)
    old = H.det_bytes(3 * 1024 * 1024 + 5, seed=4000)
    s3.put_object(Bucket=bucket, Key="big/existing", Body=old)

    total = 50 * 1024 * 1024
    new = H.det_bytes(1024 * 1024, seed=4001)
    conns = [_start_put(server.port, bucket, "big/existing", total),  # overwrite of an existing key
             _start_put(server.port, bucket, "big/new", total)]       # a key that never existed
    try:
        for _ in range(25):  # half of each body
            for conn in conns:
                conn.send(new)
        time.sleep(0.5)  # let the server write what it received
        server.kill()
    finally:
        for conn in conns:
            conn.close()

    restart(server)
    s3 = H.make_s3_client(server.port)
    got = s3.get_object(Bucket=bucket, Key="big/existing")
    body = got["Body"].read()
    assert len(body) == len(old) and hashlib.md5(body).hexdigest() == H.md5_hex(old), \
        "the interrupted overwrite left a torn or replaced object"
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="big/new")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(CosServiceError) as ei:
        H.make_cos_client(server.port).get_object(Bucket=bucket, Key="big/new")
    assert ei.value.get_error_code() == "NoSuchKey"
    assert sorted(list_all(s3, bucket)) == ["big/existing"]
    # A complete upload of the same size after the restart works.
    full = new * 50
    cos = H.make_cos_client(server.port)
    assert cos.put_object(Bucket=bucket, Key="big/new", Body=full) is not None
    assert hashlib.md5(s3.get_object(Bucket=bucket, Key="big/new")["Body"].read()).hexdigest() == H.md5_hex(full)


@pytest.mark.slow
def test_clean_restart_keeps_everything(server):
    s3 = H.make_s3_client(server.port)
    bucket = H.unique_bucket("term")
    s3.create_bucket(Bucket=bucket)
    data = {f"k{i}": H.det_bytes(1000 + i, seed=5000 + i) for i in range(20)}
    for k, v in data.items():
        s3.put_object(Bucket=bucket, Key=k, Body=v)
    rc = server.stop()  # SIGTERM: a graceful stop
    assert rc is not None
    restart(server)
    s3 = H.make_s3_client(server.port)
    assert sorted(list_all(s3, bucket)) == sorted(data)
    for k, v in data.items():
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == v


def test_concurrent_overwrites_are_atomic(s3, port, bucket):
    """Writers race on one key while readers read it: every read returns one whole version
    (its ETag matching its bytes), and the survivor is one whole version."""
    versions = [H.det_bytes(512 * 1024 + i, seed=6000 + i) for i in range(6)]
    digests = {H.md5_hex(v) for v in versions}
    s3.put_object(Bucket=bucket, Key="race", Body=versions[0])
    stop = False

    def writer(data):
        client = H.make_s3_client(port)
        for _ in range(3):
            assert client.put_object(Bucket=bucket, Key="race", Body=data)["ETag"] == H.quoted_etag(data)

    def reader():
        client = H.make_s3_client(port)
        reads = 0
        while not stop or reads == 0:
            got = client.get_object(Bucket=bucket, Key="race")
            body = got["Body"].read()
            digest = hashlib.md5(body).hexdigest()
            assert digest in digests, f"read a torn object ({len(body)} bytes)"
            assert got["ETag"] == f'"{digest}"', "ETag and bytes come from different versions"
            assert got["ContentLength"] == len(body)
            reads += 1
        return reads

    writers = [H.Background(writer, v) for v in versions]
    readers = [H.Background(reader) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(120)
    stop = True
    for t in readers:
        t.join(120)
    for t in writers + readers:
        assert not t.is_alive(), "a client thread hung"
        if t.exc is not None:
            raise t.exc
    assert all(t.result >= 1 for t in readers)
    final = s3.get_object(Bucket=bucket, Key="race")["Body"].read()
    assert H.md5_hex(final) in digests
    assert [c["Key"] for c in s3.list_objects(Bucket=bucket).get("Contents", [])] == ["race"]
