"""Real processes for the fault tests: a private redis-server and django-q2 clusters on
the test's PostgreSQL database, which a test stops, kills and starts again."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection
from django_q.conf import Conf

from automations.models import FINISHED, Execution

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


class Platform:
    def __init__(self, tmp_path: Path, monkeypatch, **settings: str) -> None:
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.redis: subprocess.Popen | None = None
        self.clusters: list[subprocess.Popen] = []
        db = connection.settings_dict
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            REDIS_URL=self.redis_url, Q_SYNC="false", DATA_DIR=str(tmp_path),
            Q_WORKERS="2", TEAM_MAX_CONCURRENT_RUNS="4", RUN_TIME_LIMIT="60",
            LEASE_SECONDS="3", HOUSEKEEPING_INTERVAL="0.5", DISPATCH_AFTER="4",
            RETRY_BASE_DELAY="0.2", RETRY_MAX_DELAY="0.5", CONN_MAX_AGE="0",
        )  # fmt: skip
        self.env.update(settings)
        # This process sends its tasks to the same Redis, as a web process would.
        monkeypatch.setattr(Conf, "SYNC", False)
        monkeypatch.setattr(Conf, "REDIS", self.redis_url)
        monkeypatch.setattr(Conf, "ORM", None)

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait()
            self.redis = None

    def start_cluster(self) -> subprocess.Popen:
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.clusters.append(cluster)
        return cluster

    def kill_cluster(self, cluster: subprocess.Popen) -> None:
        """SIGKILL of the whole cluster: sentinel, workers, pusher, monitor."""
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()

    def kill_workers(self, cluster: subprocess.Popen) -> int:
        """SIGKILL of the sentinel's children (its workers, and with them the pusher and
        the monitor); the sentinel spawns new ones."""
        killed = 0
        for sentinel in children(cluster.pid):
            for child in children(sentinel):
                os.kill(child, signal.SIGKILL)
                killed += 1
        return killed

    def stop(self) -> None:
        for cluster in self.clusters:
            if cluster.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(cluster.pid, signal.SIGKILL)
                cluster.wait()
        self.stop_redis()


def wait_until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def all_finished(ids: list[int]) -> bool:
    return Execution.objects.filter(pk__in=ids).exclude(status__in=FINISHED).count() == 0


def terminate_other_connections() -> int:
    """pg_terminate_backend of every other connection to the test database (workers,
    their housekeeping threads, the pusher)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]
