"""The production path of a queued run: a task enqueued on Redis, taken by a django-q2
worker in another process, on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.support.flows import http_automation
from tests.support.required import require

ROOT = Path(__file__).resolve().parents[2]
# CI uses database 15 of its own Redis; on a shared machine name another one.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_in_another_process_runs_a_queued_execution(team, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (CI runs it on PostgreSQL)")
    require(_redis_up(), f"Redis at {REDIS_URL}")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "Q_SYNC": "false",
        "Q_WORKERS": "1",
        "DATA_DIR": str(tmp_path),
    }
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    automation = http_automation(make_project(team), "Queued", [])
    execution = Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output={}
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        enqueue = f"from django_q.tasks import async_task; async_task('automations.tasks.run_execution', {execution.pk})"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", enqueue], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            execution.refresh_from_db()
            if execution.status == Status.SUCCEEDED:
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert execution.status == Status.SUCCEEDED
    assert execution.started_at is not None
