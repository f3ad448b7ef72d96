"""Pier benchmark: the registries on S3 (issue 12). Pier's s3 driver and the Distribution registry's s3-aws
driver on one bucket of a real Ceph RGW (scripts/rgw starts a single-node cluster under the run's directory),
each under its own rootdirectory, each with the Redis blob descriptor cache (one redis-server, a database per
registry) and without a cache. Measures: monolithic push MB/s, large blob pull MB/s on one connection (redirects
disabled, so the registry streams from S3), HEAD small blob and GET manifest by tag in requests/s."""

import statistics
import subprocess
import time

from clients import (Client, file_digest, push_monolithic, run_httpload, run_with_window, run_wrk, seed,
                     verify)
from procs import MB, REPO_BIG, REPO_ROOT, BenchError, Managed, RedisServer, Registry, log

RGW_SCRIPT = REPO_ROOT / "scripts/rgw"
REPO_S3_PUSH = "bench/s3push"
SLOW_WINDOW_S = 5  # the window a load run gets again when nothing completed in the first (see run_with_window)
MEASURES = [  # key, title, unit
    ("push", "monolithic push", "MB/s"),
    ("pull", "large blob GET, 1 connection", "MB/s"),
    ("head_blob", "HEAD small blob", "req/s"),
    ("get_manifest", "GET manifest by tag", "req/s"),
]


class Rgw(Managed):
    """The single-node Ceph cluster of scripts/rgw: started, its settings read, stopped with `scripts/rgw stop`."""

    def __init__(self, base):
        self.dir = base / "rgw"
        super().__init__("rgw", [str(RGW_SCRIPT), "start", str(self.dir)], base, base / "rgw-start.log")
        self.settings = {}

    def start(self, timeout=120):
        p = subprocess.run(self.argv, capture_output=True, text=True, timeout=timeout)
        (self.workdir / "rgw-start.log").write_text(p.stdout + p.stderr)
        if p.returncode != 0:
            raise BenchError(f"scripts/rgw start failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        for line in p.stdout.splitlines():
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if "=" in line:
                key, value = line.split("=", 1)
                self.settings[key.strip().lower()] = value.strip().strip("'\"")
        self.stopped = False

    def get(self, *words):
        """The first setting whose name holds every word (the script's names are its own)."""
        for key, value in self.settings.items():
            if all(w in key for w in words):
                return value
        raise BenchError(f"scripts/rgw printed no {'/'.join(words)}: {self.settings}")

    def alive(self):
        return not getattr(self, "stopped", True)

    def stop(self):
        if getattr(self, "stopped", True):
            return
        subprocess.run([str(RGW_SCRIPT), "stop", str(self.dir)], capture_output=True, timeout=60)
        self.stopped = True


class S3Bench:
    def __init__(self, bench):
        self.bench = bench
        self.args = a = bench.args
        base = bench.base
        self.rgw = Rgw(base)
        self.rgw.start()
        from procs import _STARTED  # stopped with every other process at the end, by what it recorded
        _STARTED.append(self.rgw)
        endpoint = self.rgw.get("endpoint")
        log(f"Ceph RGW at {endpoint}, bucket {self.rgw.get('bucket')}")
        self.redis = RedisServer(base)
        self.redis.start()
        self.servers = {}
        for db, (kind, binary) in enumerate((("pier", a.pier), ("distribution", a.distribution))):
            for cache in ("redis", "none"):
                key = f"{kind}_s3_{cache}"
                storage = (f"  s3:\n    region: {self.rgw.get('region')}\n    regionendpoint: {endpoint}\n"
                           f"    bucket: {self.rgw.get('bucket')}\n    rootdirectory: /{key}\n"
                           f"    accesskey: {self.rgw.get('access')}\n    secretkey: {self.rgw.get('secret')}\n"
                           "    secure: false\n    v4auth: true\n"
                           + ("    forcepathstyle: true\n" if kind == "pier" else "")
                           + "  redirect:\n    disable: true\n")
                extra = f"redis:\n  addr: 127.0.0.1:{self.redis.port}\n  db: {db}\n" if cache == "redis" else ""
                self.servers[key] = Registry(key, f"{kind}, s3, cache {cache}", binary, kind, base, a.log_level,
                                             cache="redis" if cache == "redis" else "none", storage=storage,
                                             extra_config=extra)
        content = bench.content
        for reg in self.servers.values():
            reg.start()
            t0 = time.monotonic()
            seed(reg, content)
            verify(reg, content)
            log(f"{reg.label} (pid {reg.pid}) on 127.0.0.1:{reg.port}, seeded in {time.monotonic() - t0:.1f} s")
        self.results = {}  # (measure, key) -> [value per round]
        self.failures = []

    def run(self, rnd):
        keys = list(self.servers)
        k = rnd % len(keys)
        for measure, _, unit in MEASURES:
            for key in keys[k:] + keys[:k]:
                try:
                    value = self.measure(measure, self.servers[key])
                except BenchError as e:
                    self.failures.append((measure, key, str(e)))
                    self.bench.failures.append((f"s3_{measure}", key, str(e)))
                    log(f"FAILED s3 {measure} on {key}:\n{e}")
                    continue
                self.results.setdefault((measure, key), []).append(value)
                self.bench.values.setdefault((f"s3_{measure}", key), []).append(value)
                log(f"round {rnd + 1}  s3_{measure:14} {key:26} {value:,.1f} {unit}")

    def measure(self, measure, reg):
        a, b = self.args, self.bench
        if measure == "push":
            b.push_seq += 1
            with open(b.push_path, "r+b") as f:
                f.write(f"pier-bench s3 push {b.push_seq:08d} {time.time_ns()}".encode().ljust(64, b"."))
            digest = file_digest(b.push_path)
            c = Client(reg.port)
            try:
                t0 = time.perf_counter()
                push_monolithic(c, REPO_S3_PUSH, b.push_path, b.push_size, digest)
                return b.push_size / (time.perf_counter() - t0) / MB
            finally:
                c.close()
        if measure == "pull":
            pf = b.scripts / "s3_big_path.txt"
            pf.write_text(f"/v2/{REPO_BIG}/blobs/{b.content.big_digest}\n")
            res = run_with_window(lambda d: run_httpload(a, b.httpload, reg.port, pf, "GET", 1, reg, duration=d,
                                                         read_size=256 * 1024), a.duration, SLOW_WINDOW_S)
            self.check(res)
            return res["mbps"]
        if measure == "head_blob":
            res = run_with_window(lambda d: run_httpload(a, b.httpload, reg.port, b.paths_file, "HEAD",
                                                         a.connections, reg, duration=d), a.duration, SLOW_WINDOW_S)
            self.check(res)
            return res["rps"]
        if measure == "get_manifest":
            res = run_with_window(lambda d: run_wrk(a, b.url(reg, b.paths["tags"][0]), b.script["get_manifest"],
                                                    a.connections, reg, timeout_s=10, duration=d),
                                  a.duration, SLOW_WINDOW_S)
            self.check(res)
            return res["rps"]
        raise AssertionError(measure)

    @staticmethod
    def check(res):
        if res["requests"] == 0 and res["bytes"] == 0:
            raise BenchError(f"the load generator completed no request: {res['cmd']}")
        if res["errors"]:
            raise BenchError(f"{res['errors']} errors (status {res['status']}, connect {res['connect']}, read "
                             f"{res['read']}, timeout {res['timeout']}): {res['cmd']}")

    # -- report

    def report(self, w):
        a = self.args
        w("## On S3: Ceph RGW (issue 12, item 6)")
        w("")
        w(f"Pier's s3 driver and Distribution's s3-aws driver on one bucket of a single-node Ceph RGW 16.2 "
          f"(memstore OSD, beast frontend, on 127.0.0.1; scripts/rgw), each registry under its own rootdirectory, "
          f"seeded with the same content; with the Redis blob descriptor cache (one redis-server) and without. "
          f"Redirects disabled: the registry streams every blob from S3. {a.rounds} round(s), medians, per-round "
          "values in brackets; the servers' order rotates from round to round. RGW shares the two cores with the "
          "registries and the load generators.")
        w("")
        w("| measure | unit | Pier, Redis | Distribution, Redis | Pier / Distribution | Pier, no cache | "
          "Distribution, no cache | Pier / Distribution |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for measure, title, unit in MEASURES:
            cells = []
            for cache in ("redis", "none"):
                p = self.results.get((measure, f"pier_s3_{cache}"), [])
                d = self.results.get((measure, f"distribution_s3_{cache}"), [])
                mp = statistics.median(p) if p else None
                md = statistics.median(d) if d else None

                def cell(vals, med):
                    if med is None:
                        return "FAILED"
                    return f"{med:,.1f}" + (" [" + ", ".join(f"{v:,.1f}" for v in vals) + "]" if len(vals) > 1
                                            else "")
                cells += [cell(p, mp), cell(d, md), f"{mp / md:.2f}×" if mp and md else "—"]
            size = f" ({a.push_mib} MiB)" if measure == "push" else (f" ({a.big_mib} MiB)" if measure == "pull"
                                                                     else f", {a.connections} connections")
            w(f"| {title}{size} | {unit} | " + " | ".join(cells) + " |")
        w("")
