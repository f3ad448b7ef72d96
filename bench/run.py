#!/usr/bin/env python3
"""Pier benchmark, side by side with the Distribution registry 2.8 and nginx.

One command (bench/run) starts Pier and the Distribution registry on
127.0.0.1, each with filesystem storage in its own temporary root and an
inmemory blob descriptor cache (plus, for HEAD blob, a second Pier without
the cache), seeds both with the same content through the registry HTTP API,
serves the large blob's data file from Pier's root with nginx as the ceiling
for a static read, and measures them in rounds, the order of the servers
alternating from round to round so that drift cancels out. The load
generators are wrk and bench/httpload.c (compiled at run time; HEAD, which wrk
cannot do, and the large blob GET, where wrk's 8 KiB reads are the limit);
pushes use a keep-alive HTTP client that sends the body with sendfile(2). It
writes the medians to bench/RESULTS.md (--smoke: a temporary file) and ends
with a line "bench: N passed, M failed".

Python 3 standard library only. Every process it starts is stopped by its
PID when it ends (normally, on an error, on Ctrl-C or SIGTERM); all traffic
goes to 127.0.0.1.
"""

import argparse
import atexit
import datetime
import hashlib
import http.client
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
MB = 1e6  # throughput is reported in MB/s = 10^6 bytes per second
CLK_TCK = os.sysconf("SC_CLK_TCK")

MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

REPO_BIG = "bench/big"
REPO_SMALL = "bench/small"
REPO_APP = "bench/app"
REPO_PUSH = "bench/push"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A request that did not get the answer the benchmark needs."""


class BenchTimeout(Exception):
    pass


# --------------------------------------------------------------------------
# Processes: every one we start is remembered and stopped by its PID.

_STARTED = []  # Managed objects, in start order


class Managed:
    """A process this benchmark started."""

    def __init__(self, name, argv, workdir, log_path, env=None):
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.log_path = Path(log_path)
        self.env = env
        self.proc = None

    def start(self):
        logf = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, env=self.env)
        finally:
            logf.close()
        _STARTED.append(self)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=20):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def children(self):
        if not self.alive():
            return []
        pids = []
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/children") as f:
                    pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        return pids

    def cpu_seconds(self):
        """User + system CPU time of the process (all threads) and its children."""
        total = 0.0
        for pid in [self.pid] + self.children():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            except (OSError, IndexError, ValueError):
                pass
        return total

    def status(self, key):
        """A /proc/PID/status value in kB (VmHWM, VmRSS), None if gone."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self):
        if self.proc is None or self.proc.returncode is not None:
            return
        workers = self.children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        # nginx workers die with their master; make sure, checking they are still ours.
        for pid in workers:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                if self.name == "nginx" and cmd.startswith(b"nginx"):
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def stop_all():
    while _STARTED:
        m = _STARTED.pop()
        try:
            m.stop()
        except Exception as e:  # keep stopping the others
            print(f"bench: could not stop {m.name} (pid {m.pid}): {e}", file=sys.stderr)


def clean_env():
    # Both registries read REGISTRY_* variables; the benchmark's configs must be what runs.
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_connectable(server, port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise BenchError(f"{server.name} exited before accepting connections:\n{server.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.02)
    raise BenchError(f"{server.name} does not accept connections on 127.0.0.1:{port} within {timeout} s")


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: {level}
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  cache:
    blobdescriptor: {cache}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
"""


class Registry(Managed):
    def __init__(self, key, label, binary, kind, base, log_level, cache="inmemory"):
        self.key = key
        self.label = label
        self.kind = kind  # "pier" or "distribution"
        self.dir = base / key
        self.root = self.dir / "root"
        self.root.mkdir(parents=True)
        self.config = self.dir / "config.yml"
        self.cache = cache
        self.log_level = log_level
        super().__init__(key, [str(binary), "serve", str(self.config)], self.dir, self.dir / "server.log",
                         clean_env())
        self.port = None

    def start(self, timeout=30):
        # The port is chosen here, so that the log level can be quiet (both registries log "listening" at info,
        # and Distribution logs every request at info even with the access log off).
        for attempt in range(3):
            self.port = free_port()
            self.config.write_text(REGISTRY_CONFIG.format(root=self.root, cache=self.cache, level=self.log_level,
                                                          port=self.port))
            super().start()
            try:
                wait_connectable(self, self.port, timeout)
                return
            except BenchError:
                if self.alive() or attempt == 2 or "in use" not in self.log_text():
                    raise
                _STARTED.remove(self)  # lost the port to another process: try another one

    def blob_file(self, digest):
        hexd = digest.split(":", 1)[1]
        return self.root / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


NGINX_CONFIG = """\
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path {prefix}/client_body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location = /blob {{ alias {data}; }}
  }}
}}
"""


class Nginx(Managed):
    key = "nginx"
    label = "nginx"

    def __init__(self, binary, base, data_file):
        prefix = base / "nginx"
        prefix.mkdir()
        self.port = free_port()
        user = ""
        if os.geteuid() == 0:  # workers would run as nobody, who cannot enter our 0700 temp dir
            user = "user root;"
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONFIG.format(workers=os.cpu_count() or 1, prefix=prefix, user=user, port=self.port,
                                            data=data_file))
        super().__init__("nginx", [str(binary), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                         prefix, prefix / "stdout.log", clean_env())
        self.error_log = prefix / "error.log"

    def start(self, timeout=20):
        super().start()
        wait_connectable(self, self.port, timeout)

    def log_tail(self, lines=20):
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return super().log_tail(lines)


# --------------------------------------------------------------------------
# HTTP client (keep-alive, bodies from files with sendfile)

def location_path(response):
    location = response.header("Location")
    if not location:
        raise BenchError("the answer has no Location header\n" + response.describe())
    u = urllib.parse.urlsplit(location)
    return u.path + ("?" + u.query if u.query else "")


def with_query(path, key, value):
    return path + ("&" if "?" in path else "?") + urllib.parse.urlencode({key: value})


class Response:
    def __init__(self, method, path, req_headers, status, headers, body, req_body_len):
        self.method = method
        self.path = path
        self.req_headers = req_headers
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self.req_body_len = req_body_len

    def header(self, name):
        return self.headers.get(name.lower())

    def describe(self):
        req = f"{self.method} {self.path} HTTP/1.1\n" + "".join(f"{k}: {v}\n" for k, v in self.req_headers.items())
        if self.req_body_len:
            req += f"[body: {self.req_body_len} bytes]\n"
        body = self.body[:2000].decode("utf-8", "replace") if self.body else ""
        resp = f"HTTP/1.1 {self.status}\n" + "".join(f"{k}: {v}\n" for k, v in self.headers.items()) + "\n" + body
        return "request:\n" + req + "response:\n" + resp


class Client:
    def __init__(self, port, timeout=300):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout, blocksize=MIB)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, expect=None, file=None, offset=0, count=None):
        """One request. body: bytes; or file+offset+count: sent with sendfile(2)."""
        headers = dict(headers or {})
        body_len = len(body) if body is not None else (count if file is not None else 0)
        if method in ("PUT", "POST", "PATCH"):
            headers.setdefault("Content-Length", str(body_len))
        where = f"{method} 127.0.0.1:{self.port}{path}"
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.putrequest(method, path, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.endheaders()
            except (http.client.HTTPException, OSError) as e:
                self.close()
                if attempt == 0:
                    continue  # a keep-alive connection the server closed while idle: once more on a new one
                raise BenchError(f"{where}: cannot send the request: {e!r}")
            try:
                if body:
                    conn.sock.sendall(body)
                elif file is not None and count:
                    conn.sock.sendfile(file, offset, count)
            except OSError as e:
                # The server may have answered early (an error) and closed: show that answer if there is one.
                try:
                    resp = conn.getresponse()
                    data = resp.read()
                    r = Response(method, path, headers, resp.status,
                                 {k.lower(): v for k, v in resp.getheaders()}, data, body_len)
                except (http.client.HTTPException, OSError):
                    r = None
                self.close()
                raise BenchError(f"{where}: the server stopped reading the request body: {e!r}"
                                 + ("\n" + r.describe() if r else ""))
            try:
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError) as e:
                self.close()
                if attempt == 0 and not body and file is None:
                    continue  # as above
                raise BenchError(f"{where}: connection closed without an answer: {e!r}")
            except (http.client.HTTPException, OSError) as e:
                self.close()
                raise BenchError(f"{where}: no valid answer: {e!r}")
            r = Response(method, path, headers, resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                         body_len)
            if resp.will_close:
                self.close()
            break
        if expect is not None and r.status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise BenchError(f"unexpected status {r.status} (expected {expect}) from 127.0.0.1:{self.port}\n"
                             + r.describe())
        return r


def push_blob_bytes(client, repo, data, digest):
    r = client.request("POST", f"/v2/{repo}/blobs/uploads/", expect=202)
    loc = location_path(r)
    client.request("PUT", with_query(loc, "digest", digest), body=data,
                   headers={"Content-Type": "application/octet-stream"}, expect=201)


def push_monolithic(client, repo, path, size, digest):
    with open(path, "rb") as f:
        r = client.request("POST", f"/v2/{repo}/blobs/uploads/", expect=202)
        loc = location_path(r)
        client.request("PUT", with_query(loc, "digest", digest), file=f, offset=0, count=size,
                       headers={"Content-Type": "application/octet-stream"}, expect=201)


def push_chunked(client, repo, path, size, digest, chunk):
    with open(path, "rb") as f:
        r = client.request("POST", f"/v2/{repo}/blobs/uploads/", expect=202)
        loc = location_path(r)
        offset = 0
        while offset < size:
            n = min(chunk, size - offset)
            r = client.request("PATCH", loc, file=f, offset=offset, count=n, expect=202,
                               headers={"Content-Type": "application/octet-stream",
                                        "Content-Range": f"{offset}-{offset + n - 1}"})
            offset += n
            rng = r.header("Range")
            if rng != f"0-{offset - 1}":
                raise BenchError(f"PATCH answered Range {rng!r}, expected '0-{offset - 1}'\n" + r.describe())
            loc = location_path(r)
        client.request("PUT", with_query(loc, "digest", digest), expect=201)


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(4 * MIB)
            if not block:
                break
            h.update(block)
    return "sha256:" + h.hexdigest()


def write_random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n


# --------------------------------------------------------------------------
# Content, the same for every registry

class Content:
    def __init__(self, args, base):
        rng = random.Random(20261128)
        self.big_path = base / "big.bin"
        self.big_size = args.big_mib * MIB
        write_random_file(self.big_path, self.big_size)
        self.big_digest = file_digest(self.big_path)

        self.small = []  # (digest, bytes)
        for _ in range(args.small_count):
            data = rng.randbytes(rng.randint(args.small_min_kib * 1024, args.small_max_kib * 1024))
            self.small.append((sha256_digest(data), data))

        # bench/app: manifests, each with its own config and a few small layers; tags point at them.
        self.layers_per_manifest = min(3, len(self.small))
        self.manifests = []  # (digest, bytes, config (digest, bytes), layer indices)
        for i in range(args.manifests):
            config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                                 "config": {"Labels": {"bench.manifest": str(i)}},
                                 "rootfs": {"type": "layers", "diff_ids": []}}).encode()
            layer_ix = [(i * self.layers_per_manifest + j) % len(self.small) for j in range(self.layers_per_manifest)]
            body = self.manifest_json(config, [self.small[j] for j in layer_ix])
            self.manifests.append((sha256_digest(body), body, (sha256_digest(config), config), layer_ix))
        self.tags = {f"v{t:04d}": self.manifests[t % len(self.manifests)] for t in range(args.tags)}

        # catalog: more repositories, one image each
        self.catalog_repos = []
        for i in range(args.repos):
            config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                                 "config": {"Labels": {"bench.repo": str(i)}}}).encode()
            body = self.manifest_json(config, [])
            self.catalog_repos.append((f"bench/catalog/r{i:04d}", (sha256_digest(config), config), body))

        self.all_repos = sorted({REPO_BIG, REPO_SMALL, REPO_APP} | {r for r, _, _ in self.catalog_repos})

    @staticmethod
    def manifest_json(config, layers):
        return json.dumps({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": d, "size": len(b)} for d, b in layers],
        }, indent=2).encode()


def seed(reg, content):
    c = Client(reg.port)
    try:
        push_monolithic(c, REPO_BIG, content.big_path, content.big_size, content.big_digest)
        for d, data in content.small:
            push_blob_bytes(c, REPO_SMALL, data, d)
        pushed = set()
        for mdigest, body, (cdigest, config), layer_ix in content.manifests:
            push_blob_bytes(c, REPO_APP, config, cdigest)
            for j in layer_ix:
                if j not in pushed:
                    d, data = content.small[j]
                    push_blob_bytes(c, REPO_APP, data, d)
                    pushed.add(j)
        for tag, (mdigest, body, _, _) in content.tags.items():
            r = c.request("PUT", f"/v2/{REPO_APP}/manifests/{tag}", body=body,
                          headers={"Content-Type": OCI_MANIFEST}, expect=201)
            if r.header("Docker-Content-Digest") not in (None, mdigest):
                raise BenchError(f"manifest digest {r.header('Docker-Content-Digest')} != {mdigest}\n" + r.describe())
        for repo, (cdigest, config), body in content.catalog_repos:
            push_blob_bytes(c, repo, config, cdigest)
            c.request("PUT", f"/v2/{repo}/manifests/latest", body=body, headers={"Content-Type": OCI_MANIFEST},
                      expect=201)
    finally:
        c.close()


def verify(reg, content, seeded=True):
    """Checks that every URL the measures use answers what was seeded; warms the caches too."""
    c = Client(reg.port)
    try:
        for d, data in content.small:
            r = c.request("HEAD", f"/v2/{REPO_SMALL}/blobs/{d}", expect=200)
            if r.header("Content-Length") != str(len(data)) or r.header("Docker-Content-Digest") != d:
                raise BenchError("HEAD blob answered the wrong Content-Length or digest\n" + r.describe())
            if not seeded:
                continue
            r = c.request("GET", f"/v2/{REPO_SMALL}/blobs/{d}", expect=200)
            if r.body != data:
                raise BenchError(f"GET blob returned other bytes ({len(r.body)} bytes, expected {len(data)})\n"
                                 + r.describe())
        if not seeded:
            return
        for tag, (mdigest, body, _, _) in content.tags.items():
            r = c.request("GET", f"/v2/{REPO_APP}/manifests/{tag}", headers={"Accept": MANIFEST_ACCEPT}, expect=200)
            if r.body != body:
                raise BenchError("GET manifest by tag returned other bytes\n" + r.describe())
        r = c.request("GET", f"/v2/{REPO_APP}/tags/list", expect=200)
        tags = json.loads(r.body).get("tags") or []
        if sorted(tags) != sorted(content.tags):
            raise BenchError(f"tags list has {len(tags)} tags, expected {len(content.tags)}\n" + r.describe())
        r = c.request("GET", "/v2/_catalog", expect=200)
        repos = json.loads(r.body).get("repositories") or []
        missing = sorted(set(content.all_repos) - set(repos))
        if missing:
            raise BenchError(f"catalog misses {len(missing)} repositories ({missing[:3]}...)\n" + r.describe())
        r = c.request("HEAD", f"/v2/{REPO_BIG}/blobs/{content.big_digest}", expect=200)
        if r.header("Content-Length") != str(content.big_size):
            raise BenchError("HEAD of the large blob answered the wrong Content-Length\n" + r.describe())
    finally:
        c.close()
    verify_big(reg.port, f"/v2/{REPO_BIG}/blobs/{content.big_digest}", content, reg.label)


def verify_big(port, path, content, label):
    """Streams the large blob once and checks its digest."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        h = hashlib.sha256()
        n = 0
        while True:
            chunk = resp.read(4 * MIB)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        if resp.status != 200 or n != content.big_size or "sha256:" + h.hexdigest() != content.big_digest:
            raise BenchError(f"{label}: GET {path} answered {resp.status} with {n} bytes, digest "
                             f"sha256:{h.hexdigest()}; expected 200, {content.big_size} bytes, {content.big_digest}")
    finally:
        conn.close()


# --------------------------------------------------------------------------
# wrk

WRK_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%.0f,\"bytes\":%.0f,\"duration_us\":%.0f,\"connect\":%.0f,\"read\":%.0f," ..
    "\"write\":%.0f,\"status\":%.0f,\"timeout\":%.0f,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f," ..
    "\"mean_us\":%.1f}\n",
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""


def wrk_script(path, method="GET", headers=None, paths=None):
    lines = [f'wrk.method = "{method}"']
    for k, v in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    if paths:
        lines.append("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}")
        lines.append(textwrap.dedent("""
            local threads = 0
            function setup(thread)
              thread:set("thread_index", threads)
              threads = threads + 1
            end
            function init(args)
              idx = ((thread_index or 0) * 7919) % #paths
            end
            function request()
              idx = idx % #paths + 1
              return wrk.format(nil, paths[idx])
            end
            """))
    lines.append(WRK_DONE)
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(args, url, script, connections, server, timeout_s, duration=None):
    duration = duration or args.duration
    threads = max(1, min(args.wrk_threads, connections))
    cmd = [args.wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", f"{timeout_s}s", "-s",
           str(script), url]
    res = run_load(cmd, server, duration + timeout_s + 30)
    res["threads"] = threads
    res["client"] = f"wrk, {threads} thread(s)"
    return res


def run_httpload(args, binary, port, paths_file, method, connections, server, headers=None, duration=None,
                 read_size=None):
    duration = duration or args.duration
    threads = max(1, min(args.wrk_threads, connections))
    cmd = [str(binary), "-p", str(port), "-f", str(paths_file), "-m", method, "-c", str(connections), "-t",
           str(threads), "-d", str(duration)]
    if read_size:
        cmd += ["-b", str(read_size)]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    res = run_load(cmd, server, duration + 30)
    res["threads"] = threads
    res["client"] = f"httpload, {threads} thread(s)"
    return res


def run_load(cmd, server, limit):
    """Runs a load generator that prints a BENCHJSON line; adds its CPU use and the server's."""
    cpu0 = server.cpu_seconds()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        out, err = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        raise BenchError(f"the load generator did not finish in time: {shlex.join(cmd)}")
    finally:
        if p.poll() is None:  # interrupted or timed out: stop the one we started
            p.kill()
            p.wait()
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = server.cpu_seconds()
    text = out.decode(errors="replace")
    m = re.search(r"BENCHJSON (\{.*\})", text)
    if p.returncode != 0 or not m:
        raise BenchError(f"load generator failed (exit {p.returncode}): {shlex.join(cmd)}\n{text}\n"
                         f"{err.decode(errors='replace')}")
    res = json.loads(m.group(1))
    secs = res["duration_us"] / 1e6
    res["seconds"] = secs
    res["rps"] = res["requests"] / secs if secs else 0.0
    res["mbps"] = res["bytes"] / secs / MB if secs else 0.0
    res["client_cpu"] = ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) / wall
    res["server_cpu"] = (cpu1 - cpu0) / wall
    res["errors"] = res["connect"] + res["read"] + res["write"] + res["status"] + res["timeout"]
    res["cmd"] = shlex.join(cmd)
    return res


def build_httpload(base):
    """Compiles bench/httpload.c (HEAD requests: wrk cannot). Returns the binary or raises BenchError."""
    src = Path(__file__).resolve().parent / "httpload.c"
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        raise BenchError("no C compiler (cc) to build bench/httpload.c, which measures HEAD requests")
    out = base / "httpload"
    p = subprocess.run([cc, "-O2", "-pthread", "-o", str(out), str(src)], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise BenchError(f"cannot compile {src}:\n{p.stdout}{p.stderr}")
    return out


# --------------------------------------------------------------------------
# Measures

class Measure:
    def __init__(self, key, title, unit, participants, higher_better=True, repeats=1):
        self.key = key
        self.title = title
        self.unit = unit
        self.participants = participants  # keys
        self.higher_better = higher_better
        # Runs per server per round, alternating A B C A B C, each 1/repeats of the run time: for measures whose
        # single runs scatter widely (a large GET on 2 shared cores swings between ~2.5 and ~5 GB/s with where
        # the scheduler puts client and server), so the median stands on more samples.
        self.repeats = repeats


class Bench:
    def __init__(self, args, base, content, servers):
        self.args = args
        self.base = base
        self.content = content
        self.servers = servers  # key -> Registry/Nginx
        self.values = {}  # (measure, server) -> [per-round value]
        self.details = {}  # (measure, server) -> [per-round dict]
        self.failures = []  # (measure, server, text)
        self.push_seq = 0
        self.scripts = base / "scripts"
        self.scripts.mkdir()
        c = content
        self.paths = {
            "big": f"/v2/{REPO_BIG}/blobs/{c.big_digest}",
            "small": [f"/v2/{REPO_SMALL}/blobs/{d}" for d, _ in c.small],
            "tags": [f"/v2/{REPO_APP}/manifests/{t}" for t in c.tags],
            "tagslist": f"/v2/{REPO_APP}/tags/list",
            "catalog": "/v2/_catalog",
        }
        s = self.scripts
        self.script = {
            "plain": wrk_script(s / "plain.lua"),
            "get_small": wrk_script(s / "get_small.lua", "GET", paths=self.paths["small"]),
            "get_manifest": wrk_script(s / "get_manifest.lua", "GET", headers={"Accept": MANIFEST_ACCEPT},
                                       paths=self.paths["tags"]),
        }
        regs = ["pier", "distribution"]
        self.measures = [
            Measure("blob_get_1", f"GET {args.big_mib} MiB blob, 1 connection", "MB/s", regs + ["nginx"],
                    repeats=args.blob_repeats),
            Measure("blob_get_8", f"GET {args.big_mib} MiB blob, 8 connections", "MB/s", regs + ["nginx"],
                    repeats=args.blob_repeats),
            Measure("head_blob", f"HEAD small blob, {args.connections} connections", "req/s",
                    regs + (["pier_nocache"] if "pier_nocache" in servers else [])),
            Measure("get_blob", f"GET small blob, {args.connections} connections", "req/s", regs),
            Measure("get_manifest", f"GET manifest by tag, {args.connections} connections", "req/s", regs),
            Measure("tags_list", f"tags list ({len(c.tags)} tags), 1 connection", "ms", regs, higher_better=False),
            Measure("catalog", f"catalog ({len(c.all_repos)} repositories), 1 connection", "ms", regs,
                    higher_better=False),
            Measure("push_monolithic", f"monolithic push of {args.push_mib} MiB (POST, PUT)", "MB/s", regs),
            Measure("push_chunked", f"chunked push of {args.push_mib} MiB ({args.chunk_mib} MiB PATCH chunks, PUT)",
                    "MB/s", regs),
        ]
        self.paths_file = s / "small_paths.txt"
        self.paths_file.write_text("\n".join(self.paths["small"]) + "\n")
        self.httpload = build_httpload(base)
        self.push_path = base / "push.bin"
        self.push_size = args.push_mib * MIB
        write_random_file(self.push_path, self.push_size)

    def url(self, server, path):
        return f"http://127.0.0.1:{server.port}{path}"

    def record(self, measure, key, value, detail):
        self.values.setdefault((measure.key, key), []).append(value)
        self.details.setdefault((measure.key, key), []).append(detail)

    def fail(self, measure, key, text):
        self.failures.append((measure.key, key, text))
        log(f"FAILED {measure.key} on {key}:\n{text}")

    def run_one(self, measure, key):
        server = self.servers[key]
        if not server.alive():
            raise BenchError(f"{key} is not running any more (exit {server.proc.returncode}):\n{server.log_tail()}")
        a = self.args
        m = measure.key
        if m in ("blob_get_1", "blob_get_8"):
            conns = 1 if m == "blob_get_1" else 8
            path = "/blob" if key == "nginx" else self.paths["big"]
            if a.big_client == "wrk":
                res = run_wrk(a, self.url(server, path), self.script["plain"], conns, server, timeout_s=120)
            else:
                pf = self.scripts / ("nginx_path.txt" if key == "nginx" else "big_path.txt")
                pf.write_text(path + "\n")
                res = run_httpload(a, self.httpload, server.port, pf, "GET", conns, server, read_size=256 * 1024,
                                   duration=max(2, -(-a.duration // measure.repeats)))
            self.check_wrk(measure, key, res, "GET", [path])
            return res["mbps"], res
        if m == "head_blob":
            # wrk waits for a body after HEAD (wg/wrk#198): httpload, a client of the same kind, does HEAD.
            paths = self.paths["small"]
            res = run_httpload(a, self.httpload, server.port, self.paths_file, "HEAD", a.connections, server)
            self.check_wrk(measure, key, res, "HEAD", paths)
            return res["rps"], res
        if m in ("get_blob", "get_manifest"):
            script = {"get_blob": "get_small", "get_manifest": "get_manifest"}[m]
            method = "GET"
            paths = self.paths["tags"] if m == "get_manifest" else self.paths["small"]
            res = run_wrk(a, self.url(server, paths[0]), self.script[script], a.connections, server, timeout_s=10)
            self.check_wrk(measure, key, res, method, paths,
                           {"Accept": MANIFEST_ACCEPT} if m == "get_manifest" else None)
            return res["rps"], res
        if m in ("tags_list", "catalog"):
            path = self.paths["tagslist" if m == "tags_list" else "catalog"]
            res = run_wrk(a, self.url(server, path), self.script["plain"], 1, server, timeout_s=10)
            self.check_wrk(measure, key, res, "GET", [path])
            return res["p50_us"] / 1000.0, res
        if m in ("push_monolithic", "push_chunked"):
            return self.push(measure, server)
        raise AssertionError(m)

    def push(self, measure, server):
        vals = []
        details = []
        for _ in range(self.args.push_count):
            # Fresh content each time, so no push is a no-op for a blob that exists already.
            self.push_seq += 1
            with open(self.push_path, "r+b") as f:
                f.write(f"pier-bench push {self.push_seq:08d} {time.time_ns()}".encode().ljust(64, b"."))
            digest = file_digest(self.push_path)
            os.sync()  # start from clean page cache state: the previous push's dirty pages are written
            c = Client(server.port)
            try:
                cpu0 = server.cpu_seconds()
                ru0 = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.perf_counter()
                if measure.key == "push_monolithic":
                    push_monolithic(c, REPO_PUSH, self.push_path, self.push_size, digest)
                else:
                    push_chunked(c, REPO_PUSH, self.push_path, self.push_size, digest, self.args.chunk_mib * MIB)
                secs = time.perf_counter() - t0
                ru1 = resource.getrusage(resource.RUSAGE_SELF)
                cpu1 = server.cpu_seconds()
                r = c.request("HEAD", f"/v2/{REPO_PUSH}/blobs/{digest}", expect=200)
                if r.header("Content-Length") != str(self.push_size):
                    raise BenchError("HEAD of the pushed blob answered the wrong Content-Length\n" + r.describe())
            finally:
                c.close()
            vals.append(self.push_size / secs / MB)
            details.append({"seconds": secs, "server_cpu": (cpu1 - cpu0) / secs,
                            "client_cpu": ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) / secs})
        i = vals.index(statistics.median_low(vals))
        d = dict(details[i])
        d["all"] = vals
        return statistics.median(vals), d

    def check_wrk(self, measure, key, res, method, paths, headers=None):
        if res["bytes"] == 0 or (res["requests"] == 0 and measure.unit != "MB/s"):
            # (a large blob on many connections may not complete within a short run: its bytes count)
            raise BenchError(f"the load generator completed no request: {res['cmd']}")
        if res["errors"]:
            text = (f"{res['client'].split(',')[0]} counted errors: connect {res['connect']}, read {res['read']}, write {res['write']}, "
                    f"status (4xx/5xx) {res['status']}, timeout {res['timeout']} of {res['requests']} requests\n"
                    f"  {res['cmd']}")
            if res["status"]:
                text += "\n" + self.example_failure(self.servers[key], method, paths, headers)
            raise BenchError(text)

    def example_failure(self, server, method, paths, headers):
        """Finds a request that fails now, to show it exactly."""
        c = Client(server.port, timeout=30)
        try:
            for p in paths[:200]:
                r = c.request(method, p, headers=headers)
                if r.status >= 400:
                    return "an example, repeated after the run:\n" + r.describe()
        except BenchError as e:
            return str(e)
        finally:
            c.close()
        return "(repeating the requests one by one after the run, all succeeded)"

    def run(self):
        a = self.args
        for rnd in range(a.rounds):
            for measure in self.measures:
                order = []
                for rep in range(measure.repeats):
                    k = (rnd + rep) % len(measure.participants)
                    # alternate who goes first from round to round (and from repeat to repeat)
                    order += measure.participants[k:] + measure.participants[:k]
                for key in order:
                    try:
                        value, detail = self.run_one(measure, key)
                    except BenchError as e:
                        self.fail(measure, key, str(e))
                        continue
                    self.record(measure, key, value, detail)
                    extra = ""
                    if "client_cpu" in detail:
                        extra = (f" (client CPU {detail['client_cpu'] * 100:.0f}%, "
                                 f"server CPU {detail['server_cpu'] * 100:.0f}%)")
                    log(f"round {rnd + 1}/{a.rounds}  {measure.key:16} {key:13} {fmt(value, measure.unit)} "
                        f"{measure.unit}{extra}")


# --------------------------------------------------------------------------
# Report

def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    if unit == "MiB":
        return f"{v:.1f}"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}"


def machine_info():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    return {"cores": nproc, "mem_gib": mem_kb / MIB, "cpu": cpu or platform.processor() or "unknown",
            "kernel": platform.release()}


def tool_version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


def median_of(values):
    return statistics.median(values) if values else None


def write_report(path, args, bench, servers, memory, info, started, command, load_before, load_after, versions,
                 fatal):
    v = bench.values if bench else {}
    lines = []
    w = lines.append
    w("# Pier benchmark results")
    w("")
    w(f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}")
    w(f"- Machine: {info['cores']} cores (nproc), {info['mem_gib']:.1f} GiB memory, CPU: {info['cpu']}, "
      f"Linux {info['kernel']}")
    w(f"- Load average before / after: {load_before} / {load_after}")
    w(f"- Command: `{command}`" + ("  (smoke mode: tiny sizes, not a measurement)" if args.smoke else ""))
    w(f"- Servers: {versions['pier']}; {versions['distribution']}; {versions['nginx']}")
    w(f"- Load generators: {versions['wrk']} ({args.wrk_threads} threads) for GET of small blobs and manifests, tags "
      f"list and catalog; bench/httpload.c ({args.wrk_threads} threads, epoll, keep-alive, one request in flight per "
      f"connection, as wrk) for HEAD, which wrk cannot do (it waits for a body after a HEAD response, wg/wrk#198)"
      + ("" if args.big_client == "wrk" else ", and for the large blob GET, where wrk's 8 KiB reads are the limit "
         "(httpload reads 256 KiB at a time, still copying the bytes)")
      + "; pushes: a keep-alive Python client that sends the body with sendfile(2)")
    w(f"- Content, the same in both registries, seeded through the HTTP API: one {args.big_mib} MiB blob, "
      f"{args.small_count} blobs of {args.small_min_kib}–{args.small_max_kib} KiB, {args.manifests} OCI manifests "
      f"under {args.tags} tags, {len(bench.content.all_repos) if bench else '?'} repositories")
    w(f"- Each registry: filesystem storage in its own temporary root, inmemory blob descriptor cache, "
      f"log.level {args.log_level}, access log off, on 127.0.0.1. \"Pier, no cache\" is a third server with "
      f"`storage.cache.blobdescriptor: none`. nginx serves the large blob's data file from Pier's root with sendfile")
    w(f"- {args.rounds} round(s) of {args.duration} s per load run; the order of the servers alternates from round "
      f"to round (A B, then B A); each figure is the median of the rounds, per-run values in brackets. "
      f"The large blob GETs run {args.blob_repeats} times per server per round, alternating, "
      f"{max(2, -(-args.duration // args.blob_repeats))} s each: single runs of them scatter widely on this machine. "
      f"MB = 10^6 bytes. Push: {args.push_count} push(es) per round, fresh content each, timed from POST to the "
      f"final 201 over one keep-alive connection, with a sync(2) before each")
    w("")

    def val(m, k):
        return median_of(v.get((m, k), []))

    def ratio(a, b):
        return a / b if a is not None and b else None

    def cell(m, k, unit):
        vals = v.get((m, k), [])
        if not vals:
            return "FAILED" if any(f[0] == m and f[1] == k for f in bench.failures) else "—"
        s = fmt(median_of(vals), unit)
        if len(vals) > 1:
            s += " [" + ", ".join(fmt(x, unit) for x in vals) + "]"
        return s

    # targets
    targets = []
    for m, label in (("head_blob", "HEAD blob req/s ≥ 2× Distribution"),
                     ("get_manifest", "GET manifest req/s ≥ 2× Distribution")):
        targets.append((label, ratio(val(m, "pier"), val(m, "distribution")), 2.0, True, "× Distribution"))
    for m, n in (("blob_get_1", 1), ("blob_get_8", 8)):
        targets.append((f"{args.big_mib} MiB blob GET ({n} conn.) ≥ 90% of nginx",
                        ratio(val(m, "pier"), val(m, "nginx")), 0.9, True, "× nginx"))
    for m, label in (("push_monolithic", "monolithic push MB/s ≥ Distribution"),
                     ("push_chunked", "chunked push MB/s ≥ Distribution")):
        targets.append((label, ratio(val(m, "pier"), val(m, "distribution")), 1.0, True, "× Distribution"))
    targets.append(("peak resident memory ≤ ½ Distribution",
                    ratio(memory.get("pier", {}).get("VmHWM"), memory.get("distribution", {}).get("VmHWM")), 0.5,
                    False, "× Distribution"))
    w("## Targets (issue 4, item 4)")
    w("")
    w("| target | measured | status | margin |")
    w("| --- | --- | --- | --- |")
    not_met = []
    for label, r, t, higher, what in targets:
        if r is None:
            w(f"| {label} | — | not measured | — |")
            not_met.append(label)
            continue
        if higher:
            margin = r / t - 1
            met = r >= t
        else:
            margin = 1 - r / t
            met = r <= t
        if met:
            mtext = f"{margin * 100:.0f}% better than the target"
        else:
            mtext = f"{-margin * 100:.0f}% short of the target"
            not_met.append(label)
        w(f"| {label} | {r:.2f}{what} | {'met' if met else '**not met**'} | {mtext} |")
    w("")
    if args.smoke:
        w("Smoke mode: the sizes are tiny, the figures say nothing about the targets.")
        w("")

    def table(title, unit, rows, with_nginx=False, with_nocache=False, note=None):
        w(f"## {title}")
        w("")
        if note:
            w(note)
            w("")
        head = ["measure", f"Pier ({unit})", f"Distribution ({unit})", "Pier / Distribution"]
        if with_nginx:
            head += [f"nginx ({unit})", "Pier / nginx"]
        if with_nocache:
            head += [f"Pier, no cache ({unit})", "cache / no cache"]
        w("| " + " | ".join(head) + " |")
        w("|" + " --- |" * len(head))
        for m in rows:
            measure = next(x for x in bench.measures if x.key == m)
            p, d = val(m, "pier"), val(m, "distribution")
            r = ratio(p, d)
            row = [measure.title, cell(m, "pier", unit), cell(m, "distribution", unit),
                   f"{r:.2f}" if r is not None else "—"]
            if with_nginx:
                n = val(m, "nginx")
                row += [cell(m, "nginx", unit), f"{ratio(p, n):.2f}" if ratio(p, n) is not None else "—"]
            if with_nocache:
                if "pier_nocache" in measure.participants:
                    nc = val(m, "pier_nocache")
                    row += [cell(m, "pier_nocache", unit), f"{ratio(p, nc):.2f}" if ratio(p, nc) is not None else "—"]
                else:
                    row += ["", ""]
            w("| " + " | ".join(row) + " |")
        w("")

    if bench:
        table("Large blob GET (MB/s, higher is better)", "MB/s", ["blob_get_1", "blob_get_8"], with_nginx=True)
        table(f"Requests per second at {args.connections} connections (higher is better)", "req/s",
              ["head_blob", "get_blob", "get_manifest"], with_nocache="pier_nocache" in servers,
              note=("The clients rotate over the seeded digests and tags (manifests with an Accept header naming "
                    "the OCI and Docker manifest types); HEAD with httpload, GET with wrk."))
        table("Push throughput (MB/s, higher is better)", "MB/s", ["push_monolithic", "push_chunked"])
        table("Latency (median ms over one keep-alive connection, lower is better)", "ms", ["tags_list", "catalog"],
              note="wrk, 1 connection, as many sequential requests as fit in the run; the ratio is Pier / "
                   "Distribution, so lower is better here.")
        # p99 for latency
        w("| measure | Pier p99 (ms) | Distribution p99 (ms) | Pier req/s | Distribution req/s |")
        w("| --- | --- | --- | --- | --- |")
        for m in ("tags_list", "catalog"):
            row = [next(x for x in bench.measures if x.key == m).title]
            for k in ("pier", "distribution"):
                ds = bench.details.get((m, k), [])
                row.append(fmt(statistics.median([d["p99_us"] / 1000 for d in ds]), "ms") if ds else "—")
            for k in ("pier", "distribution"):
                ds = bench.details.get((m, k), [])
                row.append(fmt(statistics.median([d["rps"] for d in ds]), "req/s") if ds else "—")
            w("| " + " | ".join(row) + " |")
        w("")

    w("## Peak resident memory (VmHWM at the end of the run, lower is better)")
    w("")
    w("| server | VmHWM (MiB) | VmRSS at end (MiB) | Pier / Distribution |")
    w("| --- | --- | --- | --- |")
    d_hwm = memory.get("distribution", {}).get("VmHWM")
    for key, label in (("pier", "Pier"), ("distribution", "Distribution"), ("pier_nocache", "Pier, no cache")):
        if key not in memory:
            continue
        mem = memory[key]
        hwm, rss = mem.get("VmHWM"), mem.get("VmRSS")
        r = ratio(hwm, d_hwm) if key == "pier" else None
        w(f"| {label} | {fmt(hwm / 1024, 'MiB') if hwm else '—'} | {fmt(rss / 1024, 'MiB') if rss else '—'} | "
          f"{f'{r:.2f}' if r is not None else ''} |")
    w("")
    w("Pier and Distribution served the same requests; \"Pier, no cache\" only the seeding and its HEAD runs.")
    w("")

    if bench:
        try:
            cores = int(info["cores"])
        except ValueError:
            cores = os.cpu_count() or 1
        w("## CPU during the runs (median, % of one core; the machine has "
          f"{info['cores']} × 100%)")
        w("")
        w("The load generator shares the machine with the server. When client + server reach the machine's total, "
          "the figure is bounded by the CPU; a client near 100% per wrk thread is itself the limit.")
        w("")
        w("| measure | server | server CPU | client CPU | client | bound by |")
        w("| --- | --- | --- | --- | --- | --- |")
        for measure in bench.measures:
            for k in measure.participants:
                ds = bench.details.get((measure.key, k), [])
                if not ds:
                    continue
                sc = statistics.median([d["server_cpu"] for d in ds]) * 100
                cc = statistics.median([d["client_cpu"] for d in ds]) * 100
                client = ds[0].get("client", "python, sendfile")
                bound = ""
                if "threads" in ds[0] and cc >= 90 * ds[0]["threads"]:
                    bound = "**the client's CPU**"
                elif sc + cc >= 90 * cores:
                    bound = "the machine's CPU (client + server)"
                w(f"| {measure.title} | {k} | {sc:.0f}% | {cc:.0f}% | {client} | {bound} |")
        w("")

    failures = bench.failures if bench else []
    if failures or fatal:
        w("## Failures")
        w("")
        if fatal:
            w("```")
            w(fatal.strip())
            w("```")
            w("")
        for m, k, text in failures:
            w(f"### {m} on {k}")
            w("")
            w("```")
            w(text.strip())
            w("```")
            w("")

    if not_met and not args.smoke:
        w("## Where a target is not met: what the profile shows")
        w("")
        notes = Path(args.notes) if args.notes else None
        if notes and notes.is_file():
            w(notes.read_text().strip())
        else:
            w("Not met: " + "; ".join(not_met) + ". The profile (perf record -g -p PID, or valgrind "
              "--tool=callgrind) of Pier under the measure is to be written to bench/PROFILE.md, which this report "
              "includes (`--notes`).")
        w("")

    Path(path).write_text("\n".join(lines))


# --------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog=os.environ.get("PIER_BENCH_NAME", "bench/run"),
                                description="Benchmark Pier against the Distribution registry 2.8 and nginx.")
    p.add_argument("--smoke", action="store_true", help="a few seconds, tiny sizes, 1 round; writes to a temporary "
                   "file unless --out is given; exits non-zero when a request fails")
    p.add_argument("--rounds", type=int, help="rounds (default 3; smoke 1)")
    p.add_argument("--blob-repeats", type=int,
                   help="large blob GET runs per server per round, alternating (default 4; smoke 1)")
    p.add_argument("--duration", type=int, help="seconds per load run (default 10; smoke 1)")
    p.add_argument("--out", help="report file (default bench/RESULTS.md; smoke: a temporary file)")
    p.add_argument("--connections", type=int, default=64, help="connections for the requests/s measures")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--big-mib", type=int, help="size of the large blob (default 256)")
    p.add_argument("--small-count", type=int, help="small blobs (default 500)")
    p.add_argument("--small-min-kib", type=int, default=1)
    p.add_argument("--small-max-kib", type=int, default=64)
    p.add_argument("--manifests", type=int, help="distinct manifests in bench/app (default 10)")
    p.add_argument("--tags", type=int, help="tags in bench/app (default 100)")
    p.add_argument("--repos", type=int, help="extra repositories for the catalog (default 50)")
    p.add_argument("--push-mib", type=int, help="size of a pushed blob (default 256)")
    p.add_argument("--chunk-mib", type=int, help="PATCH chunk size (default 8)")
    p.add_argument("--push-count", type=int, help="pushes of each kind per server per round (default 2)")
    p.add_argument("--no-nocache", action="store_true", help="skip the third server (Pier without the cache)")
    p.add_argument("--log-level", default="warn", choices=["error", "warn", "info", "debug"],
                   help="log.level of both registries (default warn: Distribution logs every request at info)")
    p.add_argument("--big-client", default="httpload", choices=["httpload", "wrk"],
                   help="client for the large blob GET (default httpload: wrk reads 8 KiB at a time and is the "
                        "limit there)")
    p.add_argument("--pier", default=str(REPO_ROOT / "build/bin/pier"))
    p.add_argument("--distribution", default="/usr/bin/docker-registry")
    p.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    p.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    p.add_argument("--notes", default=str(REPO_ROOT / "bench/PROFILE.md"),
                   help="markdown included in the report where a target is not met (default bench/PROFILE.md)")
    p.add_argument("--tmpdir", help="where the temporary roots go (default: the system's)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (configs, logs, roots)")
    p.add_argument("--time-limit", type=int, help="stop everything after this many seconds (default: computed)")
    a = p.parse_args(argv)
    full = dict(rounds=3, duration=10, big_mib=256, small_count=500, manifests=10, tags=100, repos=50, push_mib=256,
                chunk_mib=8, push_count=2, blob_repeats=4)
    smoke = dict(rounds=1, duration=1, big_mib=4, small_count=20, manifests=2, tags=4, repos=3, push_mib=4,
                 chunk_mib=1, push_count=1, blob_repeats=1)
    for k, dv in (smoke if a.smoke else full).items():
        if getattr(a, k) is None:
            setattr(a, k, dv)
    if a.smoke:
        a.small_max_kib = min(a.small_max_kib, 8)
    for k in ("rounds", "duration", "big_mib", "small_count", "manifests", "tags", "push_mib", "chunk_mib",
              "push_count", "connections", "wrk_threads", "blob_repeats"):
        if getattr(a, k) < 1:
            p.error(f"--{k.replace('_', '-')} must be at least 1")
    if not 0 <= a.repos <= 90:
        p.error("--repos must be 0..90 (the catalog is one page: Distribution's page holds 100 repositories)")
    if a.small_min_kib > a.small_max_kib or a.small_min_kib < 1:
        p.error("need 1 <= --small-min-kib <= --small-max-kib")
    if a.out is None and not a.smoke:
        a.out = str(REPO_ROOT / "bench/RESULTS.md")
    if a.time_limit is None:
        runs = 17 + 6 * (a.blob_repeats - 1)  # a bound: repeated runs are shorter
        per_round = runs * (a.duration + 5) + 4 * a.push_count * (a.push_mib / 20 + 10)
        a.time_limit = int(300 + a.big_mib / 5 + a.rounds * per_round * 2)
    return a


def main(argv):
    args = parse_args(argv)
    command = shlex.join([os.environ.get("PIER_BENCH_NAME", "bench/run")] + argv)
    for tool, path in (("pier", args.pier), ("docker-registry", args.distribution), ("nginx", args.nginx),
                       ("wrk", args.wrk)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"bench: {tool} not found at {path}" + (" (build it: ninja -C build)" if tool == "pier" else ""),
                  file=sys.stderr)
            return 2

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    def on_alarm(signum, frame):
        raise BenchTimeout(f"time limit of {args.time_limit} s reached")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background by a shell
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    atexit.register(stop_all)
    signal.alarm(args.time_limit)

    started = datetime.datetime.now(datetime.timezone.utc)
    info = machine_info()
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    versions = {"pier": tool_version([args.pier, "version"]),
                "distribution": tool_version([args.distribution, "--version"]),
                "nginx": tool_version([args.nginx, "-v"]),
                "wrk": " ".join(tool_version([args.wrk, "-v"]).split()[:2])}
    base = Path(tempfile.mkdtemp(prefix="pier-bench-", dir=args.tmpdir))
    need = (3 * args.big_mib + (2 + 4 * args.rounds * args.push_count) * args.push_mib) * MIB
    free = shutil.disk_usage(base).free
    if free < need * 1.2:
        log(f"warning: {free / MIB:.0f} MiB free under {base}, the run writes about {need / MIB:.0f} MiB")
    log(f"temporary directory {base}; time limit {args.time_limit} s")

    servers = {}
    bench = None
    memory = {}
    fatal = None
    rc = 0
    interrupted = False
    try:
        servers["pier"] = Registry("pier", "Pier", args.pier, "pier", base, args.log_level)
        servers["distribution"] = Registry("distribution", "Distribution", args.distribution, "distribution", base,
                                           args.log_level)
        if not args.no_nocache:
            servers["pier_nocache"] = Registry("pier_nocache", "Pier, no cache", args.pier, "pier", base,
                                               args.log_level, cache="none")
        for s in servers.values():
            s.start()
            log(f"{s.label} (pid {s.pid}) listens on 127.0.0.1:{s.port}")

        log(f"generating content ({args.big_mib} MiB blob, {args.small_count} small blobs)")
        content = Content(args, base)
        for key, s in servers.items():
            t0 = time.monotonic()
            if key == "pier_nocache":
                c = Client(s.port)
                try:  # HEAD blob is all it is measured on
                    for d, data in content.small:
                        push_blob_bytes(c, REPO_SMALL, data, d)
                finally:
                    c.close()
            else:
                seed(s, content)
            log(f"seeded {s.label} in {time.monotonic() - t0:.1f} s")
        big_file = servers["pier"].blob_file(content.big_digest)
        if not big_file.is_file():
            raise BenchError(f"the large blob's data file is not where the Distribution layout puts it: {big_file}")
        nginx = Nginx(args.nginx, base, big_file)
        nginx.start()
        servers["nginx"] = nginx
        log(f"nginx (pid {nginx.pid}) serves {big_file} on 127.0.0.1:{nginx.port}/blob")
        for key, s in servers.items():
            if key == "nginx":
                verify_big(s.port, "/blob", content, "nginx")
            else:
                verify(s, content, seeded=key != "pier_nocache")
        log("every server answers what was seeded")

        bench = Bench(args, base, content, servers)
        bench.run()
        for key in ("pier", "distribution", "pier_nocache"):
            s = servers.get(key)
            if s and s.alive():
                memory[key] = {"VmHWM": s.status("VmHWM"), "VmRSS": s.status("VmRSS")}
        if bench.failures:
            rc = 1
    except (BenchError, BenchTimeout) as e:
        fatal = str(e)
        log(f"FAILED: {e}")
        rc = 1
    except Exception:  # a bug here or an answer the harness did not foresee: still stop, report, clean up
        import traceback
        fatal = traceback.format_exc()
        log(f"FAILED:\n{fatal}")
        rc = 1
    except (KeyboardInterrupt, SystemExit) as e:
        log("interrupted")
        rc = 130 if isinstance(e, KeyboardInterrupt) else (e.code if isinstance(e.code, int) else 1)
        interrupted = True
    finally:
        signal.alarm(0)
        for key, s in servers.items():
            if interrupted:
                break
            if s.proc is not None and s.proc.poll() is not None and s.proc.returncode not in (0, -15, 143):
                msg = f"{s.label} exited with {s.proc.returncode} during the run; log tail:\n{s.log_tail()}"
                log(msg)
                fatal = (fatal + "\n\n" if fatal else "") + msg
                rc = rc or 1
        stop_all()
    if interrupted:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        return rc

    load_after = " ".join(open("/proc/loadavg").read().split()[:3])
    out = args.out
    if out is None:
        fd, out = tempfile.mkstemp(prefix="pier-bench-smoke-", suffix=".md", dir=args.tmpdir)
        os.close(fd)
    write_report(out, args, bench, servers, memory, info, started, command, load_before, load_after, versions, fatal)
    log(f"report written to {out}")
    if args.keep:
        log(f"kept {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    if rc:
        log("the run did not complete cleanly; see the report's Failures section")
    # A closing line CI can count: one check per measure and server, plus the run as a whole.
    ok = sum(len(v) for v in bench.values.values()) if bench else 0
    bad = (len(bench.failures) if bench else 0) + (1 if fatal else 0)
    print(f"bench: {ok} passed, {bad} failed", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
