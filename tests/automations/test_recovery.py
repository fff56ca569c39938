"""Recovery: an execution whose worker died (its lease ran out) is resumed at its first
unfinished step, or failed with the reason when that step may have acted already."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from automations import services
from automations.engine import lease, start
from automations.models import Execution, Status, StepRun
from tests.automations.factories import make_project
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation

pytestmark = pytest.mark.django_db


def fetch_step(key: str, url: str, **extra) -> dict:
    return {"key": key, "connector": "http", "action": "request",
            "config": {"method": "GET", "url": url}, **extra}  # fmt: skip


def _orphan(automation, **extra) -> Execution:
    """What a worker killed mid-run leaves: running, its lease run out."""
    return Execution.objects.create(
        automation=automation, status=Status.RUNNING, trigger_output={},
        started_at=timezone.now() - timedelta(minutes=2),
        lease_until=timezone.now() - timedelta(seconds=1), **extra,
    )  # fmt: skip


def _logged(execution, position, key, status, output=None) -> StepRun:
    return StepRun.objects.create(
        execution=execution, position=position, path=str(position), step_key=key, connector="http",
        action="request", status=status, output=output, started_at=timezone.now(),
    )  # fmt: skip


def _two_steps(team, server):
    return http_automation(make_project(team), "Two", [
        fetch_step("first", server.url + "/first"),
        {**fetch_step("second", server.url + "/second?t={{ steps.first.body.token }}"),
         "name": "Publish"},
    ])  # fmt: skip


def test_it_resumes_a_dead_workers_run_at_its_first_unfinished_step(
    team, django_capture_on_commit_callbacks
):
    with Routes({("GET", "/second"): Reply(200, {"ok": True})}) as server:
        orphan = _orphan(_two_steps(team, server))
        _logged(orphan, 0, "first", Status.SUCCEEDED, {"body": {"token": "abc"}})
        with django_capture_on_commit_callbacks(execute=True):
            assert services.execution_housekeeping()["recovered"] == 1
    orphan.refresh_from_db()
    assert orphan.status == Status.SUCCEEDED, orphan.error
    assert [r.path for r in server.received] == ["/second"]  # the first is not run again
    assert server.received[0].query == {"t": ["abc"]}
    assert list(orphan.step_runs.values_list("status", flat=True)) == ["succeeded"] * 2


def test_it_fails_a_run_whose_worker_died_during_a_step_with_side_effects(team):
    with Routes({}) as server:
        orphan = _orphan(_two_steps(team, server))
        _logged(orphan, 0, "first", Status.SUCCEEDED, {"body": {"token": "abc"}})
        _logged(orphan, 1, "second", Status.RUNNING)  # logged as started before its call
        services.execution_housekeeping()
    orphan.refresh_from_db()
    assert orphan.status == Status.FAILED
    assert orphan.error.startswith("The worker stopped during step 'Publish'")
    assert orphan.step_runs.get(position=1).status == Status.FAILED
    assert server.received == []


def test_a_run_with_a_live_lease_is_left_alone(team):
    automation = http_automation(make_project(team), "Live", [])
    alive = _orphan(automation)
    Execution.objects.filter(pk=alive.pk).update(lease_until=timezone.now() + timedelta(seconds=30))
    assert services.execution_housekeeping()["recovered"] == 0
    alive.refresh_from_db()
    assert alive.status == Status.RUNNING


def test_a_run_without_a_lease_is_recovered_after_the_run_time_limit(team, settings):
    settings.RUN_TIME_LIMIT = 60
    automation = http_automation(make_project(team), "Inline", [])
    young = _orphan(automation)
    old = _orphan(automation)
    Execution.objects.filter(pk=young.pk).update(lease_until=None, started_at=timezone.now())
    Execution.objects.filter(pk=old.pk).update(
        lease_until=None, started_at=timezone.now() - timedelta(minutes=5)
    )
    assert services.execution_housekeeping()["recovered"] == 1
    young.refresh_from_db()
    assert young.status == Status.RUNNING


def test_the_heartbeat_renews_the_lease_of_the_run_in_progress(team, settings):
    settings.LEASE_SECONDS = 45
    automation = http_automation(make_project(team), "Long", [])
    running = _orphan(automation)
    with lease.holding(running.pk):
        assert lease.renew_held() == 1
    assert lease.renew_held() == 0
    running.refresh_from_db()
    assert running.lease_until > timezone.now() + timedelta(seconds=40)


@pytest.mark.django_db(transaction=True)
def test_a_step_with_side_effects_is_logged_as_started_before_its_call(team):
    seen = []

    class Watching(Routes):
        def handle(self, request):
            try:
                seen.extend(StepRun.objects.values_list("step_key", "status"))
            finally:
                connection.close()
            return super().handle(request)

    with Watching({("POST", "/first"): Reply(200, {"token": "abc"})}) as server:
        post = fetch_step("first", server.url + "/first")
        post["config"]["method"] = "POST"  # a POST may change something: logged first
        automation = http_automation(make_project(team), "Watched", [post])
        execution = Execution.objects.create(automation=automation, status=Status.QUEUED)
        start.run_queued(execution.pk)
    assert seen == [("first", "running")]
    assert execution.step_runs.get().status == Status.SUCCEEDED
