"""/metrics: Prometheus text to the holder of the token or an allowed address only."""

from __future__ import annotations

import pytest

from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.support.flows import http_automation, reply_step, run_now

pytestmark = pytest.mark.django_db


def test_it_is_not_there_while_no_token_or_address_is_set(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 404


def test_it_refuses_a_wrong_token(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    settings.METRICS_ALLOWED_IPS = []
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-wrong")
    assert response.status_code == 403
    assert b"switchboard_" not in response.content


def test_it_refuses_an_address_outside_the_allowed_networks(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403


def test_it_counts_webhook_answers_runs_and_waiting_runs(client, settings, team):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    automation = http_automation(make_project(team), "Echo", [reply_step("hi")])
    run_now(automation)
    client.post("/hooks/no-such-token/", "{}", content_type="application/json")
    Execution.objects.create(automation=automation, status=Status.QUEUED, trigger_output={})
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'switchboard_webhook_requests_total{kind="http",status="404"}' in text
    assert 'switchboard_executions_finished_total{status="succeeded"}' in text
    assert 'switchboard_step_duration_seconds_bucket{action="respond"' in text
    assert 'switchboard_executions_in_progress{status="queued"} 1.0' in text
    assert "switchboard_queue_length" in text


def test_it_answers_an_allowed_address(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["127.0.0.0/8"]
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert "switchboard_broker_up 1.0" in response.content.decode()
