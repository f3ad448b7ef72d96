"""Pier benchmark: the connection scenarios of issue 9 (item 5), Pier side by side with Distribution.

- manifest GET and HEAD blob at each connection level (64, 512, 2,000, 8,000 keep-alive connections by
  default): requests/s, p50/p99 latency, connection errors, the server's threads and RSS during the run;
- manifest GET at a fixed offered load (open loop: half the server's own 64-connection throughput of the
  round) over the lowest level and 2,000 connections: whether the number of connections itself, and not
  the queue a saturating closed loop builds, makes requests slower;
- slowloris: N connections that each send half a request head and then nothing, held while a normal
  client measures GET /v2/ latency on fresh connections;
- N concurrent downloads of the large blob: errors, total MB/s, the server's threads and RSS.

All load comes from bench/httpload.c (epoll, non-blocking connects, several threads). The Pier and
Distribution runs of each level alternate from round to round, as the other measures do. A level a server
cannot hold is recorded with its errors (its targets are then not met); only a wrong answer (4xx/5xx) or a
load generator that fails counts as a failure of the benchmark. Every wait is bounded in time.
"""

import json
import os
import re
import resource
import select
import signal
import statistics
import subprocess
import threading
import time

from clients import run_load
from procs import MANIFEST_ACCEPT, BenchError, log

# Pier extensions of the http section (issue 9) that allow the levels; used when the binary accepts them.
PIER_HTTP_EXTENSIONS = {"maxconnections": 19000, "maxconnectionsperclient": 19000, "headtimeout": "10s",
                        "idletimeout": "60s"}
SLOW_HEAD = "GET /v2/ HTTP/1.1\r\nHost: x\r\n"  # half a request head: the blank line never comes
FD_RESERVE = 1000  # descriptors kept free for the process's own files (server: storage, logs; client: epoll)
SLOWLORIS_P99_MS = 50.0
P99_GROWTH = 5.0  # Pier's p99 at 2,000 connections within 5x of its p99 at 64
OFFERED_SHARE = 0.5  # the fixed load: this share of the server's closed-loop manifest GET req/s at the lowest level


def raise_nofile():
    """Raises this process's soft open-file limit to the hard one (the servers and clients inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def proc_status(pid):
    """Threads, VmRSS and VmHWM (kB) of a process, {} if it is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Threads", "VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


def max_open_files(pid):
    try:
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
    except (OSError, ValueError, IndexError):
        pass
    return None


class Sampler:
    """Samples a server's Threads and VmRSS every 0.2 s while a run lasts; keeps the maxima."""

    def __init__(self, pid):
        self.pid = pid
        self.threads = 0
        self.rss = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while True:
            st = proc_status(self.pid)
            self.threads = max(self.threads, st.get("Threads", 0))
            self.rss = max(self.rss, st.get("VmRSS", 0))
            if self.done.wait(0.2):
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(5)
        st = proc_status(self.pid)
        self.hwm = st.get("VmHWM", 0)
        self.threads_end = st.get("Threads", 0)


def conn_errors(res):
    """Connection errors: connect failures, closes and resets before the answer, write failures, timeouts."""
    return res["connect"] + res["read"] + res["write"] + res["timeout"]


class ConnBench:
    """Runs the scenarios for the servers "pier" and "distribution" of a Bench and writes their report."""

    def __init__(self, bench):
        self.bench = bench
        self.args = a = bench.args
        self.participants = ["pier", "distribution"]
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.nofile = (soft, hard)
        self.cap = max(64, soft - FD_RESERVE)
        self.levels = sorted({min(level, self.cap) for level in a.levels})
        self.scaled = [level for level in a.levels if level > self.cap]
        self.slowloris = min(a.slowloris, self.cap)
        self.downloads = min(a.downloads, self.cap)
        s = bench.scripts
        self.files = {"v2": s / "v2_path.txt", "big": s / "big_path.txt", "slow": s / "slow_path.txt"}
        self.files["v2"].write_text("/v2/\n")
        self.files["big"].write_text(bench.paths["big"] + "\n")
        self.files["slow"].write_text("/v2/\n")
        self.tags_file = s / "manifest_paths.txt"
        self.tags_file.write_text("\n".join(bench.paths["tags"]) + "\n")
        self.results = {}  # (scenario, server) -> [per-round dict]
        self.failures = []  # (scenario, server, text)
        self.scenarios = [(f"{kind}_{level}", kind, level) for level in self.levels
                          for kind in ("get_manifest", "head_blob")]
        lo = min(self.levels)
        self.fixed_levels = sorted({lo, min(2000, self.cap) if 2000 in a.levels else max(self.levels)})
        self.scenarios += [(f"fixed_manifest_{level}", "fixed_manifest", level) for level in self.fixed_levels]
        self.scenarios += [(f"slowloris_{self.slowloris}", "slowloris", self.slowloris),
                           (f"downloads_{self.downloads}", "downloads", self.downloads)]

    # -- running

    def httpload(self, port, paths, method, conns, duration, extra=(), headers=None, threads=None):
        a = self.args
        t = max(1, min(threads or a.conn_threads, conns))
        cmd = [str(self.bench.httpload), "-p", str(port), "-f", str(paths), "-m", method, "-c", str(conns),
               "-t", str(t), "-d", str(duration), "-T", str(a.conn_timeout_ms)] + list(extra)
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}: {v}"]
        return cmd, t

    def load(self, server, cmd, duration):
        with Sampler(server.pid) as smp:
            res = run_load(cmd, server, duration + self.args.conn_timeout_ms / 1000 + 60)
        res.update(threads_max=smp.threads, rss_max_kb=smp.rss, hwm_kb=smp.hwm, threads_end=smp.threads_end)
        return res

    def run_one(self, kind, level, key):
        server = self.bench.servers[key]
        if not server.alive():
            raise BenchError(f"{key} is not running any more (exit {server.proc.returncode}):\n{server.log_tail()}")
        a = self.args
        d = a.conn_duration
        if kind == "get_manifest":
            cmd, _ = self.httpload(server.port, self.tags_file, "GET", level, d, ["-b", "65536"],
                                   headers={"Accept": MANIFEST_ACCEPT})
            return self.load(server, cmd, d)
        if kind == "fixed_manifest":
            closed = self.results.get((f"get_manifest_{min(self.levels)}", key))
            if not closed:
                raise BenchError("no closed-loop manifest GET run to take the offered load from")
            offered = max(1.0, OFFERED_SHARE * closed[-1]["rps"])
            cmd, _ = self.httpload(server.port, self.tags_file, "GET", level, d, ["-b", "65536", "-r", f"{offered:.0f}"],
                                   headers={"Accept": MANIFEST_ACCEPT})
            return self.load(server, cmd, d)
        if kind == "head_blob":
            cmd, _ = self.httpload(server.port, self.bench.paths_file, "HEAD", level, d, ["-b", "16384"])
            return self.load(server, cmd, d)
        if kind == "downloads":
            cmd, _ = self.httpload(server.port, self.files["big"], "GET", level, d, ["-b", "65536"])
            return self.load(server, cmd, d)
        if kind == "slowloris":
            return self.slowloris_run(server, level, d)
        raise AssertionError(kind)

    def slowloris_run(self, server, level, duration):
        """Holds `level` half-open request heads while one client measures GET /v2/ on fresh connections."""
        a = self.args
        ready_limit = 30
        hold, _ = self.httpload(server.port, self.files["slow"], "GET", level, duration + ready_limit + 30,
                                ["-b", "16384", "-S", SLOW_HEAD])
        holder = subprocess.Popen(hold, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            t0 = time.monotonic()
            ready = False
            buf = b""
            while time.monotonic() - t0 < ready_limit and holder.poll() is None:
                r, _, _ = select.select([holder.stdout], [], [], 0.5)
                if r:
                    chunk = os.read(holder.stdout.fileno(), 4096)
                    buf += chunk
                    if b"READY" in buf or not chunk:
                        ready = b"READY" in buf
                        break
            ready_s = time.monotonic() - t0
            if holder.poll() is not None:
                raise BenchError(f"the slowloris client exited early ({holder.returncode}): {' '.join(hold)}\n"
                                 + holder.stderr.read().decode(errors="replace"))
            st = proc_status(server.pid)
            cmd, _ = self.httpload(server.port, self.files["v2"], "GET", 1, duration, ["-k", "-b", "16384"],
                                   threads=1)
            res = self.load(server, cmd, duration)
            res["threads_held"] = st.get("Threads", 0)
        finally:
            if holder.poll() is None:
                holder.send_signal(signal.SIGTERM)  # httpload ends its run and prints its counts
            try:
                out, err = holder.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                holder.kill()
                out, err = holder.communicate(timeout=10)
        text = (buf + out).decode(errors="replace")
        m = re.search(r"BENCHJSON (\{.*\})", text)
        if not m:
            raise BenchError(f"the slowloris client printed no counts (exit {holder.returncode}): {' '.join(hold)}\n"
                             f"{text}\n{err.decode(errors='replace')}")
        h = json.loads(m.group(1))
        res["slow"] = {"ready": ready, "ready_s": ready_s, "open_at_end": h["open_at_end"], "closed": h["closed"],
                       "connect": h["connect"], "timeout": h["timeout"], "reset": h["reset"]}
        return res

    def run(self, rnd):
        for name, kind, level in self.scenarios:
            k = rnd % len(self.participants)
            for key in self.participants[k:] + self.participants[:k]:
                try:
                    res = self.run_one(kind, level, key)
                except BenchError as e:
                    self.fail(name, key, str(e))
                    continue
                self.results.setdefault((name, key), []).append(res)
                self.bench.values.setdefault(("conn_" + name, key), []).append(res["rps"])
                if res["status"]:
                    self.fail(name, key, f"{res['status']} answers 4xx/5xx of {res['requests']}\n  {res['cmd']}\n"
                              + self.bench.example_failure(self.bench.servers[key], "GET", ["/v2/"], None))
                extra = ""
                if "slow" in res:
                    sl = res["slow"]
                    extra = (f"; slowloris held {sl['open_at_end']}, closed by the server {sl['closed']}, "
                             f"connect errors {sl['connect']}, ready {sl['ready']} in {sl['ready_s']:.1f} s")
                log(f"round {rnd + 1}/{self.args.rounds}  {name:20} {key:13} {res['rps']:,.0f} req/s "
                    f"{res['mbps']:,.0f} MB/s p50 {res['p50_us'] / 1000:.2f} ms p99 {res['p99_us'] / 1000:.2f} ms "
                    f"errors: connect {res['connect']} read {res['read']} (resets {res['reset']}) write "
                    f"{res['write']} timeout {res['timeout']} status {res['status']}; server threads "
                    f"{res['threads_max']}, RSS {res['rss_max_kb'] / 1024:.0f} MiB{extra}")

    def fail(self, name, key, text):
        self.failures.append((name, key, text))
        self.bench.failures.append(("conn_" + name, key, text))
        log(f"FAILED conn_{name} on {key}:\n{text}")

    # -- report

    def med(self, name, key, field):
        rs = self.results.get((name, key), [])
        vals = [field(r) if callable(field) else r[field] for r in rs]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def report(self, w):
        a = self.args
        P, D = "pier", "distribution"

        def ms(v):
            return "—" if v is None else (f"{v:.2f}" if v < 100 else f"{v:,.0f}")

        def num(v, digits=0):
            return "—" if v is None else f"{v:,.{digits}f}"

        def errs(name, key):
            rs = self.results.get((name, key), [])
            if not rs:
                return "FAILED" if any(f[:2] == (name, key) for f in self.failures) else "—"
            tot = [conn_errors(r) for r in rs]
            worst = max(rs, key=conn_errors)
            s = f"{max(tot):,}"
            if max(tot):
                s += (f" (connect {worst['connect']:,}, closed/reset {worst['read']:,} [{worst['reset']:,} resets], "
                      f"write {worst['write']:,}, timeout {worst['timeout']:,})")
            stalled = max(r.get("stalled", 0) for r in rs)
            if stalled:
                s += f"; {stalled:,} unanswered (no byte for > 1 s) at the end"
            return s

        def p99_ms(name, key):
            """p99 in ms of every attempt: a request that failed (connection error) or timed out is slower than any
            answer, so more than 1% of them leaves no p99 (inf). None when a run made no attempt."""
            def one(r):
                done = r["requests"]
                lost = conn_errors(r) + r.get("stalled", 0)
                if done + lost == 0:
                    return float("inf")  # not one answer in the run
                if done == 0 or lost / (done + lost) > 0.01:
                    return float("inf")
                return r["p99_us"] / 1000
            return self.med(name, key, one)

        def show_p99(v):
            return "∞ (> 1% failed or unanswered)" if v == float("inf") else ms(v)

        w("## Connection scenarios (issue 9, item 5)")
        w("")
        soft, hard = self.nofile
        w(f"bench/httpload.c, {a.conn_threads} threads, epoll, non-blocking connects, keep-alive, one request in "
          f"flight per connection; a connection on which nothing moved for {a.conn_timeout_ms:,} ms counts as a "
          f"timeout and is opened again, as is one the server closed or reset. {a.conn_duration} s per run, "
          f"{a.rounds} round(s), Pier and Distribution alternating; medians over the rounds (errors: the worst "
          f"round). Open-file limit: soft {soft:,}, hard {hard:,}; the harness raised its soft limit to the hard "
          f"one, the servers inherit it and httpload raises its own: each process may hold {hard:,} descriptors, "
          f"so levels are capped at {self.cap:,} connections (the limit less {FD_RESERVE:,} for the process's own "
          f"files)" + (f"; scaled down: {', '.join(f'{x:,}' for x in self.scaled)} → {self.cap:,}"
                       if self.scaled else "; no level needed scaling") + ".")
        pier = self.bench.servers.get(P)
        w("")
        w(f"Pier's config: {getattr(pier, 'extensions_note', 'no extensions')}. Server threads and RSS: the "
          "maxima of /proc/PID/status Threads and VmRSS sampled every 0.2 s during the run.")
        w("")

        # targets
        rows = []
        errors_all = [(n, k) for n, kind, _ in self.scenarios if kind in ("get_manifest", "head_blob")
                      for k in (P, D)]
        pier_err = sum(max([conn_errors(r) for r in self.results.get((n, P), [])] or [0]) for n, k in errors_all
                       if k == P)
        pier_missing = [n for n, k in errors_all if k == P and not self.results.get((n, P))]
        rows.append(("Pier: zero connection errors at every level (manifest GET, HEAD blob)",
                     f"{pier_err:,} errors" + (f", {len(pier_missing)} run(s) failed" if pier_missing else ""),
                     pier_err == 0 and not pier_missing))
        behind = []
        for n, kind, level in self.scenarios:
            if kind not in ("get_manifest", "head_blob"):
                continue
            p, d = self.med(n, P, "rps"), self.med(n, D, "rps")
            if p is None or d is None or p <= d:
                behind.append(f"{kind} {level:,}: {num(p)} vs {num(d)}")
        rows.append(("Pier ahead of Distribution (req/s) at every level",
                     "ahead everywhere" if not behind else "not ahead at " + "; ".join(behind), not behind))
        lo = min(self.levels)
        hi = 2000 if 2000 in self.levels else max(self.levels)
        for kind in ("get_manifest", "head_blob"):
            a64, a2k = p99_ms(f"{kind}_{lo}", P), p99_ms(f"{kind}_{hi}", P)
            met = a64 is not None and a2k is not None and a2k != float("inf") and a2k <= P99_GROWTH * a64
            r = f"{a2k / a64:.1f}×" if a64 and a2k not in (None, float("inf")) else "—"
            rows.append((f"Pier {kind} p99 at {hi:,} connections ≤ {P99_GROWTH:g}× its p99 at {lo:,} (closed loop, "
                         f"each connection saturating)", f"{show_p99(a2k)} vs {show_p99(a64)} ms ({r})", met))
        flo, fhi = (f"fixed_manifest_{x}" for x in (self.fixed_levels[0], self.fixed_levels[-1]))
        f64, f2k = p99_ms(flo, P), p99_ms(fhi, P)
        met = f64 is not None and f2k is not None and f2k != float("inf") and f2k <= P99_GROWTH * f64
        r = f"{f2k / f64:.1f}×" if f64 and f2k not in (None, float("inf")) else "—"
        rows.append((f"Pier manifest GET p99 at {self.fixed_levels[-1]:,} connections ≤ {P99_GROWTH:g}× its p99 at "
                     f"{self.fixed_levels[0]:,}, at the same offered load (open loop)",
                     f"{show_p99(f2k)} vs {show_p99(f64)} ms ({r})", met))
        sn = f"slowloris_{self.slowloris}"
        sp = p99_ms(sn, P)
        serr = max([conn_errors(r) for r in self.results.get((sn, P), [])] or [None], key=lambda x: x or 0)
        rows.append((f"Pier GET /v2/ p99 under {self.slowloris:,} slowloris connections < {SLOWLORIS_P99_MS:g} ms",
                     f"p99 {show_p99(sp)} ms, {num(serr)} connection errors",
                     sp is not None and sp != float("inf") and sp < SLOWLORIS_P99_MS and serr == 0))
        w("| target | measured | status |")
        w("| --- | --- | --- |")
        for label, measured, met in rows:
            w(f"| {label} | {measured} | {'met' if met else '**not met**'} |")
        w("")
        if a.smoke:
            w("Smoke mode: tiny levels, the figures say nothing about the targets.")
            w("")

        w("### Requests per second, latency and errors by connection level")
        w("")
        w("p99 is over every attempt: a request the server closed, reset or left without an answer counts as slower "
          "than any answer, so a run where more than 1% failed (or had no byte moving for over a second when the run ended) has no "
          "finite p99 (the p50 is of the answers). "
          "Connection errors: the sum over connect failures, closes and resets before the answer (resets in "
          "brackets), write failures and timeouts; the client opens a new connection after each.")
        w("")
        w("| measure | connections | Pier req/s | Distribution req/s | Pier / Distribution | Pier p50 / p99 (ms) | "
          "Distribution p50 / p99 (ms) | Pier connection errors | Distribution connection errors | "
          "Pier threads / RSS (MiB) | Distribution threads / RSS (MiB) |")
        w("|" + " --- |" * 11)
        for n, kind, level in self.scenarios:
            if kind not in ("get_manifest", "head_blob"):
                continue
            p, d = self.med(n, P, "rps"), self.med(n, D, "rps")
            row = ["manifest GET by tag" if kind == "get_manifest" else "HEAD small blob", f"{level:,}", num(p),
                   num(d), f"{p / d:.2f}" if p is not None and d else "—"]
            for k in (P, D):
                row.append(f"{ms(self.med(n, k, lambda r: r['p50_us'] / 1000 if r['requests'] else None))} / {show_p99(p99_ms(n, k))}")
            row += [errs(n, P), errs(n, D)]
            for k in (P, D):
                row.append(f"{num(self.med(n, k, 'threads_max'))} / "
                           f"{num(self.med(n, k, lambda r: r['rss_max_kb'] / 1024), 1)}")
            w("| " + " | ".join(row) + " |")
        w("")

        w("### The same offered load over few and many connections (open loop)")
        w("")
        w(f"manifest GET by tag at a fixed rate: {OFFERED_SHARE:g} × the server's own closed-loop req/s at "
          f"{min(self.levels):,} connections in the same round, sent on a schedule over the connections (each "
          "request on an idle connection when it is due; its latency runs from when it was due, so a server "
          "that falls behind is charged for the wait). A closed loop of N saturating connections waits N / X "
          "per request by Little's law whatever the server does; this measures what the connection count "
          "itself costs.")
        w("")
        w("| server | connections | offered req/s | answered req/s | p50 / p99 (ms) | connection errors | "
          "server threads / RSS (MiB) |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        for k, label in ((P, "Pier"), (D, "Distribution")):
            for level in self.fixed_levels:
                n = f"fixed_manifest_{level}"
                if not self.results.get((n, k)):
                    w(f"| {label} | {level:,} | {errs(n, k)} | | | | |")
                    continue
                w(f"| {label} | {level:,} | {num(self.med(n, k, 'rate'))} | {num(self.med(n, k, 'rps'))} | "
                  f"{ms(self.med(n, k, lambda r: r['p50_us'] / 1000 if r['requests'] else None))} / "
                  f"{show_p99(p99_ms(n, k))} | {errs(n, k)} | {num(self.med(n, k, 'threads_max'))} / "
                  f"{num(self.med(n, k, lambda r: r['rss_max_kb'] / 1024), 1)} |")
        w("")

        w(f"### Slowloris: {self.slowloris:,} connections holding half a request head")
        w("")
        w(f"Each sends `{SLOW_HEAD.encode('unicode_escape').decode()}` and then nothing (one that the server closes "
          f"is opened again); meanwhile one client sends GET /v2/ on a fresh connection each time, one at a time, "
          f"timed from the connect.")
        w("")
        w("| server | GET /v2/ p50 / p99 (ms) | GET /v2/ completed | client errors | slowloris connections held at "
          "the end | closed by the server | slowloris connect errors | server threads / RSS (MiB) |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for k, label in ((P, "Pier"), (D, "Distribution")):
            rs = self.results.get((sn, k), [])
            if not rs:
                w(f"| {label} | {errs(sn, k)} | | | | | | |")
                continue
            w(f"| {label} | {ms(self.med(sn, k, lambda r: r['p50_us'] / 1000 if r['requests'] else None))} / {show_p99(p99_ms(sn, k))} | "
              f"{num(self.med(sn, k, 'requests'))} | {errs(sn, k)} | "
              f"{num(self.med(sn, k, lambda r: r['slow']['open_at_end']))} | "
              f"{num(self.med(sn, k, lambda r: r['slow']['closed']))} | "
              f"{num(self.med(sn, k, lambda r: r['slow']['connect'] + r['slow']['timeout']))} | "
              f"{num(self.med(sn, k, 'threads_max'))} / {num(self.med(sn, k, lambda r: r['rss_max_kb'] / 1024), 1)} |")
        w("")

        dn = f"downloads_{self.downloads}"
        w(f"### {self.downloads:,} concurrent downloads of the {a.big_mib} MiB blob")
        w("")
        w(f"Each connection GETs the blob again and again; in a {a.conn_duration} s run few or none complete, "
          "so the figure is the bytes received per second over all connections. VmHWM is the server's peak since "
          "it started (all runs before this one included), read right after the run.")
        w("")
        w("| server | total MB/s | downloads completed | connection errors | connections open at the end | "
          "server threads (max) | VmRSS max (MiB) | VmHWM (MiB) |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for k, label in ((P, "Pier"), (D, "Distribution")):
            if not self.results.get((dn, k)):
                w(f"| {label} | {errs(dn, k)} | | | | | | |")
                continue
            w(f"| {label} | {num(self.med(dn, k, 'mbps'))} | {num(self.med(dn, k, 'requests'))} | {errs(dn, k)} | "
              f"{num(self.med(dn, k, 'open_at_end'))} | {num(self.med(dn, k, 'threads_max'))} | "
              f"{num(self.med(dn, k, lambda r: r['rss_max_kb'] / 1024), 1)} | "
              f"{num(self.med(dn, k, lambda r: r['hwm_kb'] / 1024), 1)} |")
        w("")
