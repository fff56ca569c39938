"""The hooks fast path (automations/middleware.py): /hooks/ skips the session, CSRF,
auth, messages, htmx and axes middleware but keeps what every webhook answer needs."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from automations import services
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


def echo(team):
    automation = services.automation_create(
        project=make_project(team),
        data={
            "name": "Echo",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [
                {
                    "key": "reply",
                    "connector": "response",
                    "action": "respond",
                    "config": {"body": {"echo": "{{ trigger.body.text }}"}},
                }
            ],
        },
    )
    return services.automation_activate(automation=automation)


def post(client, automation, **extra):
    return client.post(
        f"/hooks/{automation.webhook_token}/",
        json.dumps({"text": "hi"}),
        content_type="application/json",
        **extra,
    )


def test_it_answers_a_webhook_with_the_security_headers(client, team):
    response = post(client, echo(team))
    assert response.status_code == 200
    assert response.json() == {"echo": "hi"}
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Length"] == str(len(response.content))


def test_it_sets_no_cookie_on_a_webhook_answer(client, team):
    client.cookies["sessionid"] = "anything"
    response = post(client, echo(team))
    assert response.status_code == 200
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_it_refuses_a_host_not_allowed(client, team):
    response = post(client, echo(team), HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert response["Content-Security-Policy"] == "sandbox"


def test_it_answers_404_for_an_unknown_path_under_hooks(client):
    response = client.post("/hooks/a/b/c/", "{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == "sandbox"


def test_it_takes_a_webhook_without_a_csrf_token(team):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, echo(team)).status_code == 200
