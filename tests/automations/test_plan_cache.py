"""Issue 9, item 12: a cached plan is never served stale, whatever path changed it.

Each test warms the plan cache with a webhook, changes the automation through one
write path, and calls the webhook again: the new behaviour answers. Run on SQLite and on
PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from automations import services
from automations.models import Automation
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db

KEY = "plan-cache-key-0123456789"


def _hook(team, body: str = "old", **trigger_config) -> Automation:
    automation = services.automation_create(
        project=make_project(team),
        data={
            "name": "Hook",
            "trigger": {
                "connector": "http",
                "trigger": "request",
                "config": {"method": "POST", **trigger_config},
            },
            "steps": [
                {
                    "key": "reply",
                    "connector": "response",
                    "action": "respond",
                    "config": {"body": body},
                }
            ],
        },
    )
    return services.automation_activate(automation=automation)


def _call(client, automation: Automation, query: str = ""):
    return client.post(f"/hooks/{automation.webhook_token}/{query}", "{}", "application/json")


def test_it_serves_a_change_made_through_the_api(client, api, team):
    automation = _hook(team)
    assert _call(client, automation).content == b"old"
    definition = services.automation_export(automation=automation)
    steps = definition["steps"]
    steps[0]["config"]["body"] = "new"
    response = api.put(f"/api/v1/automations/{automation.pk}/", {"steps": steps}, format="json")
    assert response.status_code == 200
    assert _call(client, automation).content == b"new"


def test_it_serves_a_step_edited_in_the_admin(client, admin_user, team):
    automation = _hook(team)
    assert _call(client, automation).content == b"old"
    step = automation.steps.get()
    staff = type(client)()
    staff.force_login(admin_user)
    data = {
        "project": automation.project_id,
        "name": automation.name,
        "description": "",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "1",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-id": step.pk,
        "steps-0-automation": automation.pk,
        "steps-0-position": "0",
        "steps-0-key": "reply",
        "steps-0-name": "",
        "steps-0-connector": "response",
        "steps-0-action": "respond",
        "steps-0-account": "",
        "steps-0-config": json.dumps({"body": "new"}),
        "steps-0-max_attempts": "3",
    }
    response = staff.post(f"/admin/automations/automation/{automation.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    assert _call(client, automation).content == b"new"


def test_it_serves_a_deactivation_made_in_the_admin(client, admin_user, team):
    automation = _hook(team)
    assert _call(client, automation).status_code == 200
    staff = type(client)()
    staff.force_login(admin_user)
    staff.post(
        "/admin/automations/automation/",
        {"action": "deactivate", "_selected_action": [automation.pk]},
    )
    assert _call(client, automation).status_code == 409


def test_it_serves_a_deactivation_made_through_the_api(client, api, team):
    automation = _hook(team)
    assert _call(client, automation).status_code == 200
    assert api.post(f"/api/v1/automations/{automation.pk}/deactivate/").status_code == 200
    assert _call(client, automation).status_code == 409


def test_it_serves_secrets_rotated_to_a_new_key(client, team, settings):
    old_key = settings.ENCRYPTION_KEYS[0]
    automation = _hook(team, secret=KEY)
    assert _call(client, automation, f"?key={KEY}").status_code == 200
    new_key = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new_key, old_key]
    services.secrets_rotate()
    settings.ENCRYPTION_KEYS = [new_key]  # the old key is dropped after rotating
    assert _call(client, automation, f"?key={KEY}").status_code == 200


def test_it_serves_a_rotation_made_by_the_command(client, team, settings):
    old_key = settings.ENCRYPTION_KEYS[0]
    automation = _hook(team, secret=KEY)
    assert _call(client, automation, f"?key={KEY}").status_code == 200
    new_key = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_credentials")
    settings.ENCRYPTION_KEYS = [new_key]
    assert _call(client, automation, f"?key={KEY}").status_code == 200


def test_a_sample_update_does_not_reload_the_plan(api, team):
    automation = _hook(team)
    automation.refresh_from_db()
    before = automation.version
    api.post(f"/api/v1/automations/{automation.pk}/steps/reply/test/")
    automation.refresh_from_db()
    assert automation.version == before
