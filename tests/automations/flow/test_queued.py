"""Background runs with branches, loops and delays: a delay frees the worker and the
run continues at the next step; a retry resumes at the failed iteration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from automations import services
from automations.engine import start
from automations.models import Execution, Status
from tests.automations.flow.helpers import automation, condition, fetch, flow_step, post, runs
from tests.standins.server import Reply, Routes

pytestmark = pytest.mark.django_db


def _tag_loop(url: str) -> list[dict]:
    """For each tag: look English ones up, note the others."""
    return [flow_step("each", "for_each", {"items": "{{ trigger.body.tags }}"}, do=[
        flow_step("route", "if", {"conditions": [condition("loop.item.lang", "equals", "en")]},
                  then=[fetch("look", url + "/{{ loop.item.name }}")],
                  **{"else": [flow_step("note", "transform", {"value": "{{ loop.item.name }}"})]}),
    ])]  # fmt: skip


def _run(client, target, body) -> Execution:
    assert post(client, target, body).status_code == 202
    execution = Execution.objects.get()
    start.run_queued(execution.pk)
    execution.refresh_from_db()
    return execution


TAGS = {"tags": [{"name": "cat", "lang": "en"}, {"name": "chien", "lang": "fr"}]}


def test_a_branch_inside_a_loop_runs_per_item_in_the_background(client, team):
    with Routes({("GET", "/cat"): Reply(200, {"seen": "cat"})}) as server:
        execution = _run(client, automation(team, _tag_loop(server.url)), TAGS)
    assert execution.status == Status.SUCCEEDED, execution.error
    logged = runs(execution)
    assert logged["0.do.0.0"] == (Status.SUCCEEDED, {"branch": "then"})
    assert logged["0.do.0.0.else.0"][0] == Status.SKIPPED
    assert logged["0.do.1.0"] == (Status.SUCCEEDED, {"branch": "else"})
    assert logged["0.do.1.0.else.0"] == (Status.SUCCEEDED, "chien")
    results = logged["0"][1]["results"]
    assert results[0]["look"]["body"] == {"seen": "cat"} and results[1] == {
        "route": {"branch": "else"}, "note": "chien",
    }  # fmt: skip


def test_a_delay_frees_the_worker_and_the_run_continues_after_it(client, team):
    steps = [flow_step("first", "transform", {"value": 1}),
             flow_step("wait", "delay", {"minutes": 10}),
             flow_step("after", "transform", {"value": "{{ steps.first }}"})]  # fmt: skip
    execution = _run(client, automation(team, steps), {})
    assert execution.status == Status.QUEUED
    assert execution.resume_path == "1" and execution.waited_seconds == 600
    assert execution.not_before > timezone.now() + timedelta(minutes=9)
    assert start.run_queued(execution.pk) is None  # not due yet
    Execution.objects.filter(pk=execution.pk).update(not_before=timezone.now())
    services.execution_housekeeping()  # the dispatcher sends it once due
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED, execution.error
    assert runs(execution)["2"] == (Status.SUCCEEDED, 1)
    assert execution.step_runs.count() == 3


def test_a_delay_inside_a_loop_continues_with_the_same_iteration(client, team):
    steps = [flow_step("each", "for_each", {"items": [1, 2]}, do=[
        flow_step("wait", "delay", {"seconds": 30}),
        flow_step("twice", "transform", {"value": "{{ loop.item * 2 }}"}),
    ])]  # fmt: skip
    execution = _run(client, automation(team, steps), {})
    for expected in ("0.do.0.0", "0.do.1.0"):
        assert execution.status == Status.QUEUED and execution.resume_path == expected
        Execution.objects.filter(pk=execution.pk).update(not_before=timezone.now())
        services.execution_housekeeping()
        execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED, execution.error
    assert runs(execution)["0"][1]["results"] == [
        {"wait": {"seconds": 30}, "twice": "2"}, {"wait": {"seconds": 30}, "twice": "4"},
    ]  # fmt: skip


def test_retry_resumes_a_loop_at_the_failed_iteration(client, team):
    routes = {("GET", "/cat"): Reply(200, {"n": 1}),
              ("GET", "/dog"): [Reply(400, "no"), Reply(200, {"n": 2})]}  # fmt: skip
    tags = {"tags": [{"name": "cat", "lang": "en"}, {"name": "dog", "lang": "en"}]}
    with Routes(routes) as server:
        failed = _run(client, automation(team, _tag_loop(server.url)), tags)
        assert failed.status == Status.FAILED
        assert failed.error.startswith("Step 'each' failed at item 1")
        retry, _ = services.execution_retry(execution=failed)
        assert retry.resume_path == "0.do.1.0.then.0"
        start.run_queued(retry.pk)
    retry.refresh_from_db()
    assert retry.status == Status.SUCCEEDED, retry.error
    assert [r.path for r in server.received] == ["/cat", "/dog", "/dog"]
    reused = retry.step_runs.get(path="0.do.0.0.then.0")
    assert reused.reused and reused.output["body"] == {"n": 1}
    assert [r["look"]["body"]["n"] for r in runs(retry)["0"][1]["results"]] == [1, 2]
