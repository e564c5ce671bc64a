"""Bounded memory: cosd's resident memory while 16 clients move 1 GiB objects at once.

    bench/memory.sh                       # builds the release binary, prepares the venv, runs this
    compat/.venv/bin/python bench/memory.py [--objects 16] [--size-mib 1024] [--mode single|multipart]

Starts the release cosd (``COSD_BIN``, default ``<repo>/target/release/cosd``) on a free loopback
port with a fresh data dir (under ``COSD_BENCH_TMP`` or the system temp dir; it needs
objects × size of free disk, 16 GiB by default, and is removed at the end), records its idle RSS,
then

1. uploads N objects of S MiB concurrently, one thread each: ``--mode single`` sends each as one
   streamed PUT Object (Content-Length S MiB, SigV4 with ``UNSIGNED-PAYLOAD``); ``--mode
   multipart`` as Initiate + 64 MiB Upload Parts in sequence + Complete;
2. downloads the N objects concurrently, one GET each, streaming, and checks each body's MD5
   against the MD5 computed while uploading;

while a sampler reads ``VmRSS`` from ``/proc/<pid>/status`` every 20 ms. It prints the idle RSS,
the peak RSS per phase and overall (the larger of the samples and the kernel's ``VmHWM``), and
peak minus idle, which the project's target keeps under 64 MiB.

The data is generated on the fly from a 1 MiB pattern (varied per object and per MiB): no client
ever holds more than one MiB of it. Loopback only; every socket has a timeout and the whole run a
deadline (``--deadline``, default 40 min).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "compat"))
import cosd_helpers as H  # noqa: E402

MIB = 1024 * 1024
PART = 64 * MIB
SOCKET_TIMEOUT = 300


def kib_field(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class Sampler(threading.Thread):
    """Samples the server's VmRSS; ``mark(name)`` starts a new phase."""

    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop_event = threading.Event()
        self.phase = "idle"
        self.peaks: dict[str, int] = {}
        self.samples = 0

    def mark(self, phase: str) -> None:
        self.phase = phase

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                rss = kib_field(self.pid, "VmRSS")
            except (OSError, KeyError):
                return
            self.samples += 1
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
            time.sleep(self.interval)


def pattern_chunks(obj: int, size: int):
    """``size`` bytes for object ``obj``, one MiB at a time: a random 1 MiB block whose first
    16 bytes name the object and the MiB, so no two MiB of the run are equal."""
    block = bytearray(random.Random(obj).randbytes(MIB))
    for i in range(0, size, MIB):
        block[:16] = obj.to_bytes(8, "big") + (i // MIB).to_bytes(8, "big")
        yield bytes(block[:min(MIB, size - i)])


def signed_headers(method: str, path: str, query: list[tuple[str, str]], port: int, extra=None) -> dict:
    amz_date = H.amz_now()
    headers = {"Host": f"127.0.0.1:{port}", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz_date}
    headers.update(extra or {})
    signed = {k: v for k, v in headers.items() if k.lower() in ("host", "x-amz-content-sha256", "x-amz-date")}
    auth, _ = H.sigv4_authorization(method, path, query, signed, "UNSIGNED-PAYLOAD", H.SECRET_ID, H.SECRET_KEY,
                                    H.REGION, amz_date)
    headers["Authorization"] = auth
    return headers


def request(port: int, method: str, path: str, query=(), body_chunks=None, length: int = 0, extra=None):
    """One signed request; the body is streamed from ``body_chunks``. Returns (status, headers,
    body)."""
    query = list(query)
    headers = signed_headers(method, path, query, port, extra)
    headers["Content-Length"] = str(length)
    target = path + ("?" + "&".join(f"{k}={v}" if v else k for k, v in query) if query else "")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SOCKET_TIMEOUT)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        for chunk in body_chunks or ():
            conn.send(chunk)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def upload(port: int, bucket: str, obj: int, size: int, mode: str) -> str:
    key = f"obj-{obj:02d}"
    path = f"/{bucket}/{key}"
    md5 = hashlib.md5()

    def hashed(chunks):
        for c in chunks:
            md5.update(c)
            yield c

    if mode == "single":
        status, _, body = request(port, "PUT", path, body_chunks=hashed(pattern_chunks(obj, size)), length=size)
        if status != 200:
            raise RuntimeError(f"PUT {key}: {status} {body[:300]!r}")
        return md5.hexdigest()

    status, _, body = request(port, "POST", path, [("uploads", "")])
    if status != 200:
        raise RuntimeError(f"Initiate {key}: {status} {body[:300]!r}")
    upload_id = next(e.text for e in ET.fromstring(body).iter() if e.tag.endswith("UploadId"))
    chunks = hashed(pattern_chunks(obj, size))
    parts = []
    for n, start in enumerate(range(0, size, PART), 1):
        length = min(PART, size - start)
        part = (c for _, c in zip(range(-(-length // MIB)), chunks))
        status, headers, body = request(port, "PUT", path, [("partNumber", str(n)), ("uploadId", upload_id)],
                                        body_chunks=part, length=length)
        if status != 200:
            raise RuntimeError(f"UploadPart {key} #{n}: {status} {body[:300]!r}")
        parts.append((n, headers["ETag"]))
    data = ("<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in parts)
        + "</CompleteMultipartUpload>").encode()
    status, _, body = request(port, "POST", path, [("uploadId", upload_id)], body_chunks=[data], length=len(data))
    if status != 200 or b"<Error>" in body:
        raise RuntimeError(f"Complete {key}: {status} {body[:300]!r}")
    return md5.hexdigest()


def download(port: int, bucket: str, obj: int, size: int) -> str:
    key = f"obj-{obj:02d}"
    path = f"/{bucket}/{key}"
    headers = signed_headers("GET", path, [], port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SOCKET_TIMEOUT)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"GET {key}: {resp.status} {resp.read()[:300]!r}")
        md5, got = hashlib.md5(), 0
        while True:
            chunk = resp.read(MIB)
            if not chunk:
                break
            md5.update(chunk)
            got += len(chunk)
        if got != size:
            raise RuntimeError(f"GET {key}: {got} bytes, expected {size}")
        return md5.hexdigest()
    finally:
        conn.close()


def run_all(fn, n: int, deadline: float) -> list:
    """Runs fn(i) for i in 0..n-1 in n threads; returns the results in order."""
    threads = [H.Background(fn, i) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic()))
        if t.is_alive():
            raise TimeoutError("the run passed its deadline")
        if t.exc:
            raise t.exc
    return [t.result for t in threads]


def mib(n: int) -> str:
    return f"{n / MIB:.1f} MiB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=16)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--mode", choices=("single", "multipart"), default="single")
    ap.add_argument("--deadline", type=float, default=2400, help="seconds for the whole run")
    args = ap.parse_args()
    size = args.size_mib * MIB
    deadline = time.monotonic() + args.deadline

    tmp = Path(tempfile.mkdtemp(prefix="cosd-memory-", dir=os.environ.get("COSD_BENCH_TMP")))
    need = args.objects * size * 1.05
    free = shutil.disk_usage(tmp).free
    if free < need:
        print(f"not enough disk in {tmp}: {mib(free)} free, {mib(need)} needed (set COSD_BENCH_TMP)")
        shutil.rmtree(tmp, ignore_errors=True)
        return 2
    server = H.CosdServer(data_dir=tmp / "data", log_path=tmp / "cosd.log", name="memory",
                          extra_env={"RUST_LOG": "warn"})
    try:
        server.start()
        pid = server.proc.pid
        bucket = H.unique_bucket("mem")
        status, _, body = request(server.port, "PUT", f"/{bucket}")
        if status != 200:
            raise RuntimeError(f"create bucket: {status} {body!r}")
        time.sleep(2)  # let start-up settle
        idle = kib_field(pid, "VmRSS")
        hwm_before = kib_field(pid, "VmHWM")
        sampler = Sampler(pid)
        sampler.start()
        print(f"cosd {server.binary} pid {pid}, port {server.port}, data {tmp}")
        print(f"{args.objects} objects x {args.size_mib} MiB, upload mode: {args.mode}")
        print(f"idle RSS: {mib(idle)} (VmHWM since start: {mib(hwm_before)})")

        sampler.mark("upload")
        t0 = time.monotonic()
        sums = run_all(lambda i: upload(server.port, bucket, i, size, args.mode), args.objects, deadline)
        t1 = time.monotonic()
        print(f"upload:   {args.objects * args.size_mib / (t1 - t0):.0f} MiB/s ({t1 - t0:.1f} s), "
              f"peak RSS {mib(sampler.peaks.get('upload', 0))}")
        sampler.mark("download")
        got = run_all(lambda i: download(server.port, bucket, i, size), args.objects, deadline)
        t2 = time.monotonic()
        if got != sums:
            raise RuntimeError("a downloaded body differs from what was uploaded")
        print(f"download: {args.objects * args.size_mib / (t2 - t1):.0f} MiB/s ({t2 - t1:.1f} s), "
              f"peak RSS {mib(sampler.peaks.get('download', 0))}; every body's MD5 matches")
        sampler.stop_event.set()
        sampler.join(5)
        hwm = kib_field(pid, "VmHWM")
        sampled = max(sampler.peaks.values())
        peak = max(sampled, hwm)
        print(f"samples: {sampler.samples}; VmHWM at the end: {mib(hwm)}")
        print(f"idle RSS {mib(idle)}, peak RSS {mib(peak)}, peak - idle {mib(peak - idle)} (target < 64 MiB)")
        return 0 if server.alive() else 1
    finally:
        server.stop()
        if os.environ.get("COSD_KEEP_TMP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
