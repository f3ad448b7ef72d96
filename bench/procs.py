"""Pier benchmark: constants, errors, and the processes it starts (registries, nginx), each stopped by
its PID."""

import os
import signal
import socket
import subprocess
import sys
import time
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
    # Both registries read REGISTRY_* variables; the benchmark's configs must be what runs. AWS_* too: the keys are
    # in the configs, and Distribution's s3-aws driver panics at start when AWS_CA_BUNDLE is set (its HTTP
    # transport cannot take a CA bundle), which some machines set for every program.
    return {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "AWS_"))}


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
{storage}  cache:
    blobdescriptor: {cache}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
"""


def make_certificate(base):
    """A self-signed P-256 certificate for 127.0.0.1 (openssl CLI): (certificate, key) paths, for the TLS runs."""
    cert, key = base / "tls.crt", base / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


class Registry(Managed):
    def __init__(self, key, label, binary, kind, base, log_level, cache="inmemory", http_extra=None, root=None,
                 tls=None, extra_config="", storage=None):
        self.key = key
        self.label = label
        self.kind = kind  # "pier" or "distribution"
        self.dir = base / key
        self.dir.mkdir(parents=True)
        self.root = root or self.dir / "root"  # another registry's root: the same data, served again
        self.root.mkdir(parents=True, exist_ok=True)
        self.tls = tls  # (certificate, key) or None
        self.extra_config = extra_config  # top-level YAML after http (notifications, redis)
        # The driver's section under storage (YAML indented by two); filesystem in the registry's root by default.
        self.storage = storage or f"  filesystem:\n    rootdirectory: {self.root}\n"
        self.scheme = "https" if tls else "http"
        self.config = self.dir / "config.yml"
        self.cache = cache
        self.log_level = log_level
        super().__init__(key, [str(binary), "serve", str(self.config)], self.dir, self.dir / "server.log",
                         clean_env())
        self.port = None
        self.http_extra = dict(http_extra or {})  # extensions under http: tried first, dropped if refused
        self.extensions_note = "no extensions"

    def start(self, timeout=30):
        if self.http_extra:
            keys = ", ".join(f"{k}: {v}" for k, v in self.http_extra.items())
            try:
                self.start_once(timeout)
                self.extensions_note = f"http extensions accepted ({keys})"
                log(f"{self.label} accepts the http extensions {keys}")
                return
            except BenchError:
                if self.alive():
                    raise
                refusal = self.log_tail(3).strip()
                if self in _STARTED:
                    _STARTED.remove(self)
                self.http_extra = {}
                self.extensions_note = (f"http extensions refused by this binary, run without them ({keys}; it "
                                        f"said: {' '.join(refusal.split())[:200]})")
                log(f"{self.label} refuses the http extensions ({refusal}); starting it without them")
        self.start_once(timeout)

    def start_once(self, timeout):
        # The port is chosen here, so that the log level can be quiet (both registries log "listening" at info,
        # and Distribution logs every request at info even with the access log off).
        for attempt in range(3):
            self.port = free_port()
            tls = f"  tls:\n    certificate: {self.tls[0]}\n    key: {self.tls[1]}\n" if self.tls else ""
            self.config.write_text(REGISTRY_CONFIG.format(storage=self.storage, cache=self.cache,
                                                          level=self.log_level, port=self.port)
                                   + "".join(f"  {k}: {v}\n" for k, v in self.http_extra.items()) + tls
                                   + self.extra_config)
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
    listen 127.0.0.1:{port}{ssl};
    location = /blob {{ alias {data}; }}
  }}
}}
"""


class Nginx(Managed):
    def __init__(self, binary, base, data_file, key="nginx", tls=None):
        self.key = key
        self.label = "nginx" + (" (TLS)" if tls else "")
        self.scheme = "https" if tls else "http"
        prefix = base / key
        prefix.mkdir()
        self.port = free_port()
        user = ""
        if os.geteuid() == 0:  # workers would run as nobody, who cannot enter our 0700 temp dir
            user = "user root;"
        conf = prefix / "nginx.conf"
        # TLS in user space, as Pier's without kernel TLS; sendfile applies only to the plain port.
        ssl = f" ssl;\n    ssl_certificate {tls[0]};\n    ssl_certificate_key {tls[1]}" if tls else ""
        conf.write_text(NGINX_CONFIG.format(workers=os.cpu_count() or 1, prefix=prefix, user=user, port=self.port,
                                            data=data_file, ssl=ssl))
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


class RedisServer(Managed):
    """A redis-server on a free 127.0.0.1 port, without persistence, for the registries' shared cache."""

    def __init__(self, base, binary="/usr/bin/redis-server"):
        self.dir = base / "redis"
        self.dir.mkdir(parents=True)
        self.port = free_port()
        super().__init__("redis-server", [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                          "--appendonly", "no", "--dir", str(self.dir), "--databases", "16"],
                         self.dir, self.dir / "redis.log")

    def start(self, timeout=20):
        super().start()
        wait_connectable(self, self.port, timeout)
