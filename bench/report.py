"""Pier benchmark: the report (bench/RESULTS.md)."""

import os
import platform
import statistics
import subprocess
from pathlib import Path

from procs import MIB

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

    def cpu_per_gb(m, k):
        """The server's CPU seconds per GB sent, median over the runs."""
        per_gb = [d["server_cpu_s"] / (d["bytes"] / 1e9) for d in bench.details.get((m, k), [])
                  if d.get("bytes") and "server_cpu_s" in d]
        return f"{statistics.median(per_gb):.3f}" if per_gb else "—"

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
        w("Server CPU per GB sent (median over the runs of user + system seconds from /proc/PID/stat, all threads "
          "and children, divided by the GB received; lower is better):")
        w("")
        w("| measure | Pier (CPU s/GB) | Distribution (CPU s/GB) | nginx (CPU s/GB) |")
        w("| --- | --- | --- | --- |")
        for m in ("blob_get_1", "blob_get_8"):
            row = [next(x for x in bench.measures if x.key == m).title]
            row += [cpu_per_gb(m, k) for k in ("pier", "distribution", "nginx")]
            w("| " + " | ".join(row) + " |")
        w("")
        tls_rows = [m for m in ("blob_get_tls_1", "blob_get_tls_8") if any(x.key == m for x in bench.measures)]
        if tls_rows:
            w("## Large blob GET over TLS (MB/s, higher is better)")
            w("")
            w("Pier and nginx on one self-signed P-256 certificate (TLS 1.3, OpenSSL in user space on both: this "
              "kernel has no `tls` module for kernel TLS), Pier on the seeded Pier's storage, nginx on the same data "
              "file; wrk over HTTPS. CPU per GB as above.")
            w("")
            w("| measure | Pier (MB/s) | nginx (MB/s) | Pier / nginx | Pier (CPU s/GB) | nginx (CPU s/GB) |")
            w("| --- | --- | --- | --- | --- | --- |")
            for m in tls_rows:
                p, n = val(m, "pier_tls"), val(m, "nginx_tls")
                row = [next(x for x in bench.measures if x.key == m).title, cell(m, "pier_tls", "MB/s"),
                       cell(m, "nginx_tls", "MB/s"), f"{ratio(p, n):.2f}" if ratio(p, n) is not None else "—"]
                row += [cpu_per_gb(m, k) for k in ("pier_tls", "nginx_tls")]
                w("| " + " | ".join(row) + " |")
            w("")
        table(f"Requests per second at {args.connections} connections (higher is better)", "req/s",
              ["head_blob", "get_blob", "get_manifest"], with_nocache="pier_nocache" in servers,
              note=("The clients rotate over the seeded digests and tags (manifests with an Accept header naming "
                    "the OCI and Docker manifest types); HEAD with httpload, GET with wrk."))
        if any(x.key == "get_manifest_token" for x in bench.measures):
            m = "get_manifest_token"
            w(f"## With a bearer token: GET manifest by tag at {args.connections} connections (req/s, higher is "
              "better)")
            w("")
            w("A Pier and a Distribution with `auth.token` on the seeded registries' roots; every request carries "
              "one ES256 token (the key named by its libtrust kid, a self-signed P-256 certificate as the "
              "rootcertbundle) granting pull. Pier checks a token's signature once a minute and its claims on "
              "every request; the columns without a token are the table above.")
            w("")
            w("| Pier, token | Distribution, token | Pier / Distribution | Pier, token / no auth | "
              "Distribution, token / no auth |")
            w("| --- | --- | --- | --- | --- |")
            p, d = val(m, "pier_token"), val(m, "distribution_token")
            cells = [cell(m, "pier_token", "req/s"), cell(m, "distribution_token", "req/s")]
            for a_, b_ in ((p, d), (p, val("get_manifest", "pier")), (d, val("get_manifest", "distribution"))):
                cells.append(f"{ratio(a_, b_):.2f}" if ratio(a_, b_) is not None else "—")
            w("| " + " | ".join(cells) + " |")
            w("")
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

    if bench and bench.conn:
        bench.conn.report(w)
    if bench and bench.notify:
        bench.notify.report(w)
    if bench and bench.durability:
        bench.durability.report(w)
    if bench and bench.s3:
        bench.s3.report(w)
    if bench and bench.catalog:
        bench.catalog.report(w)

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
