"""Pier benchmark: the HTTP client (keep-alive, bodies with sendfile), the content seeded into every
registry, and the load generators (wrk, bench/httpload.c)."""

import hashlib
import http.client
import json
import os
import random
import re
import resource
import shlex
import shutil
import ssl
import subprocess
import textwrap
import time
import urllib.parse
from pathlib import Path

from procs import (MANIFEST_ACCEPT, MB, MIB, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, REPO_APP, REPO_BIG, REPO_SMALL,
                   BenchError, log)

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


def verify_big(port, path, content, label, ca_file=None):
    """Streams the large blob once (over TLS trusting ca_file, when given) and checks its digest."""
    if ca_file:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=120,
                                           context=ssl.create_default_context(cafile=str(ca_file)))
    else:
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


def run_with_window(run, duration, longest):
    """run(duration) again with a longer window when nothing completed in the first: on a slow backend (an
    uncached registry on S3 at 64 connections) a one-second smoke window can end before the first answer,
    which says the window was short, not that the server failed. One retry, at most `longest` seconds."""
    res = run(duration)
    if res["requests"] == 0 and res["bytes"] == 0 and longest > duration:
        log(f"nothing completed in {duration} s; measuring again over {longest} s")
        res = run(longest)
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
    res["server_cpu_s"] = cpu1 - cpu0
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
