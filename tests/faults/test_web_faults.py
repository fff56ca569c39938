"""A web process killed in the middle of an inline run (a Response automation whose
step changes something outside): the run was recorded before that step began, so
recovery finds it and fails it with the reason, instead of the event leaving nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import pytest
import requests
from django.db import connection

from automations.engine import queue
from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.faults.platform import children, wait_until
from tests.security.gunicorn import gunicorn_process
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _answering_automation(team, url: str):
    return http_automation(make_project(team), "Post then answer", [
        {"key": "notify", "name": "Notify", "connector": "http", "action": "request",
         "config": {"method": "POST", "url": url}},
        {"key": "reply", "connector": "response", "action": "respond",
         "config": {"body": {"ok": True}}},
    ])  # fmt: skip


def test_a_web_worker_killed_mid_inline_run_leaves_a_failed_execution(team, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the web process and the test share the database on PostgreSQL only")
    with Routes({("POST", "/notify"): Reply(200, {}, delay=10.0)}) as service:
        automation = _answering_automation(team, service.url + "/notify")
        with gunicorn_process(tmp_path, SYNC_RESPONSE_TIMEOUT="20") as (address, master):
            caller = threading.Thread(
                target=_call_quietly, args=(f"http://{address}/hooks/{automation.webhook_token}/",)
            )
            caller.start()
            wait_until(lambda: bool(service.received), 20, "the step's request sent")
            for worker in children(master.pid):
                os.kill(worker, signal.SIGKILL)
            caller.join(timeout=20)
    execution = Execution.objects.get(automation=automation)
    assert execution.status == Status.RUNNING  # what the dead process left
    settings.RUN_TIME_LIMIT = 0
    settings.LEASE_SECONDS = 0
    assert queue.recover() == 1
    execution.refresh_from_db()
    assert execution.status == Status.FAILED
    assert execution.error.startswith("The worker stopped during step 'Notify'")
    assert execution.step_runs.get(step_key="notify").status == Status.FAILED
    assert len(service.received) == 1


def _call_quietly(url: str) -> None:
    # The worker dies under the caller, who sees a dropped connection.
    with contextlib.suppress(requests.RequestException):
        requests.post(url, json={"n": 1}, timeout=30)
