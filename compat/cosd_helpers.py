"""Shared machinery of the cosd compatibility suite.

- ``CosdServer``: starts the real ``cosd`` binary on a free loopback port, waits until it accepts
  connections, and stops (SIGTERM, then SIGKILL) or crashes it (SIGKILL) on demand.
- client factories for the two real clients under test: cos-python-sdk-v5 (``CosS3Client``)
  and boto3.
- ``RawClient``: exact-bytes HTTP requests with ``http.client``, unsigned or signed with the COS
  SDK's own signer (``qcloud_cos.cos_auth.CosS3Auth``), for status codes and error documents
  that the SDKs hide.
- reference algorithms computed independently of the server: CRC-64/XZ (what
  ``x-cos-hash-crc64ecma`` carries), AWS SigV4 and SigV4 streaming (aws-chunked) signing.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import http.client
import os
import random
import signal
import socket
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable, Mapping
from urllib.parse import quote, urlsplit

import boto3
import requests
from botocore.config import Config as BotoConfig
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_auth import CosS3Auth
from requests.structures import CaseInsensitiveDict

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "ap-guangzhou"
APPID = "1250000000"
# Fixed test credentials handed to the server through its environment.
SECRET_ID = "AKIDcosdCompatTest0000000000000000001"
SECRET_KEY = "cosdCompatTestSecretKey000000000000001"

START_TIMEOUT_S = 20.0

# Every CosdServer started by this process, so that a failing test can show their logs.
SERVERS: list["CosdServer"] = []


# --------------------------------------------------------------------------- server process


def cosd_binary() -> Path:
    return Path(os.environ.get("COSD_BIN") or REPO_ROOT / "target" / "release" / "cosd")


def meta_args(data_dir: Path) -> list[str]:
    """With ``COSD_TEST_META=postgres``, the ``--meta`` of a server on ``data_dir``: a database of
    its own on the cluster ``COSD_TEST_POSTGRES_URL`` (``scripts/postgres start``), the same one
    again when a test restarts a server on the same directory."""
    kind = os.environ.get("COSD_TEST_META", "embedded")
    if kind == "embedded":
        return []
    if kind != "postgres":
        raise ServerStartError(f"COSD_TEST_META={kind}: use embedded or postgres")
    cluster = os.environ.get("COSD_TEST_POSTGRES_URL")
    if not cluster:
        raise ServerStartError("COSD_TEST_META=postgres needs COSD_TEST_POSTGRES_URL (scripts/postgres start)")
    name = "cosd_compat_" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    out = subprocess.run(["psql", cluster, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0 and "already exists" not in out.stderr:
        raise ServerStartError(f"CREATE DATABASE {name}: {out.stderr}")
    base, _, query = cluster.partition("?")
    return ["--meta", f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")]


def extra_serve_args() -> list[str]:
    """Extra ``cosd serve`` arguments from ``COSD_TEST_SERVE_ARGS`` (whitespace-split), so the
    whole suite can be rerun against another backend, e.g. ``--blobs fs:///tmp/shared``."""
    return os.environ.get("COSD_TEST_SERVE_ARGS", "").split()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerStartError(RuntimeError):
    pass


class CosdServer:
    """One ``cosd serve`` process on 127.0.0.1 with its own data dir and log file."""

    def __init__(self, data_dir: Path, log_path: Path, name: str = "cosd", binary: Path | None = None,
                 extra_env: Mapping[str, str] | None = None):
        self.binary = Path(binary or cosd_binary())
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.name = name
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.starts = 0
        SERVERS.append(self)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "COSD_SECRET_ID": SECRET_ID,
            "COSD_SECRET_KEY": SECRET_KEY,
            "COSD_APPID": APPID,
            "RUST_BACKTRACE": "1",
            "NO_COLOR": "1",  # plain logs in failure reports
        })
        env.setdefault("RUST_LOG", "info")
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = START_TIMEOUT_S) -> "CosdServer":
        if not self.binary.is_file():
            raise ServerStartError(
                f"cosd binary not found at {self.binary} (build it with `cargo build --release` "
                f"or set COSD_BIN)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        last_error = None
        # A port picked by free_port() can be taken by someone else before cosd binds it: retry
        # with a fresh port, but only when the log says so.
        for _attempt in range(3):
            self.port = free_port()
            try:
                self._spawn_and_wait(timeout)
                return self
            except ServerStartError as e:
                last_error = e
                if "in use" not in str(e).lower():
                    raise
        raise last_error  # type: ignore[misc]

    def store_args(self) -> list[str]:
        """The flags that name this server's store; admin commands (``cosd account …``) on it
        need the same ones."""
        return ["--data-dir", str(self.data_dir), *meta_args(self.data_dir), *extra_serve_args()]

    def _spawn_and_wait(self, timeout: float) -> None:
        self.starts += 1
        cmd = [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}", "--region", REGION,
               *self.store_args()]
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env(), start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerStartError(
                    f"cosd exited with status {rc} before accepting connections on port {self.port}.\n"
                    f"--- cosd log ({self.log_path}) ---\n{self.log_tail(200)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError(
                    f"cosd did not accept connections on 127.0.0.1:{self.port} within {timeout:.0f}s.\n"
                    f"--- cosd log ({self.log_path}) ---\n{self.log_tail(200)}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: the crash the durability tests simulate."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int, max_bytes: int = 16000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return ""
        if len(data) > max_bytes:
            data = b"[... earlier lines cut ...]\n" + data[-max_bytes:]
        return data.decode("utf-8", "replace")

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- names and data


def wire_bucket(short: str) -> str:
    return f"{short}-{APPID}"


def unique_bucket(prefix: str = "c") -> str:
    # <name>-<appid>.cos.ap-guangzhou.myqcloud.com must stay within 60 characters.
    return wire_bucket(f"{prefix}{uuid.uuid4().hex[:10]}")


def vhost(bucket: str) -> str:
    return f"{bucket}.cos.{REGION}.myqcloud.com"


def det_bytes(n: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes (incompressible, covers every byte value)."""
    return random.Random(seed).randbytes(n)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def quoted_etag(data: bytes) -> str:
    return f'"{md5_hex(data)}"'


def split(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into parts of ``size`` bytes (the last one shorter)."""
    return [data[i:i + size] for i in range(0, len(data), size)]


def multipart_etag(parts: list[bytes]) -> str:
    """The ETag of an object completed from these parts: ``"<md5 of the part MD5s>-<n>"``."""
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def _crc64_table() -> list[int]:
    poly = 0xC96C5795D7870F42  # reflected ECMA-182 polynomial
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64_TABLE = _crc64_table()


def crc64_xz_py(data: bytes) -> int:
    """CRC-64/XZ (a.k.a. CRC-64/GO-ECMA): what COS calls crc64ecma. Pure Python reference."""
    crc = 0xFFFFFFFFFFFFFFFF
    table = _CRC64_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def _crcmod_crc64():
    # The COS SDK verifies downloads with crcmod and exactly these parameters
    # (qcloud_cos/resumable_downloader.py).
    import crcmod
    return crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)


_CRC64_FAST = _crcmod_crc64()
# The standard check value of CRC-64/XZ; both implementations must agree with it.
assert crc64_xz_py(b"123456789") == 0x995DC9BBDF1939FA
assert _CRC64_FAST(b"123456789") == 0x995DC9BBDF1939FA


def crc64(data: bytes) -> int:
    return _CRC64_FAST(data)


def parse_error(body: bytes) -> dict:
    """The COS error document as a dict of its child elements (text)."""
    root = ET.fromstring(body)
    assert root.tag == "Error", f"error document root is <{root.tag}>, expected <Error>: {body[:500]!r}"
    return {child.tag: (child.text or "") for child in root}


def http_date(t: float | _dt.datetime) -> str:
    if isinstance(t, _dt.datetime):
        t = t.timestamp()
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


def parse_http_date(s: str) -> float:
    from email.utils import parsedate_to_datetime
    return parsedate_to_datetime(s).timestamp()


# --------------------------------------------------------------------------- real clients


def make_cos_client(port: int, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY,
                    anonymous: bool = False) -> CosS3Client:
    """cos-python-sdk-v5 pointed at 127.0.0.1:port in its IP mode: it connects to IP:Port and
    sends ``Host: <bucket>.cos.<region>.myqcloud.com`` (virtual-host addressing). List Buckets
    builds its own URL (service.cos.myqcloud.com), so ServiceDomain points it at the server too."""
    kw = dict(Region=REGION, Scheme="http", IP="127.0.0.1", Port=port, ServiceDomain=f"127.0.0.1:{port}",
              Timeout=60)
    if anonymous:
        conf = CosConfig(Anonymous=True, **kw)
    else:
        conf = CosConfig(SecretId=secret_id, SecretKey=secret_key, **kw)
    return _recording_cos_client(conf)


def _recording_cos_client(conf) -> CosS3Client:
    """A CosS3Client with its own requests session whose responses are recorded in
    ``client.responses`` (newest last), so tests can assert on the HTTP status and headers of
    what the SDK received (the SDK returns only headers, and hides 200 vs 204 vs 206)."""
    session = requests.Session()
    # retry=0: one attempt per call, so a failing server shows up as a failure, not a retry.
    client = CosS3Client(conf, retry=0, session=session)
    client.responses = []

    def record(resp, *args, **kwargs):
        client.responses.append(resp)
        del client.responses[:-50]

    session.hooks["response"].append(record)
    return client


def make_cos_presign_client(secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY) -> CosS3Client:
    """A COS client without IP mode, used only to *generate* presigned URLs: in IP mode the SDK
    would put 127.0.0.1 in the URL and lose the bucket. The URLs name
    ``<bucket>.cos.ap-guangzhou.myqcloud.com`` and are fetched through the loopback with that
    Host header (see ``RawClient.fetch_url``), as a browser would after DNS pointed there."""
    conf = CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key, Scheme="http", Timeout=60)
    return _recording_cos_client(conf)


def make_s3_client(port: int, access_key: str = SECRET_ID, secret_key: str = SECRET_KEY,
                   region: str = REGION, unsigned: bool = False, **config):
    """boto3 S3 client: path-style addressing against http://127.0.0.1:port, SigV4."""
    import botocore

    cfg = dict(
        signature_version=botocore.UNSIGNED if unsigned else "s3v4",
        s3={"addressing_style": "path"},
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
    )
    cfg.update(config)
    return boto3.session.Session().client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=BotoConfig(**cfg),
    )


def empty_and_delete_bucket(s3, bucket: str) -> None:
    """Best-effort cleanup (not a check): abort every multipart upload, delete every object,
    then the bucket."""
    try:
        for up in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            try:
                s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
            except Exception:
                pass
        marker = ""
        while True:
            page = s3.list_objects(Bucket=bucket, Marker=marker, MaxKeys=1000)
            contents = page.get("Contents", [])
            for obj in contents:
                try:
                    s3.delete_object(Bucket=bucket, Key=obj["Key"])
                except Exception:
                    pass
            if not page.get("IsTruncated") or not contents:
                break
            marker = page.get("NextMarker") or contents[-1]["Key"]
        s3.delete_bucket(Bucket=bucket)
    except Exception:
        pass


# --------------------------------------------------------------------------- raw HTTP


class RawResponse:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.headers = CaseInsensitiveDict()
        for k, v in headers:
            self.headers[k] = v if k not in self.headers else self.headers[k] + ", " + v
        self.body = body

    def error(self) -> dict:
        return parse_error(self.body)

    def __repr__(self) -> str:
        return f"<RawResponse {self.status} {self.reason} headers={dict(self.headers)} body={self.body[:600]!r}>"


def encode_key_path(key: str) -> str:
    """Percent-encode an object key for a request path the way the SDKs do (``/`` kept), and
    encode dot segments so that no HTTP layer can normalise ``..`` away."""
    segs = []
    for seg in key.split("/"):
        if seg in (".", ".."):
            segs.append(seg.replace(".", "%2E"))
        else:
            segs.append(quote(seg.encode("utf-8"), safe="-_.~"))
    return "/".join(segs)


def _query_string(params: Iterable[tuple[str, str | None]]) -> str:
    parts = []
    for k, v in params:
        if v is None:
            parts.append(quote(k, safe="-_.~"))
        else:
            parts.append(f"{quote(k, safe='-_.~')}={quote(str(v), safe='-_.~')}")
    return "&".join(parts)


def http_request(port: int, method: str, target: str, headers: Mapping[str, str] | None = None,
                 body: bytes | None = None, timeout: float = 60) -> RawResponse:
    """Sends exactly this request line and these headers to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if body is not None and not any(k.lower() == "content-length" for k in hdrs) \
                and not any(k.lower() == "transfer-encoding" for k in hdrs):
            hdrs["Content-Length"] = str(len(body))
        if not any(k.lower() == "host" for k in hdrs):
            hdrs["Host"] = f"127.0.0.1:{port}"
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, resp.reason, resp.getheaders(), data)
    finally:
        conn.close()


class RawClient:
    """Hand-made requests against one server, unsigned or COS-signed with the SDK's signer."""

    def __init__(self, port: int, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY):
        self.port = port
        self.secret_id = secret_id
        self.secret_key = secret_key

    def target(self, bucket: str | None, key: str | None, params, style: str) -> tuple[str, str, str]:
        """(host header, request target, decoded path that COS signs)."""
        key_path = encode_key_path(key) if key else ""
        if bucket is None:
            host, path, signed = f"127.0.0.1:{self.port}", "/", "/"
        elif style == "vhost":
            host, path, signed = vhost(bucket), "/" + key_path, "/" + (key or "")
        elif style == "path":
            host = f"127.0.0.1:{self.port}"
            path = f"/{bucket}/{key_path}" if key else f"/{bucket}"
            signed = f"/{bucket}/{key}" if key else f"/{bucket}"
        else:
            raise ValueError(style)
        qs = _query_string(params)
        return host, path + ("?" + qs if qs else ""), signed

    def request(self, method: str, bucket: str | None = None, key: str | None = None, *,
                params: Mapping[str, str | None] | Iterable[tuple[str, str | None]] = (),
                headers: Mapping[str, str] | None = None, body: bytes | None = None,
                sign: bool = True, style: str = "vhost", secret_id: str | None = None,
                secret_key: str | None = None, expire: int = 600) -> RawResponse:
        params = list(params.items()) if isinstance(params, Mapping) else list(params)
        host, target, signed_path = self.target(bucket, key, params, style)
        hdrs = {"Host": host}
        hdrs.update(headers or {})
        if body is not None and not any(k.lower() == "content-length" for k in hdrs):
            hdrs["Content-Length"] = str(len(body))
        if sign:
            hdrs["Authorization"] = self.cos_authorization(
                method, signed_path, dict((k, "" if v is None else v) for k, v in params), hdrs,
                secret_id or self.secret_id, secret_key or self.secret_key, expire)
        return http_request(self.port, method, target, hdrs, body)

    @staticmethod
    def cos_authorization(method: str, signed_path: str, params: Mapping[str, str],
                          headers: Mapping[str, str], secret_id: str, secret_key: str,
                          expire: int = 600) -> str:
        """The Authorization value cos-python-sdk-v5 computes for this request (its own code)."""
        conf = CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key)
        auth = CosS3Auth(conf, signed_path, params=dict(params), expire=expire)
        fake = SimpleNamespace(method=method, headers=dict(headers), url=f"http://{headers.get('Host', '')}/")
        return auth(fake).headers["Authorization"]

    def fetch_url(self, url: str, method: str = "GET", headers: Mapping[str, str] | None = None,
                  body: bytes | None = None) -> RawResponse:
        """Requests a full URL (e.g. a presigned one naming a myqcloud.com host) by connecting
        to the local server and sending the URL's host as the Host header."""
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        hdrs = {"Host": parts.netloc}
        hdrs.update(headers or {})
        return http_request(self.port, method, target, hdrs, body)


# --------------------------------------------------------------------------- AWS SigV4


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


EMPTY_SHA256 = _sha256_hex(b"")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sigv4_signing_key(secret_key: str, date: str, region: str, service: str = "s3") -> bytes:
    k = _hmac(("AWS4" + secret_key).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _uri_encode(s: str, safe: str = "-_.~") -> str:
    return quote(s.encode("utf-8"), safe=safe)


def sigv4_authorization(method: str, path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str],
                        payload_hash: str, access_key: str, secret_key: str, region: str, amz_date: str,
                        signed_headers: Iterable[str] | None = None) -> tuple[str, str]:
    """(Authorization header, signature) for an S3 SigV4 request. ``path`` is the encoded
    request path as sent; S3 signs it as is (no second encoding)."""
    date = amz_date[:8]
    lower = {k.lower(): " ".join(str(v).strip().split()) for k, v in headers.items()}
    names = sorted(signed_headers or lower.keys())
    canonical_headers = "".join(f"{n}:{lower[n]}\n" for n in names)
    canonical_query = "&".join(
        f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted((k, v) for k, v in query))
    canonical_request = "\n".join(
        [method, path, canonical_query, canonical_headers, ";".join(names), payload_hash])
    scope = f"{date}/{region}/s3/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, _sha256_hex(canonical_request.encode())])
    signature = hmac.new(sigv4_signing_key(secret_key, date, region), string_to_sign.encode(),
                         hashlib.sha256).hexdigest()
    auth = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, "
            f"Signature={signature}")
    return auth, signature


def aws_chunk_signature(prev_signature: str, chunk: bytes, secret_key: str, region: str, amz_date: str) -> str:
    date = amz_date[:8]
    scope = f"{date}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev_signature, EMPTY_SHA256,
                     _sha256_hex(chunk)])
    return hmac.new(sigv4_signing_key(secret_key, date, region), sts.encode(), hashlib.sha256).hexdigest()


def aws_chunked_signed_body(data: bytes, chunk_size: int, seed_signature: str, secret_key: str, region: str,
                            amz_date: str) -> tuple[bytes, list[str]]:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD body: signed chunks, then the signed empty chunk."""
    out = bytearray()
    sigs = []
    prev = seed_signature
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for chunk in chunks:
        sig = aws_chunk_signature(prev, chunk, secret_key, region, amz_date)
        sigs.append(sig)
        out += f"{len(chunk):x};chunk-signature={sig}\r\n".encode() + chunk + b"\r\n"
        prev = sig
    return bytes(out), sigs


def aws_chunked_unsigned_trailer_body(data: bytes, chunk_size: int, checksum_header: str,
                                      checksum_value: str) -> bytes:
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER body, as botocore sends it over HTTPS."""
    out = bytearray()
    for i in range(0, len(data), chunk_size):
        chunk = data[i:i + chunk_size]
        out += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    out += f"0\r\n{checksum_header}:{checksum_value}\r\n\r\n".encode()
    return bytes(out)


def amz_now() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


class Background(threading.Thread):
    """Runs a function in a thread and keeps its result or exception."""

    def __init__(self, fn, *args, **kwargs):
        super().__init__(daemon=True)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.result = None
        self.exc: BaseException | None = None

    def run(self):
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # noqa: BLE001 - reported to the caller
            self.exc = e


# --------------------------------------------------------------------------- command-line clients
# The client matrix (test_client_matrix.py) drives clients as separate processes: coscmd, the aws
# CLI and s3cmd from the venv this suite runs in, Debian's rclone, and cos-nodejs-sdk-v5 through
# compat/node/scenario.mjs. Each gets its own config file in a temp dir and a private HOME (no
# client ever reads or writes the user's own configuration), and is pointed only at loopback.

CLIENT_TIMEOUT_S = 180.0
NODE_DIR = REPO_ROOT / "compat" / "node"
# Every client that addresses buckets as virtual hosts under this domain needs `*.localhost` to
# resolve to loopback (libnss-myhostname, installed by compat/setup.sh).
LOCAL_DOMAIN = "cos.localhost"


def venv_tool(name: str) -> str:
    """A command installed in the venv that runs this suite (coscmd, aws, s3cmd)."""
    import sys

    path = Path(sys.executable).parent / name
    if not path.exists():
        raise AssertionError(f"{path} is missing: run compat/setup.sh (it installs the pinned clients)")
    return str(path)


def client_env(home: Path, **extra: str) -> dict:
    """The environment of a client process: HOME is a private temp dir, and nothing of the AWS
    environment leaks in (rclone 1.60 fails when AWS_CA_BUNDLE is set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update({"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost,.localhost",
                "no_proxy": "127.0.0.1,localhost,.localhost", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
                "PYTHONUTF8": "1"})
    env.update(extra)
    return env


class ClientFailed(AssertionError):
    pass


def run_client(argv: list[str], env: Mapping[str, str], *, cwd: Path | None = None, check: bool = True,
               input: bytes | None = None, timeout: float = CLIENT_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Runs one client command (bounded by ``timeout``); with ``check``, a non-zero exit status
    raises ClientFailed showing the command and the tails of its output."""
    try:
        done = subprocess.run(argv, env=dict(env), cwd=cwd, input=input, stdin=None if input is not None
                              else subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise ClientFailed(f"timed out after {timeout:.0f}s: {' '.join(argv)}\n--- stdout ---\n"
                           f"{_tail(e.stdout)}\n--- stderr ---\n{_tail(e.stderr)}") from None
    if check and done.returncode != 0:
        raise ClientFailed(f"exit status {done.returncode}: {' '.join(argv)}\n--- stdout ---\n"
                           f"{_tail(done.stdout)}\n--- stderr ---\n{_tail(done.stderr)}")
    return done


def _tail(data: bytes | None, limit: int = 6000) -> str:
    text = (data or b"").decode("utf-8", "replace")
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


class Coscmd:
    """coscmd with its own config file (written by ``coscmd config``) and log file. coscmd has
    no IP option: it reaches ``<bucket>.cos.localhost:PORT``. It uploads in parts only above
    ``max(part_size, multiupload_threshold)``, and the threshold cannot go below 20 MB."""

    def __init__(self, workdir: Path, port: int, bucket: str, secret_key: str = SECRET_KEY,
                 part_size_mb: int = 5, threshold_mb: int = 20):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "coscmd.conf"
        self.log = self.dir / "coscmd.log"
        self.env = client_env(self.dir / "home")
        self.exe = venv_tool("coscmd")
        self("config", "-a", SECRET_ID, "-s", secret_key, "-b", bucket, "-e", f"{LOCAL_DOMAIN}:{port}",
             "--do-not-use-ssl", "-p", str(part_size_mb), "-m", "3", "--retry", "1", "--timeout", "60")
        with open(self.conf, "a") as f:  # documented keys that `coscmd config` has no flag for
            f.write(f"multiupload_threshold = {threshold_mb}\nmultidownload_threshold = {threshold_mb}\n")

    def __call__(self, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_client([self.exe, "-c", str(self.conf), "-l", str(self.log), *args], self.env, cwd=cwd,
                          check=check)


class AwsCli:
    """The aws CLI v1 with its own config and credentials files; path-style addressing of
    http://127.0.0.1:PORT, multipart above ``threshold_mb``."""

    def __init__(self, workdir: Path, port: int, secret_key: str = SECRET_KEY, threshold_mb: int = 5,
                 max_concurrency: int = 4):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        config, creds = self.dir / "aws-config", self.dir / "aws-credentials"
        config.write_text(f"[default]\nregion = {REGION}\noutput = json\nretry_mode = standard\nmax_attempts = 1\n"
                          f"s3 =\n    addressing_style = path\n    multipart_threshold = {threshold_mb}MB\n"
                          f"    multipart_chunksize = {threshold_mb}MB\n    max_concurrent_requests = {max_concurrency}\n")
        creds.write_text(f"[default]\naws_access_key_id = {SECRET_ID}\naws_secret_access_key = {secret_key}\n")
        self.env = client_env(self.dir / "home", AWS_CONFIG_FILE=str(config),
                              AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_EC2_METADATA_DISABLED="true",
                              AWS_PAGER="")
        self.base = [venv_tool("aws"), "--endpoint-url", f"http://127.0.0.1:{port}", "--cli-connect-timeout", "10",
                     "--cli-read-timeout", "120"]

    def __call__(self, *args: str, check: bool = True, input: bytes | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_client([*self.base, *args], self.env, check=check, input=input, cwd=cwd)

    def json(self, *args: str):
        import json

        out = self(*args).stdout
        return json.loads(out) if out.strip() else None


class S3cmd:
    """s3cmd with its own config file; path style on http://127.0.0.1:PORT, multipart above
    ``chunk_mb`` (5 MB is its minimum)."""

    def __init__(self, workdir: Path, port: int, secret_key: str = SECRET_KEY, chunk_mb: int = 5):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "s3cfg"
        self.conf.write_text(
            f"[default]\naccess_key = {SECRET_ID}\nsecret_key = {secret_key}\nhost_base = 127.0.0.1:{port}\n"
            f"host_bucket = 127.0.0.1:{port}\nuse_https = False\nbucket_location = {REGION}\n"
            f"signature_v2 = False\nmultipart_chunk_size_mb = {chunk_mb}\nprogress_meter = False\n"
            f"socket_timeout = 60\nmax_retries = 1\n")
        self.env = client_env(self.dir / "home")
        self.exe = venv_tool("s3cmd")

    def __call__(self, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_client([self.exe, "-c", str(self.conf), *args], self.env, check=check, cwd=cwd)


class Rclone:
    """Debian's rclone with its own config file holding two remotes for the same server:
    ``tcos`` (provider TencentCOS: virtual host ``<bucket>.cos.localhost:PORT``) and ``other``
    (provider Other, path style on 127.0.0.1). Multipart above ``cutoff_mb``."""

    REMOTES = ("tcos", "other")

    def __init__(self, workdir: Path, port: int, secret_key: str = SECRET_KEY, cutoff_mb: int = 5):
        import shutil

        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "rclone.conf"
        keys = f"access_key_id = {SECRET_ID}\nsecret_access_key = {secret_key}\n"
        self.conf.write_text(
            f"[tcos]\ntype = s3\nprovider = TencentCOS\n{keys}endpoint = http://{LOCAL_DOMAIN}:{port}\n\n"
            f"[other]\ntype = s3\nprovider = Other\n{keys}endpoint = http://127.0.0.1:{port}\n"
            f"region = {REGION}\nforce_path_style = true\n")
        self.env = client_env(self.dir / "home")  # also drops AWS_CA_BUNDLE (rclone 1.60 fails on it)
        exe = shutil.which("rclone")
        if exe is None:
            raise AssertionError("rclone is not installed: run compat/setup.sh (Debian package rclone)")
        self.base = [exe, "--config", str(self.conf), "--s3-upload-cutoff", f"{cutoff_mb}M", "--s3-chunk-size",
                     f"{cutoff_mb}M", "--contimeout", "10s", "--timeout", "60s", "--retries", "1",
                     "--low-level-retries", "1", "--stats", "0"]

    def __call__(self, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_client([*self.base, *args], self.env, check=check, cwd=cwd)


def run_node_scenario(workdir: Path, port: int, bucket: str, small: Path, big: Path, chunk_size: int,
                      origin: str, secret_key: str = SECRET_KEY) -> dict:
    """Runs compat/node/scenario.mjs (cos-nodejs-sdk-v5) and returns the JSON it printed."""
    import json
    import shutil

    if not (NODE_DIR / "node_modules" / "cos-nodejs-sdk-v5").is_dir():
        raise AssertionError(f"{NODE_DIR}/node_modules is missing: run compat/setup.sh (npm ci)")
    node = shutil.which("node")
    if node is None:
        raise AssertionError("node is not installed")
    workdir = Path(workdir)
    downloads = workdir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "node-scenario.json"
    cfg.write_text(json.dumps({
        "port": port, "bucket": bucket, "region": REGION, "secretId": SECRET_ID, "secretKey": secret_key,
        "smallFile": str(small), "bigFile": str(big), "chunkSize": chunk_size, "downloadDir": str(downloads),
        "origin": origin}))
    done = run_client([node, str(NODE_DIR / "scenario.mjs"), str(cfg)], client_env(workdir / "home"),
                      cwd=NODE_DIR, timeout=170)
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise ClientFailed(f"scenario.mjs printed no JSON:\n{_tail(done.stdout)}\n--- stderr ---\n"
                           f"{_tail(done.stderr)}") from None


def write_tree(root: Path, big_size: int, seed: int = 0) -> dict[str, bytes]:
    """A small directory tree for the sync-style clients: nested directories, a key with a
    space and non-ASCII characters, an empty file, and one file of ``big_size`` bytes (above the
    client's multipart threshold). Returns {relative path: content}."""
    files = {
        "a.txt": b"hello from the client matrix\n",
        "empty.dat": b"",
        "sub/b.txt": det_bytes(3000, seed + 1),
        "sub/deep/c.bin": det_bytes(70_000, seed + 2),
        "sub/with space/\u00fcnic\u00f8de \u6587\u4ef6.txt": "gr\u00fc\u00dfe \u4f60\u597d\n".encode(),
        "big/large.bin": det_bytes(big_size, seed + 3),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as {relative path: content}."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def list_keys(s3, bucket: str, prefix: str = "") -> dict[str, dict]:
    """What the server holds under ``prefix`` (read with boto3, independently of the client
    under test): {key: {"Size", "ETag"}}."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = {"Size": obj["Size"], "ETag": obj["ETag"]}
    return out
