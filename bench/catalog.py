"""Pier benchmark: the catalog at 100 and at 100,000 repositories (issue 13, item 6), Pier and Distribution side
by side. For each size one filesystem root is written directly in the Distribution layout (a
`_layers/sha256/<hex>/link` file per repository, two name components as in real registries), and one Pier and
one Distribution serve that same root. Measures, in requests/s on a few keep-alive connections (wrk):
`/v2/_catalog?n=100` (the first page) and `/v2/_catalog?n=100&last=<the middle name>` (a page in the middle,
which Distribution reaches by walking up to it). Pier is measured once its repository index is built (its
snapshot in the root holds every repository); the time to that point is reported too."""

import hashlib
import json
import os
import re
import statistics
import time
import urllib.request

from clients import run_wrk, wrk_script
from procs import BenchError, Registry, log

CONNECTIONS = 4
NAMESPACES = 100
PAGE = 100
MEASURES = [("first", "first page: `?n=100`"), ("middle", "a middle page: `?n=100&last=<middle>`")]
SNAPSHOT_HEADER = re.compile(rb"pier-catalog-index 1 \d+ (\d+) ")


def repository_name(i):
    return f"ns{i % NAMESPACES:02d}/repo{i:06d}"


def distribution_order(names):
    """Distribution's catalog order ('/' below every other character), written independently of Pier's."""
    return sorted(names, key=lambda n: n.replace("/", "\0"))


def write_repositories(root, count, deadline):
    """Writes `count` repositories under root in the Distribution layout, one layer link each (bounded by deadline)."""
    base = root / "docker/registry/v2/repositories"
    hexd = hashlib.sha256(b"pier-bench catalog layer").hexdigest()
    link = f"sha256:{hexd}".encode()
    for i in range(count):
        if i % 1000 == 0 and time.monotonic() > deadline:
            raise BenchError(f"writing {count:,} repositories took too long ({i:,} written)")
        directory = base / repository_name(i) / "_layers/sha256" / hexd
        os.makedirs(directory)
        with open(directory / "link", "wb") as f:
            f.write(link)


def snapshot_count(root):
    """How many repositories Pier's index snapshot in root holds, or None while there is none."""
    try:
        with open(root / "pier-catalog/index", "rb") as f:
            match = SNAPSHOT_HEADER.match(f.readline())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def catalog_page(port, query, timeout=300):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/_catalog?{query}", timeout=timeout) as r:
        return json.loads(r.read())["repositories"]


class CatalogBench:
    """Writes the roots, starts the registries on them and measures them in every round of a Bench."""

    def __init__(self, bench):
        self.bench = bench
        self.args = a = bench.args
        self.sizes = a.catalog_sizes
        self.servers = {}  # (size, kind) -> Registry
        self.paths = {}  # (size, measure) -> path
        self.expected = {}  # (size, measure) -> the page both must answer
        self.setup = {}  # size -> {"write_s": ..., "index_s": ...}
        self.results = {}  # (size, measure, kind) -> [req/s per round]
        self.failures = []
        for size in self.sizes:
            root = bench.base / f"catalog-{size}"
            t0 = time.monotonic()
            write_repositories(root, size, t0 + max(120, size / 200))
            write_s = time.monotonic() - t0
            log(f"catalog: wrote {size:,} repositories in {write_s:.1f} s")
            names = distribution_order(repository_name(i) for i in range(size))
            middle = names[len(names) // 2]
            self.paths[(size, "first")] = f"/v2/_catalog?n={PAGE}"
            self.paths[(size, "middle")] = f"/v2/_catalog?n={PAGE}&last={middle}"
            self.expected[(size, "first")] = names[:PAGE]
            self.expected[(size, "middle")] = names[len(names) // 2 + 1:len(names) // 2 + 1 + PAGE]
            t0 = time.monotonic()
            for kind, binary in (("pier", a.pier), ("distribution", a.distribution)):
                reg = Registry(f"catalog_{kind}_{size}", f"{kind} ({size:,} repositories)", binary, kind, bench.base,
                               a.log_level, root=root)
                reg.start()
                self.servers[(size, kind)] = reg
                log(f"{reg.label} (pid {reg.pid}) listens on 127.0.0.1:{reg.port}")
            # Pier walks the root in the background at start; until then its catalog walks, as Distribution's.
            deadline = time.monotonic() + max(60, size / 500)
            while snapshot_count(root) != size:
                if time.monotonic() > deadline:
                    raise BenchError(f"Pier's repository index of {size:,} repositories was not built in time "
                                     f"(snapshot holds {snapshot_count(root)})")
                time.sleep(0.05)
            self.setup[size] = {"write_s": write_s, "index_s": time.monotonic() - t0}
            for (s, m), path in self.paths.items():
                if s != size:
                    continue
                query = path.split("?", 1)[1]
                for kind in ("pier", "distribution"):
                    got = catalog_page(self.servers[(size, kind)].port, query)
                    if got != self.expected[(size, m)]:
                        raise BenchError(f"{kind} answers {path} with {got[:3]}…, not {self.expected[(size, m)][:3]}…")
        self.script = wrk_script(bench.scripts / "catalog.lua")

    def run(self, rnd):
        kinds = ["pier", "distribution"] if rnd % 2 == 0 else ["distribution", "pier"]
        for size in self.sizes:
            for measure, _ in MEASURES:
                for kind in kinds:
                    reg = self.servers[(size, kind)]
                    path = self.paths[(size, measure)]
                    key = f"catalog_{measure}_{size}"
                    try:
                        if not reg.alive():
                            raise BenchError(f"{reg.label} is not running any more:\n{reg.log_tail()}")
                        res = run_wrk(self.args, f"http://127.0.0.1:{reg.port}{path}", self.script, CONNECTIONS,
                                      reg, timeout_s=60)
                        if res["requests"] == 0 and not res["errors"]:
                            # Slower than the run: wrk counts no request still in flight. Time single ones.
                            res = self.sequential(reg, path)
                        if res["requests"] == 0 or res["errors"]:
                            raise BenchError(f"wrk: {res['requests']} requests, {res['errors']} errors: {res['cmd']}")
                    except BenchError as e:
                        self.failures.append((key, kind, str(e)))
                        self.bench.failures.append((key, kind, str(e)))
                        log(f"FAILED {key} on {kind}:\n{e}")
                        continue
                    self.results.setdefault((size, measure, kind), []).append(res["rps"])
                    self.bench.values.setdefault((key, kind), []).append(res["rps"])
                    log(f"round {rnd + 1}  {key:22} {kind:13} {res['rps']:,.1f} req/s "
                        f"(p50 {res['p50_us'] / 1000:.2f} ms)")
            pier = self.servers[(size, "pier")]
            if pier.alive():
                self.setup[size]["rss_kb"] = pier.status("VmRSS")

    def sequential(self, reg, path, count=3):
        """Requests/s of `count` requests one after the other, for a page slower than a wrk run."""
        query = path.split("?", 1)[1]
        t0 = time.monotonic()
        for _ in range(count):
            catalog_page(reg.port, query)
        seconds = time.monotonic() - t0
        return {"requests": count, "errors": 0, "rps": count / seconds, "p50_us": seconds / count * 1e6,
                "cmd": f"{count} sequential GETs"}

    def med(self, size, measure, kind):
        values = self.results.get((size, measure, kind))
        return statistics.median(values) if values else None

    def report(self, w):
        a = self.args
        w("## Catalog at 100 and 100,000 repositories (issue 13, item 6)")
        w("")
        w(f"One filesystem root per size, written directly in the Distribution layout (one "
          f"`_layers/sha256/<hex>/link` per repository, names `nsNN/repoNNNNNN` in {NAMESPACES} namespaces), served "
          f"by one Pier and one Distribution at once. wrk, {CONNECTIONS} keep-alive connections, {a.duration} s per "
          f"run, the order of the two alternating from round to round; medians over {a.rounds} round(s), per-round "
          f"values in brackets. Both answered the expected {PAGE} names for each page before the runs. Pier is "
          "measured once its repository index is built.")
        w("")
        w("| repositories | request | Pier (req/s) | Distribution (req/s) | Pier / Distribution |")
        w("| --- | --- | --- | --- | --- |")
        for size in self.sizes:
            for measure, title in MEASURES:
                cells = []
                for kind in ("pier", "distribution"):
                    values = self.results.get((size, measure, kind), [])
                    m = self.med(size, measure, kind)
                    cells.append(f"{m:,.1f} [{', '.join(f'{v:,.1f}' for v in values)}]" if m is not None
                                 else "FAILED")
                p, d = self.med(size, measure, "pier"), self.med(size, measure, "distribution")
                ratio = f"{p / d:,.0f}×" if p and d else "—"
                w(f"| {size:,} | {title} | {cells[0]} | {cells[1]} | {ratio} |")
        w("")
        if len(self.sizes) >= 2:
            small, large = self.sizes[0], self.sizes[-1]
            for kind, label in (("pier", "Pier"), ("distribution", "Distribution")):
                ps, pl = self.med(small, "first", kind), self.med(large, "first", kind)
                if ps and pl:
                    w(f"- {label}: the first page at {large:,} repositories runs at {pl / ps:.2f}× its rate at "
                      f"{small:,}.")
        for size in self.sizes:
            s = self.setup[size]
            rss = f"{s['rss_kb'] / 1024:.1f} MiB" if s.get("rss_kb") else "?"
            w(f"- {size:,} repositories: written in {s['write_s']:.1f} s; Pier's index built (snapshot written) "
              f"{s['index_s']:.2f} s after both servers were started; Pier's VmRSS after the runs {rss}.")
        w("")
