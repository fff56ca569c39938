"""Values the database cannot store: refused when an event is accepted (400 with the
reason, nothing run), and replaced with a note when a step returns them, so the log
write never fails after the steps have run. Run on PostgreSQL (jsonb refuses \\u0000)
and SQLite."""

from __future__ import annotations

import json

import pytest

from automations.models import Execution, Status
from connectors.jsondata import DROPPED_KEY, NOTES_KEY, STORED_DEPTH
from tests.automations.factories import make_project
from tests.standins.server import Reply, Routes
from tests.support.flows import http_automation, reply_step, run_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def echo(team):
    return http_automation(make_project(team), "Echo", [reply_step("{{ trigger.body }}")])


def post_raw(client, automation, raw: bytes, query: str = ""):
    return client.post(
        f"/hooks/{automation.webhook_token}/{query}", raw, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"text": "a\\u0000b"}', "the text holds a NUL character at body.text."),
        (b'{"text": "a\\ud800b"}', "the text holds a lone surrogate at body.text."),
        (b'{"a\\u0000": 1}', "a key holds a NUL character or a lone surrogate at body."),
        (b'{"x": NaN}', "NaN is not valid JSON at body.x."),
        (b'{"x": [Infinity]}', "Infinity is not valid JSON at body.x.0."),
        (b'{"x": -Infinity}', "-Infinity is not valid JSON at body.x."),
        (b'{"x": 1e400}', "the number 1e400 is too large at body.x."),
        (b'{"n": ' + b"7" * 5000 + b"}", "an integer of 5000 digits is too long at body.n."),
    ],
)
def test_it_refuses_a_body_the_log_cannot_store(client, echo, raw, reason):
    response = post_raw(client, echo, raw)
    assert response.status_code == 400
    assert response.json()["error"] == reason
    assert not Execution.objects.exists()


def test_it_refuses_a_nul_character_in_the_query(client, echo):
    response = post_raw(client, echo, b"{}", query="?q=a%00b")
    assert response.status_code == 400
    assert response.json()["error"] == "the text holds a NUL character at query.q."
    assert not Execution.objects.exists()


def test_it_refuses_a_nul_character_in_a_text_body(client, echo):
    response = client.post(
        f"/hooks/{echo.webhook_token}/", b"hello\x00world", content_type="text/plain"
    )
    assert response.status_code == 400
    assert "NUL character at body" in response.json()["error"]


def test_it_refuses_a_nul_character_in_a_contentstack_delivery(client, team, contentstack_account):
    from tests.connectors.contentstack.test_contentstack_trigger import (
        deliver,
        entry_automation,
        fixture,
        secret_of,
    )

    automation = entry_automation(team, contentstack_account)
    payload = fixture("entry_create.json")
    payload["data"]["entry"]["title"] = "a\x00b"
    response = deliver(client, automation, payload, secret=secret_of(automation))
    assert response.status_code == 400
    assert response.json()["error"] == "the text holds a NUL character at body.data.entry.title."
    assert not Execution.objects.exists()


def test_the_api_refuses_nan_in_a_payload(api, echo):
    response = api.post(
        f"/api/v1/automations/{echo.pk}/run/", b'{"payload": {"x": NaN}, "wait": true}',
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "NaN is not valid JSON at payload.x" in json.dumps(response.json())
    assert not Execution.objects.exists()


def test_the_api_refuses_a_nul_character_in_a_payload(api, echo):
    response = api.post(
        f"/api/v1/automations/{echo.pk}/run/", b'{"payload": {"t": "\\u0000"}}',
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "NUL character at payload.t" in json.dumps(response.json())
    assert not Execution.objects.exists()


def fetch_step(url: str) -> dict:
    return {"key": "fetch", "connector": "http", "action": "request",
            "config": {"method": "GET", "url": url}}  # fmt: skip


def run_fetching(team, raw: bytes) -> Execution:
    reply = Reply(200, raw, headers={"Content-Type": "application/json"})
    with Routes({("GET", "/data"): reply}) as server:
        automation = http_automation(
            make_project(team), "Fetch", [fetch_step(server.url + "/data")]
        )
        return run_now(automation)


def stored_body(execution: Execution):
    return execution.step_runs.get().output["body"]


def test_it_stores_a_step_output_with_a_nul_character(team):
    execution = run_fetching(team, b'{"text": "a\\u0000b", "ok": 1}')
    assert execution.status == Status.SUCCEEDED
    body = stored_body(execution)
    assert body["text"] == "a\ufffdb"
    assert body["ok"] == 1


def test_it_stores_a_step_output_with_a_lone_surrogate(team):
    execution = run_fetching(team, b'{"text": "\\ud800"}')
    assert execution.status == Status.SUCCEEDED
    assert stored_body(execution)["text"] == "\ufffd"


def test_it_stores_non_finite_numbers_as_null_with_a_note(team):
    execution = run_fetching(team, b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400}')
    assert execution.status == Status.SUCCEEDED
    output = execution.step_runs.get().output
    assert output["body"] == {"a": None, "b": None, "c": None, "d": None}
    assert "body.a: NaN is not valid JSON" in output[NOTES_KEY]


def test_it_stores_a_too_deep_output_with_a_marker(team):
    depth = STORED_DEPTH + 50
    execution = run_fetching(team, b"[" * depth + b"]" * depth)
    assert execution.status == Status.SUCCEEDED
    value = stored_body(execution)
    levels = 2  # the output object, then its body
    while isinstance(value, list):
        (value,) = value
        levels += 1
    assert value == {DROPPED_KEY: f"nested deeper than {STORED_DEPTH} levels"}
    assert levels == STORED_DEPTH + 1


def test_it_stores_a_huge_integer_as_its_digits(team, faulty_connector):
    step = {"key": "big", "connector": "faulty", "action": "huge_number", "config": {}}
    automation = http_automation(make_project(team), "Big", [step])
    execution = run_now(automation)
    assert execution.status == Status.SUCCEEDED
    output = execution.step_runs.get().output
    assert output["n"] == "1" + "0" * 5000
    assert output["ok"] is True


def test_it_answers_and_logs_a_response_that_holds_a_nul_character(client, team):
    raw = b'{"text": "a\\u0000b"}'
    with Routes({("GET", "/data"): Reply(200, raw)}) as server:
        automation = http_automation(make_project(team), "Relay", [
            fetch_step(server.url + "/data"), reply_step("{{ steps.fetch.body }}"),
        ])  # fmt: skip
        response = client.post(f"/hooks/{automation.webhook_token}/", "{}", "application/json")
    assert response.status_code == 200
    execution = Execution.objects.get()
    assert execution.status == Status.SUCCEEDED
    assert execution.response["body"]["text"] == "a\ufffdb"
