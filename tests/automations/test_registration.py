"""Issue 9, item 10: registrations with outside services end true, whatever fails.

Activation, deactivation and trigger changes make no outside call under a row lock; a
new webhook is created before the old one is removed; a failure leaves the automation
active with a live webhook that the database names, or inactive with the error shown;
a double click registers one webhook. The admin switches automations through the same
services and validates with the API's validator.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db.utils import OperationalError
from django.utils import timezone

from automations import services
from automations.models import Automation, Step
from tests.automations.factories import make_project
from tests.conftest import api_for
from tests.standins.contentstack import cs_error

pytestmark = pytest.mark.django_db

TRIGGER = {"connector": "contentstack", "trigger": "entry"}


def _entry_automation(team, account, *, active: bool = True) -> Automation:
    automation = services.automation_create(
        project=make_project(team),
        data={
            "name": "On new posts",
            "trigger": {
                **TRIGGER,
                "account": account.pk,
                "config": {"event": "created", "content_type": "blog_post"},
            },
            "steps": [],
        },
    )
    return services.automation_activate(automation=automation) if active else automation


def _published(account) -> dict:
    return {
        "trigger": {
            **TRIGGER,
            "account": account.pk,
            "config": {"event": "published", "content_type": "blog_post"},
        }
    }


def _down() -> object:
    return cs_error(500, "Something went wrong.", 500)


def test_it_keeps_the_old_webhook_when_the_new_one_cannot_be_created(
    api, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account)
    (old_uid,) = contentstack_standin.webhooks
    contentstack_standin.webhook_create_errors.append(_down())
    response = api.put(
        f"/api/v1/automations/{automation.pk}/", _published(contentstack_account), format="json"
    )
    assert response.status_code == 400
    assert "Could not register the trigger" in response.json()["trigger"][0]
    assert list(contentstack_standin.webhooks) == [old_uid]
    shown = api.get(f"/api/v1/automations/{automation.pk}/").json()
    assert shown["active"] is True
    assert shown["trigger"]["state"]["webhook_uid"] == old_uid
    assert shown["trigger"]["config"]["event"] == "created"
    assert "Could not register the trigger" in shown["trigger"]["error"]


def test_a_trigger_change_creates_the_new_webhook_then_removes_the_old(
    api, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account)
    (old_uid,) = contentstack_standin.webhooks
    response = api.put(
        f"/api/v1/automations/{automation.pk}/", _published(contentstack_account), format="json"
    )
    assert response.status_code == 200
    (new_uid,) = contentstack_standin.webhooks
    assert new_uid != old_uid
    methods = [r.method for r in contentstack_standin.received if "/webhooks" in r.path]
    assert methods == ["POST", "POST", "DELETE"]
    assert response.json()["trigger"]["state"]["webhook_uid"] == new_uid
    assert response.json()["trigger"]["error"] == ""


def test_a_failed_activation_leaves_it_inactive_with_the_error_shown(
    api, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account, active=False)
    contentstack_standin.webhook_create_errors.append(_down())
    response = api.post(f"/api/v1/automations/{automation.pk}/activate/")
    assert response.status_code == 400
    shown = api.get(f"/api/v1/automations/{automation.pk}/").json()
    assert shown["active"] is False and shown["trigger"]["state"] == {}
    assert "Could not register the trigger" in shown["trigger"]["error"]
    assert contentstack_standin.webhooks == {}
    assert api.post(f"/api/v1/automations/{automation.pk}/activate/").status_code == 200
    assert api.get(f"/api/v1/automations/{automation.pk}/").json()["trigger"]["error"] == ""


def test_a_failed_removal_leaves_it_inactive_with_the_webhook_named(
    client, api, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account)
    (uid,) = contentstack_standin.webhooks
    contentstack_standin.webhook_delete_errors.append(_down())
    response = api.post(f"/api/v1/automations/{automation.pk}/deactivate/")
    assert response.status_code == 400
    shown = api.get(f"/api/v1/automations/{automation.pk}/").json()
    assert shown["active"] is False
    assert shown["trigger"]["state"]["webhook_uid"] == uid
    assert "Could not remove the old registration" in shown["trigger"]["error"]
    delivery = client.post(
        f"/hooks/contentstack/{automation.webhook_token}/", "{}", content_type="application/json"
    )
    assert delivery.status_code == 409
    # Switching off again removes what is left.
    assert api.post(f"/api/v1/automations/{automation.pk}/deactivate/").status_code == 200
    assert contentstack_standin.webhooks == {}


def test_the_wizard_shows_the_registration_error(
    client, owner, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account, active=False)
    contentstack_standin.webhook_create_errors.append(_down())
    client.force_login(owner)
    client.post(f"/automations/{automation.pk}/activate/")
    page = client.get(f"/automations/{automation.pk}/").content.decode()
    assert "Could not register the trigger with its service" in page


def test_it_refuses_a_switch_while_a_registration_is_out(api, team, contentstack_account):
    automation = _entry_automation(team, contentstack_account, active=False)
    Automation.objects.filter(pk=automation.pk).update(registering_since=timezone.now())
    response = api.post(f"/api/v1/automations/{automation.pk}/activate/")
    assert response.status_code == 400
    assert "try again in a moment" in response.json()["trigger"][0]


def test_a_mark_left_by_a_dead_process_is_taken_over(
    api, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account, active=False)
    left = timezone.now() - timedelta(minutes=10)
    Automation.objects.filter(pk=automation.pk).update(registering_since=left)
    assert api.post(f"/api/v1/automations/{automation.pk}/activate/").status_code == 200
    assert len(contentstack_standin.webhooks) == 1


def _pg_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (concurrent transactions)")


@pytest.mark.django_db(transaction=True)
def test_a_double_click_makes_one_webhook(owner, team, contentstack_account, contentstack_standin):
    _pg_only()
    automation = _entry_automation(team, contentstack_account, active=False)
    contentstack_standin.webhook_delay = 0.5
    answers: list[int] = []
    start = threading.Barrier(2)

    def click() -> None:
        try:
            start.wait()
            answers.append(
                api_for(owner).post(f"/api/v1/automations/{automation.pk}/activate/").status_code
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert contentstack_standin.webhooks_created == 1
    assert sorted(answers) in ([200, 200], [200, 400])
    automation.refresh_from_db()
    assert automation.active
    assert automation.trigger_state["webhook_uid"] in contentstack_standin.webhooks


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_service_is_called(
    owner, team, contentstack_account, contentstack_standin
):
    _pg_only()
    automation = _entry_automation(team, contentstack_account)
    contentstack_standin.webhook_delay = 1.0
    change = _published(contentstack_account)

    def edit() -> None:
        try:
            api_for(owner).put(f"/api/v1/automations/{automation.pk}/", change, format="json")
        finally:
            connections.close_all()

    thread = threading.Thread(target=edit)
    thread.start()
    while contentstack_standin.webhooks_created < 2:
        threading.Event().wait(0.02)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM automations_automation WHERE id = %s FOR UPDATE NOWAIT",
                [automation.pk],
            )
        locked = False
    except OperationalError:
        locked = True
    thread.join()
    assert not locked
    automation.refresh_from_db()
    assert automation.trigger_config["event"] == "published"


# -- the admin -----------------------------------------------------------------------------


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def _admin_data(automation: Automation, steps: list[dict], **fields) -> dict:
    data = {
        "project": automation.project_id,
        "name": automation.name,
        "description": "",
        "trigger_connector": automation.trigger_connector,
        "trigger_key": automation.trigger_key,
        "trigger_config": json.dumps(automation.trigger_config),
        "trigger_conditions": "[]",
        "trigger_account": automation.trigger_account_id or "",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for index, step in enumerate(steps):
        for key, value in {"position": index, "name": "", "max_attempts": 3, **step}.items():
            data[f"steps-{index}-{key}"] = json.dumps(value) if key == "config" else value
    return {**data, **fields}


def _reply(key: str, body: str = "ok", **extra) -> dict:
    return {
        "key": key,
        "connector": "response",
        "action": "respond",
        "config": {"body": body},
        **extra,
    }


def _hook(team, active: bool = False) -> Automation:
    automation = services.automation_create(
        project=make_project(team),
        data={
            "name": "Hook",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [],
        },
    )
    return services.automation_activate(automation=automation) if active else automation


def test_the_admin_does_not_switch_on_with_a_checkbox(staff, team):
    automation = _hook(team)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = staff.post(url, _admin_data(automation, [], active="on"))
    assert response.status_code == 302
    automation.refresh_from_db()
    assert automation.active is False


def test_the_admin_activate_action_registers_the_webhook(
    staff, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account, active=False)
    response = staff.post(
        "/admin/automations/automation/",
        {"action": "activate", "_selected_action": [automation.pk]},
        follow=True,
    )
    assert "1 automation(s) activated." in response.content.decode()
    automation.refresh_from_db()
    assert automation.active
    assert automation.trigger_state["webhook_uid"] in contentstack_standin.webhooks


def test_the_admin_action_reports_a_registration_error(
    staff, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account, active=False)
    contentstack_standin.webhook_create_errors.append(_down())
    response = staff.post(
        "/admin/automations/automation/",
        {"action": "activate", "_selected_action": [automation.pk]},
        follow=True,
    )
    assert "Could not register the trigger with its service" in response.content.decode()
    automation.refresh_from_db()
    assert not automation.active


def test_the_admin_deactivate_action_removes_the_webhook(
    staff, team, contentstack_account, contentstack_standin
):
    automation = _entry_automation(team, contentstack_account)
    staff.post(
        "/admin/automations/automation/",
        {"action": "deactivate", "_selected_action": [automation.pk]},
    )
    automation.refresh_from_db()
    assert not automation.active and contentstack_standin.webhooks == {}


def _step_errors(response) -> list[dict]:
    return response.context["inline_admin_formsets"][0].formset.errors


def test_the_admin_refuses_a_step_key_the_api_refuses(staff, team):
    automation = _hook(team)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = staff.post(url, _admin_data(automation, [_reply("Bad-Key")]))
    assert response.status_code == 200
    assert "must start with a letter" in _step_errors(response)[0]["key"][0]
    assert not Step.objects.filter(automation=automation).exists()


def test_the_admin_refuses_attempts_out_of_bounds(staff, team):
    automation = _hook(team)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = staff.post(url, _admin_data(automation, [_reply("reply", max_attempts=0)]))
    assert response.status_code == 200
    assert _step_errors(response)[0]["max_attempts"] == ["must be a number between 1 and 10"]


def test_the_admin_refuses_a_reference_to_a_later_step(staff, team):
    automation = _hook(team)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    steps = [_reply("first", "{{ steps.second.body }}"), _reply("second")]
    response = staff.post(url, _admin_data(automation, steps))
    assert response.status_code == 200
    assert "does not come before" in _step_errors(response)[0]["config"][0]


def test_the_admin_refuses_a_duplicate_step_key(staff, team):
    automation = _hook(team)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    response = staff.post(url, _admin_data(automation, [_reply("same"), _reply("same")]))
    assert response.status_code == 200
    assert not Step.objects.filter(automation=automation).exists()


def test_the_admin_keeps_the_trigger_of_an_active_automation_read_only(staff, team):
    automation = _hook(team, active=True)
    url = f"/admin/automations/automation/{automation.pk}/change/"
    data = _admin_data(automation, [], trigger_config='{"method": "GET"}')
    assert staff.post(url, data).status_code == 302
    automation.refresh_from_db()
    assert automation.trigger_config["method"] == "POST"
