"""pytest fixtures for the cosd compatibility suite.

One cosd process serves the whole session (``cosd`` fixture): the real binary (``COSD_BIN``,
default ``<repo>/target/release/cosd``) on a free loopback port, a fresh temporary data dir, and
fixed test credentials passed through ``COSD_SECRET_ID`` / ``COSD_SECRET_KEY`` / ``COSD_APPID``.
When a test fails, the server log lines written while it ran are attached to its report.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import cosd_helpers as H

# Keep the clients away from anything the machine may have configured: proxies, AWS profiles
# (a profile could switch checksum or addressing behaviour).
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
             "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REQUEST_CHECKSUM_CALCULATION",
             "AWS_RESPONSE_CHECKSUM_VALIDATION", "AWS_S3_ADDRESSING_STYLE"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def pytest_report_header(config):
    return f"cosd binary: {H.cosd_binary()}"


@pytest.fixture(scope="session")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="cosd-compat-"))
    yield d
    if os.environ.get("COSD_KEEP_TMP"):
        print(f"\nkept {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def cosd(workdir):
    """The session's cosd server. Its data dir sits three levels below the temp root so that a
    key like ``../../etc/passwd``, if a server ever joined it onto a path, would land inside
    the temp root where the tests look for it (and never in the real /etc)."""
    server = H.CosdServer(data_dir=workdir / "srv" / "d" / "data", log_path=workdir / "cosd.log", name="session")
    try:
        server.start()
    except H.ServerStartError as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    crashed = not server.alive()
    rc = server.stop()
    if crashed:
        pytest.fail(f"cosd died during the session (exit status {rc}).\n--- cosd log tail ---\n"
                    f"{server.log_tail(120)}", pytrace=False)


@pytest.fixture(scope="session")
def port(cosd):
    return cosd.port


@pytest.fixture(scope="session")
def cos(cosd):
    """cos-python-sdk-v5 client (virtual-host addressing through IP mode)."""
    return H.make_cos_client(cosd.port)


@pytest.fixture(scope="session")
def cos_presign():
    """COS client used only to build presigned URLs (see make_cos_presign_client)."""
    return H.make_cos_presign_client()


@pytest.fixture(scope="session")
def s3(cosd):
    """boto3 S3 client, path-style addressing, SigV4, region ap-guangzhou."""
    return H.make_s3_client(cosd.port)


@pytest.fixture(scope="session")
def raw(cosd):
    """Exact-bytes HTTP requests: unsigned, or COS-signed with the SDK's own signer."""
    return H.RawClient(cosd.port)


@pytest.fixture
def bucket_name():
    """A fresh, valid wire bucket name (<name>-<appid>) that does not exist yet."""
    return H.unique_bucket()


def _make_bucket(s3):
    name = H.unique_bucket()
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(s3):
    """A bucket created for this test (with boto3), emptied and deleted afterwards."""
    name = _make_bucket(s3)
    yield name
    H.empty_and_delete_bucket(s3, name)


@pytest.fixture
def bucket2(s3):
    """A second bucket for cross-bucket tests."""
    name = _make_bucket(s3)
    yield name
    H.empty_and_delete_bucket(s3, name)


# ------------------------------------------------------------------ server logs on failure


def pytest_runtest_setup(item):
    item._cosd_log_marks = {id(s): s.log_size() for s in H.SERVERS}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    marks = getattr(item, "_cosd_log_marks", {})
    for server in H.SERVERS:
        start = marks.get(id(server), 0)
        text = server.log_since(start)
        state = "running" if server.alive() else f"exited ({server.proc.returncode if server.proc else 'never started'})"
        if text.strip() or not server.alive():
            rep.sections.append((f"cosd log [{server.name}, port {server.port}, {state}] during this test",
                                 text or "(nothing logged)"))
