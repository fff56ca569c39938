"""Fault tests with real processes: a django-q2 cluster on PostgreSQL and a private
Redis, killed, cut off and restarted while runs are in flight. Each asserts the final
state of every execution: succeeded with its outside call made once, or failed with the
reason; none left queued or running."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from automations.models import Execution, Status, StepRun
from tests.automations.factories import make_project
from tests.faults.platform import Platform, all_finished, terminate_other_connections, wait_until
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation
from tests.support.required import require

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STOPPED = "The worker stopped during step"


@pytest.fixture
def platform(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (CI's first pass)")
    require(shutil.which("redis-server") is not None, "redis-server")
    platform = Platform(tmp_path, monkeypatch)
    yield platform
    platform.stop()


@pytest.fixture
def service():
    """The outside service the runs call: a quick first call, a slow second one that may
    change something (a POST: logged as started before it is sent)."""
    routes = {("GET", "/first"): Reply(200, {"ok": True}),
              ("POST", "/slow"): Reply(200, {"done": True}, delay=2.0)}  # fmt: skip
    with Routes(routes) as server:
        yield server


def _automation(team, server):
    return http_automation(make_project(team), "Two calls", [
        {"key": "first", "connector": "http", "action": "request",
         "config": {"method": "GET", "url": server.url + "/first?n={{ trigger.body.n }}"}},
        {"key": "slow", "connector": "http", "action": "request",
         "config": {"method": "POST", "url": server.url + "/slow?n={{ trigger.body.n }}"}},
    ])  # fmt: skip


def _post(client, automation, numbers) -> list[int]:
    ids = []
    for n in numbers:
        response = client.post(
            f"/hooks/{automation.webhook_token}/", {"n": n}, content_type="application/json"
        )
        assert response.status_code == 202, response.content
        ids.append(response.json()["execution_id"])
    return ids


def _calls(server, path: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in server.received:
        if request.path == path:
            n = request.query["n"][0]
            counts[n] = counts.get(n, 0) + 1
    return counts


def _assert_final(ids: list[int], server, *, may_fail: bool) -> dict[str, int]:
    """Every execution finished; a success made its slow call exactly once; a failure
    says the worker stopped during that step, which it reached at most once."""
    slow = _calls(server, "/slow")
    outcome = {"succeeded": 0, "failed": 0}
    for execution in Execution.objects.filter(pk__in=ids):
        n = str(execution.trigger_output["body"]["n"])
        if execution.status == Status.SUCCEEDED:
            assert slow.get(n) == 1, (n, slow)
            assert execution.step_runs.count() == 2
        else:
            assert may_fail, (execution.status, execution.error)
            assert execution.status == Status.FAILED, (execution.status, execution.error)
            assert execution.error.startswith(STOPPED), execution.error
            assert slow.get(n, 0) <= 1
        outcome[execution.status] += 1
    assert sum(outcome.values()) == len(ids)
    return outcome


def _slow_step_started() -> bool:
    return StepRun.objects.filter(step_key="slow", status=Status.RUNNING).exists()


def test_it_runs_webhooks_accepted_while_redis_was_down_once_it_is_back(
    platform, service, team, client
):
    automation = _automation(team, service)
    platform.start_redis()
    platform.start_cluster()
    before = _post(client, automation, [1, 2])
    platform.stop_redis()
    during = _post(client, automation, [3, 4, 5])  # 202 each: kept for the dispatcher
    assert Execution.objects.filter(pk__in=during, enqueued_at__isnull=True).count() == 3
    platform.start_redis()
    wait_until(lambda: all_finished(before + during), 60, "every run finished")
    assert _assert_final(before + during, service, may_fail=False)["succeeded"] == 5


def test_it_finishes_every_run_when_worker_children_are_killed_mid_run(
    platform, service, team, client
):
    automation = _automation(team, service)
    platform.start_redis()
    cluster = platform.start_cluster()
    ids = _post(client, automation, range(1, 7))
    wait_until(_slow_step_started, 30, "a run in its slow step")
    assert platform.kill_workers(cluster) >= 2
    wait_until(lambda: all_finished(ids), 60, "every run finished")
    outcome = _assert_final(ids, service, may_fail=True)
    assert outcome["failed"] >= 1  # the run killed in its slow step, for a person to check


def test_it_finishes_every_run_when_the_whole_cluster_is_killed(platform, service, team, client):
    automation = _automation(team, service)
    platform.start_redis()
    cluster = platform.start_cluster()
    ids = _post(client, automation, range(1, 9))
    wait_until(_slow_step_started, 30, "a run in its slow step")
    platform.kill_cluster(cluster)
    platform.start_cluster()
    wait_until(lambda: all_finished(ids), 60, "every run finished")
    outcome = _assert_final(ids, service, may_fail=True)
    assert outcome["succeeded"] >= 4  # the queued ones, prefetched or not, ran


def test_it_finishes_every_run_when_postgresql_drops_the_workers_connections(
    platform, service, team, client
):
    automation = _automation(team, service)
    platform.start_redis()
    platform.start_cluster()
    ids = _post(client, automation, range(1, 7))
    wait_until(_slow_step_started, 30, "a run in its slow step")
    assert terminate_other_connections() >= 1
    wait_until(lambda: all_finished(ids), 60, "every run finished")
    _assert_final(ids, service, may_fail=True)


def test_housekeeping_runs_while_every_worker_is_busy_with_a_slow_run(
    platform, team, client, monkeypatch
):
    platform.env.update(Q_WORKERS="1", TEAM_MAX_CONCURRENT_RUNS="1")
    with Routes({("POST", "/slow"): Reply(200, {}, delay=8.0)}) as server:
        automation = http_automation(make_project(team), "Slow", [
            {"key": "slow", "connector": "http", "action": "request",
             "config": {"method": "POST", "url": server.url + "/slow"}},
        ])  # fmt: skip
        platform.start_redis()
        platform.start_cluster()
        [busy] = _post(client, automation, [1])
        wait_until(_slow_step_started, 30, "the only worker in a slow run")
        orphan = Execution.objects.create(
            automation=automation, status=Status.RUNNING, trigger_output={"body": {"n": 2}},
            started_at=timezone.now(), lease_until=timezone.now() - timedelta(seconds=1),
        )  # fmt: skip
        # Recovered (back in the queue) while the only worker is still in its slow run.
        wait_until(
            lambda: Execution.objects.get(pk=orphan.pk).status != Status.RUNNING,
            4,
            "a housekeeping pass",
        )
        assert Execution.objects.get(pk=busy).status == Status.RUNNING
        wait_until(lambda: all_finished([busy, orphan.pk]), 60, "both runs finished")
    assert set(Execution.objects.filter(pk__in=[busy, orphan.pk]).values_list("status", flat=True)) == {Status.SUCCEEDED}  # fmt: skip
