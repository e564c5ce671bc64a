"""Accounts, temporary credentials and AWS signature V2 through real clients.

* a second account made with ``cosd account add`` / ``cosd key add`` while the server runs:
  boto3 with its key works within seconds and sees only its own buckets;
* temporary keys from ``cosd token issue``: boto3 ``aws_session_token=`` (SigV4 signs
  ``x-amz-security-token``), cos-python-sdk-v5 ``Token=`` (``x-cos-security-token``); a
  tampered token and an expired one are refused;
* AWS signature V2: boto3 with ``signature_version='s3'`` (botocore's HmacV1 signer), s3cmd
  ``--signature-v2``, and botocore's V2 presigned URLs — valid, expired, tampered.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests
from botocore.exceptions import ClientError

import cosd_helpers as H


def cosd_cli(cosd, *args: str) -> str:
    """Runs an admin command on the session server's data directory (while it runs)."""
    env = {"COSD_APPID": H.APPID, "RUST_LOG": "warn", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(cosd.binary), *args, *cosd.store_args()], env=env,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def issue_temp(cosd, *flags: str) -> dict:
    return json.loads(cosd_cli(cosd, "token", "issue", *flags))["Credentials"]


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def poll_until(check, seconds: float = 10.0):
    """Calls ``check`` until it returns a true value (at most ``seconds``); returns that value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def works(client) -> bool:
    try:
        client.list_buckets()
        return True
    except ClientError:
        return False


@pytest.fixture
def temp_bucket(s3):
    name = H.unique_bucket("id")
    s3.create_bucket(Bucket=name)
    yield name
    H.empty_and_delete_bucket(s3, name)


def test_a_new_account_works_within_seconds_and_keeps_to_its_buckets(cosd, s3, temp_bucket):
    appid = "1250000042"
    cosd_cli(cosd, "account", "add", appid, "--name", "compat")
    out = cosd_cli(cosd, "key", "add", "--account", appid)
    fields = dict(line.strip().split(":", 1) for line in out.splitlines()[1:])
    sid, skey = fields["SecretId"].strip(), fields["SecretKey"].strip()
    other = H.make_s3_client(cosd.port, access_key=sid, secret_key=skey)
    assert poll_until(lambda: works(other)), "the new key was not accepted within 10 s"

    own = f"{H.unique_bucket('own')[:-len(H.APPID)]}{appid}"
    other.create_bucket(Bucket=own)
    try:
        other.put_object(Bucket=own, Key="k", Body=b"v")
        assert [b["Name"] for b in other.list_buckets()["Buckets"]] == [own]
        assert own not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        with pytest.raises(ClientError) as e:
            other.get_object(Bucket=temp_bucket, Key="anything")
        assert error_code(e.value) == "AccessDenied"
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=own, Key="k")
        assert error_code(e.value) == "AccessDenied"
        other.delete_object(Bucket=own, Key="k")
    finally:
        other.delete_bucket(Bucket=own)
    cosd_cli(cosd, "key", "remove", sid)
    assert poll_until(lambda: not works(other)), "the removed key still works after 10 s"


def session_client(cosd, creds: dict, token: str | None):
    """boto3 with a temporary key, as an STS-minded application builds it."""
    return H.boto3.session.Session(
        aws_access_key_id=creds["TmpSecretId"], aws_secret_access_key=creds["TmpSecretKey"],
        aws_session_token=token).client(
        "s3", endpoint_url=cosd.endpoint, region_name=H.REGION,
        config=H.BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def test_boto3_session_token(cosd, temp_bucket):
    c = issue_temp(cosd, "--duration", "1h")
    client = session_client(cosd, c, c["Token"])
    client.put_object(Bucket=temp_bucket, Key="t.txt", Body=b"temporary")
    assert client.get_object(Bucket=temp_bucket, Key="t.txt")["Body"].read() == b"temporary"
    assert temp_bucket in [b["Name"] for b in client.list_buckets()["Buckets"]]
    # The presigned form carries X-Amz-Security-Token in the signed query.
    url = client.generate_presigned_url("get_object", Params={"Bucket": temp_bucket, "Key": "t.txt"})
    assert "X-Amz-Security-Token" in url
    assert requests.get(url, timeout=30).content == b"temporary"

    tampered = c["Token"][:-2] + ("BB" if c["Token"].endswith("AA") else "AA")
    with pytest.raises(ClientError) as e:
        session_client(cosd, c, tampered).list_buckets()
    assert error_code(e.value) == "InvalidAccessKeyId"
    # Without any token the temporary SecretId is unknown.
    with pytest.raises(ClientError) as e:
        session_client(cosd, c, None).list_buckets()
    assert error_code(e.value) == "InvalidAccessKeyId"

    short = issue_temp(cosd, "--duration", "1s")
    time.sleep(2.1)
    with pytest.raises(ClientError) as e:
        session_client(cosd, short, short["Token"]).list_buckets()
    assert error_code(e.value) == "ExpiredToken"


def test_cos_sdk_token(cosd, temp_bucket):
    c = issue_temp(cosd, "--duration", "30m", "--bucket", temp_bucket)
    conf = H.CosConfig(Region=H.REGION, SecretId=c["TmpSecretId"], SecretKey=c["TmpSecretKey"],
                       Token=c["Token"], Scheme="http", IP="127.0.0.1", Port=cosd.port, Timeout=60)
    client = H._recording_cos_client(conf)
    client.put_object(Bucket=temp_bucket, Key="cos.txt", Body=b"from the COS SDK")
    assert client.get_object(Bucket=temp_bucket, Key="cos.txt")["Body"].get_raw_stream().read() == \
        b"from the COS SDK"
    sent = client.responses[-1].request.headers
    assert sent.get("x-cos-security-token") in (c["Token"], c["Token"].encode())
    assert "x-cos-security-token" in sent["Authorization"], "the SDK signs the token header"

    bad = H.CosConfig(Region=H.REGION, SecretId=c["TmpSecretId"], SecretKey=c["TmpSecretKey"],
                      Token=c["Token"].replace(".", ".x", 1), Scheme="http", IP="127.0.0.1", Port=cosd.port,
                      Timeout=60)
    from qcloud_cos.cos_exception import CosServiceError
    with pytest.raises(CosServiceError) as e:
        H._recording_cos_client(bad).head_object(Bucket=temp_bucket, Key="cos.txt")
    assert e.value.get_status_code() == 403


def test_boto3_signature_v2(cosd, temp_bucket):
    v2 = H.make_s3_client(cosd.port, signature_version="s3")
    v2.put_object(Bucket=temp_bucket, Key="dir/v2 key+.txt", Body=b"signed with V2", ContentType="text/plain",
                  Metadata={"color": "blue"})
    got = v2.get_object(Bucket=temp_bucket, Key="dir/v2 key+.txt")
    assert got["Body"].read() == b"signed with V2"
    assert got["Metadata"] == {"color": "blue"}
    assert [o["Key"] for o in v2.list_objects(Bucket=temp_bucket, Prefix="dir/")["Contents"]] == ["dir/v2 key+.txt"]
    # Sub-resources are part of the V2 resource: a multipart upload signs ?uploads and ?uploadId.
    up = v2.create_multipart_upload(Bucket=temp_bucket, Key="mp")
    v2.upload_part(Bucket=temp_bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"p1")
    v2.abort_multipart_upload(Bucket=temp_bucket, Key="mp", UploadId=up["UploadId"])
    v2.delete_object(Bucket=temp_bucket, Key="dir/v2 key+.txt")

    wrong = H.make_s3_client(cosd.port, secret_key="not-the-secret", signature_version="s3")
    with pytest.raises(ClientError) as e:
        wrong.put_object(Bucket=temp_bucket, Key="never", Body=b"x")
    assert error_code(e.value) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError):
        v2.head_object(Bucket=temp_bucket, Key="never")


def test_presigned_v2_urls(cosd, s3, temp_bucket):
    s3.put_object(Bucket=temp_bucket, Key="shared.txt", Body=b"shared")
    v2 = H.make_s3_client(cosd.port, signature_version="s3")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": temp_bucket, "Key": "shared.txt"},
                                    ExpiresIn=600)
    assert "AWSAccessKeyId=" in url and "Signature=" in url and "Expires=" in url
    ok = requests.get(url, timeout=30)
    assert ok.status_code == 200 and ok.content == b"shared"

    tampered = url.replace("shared.txt", "shared.tx2")
    r = requests.get(tampered, timeout=30)
    assert r.status_code == 403 and H.parse_error(r.content)["Code"] == "SignatureDoesNotMatch"

    short = v2.generate_presigned_url("get_object", Params={"Bucket": temp_bucket, "Key": "shared.txt"},
                                      ExpiresIn=1)
    time.sleep(2.1)
    r = requests.get(short, timeout=30)
    assert r.status_code == 403 and H.parse_error(r.content)["Code"] == "AccessDenied", r.text
    assert "expired" in H.parse_error(r.content)["Message"]


def test_s3cmd_signature_v2(cosd, s3, tmp_path):
    bucket = H.unique_bucket("v2")
    sc = H.S3cmd(tmp_path / "client", cosd.port)
    src = tmp_path / "f.txt"
    src.write_bytes(b"s3cmd V2\n")
    try:
        sc("--signature-v2", "mb", f"s3://{bucket}")
        sc("--signature-v2", "put", str(src), f"s3://{bucket}/f.txt")
        assert s3.get_object(Bucket=bucket, Key="f.txt")["Body"].read() == b"s3cmd V2\n"
        listing = sc("--signature-v2", "ls", f"s3://{bucket}").stdout.decode()
        assert "f.txt" in listing
        sc("--signature-v2", "get", f"s3://{bucket}/f.txt", str(tmp_path / "back.txt"))
        assert (tmp_path / "back.txt").read_bytes() == b"s3cmd V2\n"
        sc("--signature-v2", "del", f"s3://{bucket}/f.txt")
        sc("--signature-v2", "rb", f"s3://{bucket}")
    finally:
        H.empty_and_delete_bucket(s3, bucket)
    wrong = H.S3cmd(tmp_path / "wrong", cosd.port, secret_key="not-the-secret")
    done = wrong("--signature-v2", "ls", check=False)
    assert done.returncode != 0
    assert b"SignatureDoesNotMatch" in done.stdout + done.stderr
