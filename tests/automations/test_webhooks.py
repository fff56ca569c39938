from __future__ import annotations

import json

import pytest

from automations import services
from automations.models import Execution, Status
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


def echo_definition(**trigger_config):
    return {
        "name": "Echo",
        "trigger": {"connector": "http", "trigger": "request",
                    "config": {"method": "POST", **trigger_config}},
        "steps": [
            {"key": "reply", "connector": "response", "action": "respond",
             "config": {"status": 201, "body": {"you_said": "{{ trigger.body.text }}",
                                                "n": "{{ trigger.body.n }}"},
                        "headers": [{"key": "X-Echo", "value": "yes"}]}},
        ],
    }  # fmt: skip


@pytest.fixture
def echo(team):
    automation = services.automation_create(project=make_project(team), data=echo_definition())
    return services.automation_activate(automation=automation)


def post(client, automation, body, content_type="application/json", **extra):
    data = json.dumps(body) if not isinstance(body, str | bytes) else body
    return client.post(
        f"/hooks/{automation.webhook_token}/", data, content_type=content_type, **extra
    )


def test_it_answers_with_the_response_step(client, echo):
    response = post(client, echo, {"text": "hello", "n": 3})
    assert response.status_code == 201
    assert response.json() == {"you_said": "hello", "n": 3}
    assert response["X-Echo"] == "yes"
    execution = Execution.objects.get()
    assert execution.status == Status.SUCCEEDED
    run = execution.step_runs.get()
    assert run.input["body"] == {"you_said": "hello", "n": 3}
    assert run.output["status"] == 201


def test_the_trigger_output_holds_the_headers_and_query_as_sent(client, echo):
    path = f"/hooks/{echo.webhook_token}/"
    body = json.dumps({"text": "hi", "n": 1})
    client.post(path, body, content_type="application/json", HTTP_X_SHOP_ID="42")
    client.post(f"{path}?a=1&b=2&b=3", body, content_type="application/json")
    plain, queried = (e.trigger_output for e in Execution.objects.order_by("pk"))
    assert plain["headers"]["x-shop-id"] == "42"
    assert plain["headers"]["content-type"] == "application/json"
    assert plain["headers"]["content-length"] == str(len(body))
    assert all(name == name.lower() and "_" not in name for name in plain["headers"])
    assert plain["query"] == {} and queried["query"] == {"a": "1", "b": ["2", "3"]}


def test_it_answers_a_string_body_as_text(client, team):
    definition = echo_definition()
    definition["steps"][0]["config"]["body"] = "Hi {{ trigger.body.text }}"
    automation = services.automation_create(project=make_project(team), data=definition)
    services.automation_activate(automation=automation)
    response = post(client, automation, {"text": "you"})
    assert response.content == b"Hi you"
    assert response["Content-Type"].startswith("text/plain")


def test_it_refuses_an_unknown_token(client, echo):
    response = client.post("/hooks/not-a-token/", "{}", content_type="application/json")
    assert response.status_code == 404
    assert "no webhook" in response.json()["error"]
    assert not Execution.objects.exists()


def test_it_refuses_an_inactive_automation(client, echo):
    services.automation_deactivate(automation=echo)
    response = post(client, echo, {"text": "x"})
    assert response.status_code == 409
    assert "not active" in response.json()["error"]
    assert not Execution.objects.exists()


def test_it_refuses_a_wrong_method(client, echo):
    response = client.get(f"/hooks/{echo.webhook_token}/")
    assert response.status_code == 405
    assert "POST" in response.json()["error"]
    assert not Execution.objects.exists()


def test_it_refuses_malformed_json_naming_the_problem(client, echo):
    response = post(client, echo, '{"text": ')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert "line 1" in response.json()["error"]
    assert not Execution.objects.exists()


def test_it_refuses_a_body_over_the_limit(client, echo, settings):
    settings.MAX_WEBHOOK_BODY = 100
    response = post(client, echo, {"text": "x" * 200})
    assert response.status_code == 413
    assert "100 bytes" in response.json()["error"]
    assert not Execution.objects.exists()


class TestSecret:
    @pytest.fixture
    def guarded(self, team):
        automation = services.automation_create(
            project=make_project(team), data=echo_definition(secret="s3cret-hook-key")
        )
        return services.automation_activate(automation=automation)

    def test_it_refuses_a_missing_key(self, client, guarded):
        response = post(client, guarded, {"text": "x"})
        assert response.status_code == 401
        assert not Execution.objects.exists()

    def test_it_refuses_a_wrong_key(self, client, guarded):
        response = post(client, guarded, {"text": "x"}, headers={"X-Switchboard-Key": "nope"})
        assert response.status_code == 401

    def test_it_accepts_the_key_in_the_header(self, client, guarded):
        response = post(
            client, guarded, {"text": "x", "n": 1}, headers={"X-Switchboard-Key": "s3cret-hook-key"}
        )
        assert response.status_code == 201
        execution = Execution.objects.get()
        assert "x-switchboard-key" not in execution.trigger_output["headers"]

    def test_it_accepts_the_key_in_the_query(self, client, guarded):
        response = client.post(
            f"/hooks/{guarded.webhook_token}/?key=s3cret-hook-key&lang=de",
            json.dumps({"text": "x", "n": 1}),
            content_type="application/json",
        )
        assert response.status_code == 201
        assert Execution.objects.get().trigger_output["query"] == {"lang": "de"}

    def test_the_secret_is_not_stored_in_clear(self, guarded):
        assert "s3cret-hook-key" not in json.dumps(guarded.trigger_config)
        assert "s3cret-hook-key" not in guarded.secrets_encrypted


def test_it_queues_a_run_without_a_response_step(client, team, django_capture_on_commit_callbacks):
    definition = echo_definition()
    definition["steps"] = []
    automation = services.automation_create(project=make_project(team), data=definition)
    services.automation_activate(automation=automation)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, automation, {"text": "later"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    execution = Execution.objects.get(pk=body["execution_id"])
    assert execution.status == Status.SUCCEEDED  # Q_SYNC runs the task at once in tests


def test_it_answers_502_when_a_step_fails_before_the_response(client, team):
    definition = echo_definition()
    definition["steps"][0]["config"]["body"] = "{{ trigger.body.missing }}"
    automation = services.automation_create(project=make_project(team), data=definition)
    services.automation_activate(automation=automation)
    response = post(client, automation, {"text": "x"})
    assert response.status_code == 502
    body = response.json()
    execution = Execution.objects.get(pk=body["execution_id"])
    assert "trigger.body.missing" in body["error"]
    assert execution.status == Status.FAILED
    assert execution.step_runs.get().status == Status.FAILED


def test_it_skips_events_that_fail_the_conditions(client, team):
    definition = echo_definition()
    definition["trigger"]["conditions"] = [
        {"path": "body.text", "operator": "starts_with", "value": "go"}
    ]
    automation = services.automation_create(project=make_project(team), data=definition)
    services.automation_activate(automation=automation)
    skipped = post(client, automation, {"text": "stop"})
    assert skipped.status_code == 200 and skipped.json()["status"] == "skipped"
    assert not Execution.objects.exists()
    assert post(client, automation, {"text": "go on", "n": 2}).status_code == 201


def test_it_parses_form_bodies(client, team):
    definition = echo_definition()
    definition["steps"][0]["config"]["body"] = "{{ trigger.body }}"
    automation = services.automation_create(project=make_project(team), data=definition)
    services.automation_activate(automation=automation)
    response = client.post(
        f"/hooks/{automation.webhook_token}/",
        "text=hi&tag=a&tag=b",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.json() == {"text": "hi", "tag": ["a", "b"]}


def test_it_answers_504_when_the_run_passes_the_sync_timeout(client, team, settings):
    from tests.standins.server import Reply, Routes

    settings.SYNC_RESPONSE_TIMEOUT = 0.3
    with Routes({("GET", "/slow"): Reply(200, "late", delay=1.5)}) as server:
        definition = echo_definition()
        definition["steps"].insert(0, {"key": "slow", "connector": "http", "action": "request",
                                       "config": {"method": "GET", "url": server.url + "/slow"}})  # fmt: skip
        automation = services.automation_create(project=make_project(team), data=definition)
        services.automation_activate(automation=automation)
        response = post(client, automation, {"text": "x", "n": 1})
    assert response.status_code == 504
    body = response.json()
    execution = Execution.objects.get(pk=body["execution_id"])
    assert execution.status == Status.TIMED_OUT
    assert execution.step_runs.get().status == Status.TIMED_OUT
