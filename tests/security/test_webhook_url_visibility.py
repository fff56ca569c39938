"""Issue 8, item 13: a webhook URL starts runs with no other credential, so only roles
that may run an automation (editor and above) are shown it; viewers cannot start runs."""

from __future__ import annotations

import pytest
from django.test import Client

from automations import services
from automations.models import Execution
from tests.automations.factories import make_project
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def automation(team):
    definition = {
        "name": "Echo",
        "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
        "steps": [{"key": "reply", "connector": "response", "action": "respond", "config": {}}],
    }
    automation = services.automation_create(project=make_project(team), data=definition)
    return services.automation_activate(automation=automation)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/api/v1/automations/{pk}/", "/api/v1/automations/"])
def test_a_viewer_gets_no_webhook_url_from_the_api(viewer, automation, url):
    response = api_for(viewer).get(url.format(pk=automation.pk))
    assert response.status_code == 200
    assert automation.webhook_token not in response.content.decode()


@pytest.mark.parametrize("page", ["", "trigger/"])
def test_a_viewer_gets_no_webhook_url_in_the_wizard(viewer, automation, page):
    response = _signed_in(viewer).get(f"/automations/{automation.pk}/{page}")
    assert response.status_code == 200
    assert automation.webhook_token not in response.content.decode()


def test_an_editor_sees_the_webhook_url_in_the_api(teammate, automation):
    body = api_for(teammate).get(f"/api/v1/automations/{automation.pk}/").json()
    assert body["webhook_url"].endswith(f"/hooks/{automation.webhook_token}/")


def test_an_editor_sees_the_webhook_url_in_the_wizard(teammate, automation):
    response = _signed_in(teammate).get(f"/automations/{automation.pk}/")
    assert f"/hooks/{automation.webhook_token}/" in response.content.decode()


def test_a_viewer_cannot_start_a_run(viewer, automation):
    response = api_for(viewer).post(f"/api/v1/automations/{automation.pk}/run/", {}, format="json")
    assert response.status_code == 403
    assert not Execution.objects.exists()
