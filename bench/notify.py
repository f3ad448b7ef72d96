"""Pier benchmark: push time with a notification endpoint that is down (issue 11), Pier and Distribution side by
side. Each registry runs three ways, each a process of its own with a fresh root: no endpoint; one endpoint that
accepts the connection and never answers (a listener this harness holds, the worst case for a sender); one
endpoint whose port refuses connections. Every run pushes the same number of small images (a layer, a config,
a manifest by tag) over one keep-alive connection and times each image. A sink that delivered on the request
thread would add its timeout to every push; one fed through a queue adds nothing measurable."""

import json
import socket
import statistics
import threading
import time
import urllib.request

from clients import Client, push_blob_bytes, sha256_digest
from procs import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, BenchError, Registry, free_port, log

REPO_NOTIFY = "bench/notify"
VARIANTS = ("none", "dead", "refused")
SLICES = 10  # turns per round
# Both registries read the same endpoint keys (Distribution's format). A long timeout: a delivery on the request
# path would be unmistakable.
ENDPOINT = """\
notifications:
  endpoints:
    - name: {variant}
      url: http://127.0.0.1:{port}/events
      timeout: 30s
      threshold: 3
      backoff: 1s
"""


class SilentListener:
    """Accepts connections on 127.0.0.1 and never answers: a receiver that is up but hung."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.held.append(conn)  # read nothing, answer nothing

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        for conn in self.held + [self.sock]:
            conn.close()


class NotifyBench:
    """Runs the scenario for Pier and Distribution in every round of a Bench and writes its report section."""

    def __init__(self, bench):
        self.bench = bench
        self.args = a = bench.args
        self.images = a.notify_images
        self.silent = SilentListener()
        refused = free_port()  # nothing listens there: each delivery is refused at once
        self.servers = {}
        self.debug = {}  # Pier's debug port, where its per-endpoint figures are
        for kind, binary in (("pier", a.pier), ("distribution", a.distribution)):
            for variant in VARIANTS:
                key = f"{kind}_{variant}"
                extra = ""
                if variant != "none":
                    extra = ENDPOINT.format(variant=variant, port=self.silent.port if variant == "dead" else refused)
                http_extra = None
                if kind == "pier":
                    self.debug[key] = free_port()
                    http_extra = {"debug": f"{{addr: 127.0.0.1:{self.debug[key]}}}"}
                reg = Registry(key, f"{kind} ({variant})", binary, kind, bench.base, a.log_level,
                               http_extra=http_extra, extra_config=extra)
                self.servers[key] = reg
        for reg in self.servers.values():
            reg.start()
            log(f"{reg.label} (pid {reg.pid}) listens on 127.0.0.1:{reg.port}")
        self.results = {}  # key -> [per-round dict]
        self.failures = []  # (key, text)
        self.seq = 0

    def run(self, rnd):
        """Pushes the round's images in slices, the variants taking turns (A B C ... A B C), so that drift in the
        machine (the disk's fsync latency above all) falls on every variant alike."""
        keys = list(self.servers)
        k = rnd % len(keys)
        order = keys[k:] + keys[:k]
        times = {key: [] for key in keys}
        seconds = {key: 0.0 for key in keys}
        slices = max(1, min(SLICES, self.images))
        for i in range(slices):
            count = self.images // slices + (1 if i < self.images % slices else 0)
            for key in order:
                if times[key] is None:
                    continue
                try:
                    t0 = time.perf_counter()
                    times[key] += self.push_images(self.servers[key], count)
                    seconds[key] += time.perf_counter() - t0
                except BenchError as e:
                    times[key] = None
                    self.failures.append((key, str(e)))
                    self.bench.failures.append(("notify_push", key, str(e)))
                    log(f"FAILED notify push on {key}:\n{e}")
        for key in keys:
            if times[key] is None:
                continue
            ts = sorted(times[key])
            r = {"p50_ms": statistics.median(ts) * 1000, "p99_ms": ts[int(0.99 * (len(ts) - 1))] * 1000,
                 "seconds": seconds[key]}
            if key in self.debug:
                r["figures"] = self.figures(key)
            self.results.setdefault(key, []).append(r)
            self.bench.values.setdefault(("notify_push", key), []).append(r["p50_ms"])
            log(f"round {rnd + 1}  notify_push      {key:22} p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
                f"per image, {r['seconds']:.2f} s for {self.images}")

    def push_images(self, reg, count):
        """Pushes `count` images over one keep-alive connection: the seconds each took."""
        if not reg.alive():
            raise BenchError(f"{reg.label} is not running any more:\n{reg.log_tail()}")
        c = Client(reg.port, timeout=60)
        times = []
        try:
            for _ in range(count):
                self.seq += 1
                layer = f"notify layer {self.seq} {time.time_ns()}".encode().ljust(4096, b"#")
                config = json.dumps({"bench": "notify", "seq": self.seq}).encode()
                manifest = json.dumps({
                    "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
                    "layers": [{"mediaType": OCI_LAYER, "digest": sha256_digest(layer), "size": len(layer)}],
                }).encode()
                t0 = time.perf_counter()
                push_blob_bytes(c, REPO_NOTIFY, layer, sha256_digest(layer))
                push_blob_bytes(c, REPO_NOTIFY, config, sha256_digest(config))
                c.request("PUT", f"/v2/{REPO_NOTIFY}/manifests/t{self.seq % 50}", body=manifest,
                          headers={"Content-Type": OCI_MANIFEST}, expect=201)
                times.append(time.perf_counter() - t0)
        finally:
            c.close()
        return times

    def figures(self, key):
        """Pier's /debug/notifications entry, which shows the events really waited for the endpoint."""
        url = f"http://127.0.0.1:{self.debug[key]}/debug/notifications"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                endpoints = json.load(response).get("endpoints", [])
        except (OSError, ValueError) as e:
            return {"error": str(e)}
        return endpoints[0] if endpoints else {}

    def close(self):
        self.silent.close()

    # -- report

    def med(self, key, field):
        vals = [r[field] for r in self.results.get(key, [])]
        return statistics.median(vals) if vals else None

    def report(self, w):
        a = self.args
        w("## Push time with a notification endpoint down (issue 11)")
        w("")
        w(f"Each registry three ways, a process each with a fresh root: no endpoint; one endpoint that accepts "
          f"connections and never answers; one whose port refuses them (`timeout: 30s`, `threshold: 3`, "
          f"`backoff: 1s`). A round pushes {self.images:,} images to each (a 4 KiB layer and a config, POST and PUT each, "
          f"then the manifest by tag) in {SLICES} slices, the six servers taking turns slice by slice (the order rotating from round to round), "
          f"each slice over one keep-alive connection; p50 and p99 of the images' times per round, medians over "
          f"{a.rounds} round(s) (per-round values in brackets). Every push writes with fsync(2) in both "
          "registries: the disk's latency is most of a push and most of its scatter. Noise is "
          "the scatter of the no-endpoint runs: the largest per-round p50 over the smallest, less 1, and never "
          "under 10%.")
        w("")
        w("| registry | endpoint | p50 per image (ms) | p99 per image (ms) | run (s) | p50 vs none | waiting at the end |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        verdicts = []
        for kind in ("pier", "distribution"):
            base = self.med(f"{kind}_none", "p50_ms")
            runs = [r["p50_ms"] for r in self.results.get(f"{kind}_none", [])]
            noise = max(0.10, max(runs) / min(runs) - 1) if runs else None
            for variant in VARIANTS:
                key = f"{kind}_{variant}"
                rs = self.results.get(key, [])
                if not rs:
                    failed = any(f[0] == key for f in self.failures)
                    w(f"| {kind} | {variant} | {'FAILED' if failed else '—'} | | | | |")
                    continue
                p50 = self.med(key, "p50_ms")
                per_round = ", ".join(f"{r['p50_ms']:.2f}" for r in rs)
                ratio = f"{p50 / base:.2f}×" if base and variant != "none" else ""
                waiting = ""
                if variant != "none" and "figures" in rs[-1]:
                    f = rs[-1]["figures"]
                    waiting = (f"{f.get('pending', '?')} pending, {f.get('failures', '?')} failures"
                               if "error" not in f else f"(figures: {f['error']})")
                w(f"| {kind} | {variant} | {p50:.2f} [{per_round}] | {self.med(key, 'p99_ms'):.2f} | "
                  f"{self.med(key, 'seconds'):.2f} | {ratio} | {waiting} |")
                if kind == "pier" and variant != "none" and base and noise is not None:
                    within = p50 / base - 1 <= noise
                    verdicts.append(f"Pier, endpoint {variant}: p50 {p50 / base:.2f}× the no-endpoint p50, noise "
                                    f"{noise * 100:.0f}%: **{'met' if within else 'not met'}**")
        w("")
        w("Target (issue 11, item 6): push time with a dead endpoint within noise of push time without endpoints.")
        w("")
        for v in verdicts:
            w(f"- {v}")
        w("")
        w("Pier's \"waiting at the end\" is its `/debug/notifications` entry after the last run: the events were "
          "queued for the endpoint, not delivered, while the pushes went on. Distribution keeps its queue in "
          "memory; Pier's is on disk (`notifications.queue.directory`).")
        w("")
