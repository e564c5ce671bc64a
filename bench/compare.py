#!/usr/bin/env python3
"""Side-by-side benchmark: cosd against its peers and the machine's limits, in one run.

    bench/compare.py                      # everything, 10 s per workload (about 15 minutes)
    bench/compare.py --duration 3s        # a quicker, noisier pass
    bench/compare.py --targets cosd,nginx # a subset

Runs the same cosd-bench workloads, with the same sizes and concurrency, against:
  - cosd (release build; its data on disk, and again on tmpfs to show what fsync costs),
  - peers from the package registries: s3s-fs (crates.io), moto's server mode (PyPI),
    s3rver (npm),
  - nginx (Debian) serving the same bytes as static files and a fixed 200 to preflights,
and measures single-core MD5 (openssl's and the md-5 crate's). It goes group by group
(small objects, large objects, one large stream), every target in turn, so that the figures
of one row are minutes apart. Installs what is missing itself (idempotent), each peer into
~/.cache/cosd-bench (COSD_BENCH_CACHE), nginx with apt-get. Every server listens on 127.0.0.1
only, on fresh data, and is stopped when its turn ends.

Writes, under bench/results/<time>/ (or --out): each target's JSON from cosd-bench,
summary.json, table.md (absolute figures, ratios cosd/peer and cosd/limit), chart.svg.
Needs only python3's standard library. Not part of scripts/test: it takes minutes.
"""

import argparse
import html
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("COSD_BENCH_CACHE", Path.home() / ".cache" / "cosd-bench"))
S3S_FS_VERSION = "0.14.1"
MOTO_VERSION = "5.2.1"
S3RVER_VERSION = "3.7.1"
BUCKET = "bench-1250000000"
KEY_ID = "AKIDcosdbench000000000000000000"
SECRET = "cosdbenchsecret0000000000000000"

# Each group is one cosd-bench invocation: its workloads share a concurrency.
GROUPS = [
    ("small", ["small-put", "small-get", "mixed", "list", "preflight"], 16),
    ("large", ["large-put", "large-get", "multipart-put"], 4),
    ("single", ["large-put"], 1),
]

# The rows of the table: (label, group, workload, metric, limit).
ROWS = [
    ("small PUT 4 KiB (ops/s)", "small", "small-put", "ops_per_sec", None),
    ("small GET 4 KiB (ops/s)", "small", "small-get", "ops_per_sec", "nginx"),
    ("large PUT 64 MiB, 4 streams (MiB/s)", "large", "large-put", "mib_per_sec", None),
    ("large PUT 64 MiB, 1 stream (MiB/s)", "single", "large-put", "mib_per_sec", "md5"),
    ("large GET 64 MiB, 4 streams (MiB/s)", "large", "large-get", "mib_per_sec", "nginx"),
    ("multipart PUT 64 MiB, 16 MiB parts, 4 streams (MiB/s)", "large", "multipart-put",
     "mib_per_sec", None),
    ("mixed 45/15/10/30 (ops/s)", "small", "mixed", "ops_per_sec", None),
    ("LIST 1000-key pages of 10k (pages/s)", "small", "list", "ops_per_sec", None),
    ("CORS preflight (ops/s)", "small", "preflight", "ops_per_sec", "nginx"),
]

DURABILITY = {
    "cosd": "fsync of blob file and directory, then a redb commit (fsync), before every answer",
    "cosd-tmpfs": "cosd unchanged, data on tmpfs (/dev/shm): its fsyncs return at once",
    "s3s-fs": "temp file written and renamed, no fsync (page cache only)",
    "moto": "in memory (spooled to temporary files), nothing durable",
    "s3rver": "files written with Node's fs, no fsync (page cache only)",
    "nginx": "static files; PUTs (WebDAV, pre-fill only) renamed into place, no fsync",
}

PEERS = ["s3s-fs", "moto", "s3rver"]
ALL_TARGETS = ["cosd", "cosd-tmpfs", *PEERS, "nginx"]


def log(msg):
    print(f"compare: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(str(c) for c in cmd))
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- builds and installs


def build_cosd():
    run(["cargo", "build", "--release", "-p", "cosd", "-p", "cosd-bench"], cwd=REPO)
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    release = Path(json.loads(meta.stdout)["target_directory"]) / "release"
    return release / "cosd", release / "cosd-bench"


def install_s3s_fs():
    binary = CACHE / "cargo" / "bin" / "s3s-fs"
    if not binary.exists():
        run(["cargo", "install", f"s3s-fs@{S3S_FS_VERSION}", "--locked",
             "--features", "binary", "--root", CACHE / "cargo"])
    return binary


def install_moto():
    venv = CACHE / "moto-venv"
    binary = venv / "bin" / "moto_server"
    if not binary.exists():
        run([sys.executable, "-m", "venv", venv])
        run([venv / "bin" / "pip", "install", "-q", f"moto[server]=={MOTO_VERSION}"])
    return binary


def install_s3rver():
    prefix = CACHE / "npm"
    binary = prefix / "node_modules" / ".bin" / "s3rver"
    if not binary.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        run(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund",
             f"s3rver@{S3RVER_VERSION}"])
    return binary


def install_nginx():
    if shutil.which("nginx") is None:
        run(["apt-get", "install", "-y", "-q", "nginx"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return Path(shutil.which("nginx"))


INSTALLERS = {"s3s-fs": install_s3s_fs, "moto": install_moto, "s3rver": install_s3rver,
              "nginx": install_nginx}


# ---------------------------------------------------------------- servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {seconds} s")


NGINX_CONF = """\
daemon off;
{user}
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 0;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port};
        root {data};
        # Bucket-level requests (create bucket, PUT ?cors) have nothing to do here.
        location ~ "^/[^/]+/?$" {{ return 200; }}
        location / {{
            # The preflight anchor: a fixed 200 with the headers cosd's grant carries.
            if ($request_method = OPTIONS) {{
                add_header Access-Control-Allow-Origin $http_origin;
                add_header Access-Control-Allow-Methods "PUT,GET";
                add_header Access-Control-Allow-Headers $http_access_control_request_headers;
                add_header Access-Control-Expose-Headers ETag;
                add_header Access-Control-Max-Age 600;
                add_header Access-Control-Allow-Credentials true;
                return 200;
            }}
            # WebDAV PUT only so that the same pre-fill writes the same bytes as files.
            dav_methods PUT DELETE;
            create_full_put_path on;
        }}
    }}
}}
"""


def start_target(name, port, data, tmp, binaries):
    """Starts a server; returns (process, signature, key id, secret)."""
    out = open(tmp / "server.log", "wb")
    env = dict(os.environ)
    if name in ("cosd", "cosd-tmpfs"):
        env.update(COSD_SECRET_ID=KEY_ID, COSD_SECRET_KEY=SECRET)
        cmd = [binaries["cosd"], "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data]
        keys = (KEY_ID, SECRET)
    elif name == "s3s-fs":
        cmd = [binaries[name], "--host", "127.0.0.1", "--port", str(port),
               "--access-key", KEY_ID, "--secret-key", SECRET, data]
        keys = (KEY_ID, SECRET)
    elif name == "moto":
        env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
        cmd = [binaries[name], "-H", "127.0.0.1", "-p", str(port)]
        keys = (KEY_ID, SECRET)
    elif name == "s3rver":
        # Its continuation tokens use a cipher OpenSSL 3 moved to the legacy provider.
        env["NODE_OPTIONS"] = "--openssl-legacy-provider"
        cmd = [binaries[name], "-d", data, "-a", "127.0.0.1", "-p", str(port), "--silent"]
        keys = ("S3RVER", "S3RVER")
    elif name == "nginx":
        conf = tmp / "nginx.conf"
        # As root, nginx would drop its workers to an account that cannot write the
        # (mode 0700) temporary data directory.
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, data=data))
        cmd = [binaries[name], "-c", conf, "-p", tmp]
        keys = (KEY_ID, SECRET)
    else:
        raise ValueError(name)
    proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    wait_for_port(port, proc)
    return proc, keys


def stop(proc):
    """SIGTERM to the server's own process group (nginx has workers), SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# ---------------------------------------------------------------- measuring


def bench_group(name, group, workloads, concurrency, binaries, args, out_dir):
    """One group of workloads against a freshly started target (fresh data, removed after);
    returns cosd-bench's JSON, or None when the target has no workload of the group."""
    if name == "nginx":
        # nginx stands in for reads and preflights only; it cannot list.
        workloads = [w for w in workloads if w in ("small-get", "large-get", "preflight")]
        if not workloads:
            return None
    base = Path("/dev/shm") if name == "cosd-tmpfs" else Path(tempfile.gettempdir())
    tmp = Path(tempfile.mkdtemp(prefix=f"cosd-bench-{name}-", dir=base))
    data = tmp / "data"
    data.mkdir()
    try:
        port = free_port()
        proc, (key_id, secret) = start_target(name, port, data, tmp, binaries)
        try:
            path = out_dir / f"{name}-{group}.json"
            run([binaries["cosd-bench"], "run",
                 "--endpoint", f"http://127.0.0.1:{port}", "--label", name,
                 "--secret-id", key_id, "--secret-key", secret, "--bucket", BUCKET,
                 "--workloads", ",".join(workloads), "-c", str(concurrency),
                 "--duration", args.duration, "--max-ops", str(args.max_ops),
                 "--json", path], cwd=REPO)
            return json.loads(path.read_text())
        finally:
            stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def md5_limits(bench):
    """Single-core MD5 in MiB/s: openssl's (the best known) and the md-5 crate's (cosd's)."""
    limits = {}
    if shutil.which("openssl"):
        out = subprocess.run(["openssl", "speed", "-seconds", "3", "-bytes", "1048576", "md5"],
                             capture_output=True, text=True, check=True).stdout
        line = [l for l in out.splitlines() if l.startswith("md5")][-1]
        limits["openssl"] = float(line.split()[-1].rstrip("k")) * 1000 / 2**20
    out = subprocess.run([bench, "md5", "--seconds", "3"], capture_output=True, text=True,
                         check=True).stdout
    limits["md-5 crate"] = float(out.split()[1])
    return limits


# ---------------------------------------------------------------- reporting


def cell(results, target, group, workload, metric):
    """(value, note): the figure, or None with why it is missing."""
    run_ = results.get(target, {}).get(group)
    if run_ is None:
        return None, "n/a"
    for w in run_["workloads"]:
        if w["workload"] == workload:
            if w["unsupported"]:
                return None, "unsupported"
            total = w["total"]
            if total["errors"] and not total["ops"]:
                return None, "fails"
            return total[metric], ("errors" if total["errors"] else "")
    return None, "n/a"


def fmt(value, note=""):
    if value is None:
        return note or "—"
    text = f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    return f"{text} ⚠" if note == "errors" else text


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def build_table(results, limits, targets, meta):
    peers = [t for t in targets if t in PEERS]
    shown = [t for t in targets if t != "nginx"]
    head = ["workload", *shown, "cosd / best peer", "limit", "cosd / limit"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    chart = []
    for label, group, workload, metric, limit in ROWS:
        cosd, _ = cell(results, "cosd", group, workload, metric)
        row = [label]
        values, missing = {}, []
        for t in shown:
            v, note = cell(results, t, group, workload, metric)
            values[t] = v
            row.append(fmt(v, note))
            if v is None:
                missing.append(f"{t}: {note}")
        peer_values = [(values[p], p) for p in peers if values.get(p) is not None]
        best = max(peer_values, default=(None, None))
        row.append(f"{ratio(cosd, best[0])} ({best[1]})" if best[0] else "—")
        if limit == "nginx":
            lv, note = cell(results, "nginx", group, workload, metric)
            row += [f"nginx {fmt(lv, note)}", ratio(cosd, lv)]
            if lv is not None:
                values["nginx"] = lv
        elif limit == "md5" and "openssl" in limits:
            lv = limits["openssl"]
            row += [f"MD5 1 core {lv:,.0f}", ratio(cosd, lv)]
            values["MD5 (openssl)"] = lv
        else:
            row += ["—", "—"]
        lines.append("| " + " | ".join(row) + " |")
        chart.append((label, values, missing))

    lat = ["", "p50 / p99 latency, ms:", "",
           "| workload | " + " | ".join(shown) + " |", "|" + "---|" * (len(shown) + 1)]
    for label, group, workload, _metric, _limit in ROWS:
        row = [label.rsplit(" (", 1)[0]]
        for t in shown:
            run_ = results.get(t, {}).get(group) or {"workloads": []}
            w = next((w for w in run_["workloads"] if w["workload"] == workload), None)
            if w and w["total"] and w["total"]["ops"]:
                l = w["total"]["latency_ms"]
                row.append(f"{l['p50']:.2f} / {l['p99']:.2f}")
            else:
                row.append("—")
        lat.append("| " + " | ".join(row) + " |")

    notes = ["", "Durability:"] + [f"- {t}: {DURABILITY[t]}" for t in targets]
    notes += ["", "1-minute load average as each target started (other work on the machine "
              "shows here):"]
    notes += [f"- {group}: " + ", ".join(f"{t} {l:.1f}" for t, l in by_target.items())
              for group, by_target in meta["load"].items()]
    notes += ["", "Single-core MD5: " + ", ".join(f"{k} {v:,.0f} MiB/s" for k, v in limits.items()),
              "", f"Machine: {meta['machine']}. Command: `{meta['command']}`."]
    return "\n".join(lines + lat + notes) + "\n", chart


PALETTE = ["#1f77b4", "#9ecae1", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f", "#bcbd22"]


def build_svg(chart):
    """Grouped horizontal bars, one group per row of the table, each bar scaled to the
    largest figure of its group (the units differ between groups) and labelled with its value."""
    names = []
    for _, values, _ in chart:
        for name in values:
            if name not in names:
                names.append(name)
    colour = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    bar, gap, left, width = 14, 18, 330, 420
    height = 40 + sum(len([v for v in vals.values() if v is not None]) * bar + gap
                      + (bar if missing else 0)
                      for _, vals, missing in chart) + 20 * len(names) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" '
           f'height="{height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">cosd and peers, '
           f'same workloads (bar length relative to the best in each row)</text>']
    y = 40
    for label, values, missing in chart:
        present = [(n, v) for n, v in values.items() if v is not None]
        if not present:
            continue
        top = max(v for _, v in present)
        out.append(f'<text x="10" y="{y + bar * len(present) / 2 + 4}">{html.escape(label)}</text>')
        for n, v in present:
            w = max(1.0, width * v / top)
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" '
                       f'fill="{colour[n]}"><title>{html.escape(n)}</title></rect>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 4}">{fmt(v)}</text>')
            y += bar
        if missing:
            # Not silently skipped: say who could not do it.
            out.append(f'<text x="{left}" y="{y + bar - 4}" fill="#555">'
                       f'{html.escape("; ".join(missing))}</text>')
            y += bar
        y += gap
    for n in names:
        out.append(f'<rect x="10" y="{y}" width="12" height="12" fill="{colour[n]}"/>'
                   f'<text x="28" y="{y + 10}">{html.escape(n)}</text>')
        y += 20
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", default="10s", help="per workload (cosd-bench syntax)")
    parser.add_argument("--max-ops", type=int, default=2_000_000, help="per workload")
    parser.add_argument("--targets", default=",".join(ALL_TARGETS))
    parser.add_argument("--out", type=Path, help="default: bench/results/<time>")
    parser.add_argument("--publish", action="store_true",
                        help="also copy table, chart and summary to bench/latest/")
    parser.add_argument("--render", type=Path, metavar="SUMMARY_JSON",
                        help="measure nothing: redraw table and chart from a summary.json")
    args = parser.parse_args()
    if args.render:
        summary = json.loads(args.render.read_text())
        write_report(summary, args.render.parent, args.publish)
        return
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(ALL_TARGETS)
    if unknown or "cosd" not in targets:
        parser.error(f"targets are {', '.join(ALL_TARGETS)} and must include cosd")
    out_dir = args.out or REPO / "bench" / "results" / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)

    cosd, bench = build_cosd()
    binaries = {"cosd": cosd, "cosd-bench": bench}
    for t in targets:
        if t in INSTALLERS:
            try:
                binaries[t] = INSTALLERS[t]()
            except (subprocess.CalledProcessError, OSError, TypeError) as e:
                log(f"{t} could not be installed ({e}); its column will say n/a")
    limits = md5_limits(bench)
    # Group by group, every target in turn: the figures of one row are taken minutes apart,
    # not a quarter of an hour, so background load on a shared machine skews them less.
    results, load = {}, {}
    runnable = [t for t in targets if t in binaries or t in ("cosd", "cosd-tmpfs")]
    for group, workloads, concurrency in GROUPS:
        load[group] = {}
        for t in runnable:
            log(f"--- {group}: {t}")
            load[group][t] = round(os.getloadavg()[0], 1)
            try:
                found = bench_group(t, group, workloads, concurrency, binaries, args, out_dir)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                log(f"{t} failed: {e}; its cells will say n/a")
                continue
            if found is not None:
                results.setdefault(t, {})[group] = found
    meta = {
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
                   f"{platform.system()} {platform.release()}",
        "command": " ".join(["bench/compare.py", *sys.argv[1:]]),
        "cosd_bench_client": "same machine, 2 worker threads, keep-alive HTTP/1.1, SigV4",
        "load": load,
    }
    summary = {"meta": meta, "targets": targets,
               "durability": {t: DURABILITY[t] for t in targets},
               "md5_mib_per_sec": limits, "results": results}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_report(summary, out_dir, args.publish)


def write_report(summary, out_dir, publish):
    """table.md and chart.svg from a summary, beside it; copies all three to bench/latest/."""
    table, chart = build_table(summary["results"], summary["md5_mib_per_sec"],
                               summary["targets"], summary["meta"])
    (out_dir / "table.md").write_text(table)
    (out_dir / "chart.svg").write_text(build_svg(chart))
    print(table)
    log(f"results in {out_dir}")
    if publish:
        latest = REPO / "bench" / "latest"
        latest.mkdir(exist_ok=True)
        for name in ("table.md", "chart.svg", "summary.json"):
            if (out_dir / name).resolve() != (latest / name).resolve():
                shutil.copy(out_dir / name, latest / name)
        log(f"table, chart and summary are in {latest} (README.md shows them)")


if __name__ == "__main__":
    main()
