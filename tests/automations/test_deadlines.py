"""A step's outbound call, and its rendering, stop at the run's deadline: the step ends
timed out near the deadline, not after the outside service's delay."""

from __future__ import annotations

import json
import time

import pytest

from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation, reply_step, run_now

pytestmark = pytest.mark.django_db

LIMIT = 1.0
SERVER_DELAY = 6.0


@pytest.fixture
def short_runs(settings):
    settings.RUN_TIME_LIMIT = LIMIT
    settings.SYNC_RESPONSE_TIMEOUT = LIMIT


def timed(run):
    began = time.monotonic()
    result = run()
    return result, time.monotonic() - began


def test_an_http_request_stops_at_the_deadline(team, short_runs):
    with Routes({("GET", "/slow"): Reply(200, {}, delay=SERVER_DELAY)}) as server:
        step = {"key": "call", "connector": "http", "action": "request",
                "config": {"method": "GET", "url": server.url + "/slow"}}  # fmt: skip
        automation = http_automation(make_project(team), "Slow", [step])
        execution, elapsed = timed(lambda: run_now(automation))
    assert execution.status == Status.TIMED_OUT
    assert execution.step_runs.get().status == Status.TIMED_OUT
    assert LIMIT * 0.9 < elapsed < LIMIT + 1.0


def test_a_webhook_answers_504_at_the_deadline_of_a_slow_request(client, team, short_runs):
    with Routes({("GET", "/slow"): Reply(200, {}, delay=SERVER_DELAY)}) as server:
        step = {"key": "call", "connector": "http", "action": "request",
                "config": {"method": "GET", "url": server.url + "/slow"}}  # fmt: skip
        automation = http_automation(make_project(team), "Slow", [step, reply_step("late")])
        response, elapsed = timed(
            lambda: client.post(f"/hooks/{automation.webhook_token}/", "{}", "application/json")
        )
    assert response.status_code == 504
    assert Execution.objects.get(pk=response.json()["execution_id"]).status == Status.TIMED_OUT
    assert elapsed < SERVER_DELAY  # stopped at the deadline, not when the server answered


def test_a_chatgpt_call_stops_at_the_deadline(team, chatgpt_account, openai_standin, short_runs):
    openai_standin.forced.append(Reply(200, {}, delay=SERVER_DELAY))
    step = {
        "key": "chat",
        "connector": "chatgpt",
        "action": "chat",
        "account": chatgpt_account.pk,
        "config": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
    }
    automation = http_automation(make_project(team), "Ask", [step])
    execution, elapsed = timed(lambda: run_now(automation))
    assert execution.status == Status.TIMED_OUT
    assert elapsed < SERVER_DELAY  # stopped at the deadline, not when the server answered


def test_a_contentstack_call_stops_at_the_deadline(
    team, contentstack_account, contentstack_standin, short_runs
):
    entry = contentstack_standin.add_entry("blog_post", "Hello")
    contentstack_standin.stall = SERVER_DELAY
    step = {"key": "get", "connector": "contentstack", "action": "get_entry",
            "account": contentstack_account.pk,
            "config": {"content_type": "blog_post", "entry": entry["uid"]}}  # fmt: skip
    automation = http_automation(make_project(team), "Read", [step])
    execution, elapsed = timed(lambda: run_now(automation))
    assert execution.status == Status.TIMED_OUT
    assert elapsed < SERVER_DELAY  # stopped at the deadline, not when the server answered


def test_rendering_stops_at_the_deadline(client, team, short_runs, settings):
    settings.MAX_RENDER_SECONDS = 60  # the run's deadline comes first
    loops = "{% for a in trigger.body.items %}{% for b in trigger.body.items %}"
    quiet = "{% if a == -1 %}x{% endif %}{% endfor %}{% endfor %}"
    automation = http_automation(make_project(team), "Loops", [reply_step(loops + quiet)])
    body = json.dumps({"items": list(range(20_000))})
    response, elapsed = timed(
        lambda: client.post(f"/hooks/{automation.webhook_token}/", body, "application/json")
    )
    assert response.status_code == 504
    assert "time limit" in response.json()["error"]
    assert Execution.objects.get().step_runs.get().status == Status.TIMED_OUT
    assert elapsed < SERVER_DELAY  # stopped at the deadline, not when the server answered
