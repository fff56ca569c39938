"""Team variables in runs: {{ vars.NAME }} through a real webhook, secrets redacted and
written out only whole, documents that name a missing variable, data suggestions."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import crypto
from accounts import variables as team_variables
from accounts.models import AuditEvent, AuditKind, TeamVariable
from automations import services
from automations.models import Execution, Status
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db

SECRET = "tok-9f8e7d6c5b4a"


def echo(body) -> dict:
    return {
        "name": "Echo",
        "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
        "steps": [
            {"key": "reply", "connector": "response", "action": "respond", "config": {"body": body}}
        ],
    }


def hook(client, automation, body=None):
    return client.post(
        f"/hooks/{automation.webhook_token}/",
        json.dumps(body or {}),
        content_type="application/json",
    )


@pytest.fixture
def variables(team, owner):
    team_variables.variable_create(actor=owner, team=team, name="REGION", value="eu-west")
    team_variables.variable_create(actor=owner, team=team, name="TOKEN", value=SECRET, secret=True)


def _live(team, body):
    automation = services.automation_create(project=make_project(team), data=echo(body))
    return services.automation_activate(automation=automation)


def test_it_renders_a_plain_variable_in_a_run(client, team, variables):
    automation = _live(team, {"region": "{{ vars.REGION }}", "text": "in {{ vars.REGION }}"})
    response = hook(client, automation)
    assert response.json() == {"region": "eu-west", "text": "in eu-west"}


def test_it_uses_a_changed_value_in_the_next_run(client, team, owner, variables):
    automation = _live(team, {"region": "{{ vars.REGION }}"})
    hook(client, automation)
    region = TeamVariable.objects.get(team=team, name="REGION")
    team_variables.variable_update(actor=owner, variable=region, value="us-east")
    assert hook(client, automation).json() == {"region": "us-east"}


def test_it_keeps_a_secret_encrypted_at_rest(team, variables):
    row = TeamVariable.objects.get(team=team, name="TOKEN")
    assert row.value == ""
    assert SECRET not in row.secrets_encrypted
    assert crypto.decrypt_json(row.secrets_encrypted) == {"value": SECRET}
    assert row.hint == "••••" + SECRET[-4:]


def test_it_redacts_a_secret_variable_from_the_log(client, team, variables):
    automation = _live(team, {"auth": "Bearer {{ vars.TOKEN }}"})
    hook(client, automation)
    execution = Execution.objects.get()
    stored = json.dumps([execution.response, list(execution.step_runs.values("input", "output"))])
    assert SECRET not in stored
    assert "Bearer [redacted]" in stored


def test_it_redacts_a_secret_from_the_answer_to_the_caller(client, team, variables):
    automation = _live(team, {"auth": "{{ vars.TOKEN }}"})
    assert SECRET not in hook(client, automation).content.decode()


@pytest.mark.parametrize(
    "body",
    [
        "{{ vars.TOKEN | reverse }}",
        "{{ vars.TOKEN | list | join('-') }}",
        "{{ vars.TOKEN ~ 'x' }}",
        "{% for c in vars.TOKEN %}{{ c }} {% endfor %}",
        "{% if vars.TOKEN == 'abc' %}yes{% endif %}",
        "{% set t = vars %}{{ t.TOKEN | upper }}",
        "{{ vars | to_json }}",
        "{{ vars[trigger.body.name] | reverse }}",
    ],
)
def test_it_refuses_to_work_on_a_secret(client, team, variables, body):
    """A filter could turn the secret into text the log's redaction misses."""
    automation = _live(team, {"x": body})
    response = hook(client, automation, {"name": "TOKEN"})
    assert response.status_code == 502
    execution = Execution.objects.get()
    assert execution.status == Status.FAILED
    assert "secret variable" in execution.error
    stored = json.dumps([execution.error, list(execution.step_runs.values("input", "output"))])
    assert SECRET[::-1] not in stored and SECRET.upper() not in stored


def test_it_lets_filters_work_on_a_plain_variable(client, team, variables):
    automation = _live(team, {"x": "{{ vars.REGION | upper }}"})
    assert hook(client, automation).json() == {"x": "EU-WEST"}


def test_it_fails_a_step_naming_a_variable_deleted_since(client, team, owner, variables):
    automation = _live(team, {"x": "{{ vars.REGION }}"})
    team_variables.variable_delete(
        actor=owner, variable=TeamVariable.objects.get(team=team, name="REGION")
    )
    hook(client, automation)
    assert "the team has no variable 'REGION'" in Execution.objects.get().error


def test_it_refuses_to_save_a_reference_to_a_missing_variable(team, variables):
    with pytest.raises(ValidationError) as caught:
        services.automation_create(project=make_project(team), data=echo("{{ vars.NOPE }}"))
    assert caught.value.message_dict["steps[0].config.body"] == [
        "{{ vars.NOPE }}: the team has no variable 'NOPE'; an admin adds it on the team's page"
    ]


def test_an_imported_document_names_the_variable_it_needs(team, other_team, outsider, variables):
    automation = _live(team, {"x": "{{ vars.REGION }}"})
    document = services.automation_export(automation=automation)
    assert "eu-west" not in json.dumps(document)
    with pytest.raises(ValidationError) as caught:
        services.automation_import(project=make_project(other_team), document=document)
    assert "the team has no variable 'REGION'" in str(caught.value.message_dict)
    team_variables.variable_create(actor=outsider, team=other_team, name="REGION", value="x")
    imported = services.automation_import(project=make_project(other_team), document=document)
    assert services.automation_export(automation=imported)["steps"] == document["steps"]


def test_it_suggests_variables_without_secret_values(team, variables):
    automation = services.automation_create(project=make_project(team), data=echo("hi"))
    rows = services.data_suggestions(automation=automation)
    found = {row["path"]: row for row in rows if row["source"] == "Team variables"}
    assert found["vars.REGION"]["example"] == "eu-west"
    assert found["vars.TOKEN"]["secret"] is True
    assert SECRET not in json.dumps(rows)


def test_only_admins_manage_variables(team, teammate):
    with pytest.raises(PermissionDenied):
        team_variables.variable_create(actor=teammate, team=team, name="X", value="1")


def test_it_refuses_a_short_secret(team, owner):
    """Logs redact values of 6 characters or more; a shorter secret could show."""
    with pytest.raises(ValidationError) as caught:
        team_variables.variable_create(
            actor=owner, team=team, name="PIN", value="1234", secret=True
        )
    assert "at least 6 characters" in str(caught.value)


def test_it_records_changes_by_name_only(team, owner, variables):
    row = TeamVariable.objects.get(team=team, name="TOKEN")
    team_variables.variable_update(actor=owner, variable=row, value="new-secret-value")
    events = AuditEvent.objects.filter(
        kind__in=[AuditKind.VARIABLE_CREATED, AuditKind.VARIABLE_CHANGED]
    )
    assert events.count() == 3
    assert SECRET not in json.dumps(list(events.values()), default=str)
    assert "new-secret-value" not in json.dumps(list(events.values()), default=str)


def test_a_secret_cannot_be_made_plain(team, owner, variables):
    row = TeamVariable.objects.get(team=team, name="TOKEN")
    with pytest.raises(ValidationError):
        team_variables.variable_update(actor=owner, variable=row, secret=False)


def test_it_rotates_secret_variables_to_the_newest_key(team, variables, settings):
    old = TeamVariable.objects.get(team=team, name="TOKEN").secrets_encrypted
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.ENCRYPTION_KEYS]
    services.secrets_rotate()
    settings.ENCRYPTION_KEYS = settings.ENCRYPTION_KEYS[:1]
    row = TeamVariable.objects.get(team=team, name="TOKEN")
    assert row.secrets_encrypted != old
    assert row.run_value() == SECRET


def test_the_team_page_adds_a_secret_and_never_shows_it(client, team, owner):
    client.force_login(owner)
    response = client.post(
        f"/teams/{team.slug}/variables/", {"name": "API_KEY", "value": SECRET, "secret": "on"}
    )
    assert response.status_code == 302
    page = client.get(f"/teams/{team.slug}/").content.decode()
    assert "vars.API_KEY" in page and SECRET[-4:] in page
    assert SECRET not in page
    assert TeamVariable.objects.get(name="API_KEY").run_value() == SECRET


def test_the_team_page_shows_viewers_names_but_no_forms(client, team, viewer, variables):
    client.force_login(viewer)
    page = client.get(f"/teams/{team.slug}/").content.decode()
    assert "vars.REGION" in page and "eu-west" in page
    assert "Add variable" not in page
    assert SECRET not in page


@pytest.mark.parametrize(
    "body",
    [
        "{% filter upper %}{{ vars.TOKEN }}{% endfilter %}",
        "{% set t %}{{ vars.TOKEN }}{% endset %}{{ t | reverse }}",
    ],
)
def test_it_refuses_a_block_that_captures_a_secret(client, team, variables, body):
    automation = _live(team, {"x": body})
    assert hook(client, automation).status_code == 502
    execution = Execution.objects.get()
    assert "secret variable" in execution.error
    assert SECRET.upper() not in json.dumps(list(execution.step_runs.values("output")))


def test_it_refuses_to_work_on_an_earlier_output_holding_a_secret(client, team, variables):
    """The secret reached a step's output whole; a later step may not reverse it there."""
    definition = echo("{{ steps.carry.body | reverse }}")
    definition["steps"].insert(
        0,
        {
            "key": "carry",
            "connector": "response",
            "action": "respond",
            "config": {"body": "Bearer {{ vars.TOKEN }}"},
        },
    )
    automation = services.automation_create(project=make_project(team), data=definition)
    services.automation_activate(automation=automation)
    hook(client, automation)
    execution = Execution.objects.get()
    assert "steps.carry.body holds the value of a secret variable" in execution.error
    assert SECRET[::-1] not in json.dumps(list(execution.step_runs.values("input", "output")))
