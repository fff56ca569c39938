"""The queue: a broker outage loses nothing, a backlog is never timed out, a retry
waits in the queue rather than in a worker, one team cannot take every worker, and
retry pressed twice makes one retry."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf

from automations import services
from automations.engine import start
from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.conftest import api_for
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation

pytestmark = pytest.mark.django_db


def fetch_step(key: str, url: str, **extra) -> dict:
    return {"key": key, "connector": "http", "action": "request",
            "config": {"method": "GET", "url": url}, **extra}  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch):
    """django-q2 pointed at a Redis that is not there (nothing listens on the port)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{_closed_port()}/0")
    monkeypatch.setattr(Conf, "ORM", None)

    def back_up():
        monkeypatch.setattr(Conf, "SYNC", True)

    return back_up


def _queued(automation, **extra) -> Execution:
    return Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output={}, **extra
    )


def test_it_accepts_webhooks_while_the_broker_is_down_and_runs_them_once_it_is_back(
    team, client, broker_down, django_capture_on_commit_callbacks
):
    with Routes({("GET", "/work"): Reply(200, {"ok": True})}) as server:
        automation = http_automation(
            make_project(team), "Queued", [fetch_step("call", server.url + "/work")]
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/hooks/{automation.webhook_token}/", {"n": 1}, content_type="application/json"
            )
        assert response.status_code == 202
        execution = Execution.objects.get(pk=response.json()["execution_id"])
        assert execution.status == Status.QUEUED and execution.enqueued_at is None
        broker_down()  # back: the next housekeeping pass hands it over
        assert services.execution_housekeeping() == {"recovered": 0, "dispatched": 1}
        assert services.execution_housekeeping() == {"recovered": 0, "dispatched": 0}
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    assert len(server.received) == 1


def test_it_hands_over_again_a_run_no_worker_took_within_a_minute(team):
    with Routes({("GET", "/work"): Reply(200, {"ok": True})}) as server:
        automation = http_automation(make_project(team), "Lost", [fetch_step("call", server.url + "/work")])  # fmt: skip
        lost = _queued(automation, enqueued_at=timezone.now() - timedelta(seconds=90))
        recent = _queued(automation, enqueued_at=timezone.now() - timedelta(seconds=10))
        services.execution_housekeeping()
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert lost.status == Status.SUCCEEDED
    assert recent.status == Status.QUEUED  # still with the broker: not sent twice
    assert len(server.received) == 1


def test_a_backlog_is_never_timed_out(team):
    automation = http_automation(make_project(team), "Backlog", [])
    waiting = _queued(automation, enqueued_at=timezone.now())
    Execution.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=3))
    services.execution_housekeeping()
    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED and waiting.error == ""


def test_a_retry_waits_in_the_queue_not_in_the_worker(team):
    replies = [Reply(429, {"error": "slow down"}, headers={"Retry-After": "60"}), Reply(200, {})]
    with Routes({("GET", "/limited"): replies}) as server:
        automation = http_automation(make_project(team), "Limited", [fetch_step("call", server.url + "/limited")])  # fmt: skip
        execution = _queued(automation)
        began = time.monotonic()
        start.run_queued(execution.pk)
        took = time.monotonic() - began
    execution.refresh_from_db()
    assert took < 5
    assert execution.status == Status.QUEUED and execution.resume_position == 0
    assert execution.not_before > timezone.now() + timedelta(seconds=55)
    waiting = execution.step_runs.get()
    assert waiting.status == Status.QUEUED and waiting.attempts == 1
    assert "retrying in" in waiting.error
    # Not due yet: a worker that gets it early leaves it alone.
    assert start.run_queued(execution.pk) is None
    assert len(server.received) == 1


def test_retry_after_is_capped_by_max_retry_after(team, settings):
    settings.MAX_RETRY_AFTER = 5
    replies = [Reply(429, {"error": "slow down"}, headers={"Retry-After": "86400"})]
    with Routes({("GET", "/limited"): replies}) as server:
        automation = http_automation(make_project(team), "Capped", [fetch_step("call", server.url + "/limited")])  # fmt: skip
        execution = _queued(automation)
        start.run_queued(execution.pk)
    execution.refresh_from_db()
    assert execution.not_before <= timezone.now() + timedelta(seconds=6)


def test_the_continuation_resumes_at_the_waiting_step_and_counts_its_attempts(team):
    routes = {("GET", "/first"): Reply(200, {"token": "abc"}),
              ("GET", "/second"): [Reply(503, "busy"), Reply(503, "busy"), Reply(200, {"ok": 1})]}  # fmt: skip
    with Routes(routes) as server:
        automation = http_automation(make_project(team), "Resumed", [
            fetch_step("first", server.url + "/first"),
            fetch_step("second", server.url + "/second?t={{ steps.first.body.token }}"),
        ])  # fmt: skip
        execution = _queued(automation)
        start.run_queued(execution.pk)
        for _ in range(2):
            Execution.objects.filter(pk=execution.pk).update(not_before=timezone.now())
            services.execution_housekeeping()  # the dispatcher sends it when due
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED, execution.error
    first, second = execution.step_runs.order_by("position")
    assert first.output["body"] == {"token": "abc"} and not first.reused
    assert second.status == Status.SUCCEEDED and second.attempts == 3
    assert [r.path for r in server.received] == ["/first", "/second", "/second", "/second"]
    assert server.received[-1].query == {"t": ["abc"]}


def test_a_step_that_keeps_failing_stops_at_its_attempt_limit_across_waits(team):
    with Routes({("GET", "/down"): Reply(502, "down")}) as server:
        automation = http_automation(make_project(team), "Down", [fetch_step("call", server.url + "/down", max_attempts=2)])  # fmt: skip
        execution = _queued(automation)
        start.run_queued(execution.pk)
        Execution.objects.filter(pk=execution.pk).update(not_before=timezone.now())
        services.execution_housekeeping()
    execution.refresh_from_db()
    assert execution.status == Status.FAILED and "(after 2 attempts)" in execution.error
    assert len(server.received) == 2


def test_a_team_at_its_limit_waits_while_another_team_runs(team, other_team, settings):
    settings.TEAM_MAX_CONCURRENT_RUNS = 1
    busy_team = http_automation(make_project(team), "Busy", [])
    other = http_automation(make_project(other_team), "Other", [])
    _queued(busy_team)
    Execution.objects.filter(automation=busy_team).update(
        status=Status.RUNNING, lease_until=timezone.now() + timedelta(minutes=1)
    )
    waiting, elsewhere = _queued(busy_team, enqueued_at=timezone.now()), _queued(other)
    assert start.run_queued(waiting.pk) is None
    assert start.run_queued(elsewhere.pk) is not None
    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED and waiting.enqueued_at is None
    # While the team is at its limit the dispatcher does not send it either.
    assert services.execution_housekeeping()["dispatched"] == 0
    Execution.objects.filter(automation=busy_team, status=Status.RUNNING).update(
        status=Status.SUCCEEDED
    )
    assert services.execution_housekeeping()["dispatched"] == 1
    waiting.refresh_from_db()
    assert waiting.status == Status.SUCCEEDED


def test_a_finished_run_hands_its_slot_to_the_next_run_of_its_team(team, settings):
    settings.TEAM_MAX_CONCURRENT_RUNS = 1
    automation = http_automation(make_project(team), "Burst", [])
    first = _queued(automation)
    second = _queued(automation)  # refused while the first ran: waiting for a slot
    start.run_queued(first.pk)
    second.refresh_from_db()
    assert second.status == Status.SUCCEEDED


def _failed_execution(team) -> Execution:
    automation = http_automation(make_project(team), "Failing", [])
    return Execution.objects.create(
        automation=automation, status=Status.FAILED, trigger_output={}, error="boom"
    )


def test_retry_pressed_twice_in_the_api_makes_one_retry(team, owner):
    failed = _failed_execution(team)
    api = api_for(owner)
    first = api.post(f"/api/v1/executions/{failed.pk}/retry/")
    second = api.post(f"/api/v1/executions/{failed.pk}/retry/")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Execution.objects.filter(retry_of=failed).count() == 1


def test_retry_pressed_twice_in_the_wizard_makes_one_retry(team, owner, client):
    failed = _failed_execution(team)
    client.force_login(owner)
    first = client.post(f"/executions/{failed.pk}/retry/")
    second = client.post(f"/executions/{failed.pk}/retry/")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Execution.objects.filter(retry_of=failed).count() == 1


@pytest.mark.django_db(transaction=True)
def test_retry_pressed_twice_at_once_makes_one_retry(team, owner):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("two connections at once: the in-memory SQLite of tests locks tables")
    failed = _failed_execution(team)
    barrier, answers = threading.Barrier(2), []

    def press():
        barrier.wait()
        try:
            answers.append(api_for(owner).post(f"/api/v1/executions/{failed.pk}/retry/"))
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) in ([200, 202], [202, 202])
    assert len({a.json()["id"] for a in answers}) == 1
    assert Execution.objects.filter(retry_of=failed).count() == 1
