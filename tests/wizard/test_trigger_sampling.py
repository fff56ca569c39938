"""HTTP Test Trigger with a real request (issue 12 item 8): the wizard waits for the
next call of the webhook URL, which becomes the sample and starts nothing; or a pasted
body becomes the sample. The webhook's checks (method, key, size, strict JSON, secret
redaction) hold for the sample as for a run."""

from __future__ import annotations

import json

import pytest

from automations import services
from automations.models import Automation, Execution
from tests.automations.factories import make_project
from tests.support.flows import http_automation

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def member(client, owner, team):
    client.force_login(owner)
    return client


@pytest.fixture
def automation(team):
    return http_automation(make_project(team), "Echo", [
        {"key": "reply", "connector": "response", "action": "respond",
         "config": {"body": "{{ trigger.body.text }}"}},
    ], active=False)  # fmt: skip


def hook(client, automation, body, **extra):
    return client.post(
        f"/hooks/{automation.webhook_token}/", body, content_type="application/json", **extra
    )


def listen(member, automation):
    response = member.post(f"/automations/{automation.pk}/trigger/listen/", headers=HTMX)
    assert response.status_code == 200
    return response


def test_it_keeps_the_next_request_as_the_sample_of_an_inactive_automation(
    member, client, automation
):
    assert "Waiting for a request" in listen(member, automation).content.decode()
    response = hook(client, automation, {"text": "Guten Tag"})
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "sampled"}
    automation.refresh_from_db()
    assert automation.trigger_sample["body"] == {"text": "Guten Tag"}
    assert automation.listening_until is None
    assert not Execution.objects.exists()


def test_the_poll_shows_the_sample_once_it_arrived(member, client, automation):
    listen(member, automation)
    url = f"/automations/{automation.pk}/trigger/listen/?waiting=1"
    assert 'hx-trigger="every 2s"' in member.get(url, headers=HTMX).content.decode()
    hook(client, automation, {"text": "Hallo"})
    page = member.get(url, headers=HTMX).content.decode()
    assert "A request arrived" in page and "Hallo" in page
    assert "every 2s" not in page


def test_a_second_request_to_an_inactive_automation_is_refused(member, client, automation):
    listen(member, automation)
    hook(client, automation, {"text": "first"})
    assert hook(client, automation, {"text": "second"}).status_code == 409
    automation.refresh_from_db()
    assert automation.trigger_sample["body"] == {"text": "first"}


def test_an_active_automation_runs_again_after_its_sample(member, client, automation):
    services.automation_activate(automation=automation)
    listen(member, automation)
    assert hook(client, automation, {"text": "sampled"}).json() == {"status": "sampled"}
    assert hook(client, automation, {"text": "run"}).status_code == 200
    assert Execution.objects.count() == 1


def test_it_never_samples_a_request_without_the_webhook_key(member, client, team):
    guarded = services.automation_create(project=make_project(team), data={
        "name": "Guarded", "trigger": {"connector": "http", "trigger": "request",
                                       "config": {"method": "POST", "secret": "s3cret-hook-key"}},
        "steps": [],
    }, partial=True)  # fmt: skip
    listen(member, guarded)
    assert hook(client, guarded, {"text": "x"}).status_code == 401
    response = hook(
        client, guarded, {"note": "my key is s3cret-hook-key"},
        headers={"X-Switchboard-Key": "s3cret-hook-key"},
    )  # fmt: skip
    assert response.json() == {"status": "sampled"}
    guarded.refresh_from_db()
    assert "s3cret-hook-key" not in json.dumps(guarded.trigger_sample)


def test_a_body_that_is_not_json_is_refused_and_it_keeps_waiting(member, client, automation):
    listen(member, automation)
    response = hook(client, automation, '{"text": NaN}')
    assert response.status_code == 400
    automation.refresh_from_db()
    assert automation.trigger_sample is None
    assert services.listening(automation)


def test_a_body_over_the_limit_is_refused_while_waiting(member, client, automation, settings):
    settings.MAX_WEBHOOK_BODY = 100
    listen(member, automation)
    assert hook(client, automation, {"text": "x" * 200}).status_code == 413
    automation.refresh_from_db()
    assert automation.trigger_sample is None


def test_the_sample_answer_carries_the_hooks_headers(member, client, automation):
    listen(member, automation)
    response = hook(client, automation, {"text": "x"})
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_nothing_is_sampled_after_the_wait_ends(member, client, automation, settings):
    settings.TRIGGER_LISTEN_SECONDS = -1
    listen(member, automation)
    assert hook(client, automation, {"text": "late"}).status_code == 409
    page = member.get(
        f"/automations/{automation.pk}/trigger/listen/?waiting=1", headers=HTMX
    ).content.decode()
    assert "No request arrived in time" in page


def test_a_pasted_body_becomes_the_sample(member, automation):
    response = member.post(
        f"/automations/{automation.pk}/trigger/sample/", {"sample": '{"text": "pasted"}'},
        headers=HTMX,
    )  # fmt: skip
    assert "is now the trigger" in response.content.decode()
    automation.refresh_from_db()
    assert automation.trigger_sample["body"] == {"text": "pasted"}


def test_a_pasted_body_that_is_not_json_says_where(member, automation):
    response = member.post(
        f"/automations/{automation.pk}/trigger/sample/", {"sample": '{"text": '},
        headers=HTMX,
    )  # fmt: skip
    assert "not valid JSON" in response.content.decode()
    automation.refresh_from_db()
    assert automation.trigger_sample is None


def test_a_viewer_cannot_wait_for_a_request(client, viewer, automation):
    client.force_login(viewer)
    assert client.post(f"/automations/{automation.pk}/trigger/listen/").status_code == 403
    assert client.post(f"/automations/{automation.pk}/trigger/sample/").status_code == 403
    assert Automation.objects.get(pk=automation.pk).listening_until is None


def test_an_outsider_cannot_wait_for_a_request(client, outsider, automation):
    client.force_login(outsider)
    assert client.post(f"/automations/{automation.pk}/trigger/listen/").status_code == 404
    assert client.post(f"/automations/{automation.pk}/trigger/sample/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, automation):
    response = client.post(f"/automations/{automation.pk}/trigger/listen/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_trigger_panel_offers_to_wait_and_to_paste(member, automation):
    page = member.get(f"/automations/{automation.pk}/trigger/").content.decode()
    assert "Wait for a request" in page and "Or paste a sample body" in page
    assert 'data-copy="#webhook-url"' in page
