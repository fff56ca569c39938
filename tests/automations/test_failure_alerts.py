"""On failure: a run that fails, through a real webhook (inline) or the queue, e-mails
the team's admins or chosen members at most once per FAILURE_ALERT_MINUTES, and/or runs
an error automation with the failure as its input, never in a loop."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Role
from automations import services
from automations.models import Automation, Execution, Status, StepRun
from tests.automations.factories import make_project
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


def failing(name: str = "Publish news") -> dict:
    """Answers the caller, and fails: its step refers to a path the event lacks."""
    return {
        "name": name,
        "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
        "steps": [
            {
                "key": "reply",
                "name": "Answer",
                "connector": "response",
                "action": "respond",
                "config": {"body": "{{ trigger.body.missing }}"},
            }
        ],
    }


def error_handler(name: str = "Report", body="{{ trigger }}", schema=None) -> dict:
    config = {"schema": schema} if schema else {}
    return {
        "name": name,
        "trigger": {"connector": "sub_automation", "trigger": "called", "config": config},
        "steps": [
            {"key": "note", "connector": "response", "action": "respond", "config": {"body": body}}
        ],
    }


@pytest.fixture
def project(team):
    return make_project(team)


@pytest.fixture
def admin(make_user, owner, team):
    user = make_user("ada")
    account_services.membership_set(actor=owner, team=team, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def broken(project, admin, teammate):
    automation = services.automation_create(project=project, data=failing())
    services.automation_on_failure_set(automation=automation, data={"email": True})
    return services.automation_activate(automation=automation)


def hook(client, automation, capture, body=None):
    with capture(execute=True):
        return client.post(
            f"/hooks/{automation.webhook_token}/",
            json.dumps(body or {}),
            content_type="application/json",
        )


def test_it_emails_the_owners_and_admins_when_a_run_fails(
    client, broken, django_capture_on_commit_callbacks
):
    assert hook(client, broken, django_capture_on_commit_callbacks).status_code == 502
    execution = Execution.objects.get()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["ada@example.com", "olivia@example.com"]  # not the editor
    assert message.subject == "[Switchboard] Publish news failed"
    assert "Failed step: Answer" in message.body
    assert "trigger.body.missing does not exist" in message.body
    assert f"http://testserver/executions/{execution.pk}/" in message.body


def test_it_emails_at_most_once_per_window_and_counts_the_rest(
    client, broken, django_capture_on_commit_callbacks
):
    for _ in range(3):
        hook(client, broken, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    Automation.objects.filter(pk=broken.pk).update(
        failure_alert_at=timezone.now() - timedelta(minutes=16)
    )
    hook(client, broken, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "[Switchboard] Publish news failed (and 2 more failures)"
    assert "and 2 more failures of this automation since the last alert" in mail.outbox[1].body


def test_it_emails_the_chosen_members_only(
    client, broken, teammate, django_capture_on_commit_callbacks
):
    services.automation_on_failure_set(automation=broken, data={"recipients": [teammate.pk]})
    hook(client, broken, django_capture_on_commit_callbacks)
    assert mail.outbox[0].to == ["tom@example.com"]


def test_it_refuses_a_recipient_of_another_team(broken, outsider):
    with pytest.raises(ValidationError) as caught:
        services.automation_on_failure_set(automation=broken, data={"recipients": [outsider.pk]})
    assert "not members of this team" in str(caught.value)


def test_it_sends_nothing_when_the_run_succeeds(client, broken, django_capture_on_commit_callbacks):
    hook(client, broken, django_capture_on_commit_callbacks, {"missing": "here"})
    assert Execution.objects.get().status == Status.SUCCEEDED
    assert mail.outbox == []


def test_it_sends_nothing_when_on_failure_is_off(
    client, project, django_capture_on_commit_callbacks
):
    automation = services.automation_activate(
        automation=services.automation_create(project=project, data=failing())
    )
    hook(client, automation, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_it_sends_nothing_for_a_test_run(broken, django_capture_on_commit_callbacks):
    broken.trigger_sample = {"body": {}}
    broken.save(update_fields=["trigger_sample"])
    with django_capture_on_commit_callbacks(execute=True):
        execution = services.step_test(automation=broken, key="reply")
    assert execution.status == Status.FAILED
    assert mail.outbox == []


def test_it_emails_when_a_queued_run_fails(project, admin, django_capture_on_commit_callbacks):
    definition = failing("Queued")
    definition["steps"][0] = {
        "key": "fetch",
        "connector": "http",
        "action": "request",
        "config": {"method": "GET", "url": "{{ trigger.body.url }}"},
    }
    automation = services.automation_create(project=project, data=definition)
    services.automation_on_failure_set(automation=automation, data={"email": True})
    with django_capture_on_commit_callbacks(execute=True):
        services.automation_run(automation=automation, payload={"body": {}})
    assert Execution.objects.get().status == Status.FAILED
    assert len(mail.outbox) == 1
    assert "Failed step: fetch" in mail.outbox[0].body


def test_it_emails_when_recovery_fails_a_run(broken, django_capture_on_commit_callbacks):
    execution = Execution.objects.create(
        automation=broken,
        status=Status.RUNNING,
        trigger_output={},
        started_at=timezone.now() - timedelta(minutes=2),
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    StepRun.objects.create(
        execution=execution,
        position=0,
        step_key="reply",
        connector="response",
        action="respond",
        status=Status.RUNNING,
        started_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.execution_housekeeping()
    assert len(mail.outbox) == 1
    assert "The worker stopped during step 'Answer'" in mail.outbox[0].body


def test_it_runs_the_error_automation_with_the_failure(
    client, project, django_capture_on_commit_callbacks
):
    handler = services.automation_activate(
        automation=services.automation_create(project=project, data=error_handler())
    )
    automation = services.automation_create(project=project, data=failing())
    services.automation_on_failure_set(automation=automation, data={"automation": "Report"})
    services.automation_activate(automation=automation)
    hook(client, automation, django_capture_on_commit_callbacks)
    failed = Execution.objects.get(automation=automation)
    run = Execution.objects.get(automation=handler)
    assert run.status == Status.SUCCEEDED, run.error
    assert run.trigger_output == {
        "execution_id": failed.pk,
        "automation": "Publish news",
        "step": "Answer",
        "error": failed.error,
        "url": f"http://testserver/executions/{failed.pk}/",
    }
    assert mail.outbox == []


def test_an_error_automation_gets_only_the_inputs_it_declares(
    client, project, django_capture_on_commit_callbacks
):
    schema = [{"key": "error", "type": "string", "required": True}]
    handler = services.automation_activate(
        automation=services.automation_create(project=project, data=error_handler(schema=schema))
    )
    automation = services.automation_create(project=project, data=failing())
    services.automation_on_failure_set(automation=automation, data={"automation": handler.pk})
    services.automation_activate(automation=automation)
    hook(client, automation, django_capture_on_commit_callbacks)
    assert list(Execution.objects.get(automation=handler).trigger_output) == ["error"]


def test_it_never_runs_an_error_automation_for_an_error_automation(
    client, project, django_capture_on_commit_callbacks
):
    """Report fails too, and names Escalate for its own failures; as the error
    automation of another, it starts none: error automations cannot loop."""
    report = services.automation_activate(
        automation=services.automation_create(
            project=project, data=error_handler(body="{{ trigger.nothing }}")
        )
    )
    escalate = services.automation_activate(
        automation=services.automation_create(project=project, data=error_handler("Escalate"))
    )
    services.automation_on_failure_set(automation=escalate, data={"automation": report.pk})
    services.automation_on_failure_set(automation=report, data={"automation": escalate.pk})
    automation = services.automation_create(project=project, data=failing())
    services.automation_on_failure_set(automation=automation, data={"automation": report.pk})
    services.automation_activate(automation=automation)
    hook(client, automation, django_capture_on_commit_callbacks)
    assert Execution.objects.get(automation=report).status == Status.FAILED
    assert not Execution.objects.filter(automation=escalate).exists()


@pytest.mark.parametrize(
    "target, message",
    [
        ("self", "cannot be the automation itself"),
        ("webhook", "is not a sub automation"),
        ("elsewhere", "no such automation in this project"),
    ],
)
def test_it_refuses_an_error_automation_that_cannot_be_one(api, team, project, target, message):
    automation = services.automation_create(project=project, data=failing())
    other = services.automation_create(project=project, data=failing("Other hook"))
    elsewhere = services.automation_create(project=make_project(team), data=error_handler())
    ids = {"self": automation.pk, "webhook": other.pk, "elsewhere": elsewhere.pk}
    response = api.patch(
        f"/api/v1/automations/{automation.pk}/",
        {"on_failure": {"automation": ids[target]}},
        format="json",
        headers={"X-Team": team.slug},
    )
    assert response.status_code == 400
    assert message in json.dumps(response.json())


def test_the_api_shows_and_changes_on_failure(api, team, project, teammate):
    automation = services.automation_create(project=project, data=failing())
    handler = services.automation_create(project=project, data=error_handler())
    url = f"/api/v1/automations/{automation.pk}/"
    body = {"on_failure": {"email": True, "recipients": [teammate.pk], "automation": handler.pk}}
    response = api.patch(url, body, format="json", headers={"X-Team": team.slug})
    assert response.status_code == 200, response.content
    assert response.json()["on_failure"] == body["on_failure"]
    automation.refresh_from_db()
    assert automation.failure_email and automation.failure_automation_id == handler.pk


def test_a_viewer_cannot_change_on_failure(team, project, viewer):
    automation = services.automation_create(project=project, data=failing())
    response = api_for(viewer).patch(
        f"/api/v1/automations/{automation.pk}/",
        {"on_failure": {"email": True}},
        format="json",
        headers={"X-Team": team.slug},
    )
    assert response.status_code == 403
    automation.refresh_from_db()
    assert automation.failure_email is False


def test_the_editor_saves_on_failure(client, team, project, owner, teammate):
    automation = services.automation_create(project=project, data=failing())
    handler = services.automation_create(project=project, data=error_handler())
    client.force_login(owner)
    page = client.get(f"/automations/{automation.pk}/").content.decode()
    assert "On failure" in page and "Report" in page
    response = client.post(
        f"/automations/{automation.pk}/on-failure/",
        {"email": "on", "recipients": [str(teammate.pk)], "automation": str(handler.pk)},
    )
    assert response.status_code == 302
    automation.refresh_from_db()
    assert automation.failure_email
    assert automation.failure_recipients == [teammate.pk]
    assert automation.failure_automation_id == handler.pk


def test_the_admin_shows_on_failure_read_only(client, team, project, owner):
    automation = services.automation_create(project=project, data=failing())
    owner.is_staff = owner.is_superuser = True
    owner.save()
    client.force_login(owner)
    page = client.get(f"/admin/automations/automation/{automation.pk}/change/").content.decode()
    assert "On failure" in page
    assert 'name="failure_email"' not in page
