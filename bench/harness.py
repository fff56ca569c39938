"""Processes for the benchmark: databases, gunicorn, a private redis-server, qclusters,
the local sink server, wrk, and the resident memory of a process tree."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "switchboard_bench")

# wrk's Lua: a fixed body or a unique "n" per request, a per-thread request limit, and
# the percentiles the targets name, printed as one JSON line. A thread at its limit
# stops and says so ("LIMIT"): wrk itself waits out the whole duration (its main thread
# sleeps it) unless interrupted, so ``wrk`` interrupts it when every thread is done.
LUA = r"""
local limit = tonumber(os.getenv("WRK_LIMIT") or "0")
local unique = os.getenv("WRK_BODY") == "unique"
local base = tonumber(os.getenv("WRK_BASE") or "0")
local counter, responses, serial, told = 0, 0, 0, false
wrk.method = os.getenv("WRK_METHOD") or "POST"
if wrk.method == "POST" then
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"text": "hello", "n": 1}'
end
function setup(thread)
  serial = serial + 1
  thread:set("tid", serial)
end
if unique then
  function request()
    counter = counter + 1
    local n = base + tid * 10000000 + counter
    return wrk.format(nil, nil, nil, string.format('{"text": "hello", "n": %d}', n))
  end
end
function response(status, headers, body)
  responses = responses + 1
  if limit > 0 and responses >= limit then
    if not told then io.write("LIMIT\n"); io.flush(); told = true end
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "requests": %d, ' ..
    '"seconds": %.3f, "non_2xx": %d, "socket_errors": %d}\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(database_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY="bench-" + "x" * 60,
        ENCRYPTION_KEYS="g5lp_XIvf57QnEMfLR5MAGKcLP537FKz4RXTBtcVrXA=",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        SESSION_COOKIE_SECURE="false",
        DATA_DIR=data_dir,
        LOG_LEVEL="WARNING",
        OUTBOUND_ALLOWLIST="127.0.0.1",
        PYTHONPATH=str(ROOT),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args[:2])} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def shell(env: dict[str, str], code: str) -> str:
    """Run ``code`` in a Django shell; its last line of output."""
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def fresh_postgres(name: str) -> str:
    database = f"{DB_PREFIX}_{name}"
    for sql in (f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"CREATE DATABASE {database}"):
        subprocess.run(["psql", ADMIN_URL, "-qc", sql], check=True, capture_output=True)
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def drop_postgres(url: str) -> None:
    database = url.rsplit("/", 1)[1]
    subprocess.run(
        ["psql", ADMIN_URL, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"],
        check=True,
        capture_output=True,
    )


@contextmanager
def gunicorn(
    env: dict[str, str],
    workers: int,
    probe: str = "/healthz",
    *,
    prefix: Sequence[str] = (),
    bind: tuple[str, int] | None = None,
) -> Iterator[tuple[str, int]]:
    """gunicorn as production runs it (gunicorn.conf.py: gthread); yields its base URL
    and its master's pid. ``prefix`` runs it inside something (a network namespace)
    bound to ``bind``; by default it listens on a free port of the loopback."""
    host, port = bind or ("127.0.0.1", free_port())
    server = subprocess.Popen(
        [
            *prefix,
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"{host}:{port}",
            "-w",
            str(workers),
            "--access-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://{host}:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + probe, timeout=1)  # noqa: S310
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@contextmanager
def redis_server(also_bind: Sequence[str] = ()) -> Iterator[str]:
    """A private redis-server on the loopback (and on ``also_bind``); yields its
    loopback URL."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="switchboard-bench-redis-")
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            *also_bind,
            # Protected mode refuses every address but the loopback when no password is
            # set; ``also_bind`` is the bench's own bridge to its namespaces.
            "--protected-mode",
            "no" if also_bind else "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def redis_flush(url: str) -> None:
    port = url.rsplit(":", 1)[1].split("/")[0]
    subprocess.run(["redis-cli", "-p", port, "FLUSHALL"], check=True, capture_output=True)


@contextmanager
def qcluster(env: dict[str, str], prefix: Sequence[str] = ()) -> Iterator[subprocess.Popen]:
    cluster = subprocess.Popen(
        [*prefix, PYTHON, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield cluster
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()


@contextmanager
def sink(host: str = "127.0.0.1") -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([PYTHON, str(ROOT / "bench" / "sink.py"), str(port), host])
    try:
        for _ in range(50):
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://{host}:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def sink_counts(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + "/counts", timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())


def wrk(
    url: str,
    *,
    seconds: float = 10,
    connections: int = 32,
    limit: int = 0,
    unique_base: int | None = None,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    while_running: subprocess.Popen | None = None,
) -> dict:
    """Drive ``url`` for ``seconds`` (or until ``limit`` answers in all, or for as long
    as the process ``while_running`` runs); the request rate, latency percentiles and
    errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    threads = 2
    env = dict(os.environ, WRK_METHOD=method, WRK_LIMIT=str(limit // threads if limit else 0))
    if unique_base is not None:
        env.update(WRK_BODY="unique", WRK_BASE=str(unique_base))
    if while_running is not None:
        seconds = 3600
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "-s", script.name]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    runner = subprocess.Popen(
        [*command, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    if while_running is not None:

        def stop_with_it() -> None:
            while_running.wait()
            runner.send_signal(signal.SIGINT)  # wrk reports on all it sent until then

        threading.Thread(target=stop_with_it, daemon=True).start()
    lines, done = [], 0
    for line in runner.stdout:
        lines.append(line)
        done += line.startswith("LIMIT")
        if done == threads:
            runner.send_signal(signal.SIGINT)  # wrk then reports as at the end
            done += 1
    error = runner.stderr.read()
    if runner.wait():
        raise subprocess.CalledProcessError(runner.returncode, command, "".join(lines), error)
    os.unlink(script.name)
    line = next(line for line in lines if line.startswith("JSON "))
    stats = json.loads(line[5:])
    stats["rps"] = round(stats["requests"] / stats["seconds"], 1) if stats["seconds"] else 0.0
    stats["errors"] = stats.pop("non_2xx") + stats.pop("socket_errors")
    return stats


def rss_mb(pid: int) -> list[float]:
    """Resident memory of each descendant of ``pid`` (gunicorn's or qcluster's
    processes), in MB."""
    sizes = []
    for child in _descendants(pid):
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
        except OSError:
            continue
    return sorted(sizes)


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            children = set()
            for task in tasks:
                children.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
        found.extend(children)
        todo.extend(children)
    return found


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _busy_and_total() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def settle(max_seconds: float = 20.0, busy_below: float = 0.15) -> float:
    """Before a section: PostgreSQL writes out what the sections before it dirtied
    (CHECKPOINT: else its checkpointer does so during this one), then wait until the
    machine's CPUs are idle for a second (a database dropped, autovacuum, processes still
    exiting), at most ``max_seconds``. Returns the seconds it waited. The sections of a
    full run measured slower than the same sections run alone without it."""
    started = time.monotonic()
    subprocess.run(["psql", ADMIN_URL, "-qc", "CHECKPOINT"], capture_output=True)
    while time.monotonic() - started < max_seconds:
        busy, total = _busy_and_total()
        time.sleep(1)
        busy2, total2 = _busy_and_total()
        if total2 > total and (busy2 - busy) / (total2 - total) < busy_below:
            break
    return round(time.monotonic() - started, 1)
