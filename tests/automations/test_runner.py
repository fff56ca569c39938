from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automations import services
from automations.engine import start
from automations.engine.runner import backoff_delay
from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.standins.server import Reply, Routes

pytestmark = pytest.mark.django_db


def fetch_step(key: str, url: str, **extra) -> dict:
    return {"key": key, "connector": "http", "action": "request",
            "config": {"method": "GET", "url": url}, **extra}  # fmt: skip


def automation_with(team, steps: list[dict], name: str = "Flow"):
    automation = services.automation_create(
        project=make_project(team, name=f"P-{name}"),
        data={"name": name, "trigger": {"connector": "http", "trigger": "request",
                                        "config": {"method": "POST"}}, "steps": steps},
    )  # fmt: skip
    return services.automation_activate(automation=automation)


def run_queued(automation, payload=None) -> Execution:
    """Run as a worker does, and each continuation after a step's wait to retry, as the
    dispatcher sends it when its time has come."""
    execution = Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output=payload or {}
    )
    start.run_queued(execution.pk)
    execution.refresh_from_db()
    while execution.status == Status.QUEUED:
        time.sleep(max(0.0, (execution.not_before - timezone.now()).total_seconds()))
        start.run_queued(execution.pk)
        execution.refresh_from_db()
    return execution


def test_it_retries_retryable_errors_then_succeeds(team):
    replies = [Reply(429, {"error": "slow down"}, headers={"Retry-After": "0"}),
               Reply(503, "busy"), Reply(200, {"ok": 1})]  # fmt: skip
    with Routes({("GET", "/flaky"): replies}) as server:
        automation = automation_with(team, [fetch_step("call", server.url + "/flaky")])
        execution = run_queued(automation)
    assert execution.status == Status.SUCCEEDED
    run = execution.step_runs.get()
    assert run.attempts == 3
    assert run.output["body"] == {"ok": 1}
    assert len(server.received) == 3


def test_it_fails_at_once_on_an_error_that_a_retry_cannot_fix(team):
    with Routes({("GET", "/bad"): Reply(400, {"error": "bad parameter x"})}) as server:
        automation = automation_with(team, [fetch_step("call", server.url + "/bad")])
        execution = run_queued(automation)
    assert execution.status == Status.FAILED
    run = execution.step_runs.get()
    assert run.attempts == 1 and len(server.received) == 1
    assert "answered 400" in run.error and "bad parameter x" in run.error
    assert execution.error.startswith("Step 'call' failed:")


def test_it_gives_up_after_the_steps_attempt_limit(team):
    with Routes({("GET", "/down"): Reply(502, "down")}) as server:
        automation = automation_with(
            team, [fetch_step("call", server.url + "/down", max_attempts=2)]
        )
        execution = run_queued(automation)
    assert execution.status == Status.FAILED
    assert "(after 2 attempts)" in execution.error
    assert len(server.received) == 2


def test_backoff_grows_with_jitter_and_honours_retry_after(settings):
    settings.RETRY_BASE_DELAY, settings.RETRY_MAX_DELAY = 1.0, 60.0
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (10, 60.0)]:
        delays = {backoff_delay(attempt, None) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1
    assert backoff_delay(1, 7.5) == 7.5


def test_two_workers_never_run_one_execution(team):
    with Routes({("GET", "/once"): Reply(200, {"ok": True})}) as server:
        automation = automation_with(team, [fetch_step("call", server.url + "/once")])
        execution = Execution.objects.create(automation=automation, status=Status.QUEUED)
        first = start.run_queued(execution.pk)
        second = start.run_queued(execution.pk)
    assert first is not None and second is None
    assert len(server.received) == 1
    assert execution.step_runs.count() == 1


def test_a_claim_is_taken_once():
    # The claim is one conditional UPDATE; the database decides who gets it.
    assert start.claim(123456) is None


def test_it_references_earlier_outputs_keeping_types(team):
    with Routes({("GET", "/a"): Reply(200, {"items": [{"name": "first", "n": 2}]}),
                 ("POST", "/b"): Reply(200, {"ok": True})}) as server:  # fmt: skip
        automation = automation_with(team, [
            fetch_step("a", server.url + "/a"),
            {"key": "b", "connector": "http", "action": "request",
             "config": {"method": "POST", "url": server.url + "/b",
                        "body": {"item": "{{ steps.a.body.items.0 }}",
                                 "label": "n={{ steps.a.body.items.0.n }}"}}},
        ])  # fmt: skip
        execution = run_queued(automation)
    assert execution.status == Status.SUCCEEDED, execution.error
    assert server.received[1].json() == {"item": {"name": "first", "n": 2}, "label": "n=2"}


def test_the_run_time_limit_times_out_a_run(team, settings):
    settings.RUN_TIME_LIMIT = 0.3
    with Routes({("GET", "/slow"): Reply(200, "late", delay=1.0)}) as server:
        automation = automation_with(
            team, [fetch_step("call", server.url + "/slow", max_attempts=1)]
        )
        execution = run_queued(automation)
    assert execution.status in (Status.FAILED, Status.TIMED_OUT)
    assert "time" in execution.error


def test_large_outputs_are_stored_truncated_with_a_marker(team, settings):
    settings.STEP_OUTPUT_MAX_BYTES = 2000
    with Routes({("GET", "/big"): Reply(200, {"text": "y" * 10000})}) as server:
        automation = automation_with(team, [fetch_step("call", server.url + "/big")])
        execution = run_queued(automation)
    run = execution.step_runs.get()
    assert run.output_truncated is True
    assert run.output["_truncated"] is True and run.output["size_bytes"] > 10000
    assert len(json.dumps(run.output)) < 3000


def test_a_retry_resumes_from_the_failed_step(team, django_capture_on_commit_callbacks):
    routes = {("GET", "/first"): Reply(200, {"token": "abc"}),
              ("GET", "/second"): [Reply(400, "not yet"), Reply(200, {"done": True})]}  # fmt: skip
    with Routes(routes) as server:
        automation = automation_with(team, [
            fetch_step("first", server.url + "/first"),
            fetch_step("second", server.url + "/second?t={{ steps.first.body.token }}"),
        ])  # fmt: skip
        failed = run_queued(automation)
        assert failed.status == Status.FAILED
        with django_capture_on_commit_callbacks(execute=True):
            retry, _ = services.execution_retry(execution=failed)
    retry.refresh_from_db()
    assert retry.status == Status.SUCCEEDED, retry.error
    assert retry.retry_of == failed and retry.resume_position == 1
    first, second = retry.step_runs.order_by("position")
    assert first.reused and first.output["body"] == {"token": "abc"}
    assert second.status == Status.SUCCEEDED
    assert [r.path for r in server.received] == ["/first", "/second", "/second"]
    assert server.received[-1].query == {"t": ["abc"]}


def test_only_finished_failures_can_be_retried(team):
    automation = automation_with(team, [])
    execution = Execution.objects.create(automation=automation, status=Status.SUCCEEDED)
    with pytest.raises(Exception, match="Only a failed"):
        services.execution_retry(execution=execution)


def test_old_executions_are_pruned(team):
    automation = automation_with(team, [])
    old = Execution.objects.create(automation=automation, status=Status.SUCCEEDED)
    Execution.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    fresh = Execution.objects.create(automation=automation, status=Status.SUCCEEDED)
    assert services.execution_prune() == 1
    assert list(Execution.objects.all()) == [fresh]


def test_the_platform_schedules_are_declared_in_code():
    from django_q.models import Schedule

    from automations.schedules import schedules_ensure

    schedules_ensure()
    schedules_ensure()
    assert sorted(Schedule.objects.values_list("func", flat=True)) == [
        "automations.tasks.housekeeping",
        "automations.tasks.prune_executions",
    ]


def test_secrets_are_redacted_from_the_log(team, client):
    automation = automation_with(team, [
        {"key": "reply", "connector": "response", "action": "respond",
         "config": {"body": {"echo": "{{ trigger.body }}"}}},
    ])  # fmt: skip
    services.automation_update(
        automation=automation,
        data={"trigger": {"connector": "http", "trigger": "request",
                          "config": {"method": "POST", "secret": "hook-secret-123"}}},
    )  # fmt: skip
    response = client.post(
        f"/hooks/{automation.webhook_token}/?key=hook-secret-123",
        {"leak": "hook-secret-123"},
        content_type="application/json",
    )
    assert response.status_code == 200
    run = Execution.objects.get().step_runs.get()
    assert "hook-secret-123" not in json.dumps(run.input) + json.dumps(run.output)
    assert "[redacted]" in json.dumps(run.output)


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_execution_run_it_once(team):
    import threading

    from django.db import OperationalError, connection

    with Routes({("GET", "/once"): Reply(200, {"ok": True}, delay=0.2)}) as server:
        automation = automation_with(team, [fetch_step("call", server.url + "/once")])
        execution = Execution.objects.create(automation=automation, status=Status.QUEUED)
        barrier = threading.Barrier(2)
        outcomes = []

        def worker():
            barrier.wait()
            try:
                outcomes.append(start.run_queued(execution.pk) is not None)
            except OperationalError as exc:
                # SQLite's in-memory test database shares its cache between threads,
                # where a table lock refuses at once instead of waiting: the worker
                # refused did not run the execution (a file database waits its turn).
                if "table is locked" not in str(exc):
                    raise
                outcomes.append(False)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == [False, True]
    assert len(server.received) == 1
    assert execution.step_runs.count() == 1
