"""Webhook bodies: chunked ones are read within the size limit, deep JSON is refused
with a reason, the stored response is capped, and a database outage answers a JSON 503
(issue 8, items 10, 15 and 16)."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError, connection

from automations import services
from automations.engine.recorder import TRUNCATED_KEY
from automations.models import Execution, StepRun
from tests.automations.factories import make_project
from tests.security.gunicorn import chunked, gunicorn, send_raw

pytestmark = pytest.mark.django_db


def echo(team, body="{{ trigger.body }}"):
    automation = services.automation_create(project=make_project(team), data={
        "name": "Echo", "trigger": {"connector": "http", "trigger": "request",
                                    "config": {"method": "POST"}},
        "steps": [{"key": "reply", "connector": "response", "action": "respond",
                   "config": {"body": body}}],
    })  # fmt: skip
    return services.automation_activate(automation=automation)


def post_chunked(address: str, token: str, payload: bytes) -> tuple[int, dict, bytes]:
    head = (
        f"POST /hooks/{token}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return send_raw(address, head + chunked(payload))


# -- item 10: chunked bodies ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_reads_a_chunked_body(team, tmp_path):
    automation = echo(team)
    payload = json.dumps({"text": "x" * 5000}).encode()
    with gunicorn(tmp_path) as address:
        status, _, body = post_chunked(address, automation.webhook_token, payload)
    assert status == 200, body
    assert json.loads(body) == {"text": "x" * 5000}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_chunked_body_over_the_limit(team, tmp_path):
    automation = echo(team)
    payload = json.dumps({"text": "x" * 5000}).encode()
    with gunicorn(tmp_path, MAX_WEBHOOK_BODY="2000") as address:
        status, _, body = post_chunked(address, automation.webhook_token, payload)
    assert status == 413
    assert "2000 bytes" in json.loads(body)["error"]


# -- item 15: deep JSON and the stored response ----------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_it_refuses_json_nested_deeper_than_200_levels(client, team):
    automation = echo(team)
    response = client.post(
        f"/hooks/{automation.webhook_token}/", nested(201), content_type="application/json"
    )
    assert response.status_code == 400
    assert "deeper than 200 levels" in response.json()["error"]
    assert not Execution.objects.exists()


def test_it_refuses_json_deep_enough_to_exhaust_the_parser(client, team):
    automation = echo(team)
    response = client.post(
        f"/hooks/{automation.webhook_token}/", nested(100_000), content_type="application/json"
    )
    assert response.status_code == 400
    assert "deeper than 200 levels" in response.json()["error"]


def test_it_accepts_json_nested_200_levels(client, team):
    automation = echo(team, body="ok")
    response = client.post(
        f"/hooks/{automation.webhook_token}/", nested(200), content_type="application/json"
    )
    assert response.status_code == 200


def test_the_api_run_endpoint_refuses_deep_json(api, team):
    automation = echo(team)
    response = api.post(
        f"/api/v1/automations/{automation.pk}/run/",
        '{"payload": ' + nested(100_000) + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "deeper than 200 levels" in response.json()["detail"]


def test_it_caps_the_stored_response_but_answers_in_full(client, team, settings):
    settings.STEP_OUTPUT_MAX_BYTES = 2000
    automation = echo(team)
    text = "y" * 20_000
    response = client.post(
        f"/hooks/{automation.webhook_token}/", {"text": text}, content_type="application/json"
    )
    assert response.json() == {"text": text}
    stored = Execution.objects.get().response
    assert stored[TRUNCATED_KEY] is True
    assert len(json.dumps(stored)) < 3000


def test_it_caps_a_step_input_that_references_make_larger_than_the_request(client, team, settings):
    settings.STEP_OUTPUT_MAX_BYTES = 2000
    amplify = "{{ trigger.body.text * 50 }}"
    automation = echo(team, body=amplify)
    response = client.post(
        f"/hooks/{automation.webhook_token}/", {"text": "z" * 400}, content_type="application/json"
    )
    assert response.status_code == 200
    assert len(response.content) >= 20_000
    stored = StepRun.objects.get().input
    assert stored[TRUNCATED_KEY] is True
    assert len(json.dumps(stored)) < 3000


# -- item 16: the database is down ---------------------------------------------------------


def _database_down(execute, sql, params, many, context):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")


def test_it_answers_a_json_503_when_the_database_is_down(client, team):
    automation = echo(team)
    with connection.execute_wrapper(_database_down):
        response = client.post(
            f"/hooks/{automation.webhook_token}/", {"text": "hi"}, content_type="application/json"
        )
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"].isdigit()
    assert "unavailable" in response.json()["error"]
    assert response["Content-Security-Policy"] == "sandbox"
