"""A run whose steps have side effects is recorded before the first of them, so a web
process that dies mid-step leaves a running execution (for recovery), never nothing; a
run free of side effects writes its log once, at the end. A request that may have
reached the service is retried only when repeating it is harmless."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from automations import services
from automations.engine.plans import plan_for_automation
from automations.engine.runner import Runner
from automations.engine.subruns import SubRunner
from automations.models import DeliveryReceipt, Execution, Status
from connectors import registry
from tests.automations.factories import make_project
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation, reply_step, sub_automation

CONTENTSTACK_FIXTURES = Path(__file__).resolve().parents[1] / "connectors/contentstack/fixtures"

pytestmark = pytest.mark.django_db


def post(client, automation):
    return client.post(f"/hooks/{automation.webhook_token}/", "{}", "application/json")


def request_step(method: str, url: str, key: str = "call", **extra) -> dict:
    return {"key": key, "connector": "http", "action": "request",
            "config": {"method": method, "url": url}, **extra}  # fmt: skip


def stop_step(action: str) -> dict:
    return {"key": "stop", "connector": "faulty", "action": action, "config": {}}


def test_it_records_the_run_before_a_step_with_side_effects(client, team, faulty_connector):
    automation = http_automation(
        make_project(team), "Dies", [stop_step("stop"), reply_step("never")]
    )
    with pytest.raises(SystemExit):
        post(client, automation)
    execution = Execution.objects.get()
    assert execution.status == Status.RUNNING
    assert execution.finished_at is None


def test_it_writes_nothing_before_the_end_when_no_step_has_side_effects(
    client, team, faulty_connector
):
    automation = http_automation(
        make_project(team), "Pure", [stop_step("pure_stop"), reply_step("never")]
    )
    with pytest.raises(SystemExit):
        post(client, automation)
    assert not Execution.objects.exists()


def test_it_records_the_steps_after_a_post_request(client, team, faulty_connector):
    with Routes({("POST", "/orders"): Reply(201, {"id": 7})}) as server:
        automation = http_automation(make_project(team), "Orders", [
            request_step("POST", server.url + "/orders"), stop_step("pure_stop"),
            reply_step("never"),
        ])  # fmt: skip
        with pytest.raises(SystemExit):
            post(client, automation)
    execution = Execution.objects.get()
    assert execution.status == Status.RUNNING
    run = execution.step_runs.get()
    assert (run.step_key, run.status, run.output["body"]) == ("call", Status.SUCCEEDED, {"id": 7})


def test_it_counts_a_get_request_free_of_side_effects(client, team, faulty_connector):
    with Routes({("GET", "/orders"): Reply(200, [])}) as server:
        automation = http_automation(make_project(team), "Read", [
            request_step("GET", server.url + "/orders"), stop_step("pure_stop"),
            reply_step("never"),
        ])  # fmt: skip
        with pytest.raises(SystemExit):
            post(client, automation)
    assert not Execution.objects.exists()


def test_a_run_recorded_early_ends_with_every_step_logged(client, team):
    with Routes({("POST", "/orders"): Reply(201, {"id": 7})}) as server:
        automation = http_automation(make_project(team), "Orders", [
            request_step("POST", server.url + "/orders"), reply_step("{{ steps.call.body.id }}"),
        ])  # fmt: skip
        response = post(client, automation)
    assert response.status_code == 200
    assert response.content == b"7"
    execution = Execution.objects.get()
    assert execution.status == Status.SUCCEEDED
    assert list(execution.step_runs.values_list("step_key", "status")) == [
        ("call", Status.SUCCEEDED), ("reply", Status.SUCCEEDED),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("connector", "action", "side_effects", "idempotent"),
    [
        ("response", "respond", False, True),
        ("chatgpt", "chat", False, True),
        ("chatgpt", "prompt", False, True),
        ("chatgpt", "chat_with_vision", False, True),
        ("chatgpt", "function_calling", False, True),
        ("chatgpt", "function_calling_response", False, True),
        ("chatgpt", "translate_entry", False, True),
        ("chatgpt", "dalle3_image_generator", False, False),
        ("contentstack", "get_entry", False, True),
        ("contentstack", "create_entry", True, False),
        ("contentstack", "create_asset", True, False),
        ("contentstack", "update_entry", True, True),
        ("contentstack", "publish_entry", True, True),
        ("sub_automation", "run", True, False),
    ],
)
def test_each_action_declares_its_side_effects(connector, action, side_effects, idempotent):
    declared = registry.get(connector).action(action)
    assert declared.has_side_effects({}) is side_effects
    assert declared.is_idempotent({}) is idempotent


@pytest.mark.parametrize(
    ("method", "side_effects", "idempotent"),
    [("GET", False, True), ("PUT", True, True), ("DELETE", True, True),
     ("POST", True, False), ("PATCH", True, False)],
)  # fmt: skip
def test_an_http_request_declares_by_its_method(method, side_effects, idempotent):
    action = registry.get("http").action("request")
    assert action.has_side_effects({"method": method}) is side_effects
    assert action.is_idempotent({"method": method}) is idempotent


# -- sub automations: they act only through their own steps ------------------------------


def sub_step(name: str) -> dict:
    return {"key": "run", "connector": "sub_automation", "action": "run",
            "config": {"sub_automation": name, "arguments": {}}}  # fmt: skip


def test_a_sub_automation_free_of_side_effects_writes_nothing_before_the_end(
    client, team, faulty_connector
):
    project = make_project(team)
    sub_automation(project, "Pure", "", [], [stop_step("pure_stop"), reply_step("never")])
    automation = http_automation(project, "Main", [sub_step("Pure"), reply_step("done")])
    with pytest.raises(SystemExit):
        post(client, automation)
    assert not Execution.objects.exists()


def test_a_sub_automation_with_side_effects_is_recorded_before_it_runs(
    client, team, faulty_connector
):
    project = make_project(team)
    sub_automation(project, "Acts", "", [], [stop_step("stop"), reply_step("never")])
    automation = http_automation(project, "Main", [sub_step("Acts"), reply_step("done")])
    with pytest.raises(SystemExit):
        post(client, automation)
    execution = Execution.objects.get(automation=automation)
    assert execution.status == Status.RUNNING
    assert list(execution.step_runs.values_list("step_key", "status")) == [("run", "running")]


def test_a_sub_automation_that_runs_another_counts_as_acting(client, team, faulty_connector):
    project = make_project(team)
    sub_automation(project, "Inner", "", [], [stop_step("pure_stop")])
    sub_automation(project, "Outer", "", [], [sub_step("Inner")])
    automation = http_automation(project, "Main", [sub_step("Outer"), reply_step("done")])
    with pytest.raises(SystemExit):
        post(client, automation)
    assert Execution.objects.get(automation=automation).status == Status.RUNNING


def test_the_sub_automation_checked_is_the_one_that_runs_and_a_change_counts_next_time(
    team, faulty_connector
):
    project = make_project(team)
    sub = sub_automation(project, "Pure", "", [], [reply_step("first")])
    main = http_automation(project, "Main", [sub_step("Pure"), reply_step("done")])
    runner = Runner(
        plan_for_automation(main.pk), Execution(automation=main, trigger_output={}),
        deadline=time.monotonic() + 30, flush_each_step=False,
    )  # fmt: skip
    subs = SubRunner(runner)
    assert subs.may_act("Pure") is False
    services.automation_update(
        automation=sub, data={"steps": [stop_step("stop"), reply_step("second")]}
    )
    assert subs.run("Pure", {}) == "first"  # the plan that was checked, not a newer one
    assert SubRunner(runner).may_act("Pure") is True  # the next step sees the change


@pytest.mark.parametrize(("offered", "written"), [(["Pure"], False), (["Pure", "Acts"], True)])
def test_function_calling_that_runs_sub_automations_is_recorded_first_when_one_may_act(
    client, team, faulty_connector, chatgpt_account, openai_standin, offered, written
):
    project = make_project(team)
    sub_automation(project, "Pure", "", [], [stop_step("pure_stop")])
    sub_automation(project, "Acts", "", [], [stop_step("stop")])
    openai_standin.tool_to_call, openai_standin.tool_arguments = "Pure", {}
    choose = {"key": "choose", "connector": "chatgpt", "action": "function_calling",
              "account": chatgpt_account.pk,
              "config": {"model": "gpt-4o-mini", "sub_automations": offered, "auto_run": True,
                         "messages": [{"role": "user", "content": "go"}]}}  # fmt: skip
    automation = http_automation(project, "Main", [choose, reply_step("done")])
    with pytest.raises(SystemExit):
        post(client, automation)
    assert Execution.objects.filter(automation=automation).exists() is written


def test_function_calling_that_runs_sub_automations_has_side_effects():
    action = registry.get("chatgpt").action("function_calling")
    assert action.has_side_effects({"auto_run": True})
    assert not action.is_idempotent({"auto_run": True})


# -- a request that may have been applied -----------------------------------------------


@pytest.fixture
def short_outbound(settings):
    settings.OUTBOUND_TIMEOUT = 0.3


def run_flow(client, team, steps):
    automation = http_automation(make_project(team), "Flow", [*steps, reply_step("done")])
    response = post(client, automation)
    return response, Execution.objects.get()


def test_it_does_not_retry_a_post_that_timed_out(client, team, short_outbound):
    with Routes({("POST", "/slow"): Reply(200, {}, delay=1.0)}) as server:
        step = request_step("POST", server.url + "/slow", max_attempts=3)
        response, execution = run_flow(client, team, [step])
        received = len(server.received)
    assert response.status_code == 502
    assert received == 1
    run = execution.step_runs.get(step_key="call")
    assert run.attempts == 1
    assert run.error.endswith("The request may have been applied; check before retrying.")


def test_it_retries_a_put_that_timed_out(client, team, short_outbound):
    with Routes({("PUT", "/slow"): Reply(200, {}, delay=1.0)}) as server:
        step = request_step("PUT", server.url + "/slow", max_attempts=3)
        response, execution = run_flow(client, team, [step])
        received = len(server.received)
    assert response.status_code == 502
    assert received == 3
    assert execution.step_runs.get(step_key="call").attempts == 3


def test_it_retries_a_post_that_could_not_connect(client, team):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: connection refused
    step = request_step("POST", f"http://127.0.0.1:{port}/x", max_attempts=2)
    response, execution = run_flow(client, team, [step])
    assert response.status_code == 502
    run = execution.step_runs.get(step_key="call")
    assert run.attempts == 2
    assert "may have been applied" not in run.error


def entry_step(action: str, **config) -> dict:
    return {"key": "cs", "connector": "contentstack", "action": action, "max_attempts": 3,
            "config": {"content_type": "blog_post", **config}}  # fmt: skip


def test_it_fails_a_contentstack_create_entry_that_stalled(
    client, team, contentstack_account, contentstack_standin, short_outbound
):
    contentstack_standin.stall = 1.0
    step = entry_step("create_entry", entry_data={"title": "Hello"})
    step["account"] = contentstack_account.pk
    response, execution = run_flow(client, team, [step])
    assert response.status_code == 502
    creates = [r for r in contentstack_standin.received if r.method == "POST"]
    assert len(creates) == 1
    assert len(contentstack_standin.entries[("main", "blog_post")]) == 1  # it was applied
    run = execution.step_runs.get(step_key="cs")
    assert "may have been applied; check before retrying" in run.error
    assert json.dumps(response.json()).count("may have been applied") == 1


def test_it_retries_a_contentstack_update_entry_that_stalled(
    client, team, contentstack_account, contentstack_standin, short_outbound
):
    entry = contentstack_standin.add_entry("blog_post", "Old")
    contentstack_standin.stall = 1.0
    step = entry_step("update_entry", entry=entry["uid"], entry_data={"title": "New"})
    step["account"] = contentstack_account.pk
    response, execution = run_flow(client, team, [step])
    assert response.status_code == 502
    puts = [r for r in contentstack_standin.received if r.method == "PUT"]
    assert len(puts) == 3
    assert execution.step_runs.get(step_key="cs").attempts == 3


def test_a_deduplicated_delivery_answered_inline_keeps_its_execution_if_the_process_dies(
    client, team, contentstack_account, faulty_connector
):
    """A service that delivers again is told "duplicate" only once the event has its
    execution: a web process that dies mid-run leaves that execution for recovery."""
    automation = services.automation_create(project=make_project(team), data={
        "name": "Answer entries",
        "trigger": {"connector": "contentstack", "trigger": "entry",
                    "account": contentstack_account.pk,
                    "config": {"event": "created", "content_type": "blog_post"}},
        "steps": [{"key": "die", "connector": "faulty", "action": "pure_stop"},
                  {"key": "reply", "connector": "response", "action": "respond",
                   "config": {"body": "ok"}}],
    })  # fmt: skip
    automation = services.automation_activate(automation=automation)
    automation.refresh_from_db()
    payload = json.loads((CONTENTSTACK_FIXTURES / "entry_create.json").read_text())
    with pytest.raises(SystemExit):
        client.post(
            f"/hooks/contentstack/{automation.webhook_token}/", json.dumps(payload),
            content_type="application/json",
            headers={"X-Switchboard-Secret": automation.get_secrets()["header_secret"]},
        )  # fmt: skip
    assert DeliveryReceipt.objects.filter(automation=automation).count() == 1
    assert Execution.objects.get(automation=automation).status == Status.RUNNING
