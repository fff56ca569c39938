from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from automations.models import Execution, Status
from tests.api.test_personas import ECHO
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(team):
    return make_project(team)


def create_echo(api, project, **extra):
    response = api.post(
        "/api/v1/automations/", {"project": project.pk, **ECHO, **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_it_authenticates_with_a_token_from_the_command(owner, team, capsys):
    call_command("create_api_token", owner.username, "--name", "laptop")
    key = capsys.readouterr().out.strip()
    client = APIClient()
    response = client.get("/api/v1/projects/", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 200
    bad = client.get("/api/v1/projects/", headers={"Authorization": "Token nope"})
    assert bad.status_code == 401


def test_accounts_take_credentials_but_never_return_them(api, team, vault_connector):
    response = api.post(
        "/api/v1/accounts/",
        {
            "connector": "vault",
            "title": "Main",
            "credentials": {"api_key": "sk-do-not-echo-1234", "region": "eu"},
        },
        format="json",
    )
    assert response.status_code == 201
    assert "sk-do-not-echo" not in response.content.decode()
    assert response.json()["hint"] == "••••1234"
    assert response.json()["config"] == {"region": "eu"}
    listing = api.get("/api/v1/accounts/").content.decode()
    assert "sk-do-not-echo" not in listing


def test_a_bad_account_names_the_field(api, team, vault_connector):
    response = api.post(
        "/api/v1/accounts/",
        {
            "connector": "vault",
            "title": "Bad",
            "credentials": {"api_key": "rejected-key", "region": "eu"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"credentials.api_key": ["The service rejected this API key."]}


def test_an_account_in_use_cannot_be_deleted(api, team, vault_connector, monkeypatch):
    from accounts import services as account_services
    from automations.models import Step

    account = account_services.account_create(
        team=team,
        connector="vault",
        title="Used",
        credentials={"api_key": "k" * 12, "region": "eu"},
    )
    automation = create_echo(api, make_project(team))
    Step.objects.filter(automation_id=automation["id"]).update(account=account)
    response = api.delete(f"/api/v1/accounts/{account.pk}/")
    assert response.status_code == 400
    assert "used by automations" in response.json()["detail"][0]


def test_it_creates_an_automation_with_its_webhook_url(api, project):
    body = create_echo(api, project)
    assert body["webhook_url"].startswith("http://testserver/hooks/")
    assert body["steps"][0]["key"] == "reply"
    assert body["active"] is False


def test_bad_definitions_answer_400_with_paths(api, project):
    bad = {**ECHO, "steps": [{"key": "reply", "connector": "response", "action": "respond",
                              "config": {"status": "teapot"}}]}  # fmt: skip
    response = api.post("/api/v1/automations/", {"project": project.pk, **bad}, format="json")
    assert response.status_code == 400
    assert response.json() == {"steps[0].config.status": ["must be a number, not 'teapot'"]}


def test_import_and_export(api, project, team):
    created = create_echo(api, project)
    document = api.get(f"/api/v1/automations/{created['id']}/export/").json()
    assert document["format"] == "switchboard/automation@1"
    response = api.post(
        "/api/v1/automations/import/",
        {"project": project.pk, "document": document, "name": "Copy"},
        format="json",
    )
    assert response.status_code == 201
    copy = api.get(f"/api/v1/automations/{response.json()['id']}/export/").json()
    assert {**copy, "name": "Echo"} == document


def test_import_errors_carry_json_paths(api, project):
    document = {
        "format": "switchboard/automation@1",
        "name": "",
        "trigger": {"connector": "http", "trigger": "nope"},
    }
    response = api.post(
        "/api/v1/automations/import/", {"project": project.pk, "document": document}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "name": ["is required"],
        "trigger.trigger": ["HTTP has no trigger 'nope' (request)"],
    }


def test_activate_run_and_read_the_execution(api, project, django_capture_on_commit_callbacks):
    created = create_echo(api, project)
    assert api.post(f"/api/v1/automations/{created['id']}/activate/").json()["active"] is True
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post(
            f"/api/v1/automations/{created['id']}/run/",
            {"payload": {"body": {"a": 1}}},
            format="json",
        )
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    detail = api.get(f"/api/v1/executions/{queued.json()['id']}/").json()
    assert detail["status"] == "succeeded"
    assert detail["step_runs"][0]["output"]["body"] == {"a": 1}
    waited = api.post(
        f"/api/v1/automations/{created['id']}/run/",
        {"payload": {"body": 2}, "wait": True},
        format="json",
    )
    assert waited.json()["response"]["body"] == 2


def test_executions_filter_and_paginate_newest_first(api, project):
    automation_id = create_echo(api, project)["id"]
    now = timezone.now()
    for minutes, status in [(30, Status.SUCCEEDED), (20, Status.FAILED), (10, Status.FAILED)]:
        e = Execution.objects.create(automation_id=automation_id, status=status)
        Execution.objects.filter(pk=e.pk).update(created_at=now - timedelta(minutes=minutes))
    page = api.get("/api/v1/executions/", {"status": "failed"}).json()
    assert len(page["results"]) == 2
    times = [row["created_at"] for row in page["results"]]
    assert times == sorted(times, reverse=True)
    since = (now - timedelta(minutes=25)).isoformat()
    assert len(api.get("/api/v1/executions/", {"since": since}).json()["results"]) == 2
    assert len(api.get("/api/v1/executions/", {"automation": automation_id}).json()["results"]) == 3
    assert api.get("/api/v1/executions/", {"status": "weird"}).status_code == 400
    assert api.get("/api/v1/executions/", {"since": "yesterday"}).status_code == 400


def test_the_catalog_lists_connectors_with_their_fields(api):
    catalog = {c["key"]: c for c in api.get("/api/v1/connectors/").json()}
    respond = catalog["response"]["actions"][0]
    assert [f["key"] for f in respond["fields"]] == ["status", "body", "headers"]
    assert catalog["http"]["triggers"][0]["fields"][1]["secret"] is True


def test_the_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/automations/{id}/run/" in schema.content
    assert api.get("/api/docs/").status_code == 200


def test_teams_list_and_create(api, team):
    assert [t["slug"] for t in api.get("/api/v1/teams/").json()] == [team.slug]
    created = api.post("/api/v1/teams/", {"name": "Second"}, format="json")
    assert created.status_code == 201 and created.json()["role"] == "owner"
