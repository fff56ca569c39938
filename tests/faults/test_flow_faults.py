"""A delay outlives a worker restart: the run waits in the queue, not in a worker, so a
cluster SIGKILLed during the delay and started again continues it once, at the next
step. Real processes: a django-q2 cluster on PostgreSQL and a private Redis."""

from __future__ import annotations

import shutil

import pytest
from django.db import connection

from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.faults.platform import Platform, wait_until
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation
from tests.support.required import require

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def platform(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (CI's first pass)")
    require(shutil.which("redis-server") is not None, "redis-server")
    platform = Platform(tmp_path, monkeypatch)
    yield platform
    platform.stop()


def test_a_delay_continues_once_after_the_cluster_is_killed_and_started_again(
    client, team, platform
):
    routes = {("GET", "/before"): Reply(200, {"ok": True}),
              ("GET", "/after"): Reply(200, {"done": True})}  # fmt: skip
    with Routes(routes) as server:
        automation = http_automation(make_project(team), "Wait a bit", [
            {"key": "before", "connector": "http", "action": "request",
             "config": {"method": "GET", "url": server.url + "/before"}},
            {"key": "wait", "connector": "flow", "action": "delay", "config": {"seconds": 4}},
            {"key": "after", "connector": "http", "action": "request",
             "config": {"method": "GET", "url": server.url + "/after"}},
        ])  # fmt: skip
        platform.start_redis()
        cluster = platform.start_cluster()
        response = client.post(
            f"/hooks/{automation.webhook_token}/", {}, content_type="application/json"
        )
        assert response.status_code == 202
        execution = Execution.objects.get(pk=response.json()["execution_id"])

        def waiting() -> bool:
            execution.refresh_from_db()
            return execution.status == Status.QUEUED and execution.resume_path == "1"

        wait_until(waiting, 30, "the run waits in the queue for its delay")
        assert [r.path for r in server.received] == ["/before"]
        platform.kill_cluster(cluster)
        platform.start_cluster()

        def finished() -> bool:
            execution.refresh_from_db()
            return execution.finished

        wait_until(finished, 60, "the run finished after the restart")
    assert execution.status == Status.SUCCEEDED, execution.error
    assert [r.path for r in server.received] == ["/before", "/after"]
    assert list(execution.step_runs.order_by("position").values_list("path", "status")) == [
        ("0", Status.SUCCEEDED), ("1", Status.SUCCEEDED), ("2", Status.SUCCEEDED),
    ]  # fmt: skip
    assert execution.waited_seconds == 4
