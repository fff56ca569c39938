"""The processes of the soak (bench/soak.py): a private redis-server, gunicorn with
gunicorn.conf.py, a qcluster that the soak kills, and the outside service the runs call.

Everything listens on 127.0.0.1 on ports chosen at random; the logs of gunicorn and the
qcluster go to files in the soak's data folder.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
# django-q2 logs "Process-<id> ready for work at <pid>" when a worker process starts:
# how the soak tells workers from the cluster's pusher and monitor.
WORKER_READY = re.compile(r"ready for work at (\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited early (code {process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {seconds} s")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a worker killed mid-call resets its connection: expected here


class Service:
    """The outside service: answers every call after a few milliseconds and counts the
    calls per path and delivery (the `d` query parameter), so that a side effect made
    twice shows. It also knows which client ports are in the middle of a call, which
    lets the soak kill a worker while it waits on this service."""

    def __init__(self, delay: tuple[float, float] = (0.005, 0.03)) -> None:
        self.delay = delay
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.in_flight: set[int] = set()
        self.lock = threading.Lock()

    def __enter__(self) -> Service:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                parts = urlsplit(self.path)
                delivery = parse_qs(parts.query).get("d", [""])[0]
                port = self.client_address[1]
                with service.lock:
                    service.in_flight.add(port)
                    service.calls[(self.command, parts.path, delivery)] += 1
                try:
                    time.sleep(random.uniform(*service.delay))
                    payload = b'{"ok": true}'
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the caller was killed mid-call: that is the point
                finally:
                    with service.lock:
                        service.in_flight.discard(port)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def busy_ports(self) -> set[int]:
        with self.lock:
            return set(self.in_flight)


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _inodes_of_local_ports(ports: set[int]) -> set[str]:
    """Inodes of the TCP sockets on 127.0.0.1 whose local port is one of these."""
    found = set()
    with contextlib.suppress(OSError), open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port in ports:
                found.add(fields[9])
    return found


class Platform:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.redis_port = free_port()
        self.web_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.env.update(REDIS_URL=self.redis_url, BIND=f"127.0.0.1:{self.web_port}")
        self.redis: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.cluster: subprocess.Popen | None = None
        self.cluster_starts = 0
        self._ready: set[int] = set()  # pids that django-q2 logged as ready workers
        self._log_read = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _log(self, name: str):
        return open(self.logs / name, "ab")  # noqa: SIM115 (the child process keeps it)

    def start(self) -> None:
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=self._log("redis.log"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.redis_port, self.redis, "redis-server")
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log("gunicorn.log"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.web_port, self.web, "gunicorn")
        self.start_cluster()

    def start_cluster(self) -> None:
        self.cluster_starts += 1
        self.cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log("qcluster.log"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_cluster(self, service: Service) -> bool:
        """SIGKILL of the whole cluster (its main process, sentinel, workers, pusher and
        monitor, with whatever tasks they had taken from Redis), preferably while a
        worker is in a call to the service; whether one was."""
        assert self.cluster is not None
        _, mid_call = self.worker_in_call(service)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.cluster.pid, signal.SIGKILL)
        self.cluster.wait()
        return mid_call

    def workers(self) -> list[int]:
        """The pids of the cluster's live worker processes."""
        if self.cluster is None or self.cluster.poll() is not None:
            return []
        with contextlib.suppress(OSError), open(self.logs / "qcluster.log", "rb") as log:
            log.seek(self._log_read)
            new = log.read()
            # Up to the last full line: a line being written is read on the next call.
            end = new.rfind(b"\n") + 1
            self._log_read += end
            self._ready.update(
                int(pid) for pid in WORKER_READY.findall(new[:end].decode(errors="replace"))
            )
        live = set()
        for sentinel in children(self.cluster.pid):
            live.update(children(sentinel))
        return sorted(live & self._ready)

    def worker_in_call(self, service: Service, wait: float = 5.0) -> tuple[int | None, bool]:
        """A worker process waiting on the outside service at this moment (found by the
        client port of its call), and True; after ``wait`` seconds without one, any
        worker, and False. (None, False) when no worker was ready within 30 s more."""
        deadline = time.monotonic() + wait
        # A cluster started a moment ago may have no worker ready yet.
        give_up, workers, listed = deadline + 30, [], 0.0
        while time.monotonic() < give_up:
            if time.monotonic() - listed > 0.25:  # pgrep is slow; ports change fast
                workers, listed = self.workers(), time.monotonic()
            if not workers:
                time.sleep(0.05)
                continue
            busy = _inodes_of_local_ports(service.busy_ports())
            calling = [pid for pid in workers if busy and _socket_inodes(pid) & busy]
            if calling or time.monotonic() >= deadline:
                return random.choice(calling or workers), bool(calling)
            time.sleep(0.005)
        return None, False

    def kill_worker(self, service: Service) -> dict[str, Any] | None:
        """SIGKILL of one worker process, preferably one in a call to the service."""
        pid, mid_call = self.worker_in_call(service)
        if pid is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return {"pid": pid, "mid_call": mid_call}

    def stop(self) -> None:
        for process in (self.cluster, self.web):
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        if self.redis is not None and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()
