"""ACLs and bucket policies through real clients: boto3 and cos-python-sdk-v5 set them, a second
account and plain anonymous HTTP (urllib) feel their effect.

The module runs its own server whose ``accounts`` setting declares a second account (the agreed
format, written into ``<data-dir>/settings/accounts.setting`` before start).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

import cosd_helpers as H

OTHER_APPID = "1250000009"
OTHER_ID = "AKIDcosdCompatOtherAccount00000000001"
OTHER_KEY = "cosdCompatOtherSecretKey0000000000001"


@pytest.fixture(scope="module")
def server(workdir):
    data = workdir / "acl" / "data"
    data.mkdir(parents=True)
    # Declared in the TOML file, which every metadata backend takes in at start.
    config = workdir / "acl" / "cosd.toml"
    config.write_text(f'''
[[accounts]]
appid = "{OTHER_APPID}"
name = "other"
[[accounts.keys]]
secret_id = "{OTHER_ID}"
secret_key = "{OTHER_KEY}"
''')
    srv = H.CosdServer(data_dir=data, log_path=workdir / "cosd-acl.log", name="acl",
                       extra_env={"COSD_CONFIG": str(config)})
    try:
        srv.start()
    except H.ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def s3(server):
    return H.make_s3_client(server.port)


@pytest.fixture(scope="module")
def other_s3(server):
    return H.make_s3_client(server.port, access_key=OTHER_ID, secret_key=OTHER_KEY)


@pytest.fixture(scope="module")
def cos(server):
    return H.make_cos_client(server.port)


@pytest.fixture
def bucket(s3):
    name = H.unique_bucket("acl")
    s3.create_bucket(Bucket=name)
    yield name
    s3.delete_bucket_policy(Bucket=name)
    H.empty_and_delete_bucket(s3, name)


def anonymous(server, method: str, bucket: str, key: str, body: bytes | None = None) -> int:
    """Plain urllib, no signature: the status code."""
    url = f"http://127.0.0.1:{server.port}/{bucket}/{key}"
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def error_code(e: ClientError) -> tuple[int, str]:
    return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code")


def test_boto3_bucket_and_object_acls(server, s3, other_s3, bucket):
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    assert anonymous(server, "GET", bucket, "a.txt") == 403

    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Type": "Group", "URI": "http://cam.qcloud.com/groups/global/AllUsers"} in [g["Grantee"] for g in grants]
    assert anonymous(server, "GET", bucket, "a.txt") == 200
    assert anonymous(server, "PUT", bucket, "b.txt", b"nope") == 403

    # An object's own ACL replaces the bucket's for reads of it.
    s3.put_object_acl(Bucket=bucket, Key="a.txt", ACL="private")
    assert anonymous(server, "GET", bucket, "a.txt") == 403
    acl = s3.get_object_acl(Bucket=bucket, Key="a.txt")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]

    # A grant to the other account, by id.
    s3.put_bucket_acl(Bucket=bucket, GrantRead=f'id="{OTHER_APPID}"', GrantWrite=f'id="{OTHER_APPID}"')
    other_s3.put_object(Bucket=bucket, Key="from-other", Body=b"x")
    keys = [o["Key"] for o in other_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "from-other" in keys
    with pytest.raises(ClientError) as ei:
        other_s3.get_bucket_acl(Bucket=bucket)
    assert error_code(ei.value) == (403, "AccessDenied")
    with pytest.raises(ClientError) as ei:
        s3.put_bucket_acl(Bucket=bucket, ACL="everyone-may")
    assert error_code(ei.value) == (400, "InvalidArgument")


def test_boto3_bucket_policy(server, s3, other_s3, bucket):
    s3.put_object(Bucket=bucket, Key="public/x", Body=b"x")
    s3.put_object(Bucket=bucket, Key="private/y", Body=b"y")
    with pytest.raises(ClientError) as ei:
        s3.get_bucket_policy(Bucket=bucket)
    assert error_code(ei.value) == (404, "NoSuchBucketPolicy")
    policy = json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/public/*"},
            {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{OTHER_APPID}:root"]},
             "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{bucket}"},
        ],
    })
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    assert anonymous(server, "GET", bucket, "public/x") == 200
    assert anonymous(server, "GET", bucket, "private/y") == 403
    assert other_s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 2
    with pytest.raises(ClientError):
        other_s3.get_object(Bucket=bucket, Key="private/y")

    with pytest.raises(ClientError) as ei:
        s3.put_bucket_policy(Bucket=bucket, Policy='{"Statement":[{"Effect":"Allow","Principal":"*",'
                             '"Action":"s3:GetObject","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"5"}}}]}')
    assert error_code(ei.value) == (400, "MalformedPolicy")
    s3.delete_bucket_policy(Bucket=bucket)
    assert anonymous(server, "GET", bucket, "public/x") == 403


def test_cos_sdk_acls_and_policy(server, cos, bucket):
    cos.put_object(Bucket=bucket, Key="c.txt", Body=b"cos")
    cos.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert cos.get_bucket_acl(Bucket=bucket)["CannedACL"] == "public-read"
    assert anonymous(server, "GET", bucket, "c.txt") == 200

    cos.put_bucket_acl(Bucket=bucket, ACL="private")
    assert anonymous(server, "GET", bucket, "c.txt") == 403
    cos.put_object_acl(Bucket=bucket, Key="c.txt", ACL="public-read")
    acl = cos.get_object_acl(Bucket=bucket, Key="c.txt")
    uris = [g["Grantee"].get("URI") for g in acl["AccessControlList"]["Grant"]]
    assert "http://cam.qcloud.com/groups/global/AllUsers" in uris
    assert anonymous(server, "GET", bucket, "c.txt") == 200
    assert anonymous(server, "PUT", bucket, "c.txt", b"overwrite") == 403

    policy = {
        "version": "2.0",
        "Statement": [{
            "Principal": {"qcs": ["qcs::cam::anyone:anyone"]},
            "Effect": "deny",
            "Action": ["name/cos:GetObject"],
            "Resource": [f"qcs::cos:ap-guangzhou:uid/{H.APPID}:{bucket}/*"],
        }],
    }
    cos.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(cos.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    assert anonymous(server, "GET", bucket, "c.txt") == 403, "an explicit deny beats the object ACL"
    cos.delete_bucket_policy(Bucket=bucket)
    assert anonymous(server, "GET", bucket, "c.txt") == 200
