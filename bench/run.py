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
import os
import resource
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from connections import PIER_HTTP_EXTENSIONS, ConnBench, raise_nofile
from catalog import CatalogBench
from durability import DurabilityBench
from notify import NotifyBench
from s3 import S3Bench
from clients import (Client, Content, build_httpload, file_digest, push_blob_bytes, push_chunked, push_monolithic,
                     run_httpload, run_wrk, seed, verify, verify_big, write_random_file, wrk_script)
from procs import (MANIFEST_ACCEPT, MB, MIB, REPO_APP, REPO_BIG, REPO_PUSH, REPO_ROOT, REPO_SMALL, BenchError,
                   BenchTimeout, Nginx, Registry, log, make_certificate, stop_all)
from report import fmt, machine_info, tool_version, write_report
from tokens import TokenSigner, verify_token_auth

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
        token = getattr(servers.get("pier_token"), "bearer", None)  # ES256, granting pull of REPO_APP
        self.token_headers = {"Accept": MANIFEST_ACCEPT, "Authorization": f"Bearer {token}"} if token else None
        if token:
            self.script["get_manifest_token"] = wrk_script(s / "get_manifest_token.lua", "GET",
                                                           headers=self.token_headers, paths=self.paths["tags"])
        regs = ["pier", "distribution"]
        self.measures = [
            Measure("blob_get_1", f"GET {args.big_mib} MiB blob, 1 connection", "MB/s", regs + ["nginx"],
                    repeats=args.blob_repeats),
            Measure("blob_get_8", f"GET {args.big_mib} MiB blob, 8 connections", "MB/s", regs + ["nginx"],
                    repeats=args.blob_repeats),
            Measure("blob_get_tls_1", f"GET {args.big_mib} MiB blob over TLS, 1 connection", "MB/s",
                    ["pier_tls", "nginx_tls"], repeats=args.blob_repeats),
            Measure("blob_get_tls_8", f"GET {args.big_mib} MiB blob over TLS, 8 connections", "MB/s",
                    ["pier_tls", "nginx_tls"], repeats=args.blob_repeats),
            Measure("head_blob", f"HEAD small blob, {args.connections} connections", "req/s",
                    regs + (["pier_nocache"] if "pier_nocache" in servers else [])),
            Measure("get_blob", f"GET small blob, {args.connections} connections", "req/s", regs),
            Measure("get_manifest", f"GET manifest by tag, {args.connections} connections", "req/s", regs),
            *([Measure("get_manifest_token", f"GET manifest by tag with a bearer token, {args.connections} "
                       "connections", "req/s", ["pier_token", "distribution_token"])] if token else []),
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
        self.conn = ConnBench(self) if args.only in ("all", "connections") else None
        self.notify = NotifyBench(self) if args.only in ("all", "notifications") else None
        self.durability = DurabilityBench(self) if args.only in ("all", "durability") else None
        self.s3 = S3Bench(self) if args.only in ("all", "s3") else None
        self.catalog = CatalogBench(self) if args.only in ("all", "catalog") else None
        self.push_path = base / "push.bin"
        self.push_size = args.push_mib * MIB
        write_random_file(self.push_path, self.push_size)

    def url(self, server, path):
        return f"{getattr(server, 'scheme', 'http')}://127.0.0.1:{server.port}{path}"

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
        if m in ("blob_get_tls_1", "blob_get_tls_8"):  # httpload speaks no TLS: wrk (with OpenSSL) does
            path = "/blob" if key == "nginx_tls" else self.paths["big"]
            res = run_wrk(a, self.url(server, path), self.script["plain"], 1 if m.endswith("_1") else 8, server,
                          timeout_s=120)
            self.check_wrk(measure, key, res, "GET", [path])
            return res["mbps"], res
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
        if m in ("get_blob", "get_manifest", "get_manifest_token"):
            script = {"get_blob": "get_small"}.get(m, m)
            method = "GET"
            paths = self.paths["small"] if m == "get_blob" else self.paths["tags"]
            headers = {"get_blob": None, "get_manifest": {"Accept": MANIFEST_ACCEPT}}.get(m, self.token_headers)
            res = run_wrk(a, self.url(server, paths[0]), self.script[script], a.connections, server, timeout_s=10)
            self.check_wrk(measure, key, res, method, paths, headers)
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
            for measure in (self.measures if a.only in ("all", "base") else []):
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
            if self.conn:
                self.conn.run(rnd)
            if self.notify:
                self.notify.run(rnd)
            if self.durability:
                self.durability.run(rnd)
            if self.s3:
                self.s3.run(rnd)
            if self.catalog:
                self.catalog.run(rnd)


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
    p.add_argument("--only", default="all", choices=["all", "base", "connections", "notifications", "s3", "catalog",
                                                           "durability"],
                   help="run only the issue 4 measures (base), the connection scenarios of issue 9, the push "
                        "time with a notification endpoint down of issue 11, the registries on Ceph RGW of "
                        "issue 12, the catalog at many repositories of issue 13 or the cost of fsync of issue 14")
    p.add_argument("--catalog-sizes", type=lambda s: [int(x) for x in s.split(",")],
                   help="repository counts for the catalog measure (default 100,100000; smoke 100,1000)")
    p.add_argument("--durability-ops", type=int,
                   help="pushes of each kind per server per durability round (default 200; smoke 10)")
    p.add_argument("--notify-images", type=int,
                   help="images pushed per notification run (default 300; smoke 10)")
    p.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")],
                   help="keep-alive connection levels for manifest GET and HEAD blob (default 64,512,2000,8000; "
                        "smoke 64,256); capped by the open-file limit")
    p.add_argument("--conn-duration", type=int, help="seconds per connection-scenario run (default 5; smoke 1)")
    p.add_argument("--slowloris", type=int, help="slowloris connections (default 1000; smoke 100)")
    p.add_argument("--downloads", type=int, help="concurrent downloads of the large blob (default 2000; smoke 20)")
    p.add_argument("--conn-timeout-ms", type=int,
                   help="a connection on which nothing moved this long is a timeout (default 5000; smoke 2000)")
    p.add_argument("--conn-threads", type=int, default=2, help="httpload threads in the connection scenarios")
    p.add_argument("--time-limit", type=int, help="stop everything after this many seconds (default: computed)")
    a = p.parse_args(argv)
    full = dict(rounds=3, duration=10, big_mib=256, small_count=500, manifests=10, tags=100, repos=50, push_mib=256,
                chunk_mib=8, push_count=2, blob_repeats=4, levels=[64, 512, 2000, 8000], conn_duration=5,
                slowloris=1000, downloads=2000, conn_timeout_ms=5000, notify_images=300, durability_ops=200,
                catalog_sizes=[100, 100000])
    smoke = dict(rounds=1, duration=1, big_mib=4, small_count=20, manifests=2, tags=4, repos=3, push_mib=4,
                 chunk_mib=1, push_count=1, blob_repeats=1, levels=[64, 256], conn_duration=1, slowloris=100,
                 downloads=20, conn_timeout_ms=2000, notify_images=10, durability_ops=10,
                 catalog_sizes=[100, 1000])
    for k, dv in (smoke if a.smoke else full).items():
        if getattr(a, k) is None:
            setattr(a, k, dv)
    if a.smoke:
        a.small_max_kib = min(a.small_max_kib, 8)
    for k in ("rounds", "duration", "big_mib", "small_count", "manifests", "tags", "push_mib", "chunk_mib",
              "push_count", "connections", "wrk_threads", "blob_repeats", "conn_duration", "slowloris", "downloads",
              "conn_timeout_ms", "conn_threads", "notify_images", "durability_ops"):
        if getattr(a, k) < 1:
            p.error(f"--{k.replace('_', '-')} must be at least 1")
    if not 0 <= a.repos <= 90:
        p.error("--repos must be 0..90 (the catalog is one page: Distribution's page holds 100 repositories)")
    if not all(100 <= n <= 1_000_000 for n in a.catalog_sizes):
        p.error("--catalog-sizes must be 100..1000000 each (a page holds 100)")
    if a.small_min_kib > a.small_max_kib or a.small_min_kib < 1:
        p.error("need 1 <= --small-min-kib <= --small-max-kib")
    if a.out is None and not a.smoke:
        a.out = str(REPO_ROOT / "bench/RESULTS.md")
    if a.time_limit is None:
        runs = 17 + 6 * (a.blob_repeats - 1)  # a bound: repeated runs are shorter
        per_round = runs * (a.duration + 5) + 4 * a.push_count * (a.push_mib / 20 + 10)
        if a.only in ("connections", "notifications", "s3", "catalog", "durability"):
            per_round = 0
        if a.only in ("all", "catalog"):  # two registries, two pages per size; writing the roots, once
            per_round += 4 * len(a.catalog_sizes) * (a.duration + 65)
            per_round += sum(a.catalog_sizes) / 500 / a.rounds
        if a.only in ("all", "s3"):  # four registries, four measures each, plus their seeding
            per_round += 4 * (4 * (a.duration + 5) + a.push_mib / 20 + a.big_mib / 10 + 30)
        if a.only in ("all", "notifications"):  # six registries, each pushing its images (Distribution ~20 ms each)
            per_round += 6 * (a.notify_images * 0.05 + 10)
        if a.only in ("all", "durability"):  # three registries, four kinds, a 1 MiB push ~30 ms
            per_round += 3 * 4 * (a.durability_ops * 0.05 + 5)
        if a.only in ("all", "connections"):  # each connection run: its duration, the timeout, the slowloris set-up
            per_round += 2 * (2 * len(a.levels) + 4) * (a.conn_duration + a.conn_timeout_ms / 1000 + 10)
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
        nofile = raise_nofile()  # the servers and the load generators inherit it
        log(f"open-file limit: soft {nofile[0]}, hard {nofile[1]}")
        servers["pier"] = Registry("pier", "Pier", args.pier, "pier", base, args.log_level,
                                   http_extra=PIER_HTTP_EXTENSIONS if args.only in ("all", "connections") else None)
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
        if args.only in ("all", "base"):
            # TLS on one certificate: Pier on the seeded Pier's root, nginx on the same data file.
            certificate = make_certificate(base)
            servers["pier_tls"] = Registry("pier_tls", "Pier (TLS)", args.pier, "pier", base, args.log_level,
                                           root=servers["pier"].root, tls=certificate)
            servers["nginx_tls"] = Nginx(args.nginx, base, big_file, key="nginx_tls", tls=certificate)
            # Token auth (ES256, the key by its libtrust kid) on the seeded roots.
            signer = TokenSigner(base)
            token = signer.token(REPO_APP)  # one token, trusted by both
            for kind, label in (("pier", "Pier"), ("distribution", "Distribution")):
                servers[f"{kind}_token"] = Registry(f"{kind}_token", f"{label} (token auth)",
                                                   args.pier if kind == "pier" else args.distribution, kind, base,
                                                   args.log_level, root=servers[kind].root,
                                                   extra_config=signer.auth_config())
                servers[f"{kind}_token"].bearer = token
            for key in ("pier_tls", "nginx_tls", "pier_token", "distribution_token"):
                servers[key].start()
                log(f"{servers[key].label} (pid {servers[key].pid}) listens on 127.0.0.1:{servers[key].port}")
        for key, s in servers.items():
            if key in ("nginx", "nginx_tls"):
                verify_big(s.port, "/blob", content, s.label, ca_file=certificate[0] if key == "nginx_tls" else None)
            elif key in ("pier_token", "distribution_token"):
                tag, (_, body, _, _) = next(iter(content.tags.items()))
                verify_token_auth(s, f"/v2/{REPO_APP}/manifests/{tag}", body, s.bearer)
            elif key == "pier_tls":
                verify_big(s.port, f"/v2/{REPO_BIG}/blobs/{content.big_digest}", content, s.label,
                           ca_file=certificate[0])
            else:
                verify(s, content, seeded=key != "pier_nocache")
        log("every server answers what was seeded")

        bench = Bench(args, base, content, servers)
        bench.run()
        if bench.notify:
            bench.notify.close()
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
