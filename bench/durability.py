"""Pier benchmark: what durability costs (issue 14). Pier with `storage.filesystem.sync: true` (the default: data,
renames and new directories fsynced before the answer), Pier with `sync: false` and Distribution (which fsyncs a
written file but neither its directory nor a rename), each a process with a fresh root, push the same content:
4 KiB and 1 MiB blobs monolithic (POST, PUT), 1 MiB blobs chunked (four 256 KiB PATCHes, PUT) and manifest PUTs by
tag, one keep-alive connection, in slices the three servers take in turns, so that the disk's drift falls on all
alike."""

import json
import os
import statistics
import time

from clients import Client, location_path, push_blob_bytes, sha256_digest, with_query
from procs import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, BenchError, Registry, log

REPO = "bench/durability"
SLICES = 5
KIB = 1024
CHUNK = 256 * KIB
# (key, label, size of a blob or 0 for a manifest, chunked)
OPERATIONS = (("small", "4 KiB blob, monolithic", 4 * KIB, False),
              ("large", "1 MiB blob, monolithic", 1024 * KIB, False),
              ("chunked", "1 MiB blob, 4 PATCHes of 256 KiB", 1024 * KIB, True),
              ("manifest", "manifest PUT by tag", 0, False))
SERVERS = (("durable_pier_sync", "Pier, sync: true", "pier", True),
           ("durable_pier_nosync", "Pier, sync: false", "pier", False),
           ("durable_distribution", "Distribution", "distribution", None))


class DurabilityBench:
    """Runs the pushes for the three servers in every round of a Bench and writes its report section."""

    def __init__(self, bench):
        self.bench = bench
        self.args = a = bench.args
        self.count = a.durability_ops
        self.servers = {}
        for key, label, kind, sync in SERVERS:
            dir_root = bench.base / key / "root"
            storage = f"  filesystem:\n    rootdirectory: {dir_root}\n"
            if sync is not None:
                storage += f"    sync: {'true' if sync else 'false'}\n"
            binary = a.pier if kind == "pier" else a.distribution
            self.servers[key] = Registry(key, label, binary, kind, bench.base, a.log_level, storage=storage,
                                         root=dir_root)
        for reg in self.servers.values():
            reg.start()
            log(f"{reg.label} (pid {reg.pid}) listens on 127.0.0.1:{reg.port}")
        self.results = {}  # (server, operation) -> [per-round ops/s]
        self.failures = []
        self.seq = 0
        self.manifest_blobs = {}  # server -> (config, layer) pushed once, the manifests' references

    def run(self, rnd):
        keys = list(self.servers)
        k = rnd % len(keys)
        order = keys[k:] + keys[:k]
        for op, _, size, chunked in OPERATIONS:
            seconds = {key: 0.0 for key in keys}
            done = {key: 0 for key in keys}
            for i in range(SLICES):
                n = self.count // SLICES + (1 if i < self.count % SLICES else 0)
                for key in order:
                    if seconds[key] is None:
                        continue
                    try:
                        seconds[key] += self.push(self.servers[key], op, size, chunked, n)
                        done[key] += n
                    except BenchError as e:
                        seconds[key] = None
                        self.failures.append((key, op, str(e)))
                        self.bench.failures.append(("durability_" + op, key, str(e)))
                        log(f"FAILED durability {op} on {key}:\n{e}")
            for key in keys:
                if seconds[key]:
                    rate = done[key] / seconds[key]
                    self.results.setdefault((key, op), []).append(rate)
                    log(f"round {rnd + 1}  durability {op:9} {key:21} {rate:8.1f} pushes/s")

    def push(self, reg, op, size, chunked, count):
        """Pushes `count` of one kind over one keep-alive connection: the seconds the pushes took."""
        if not reg.alive():
            raise BenchError(f"{reg.label} is not running any more:\n{reg.log_tail()}")
        c = Client(reg.port, timeout=60)
        try:
            if op == "manifest" and reg.key not in self.manifest_blobs:
                config, layer = b'{"bench":"durability"}', os.urandom(4 * KIB)
                for blob in (config, layer):
                    push_blob_bytes(c, REPO, blob, sha256_digest(blob))
                self.manifest_blobs[reg.key] = (config, layer)
            payloads = []
            for _ in range(count):  # generated before the clock starts
                self.seq += 1
                payloads.append(self.manifest(reg.key) if op == "manifest" else os.urandom(size))
            t0 = time.perf_counter()
            for data in payloads:
                if op == "manifest":
                    c.request("PUT", f"/v2/{REPO}/manifests/t{self.seq % 20}", body=data,
                              headers={"Content-Type": OCI_MANIFEST}, expect=201)
                elif chunked:
                    push_chunks(c, data)
                else:
                    push_blob_bytes(c, REPO, data, sha256_digest(data))
                self.seq += 1
            return time.perf_counter() - t0
        finally:
            c.close()

    def manifest(self, key):
        config, layer = self.manifest_blobs[key]
        return json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256_digest(layer), "size": len(layer)}],
            "annotations": {"seq": str(self.seq)},
        }).encode()

    # -- report

    def med(self, key, op):
        vals = self.results.get((key, op), [])
        return statistics.median(vals) if vals else None

    def report(self, w):
        a = self.args
        w("## What durability costs (issue 14)")
        w("")
        w(f"Pier with `storage.filesystem.sync: true` (the default: file data, the rename into place and every "
          f"directory created for it fsynced before the answer), Pier with `sync: false` (no fsync at all) and "
          f"Distribution (fsyncs a written file on commit, never a directory or a rename), each with a fresh root. "
          f"A round pushes {self.count} of each kind to each server in {SLICES} slices, the servers taking turns "
          f"(the order rotating from round to round), over one keep-alive connection; pushes per second, medians "
          f"over {a.rounds} round(s) (per-round values in brackets).")
        w("")
        w("| push | Pier sync (/s) | Pier no sync (/s) | Distribution (/s) | sync / no sync | sync / Distribution |")
        w("| --- | --- | --- | --- | --- | --- |")
        for op, label, _, _ in OPERATIONS:
            cells = []
            for key, _, _, _ in SERVERS:
                rate = self.med(key, op)
                rounds = ", ".join(f"{v:.0f}" for v in self.results.get((key, op), []))
                cells.append(f"{rate:.1f} [{rounds}]" if rate else "FAILED")
            sync, nosync, dist = (self.med(key, op) for key, _, _, _ in SERVERS)
            ratio = (lambda x, y: f"{x / y:.2f}×" if x and y else "—")
            w(f"| {label} | {' | '.join(cells)} | {ratio(sync, nosync)} | {ratio(sync, dist)} |")
        w("")


def push_chunks(client, data):
    r = client.request("POST", f"/v2/{REPO}/blobs/uploads/", expect=202)
    loc = location_path(r)
    for offset in range(0, len(data), CHUNK):
        part = data[offset:offset + CHUNK]
        r = client.request("PATCH", loc, body=part, expect=202,
                           headers={"Content-Type": "application/octet-stream",
                                    "Content-Range": f"{offset}-{offset + len(part) - 1}"})
        loc = location_path(r)
    client.request("PUT", with_query(loc, "digest", sha256_digest(data)), body=b"",
                   headers={"Content-Type": "application/octet-stream"}, expect=201)
