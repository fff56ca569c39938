from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import services as account_services
from automations import services
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


def document(**overrides):
    doc = {
        "format": "switchboard/automation@1",
        "name": "Translate",
        "description": "Answers with a translation",
        "trigger": {"connector": "http", "trigger": "request", "account": None,
                    "config": {"method": "POST"},
                    "conditions": [{"path": "body.text", "operator": "is_empty", "value": None}]},
        "steps": [
            {"key": "fetch", "name": "Fetch", "connector": "http", "action": "request",
             "account": None, "config": {"method": "GET", "url": "https://example.com/{{ trigger.body.id }}"},
             "max_attempts": 3},
            {"key": "reply", "name": "Reply", "connector": "response", "action": "respond",
             "account": None, "config": {"status": 200, "body": "{{ steps.fetch.body }}"},
             "max_attempts": 3},
        ],
    }  # fmt: skip
    doc.update(overrides)
    return doc


def test_export_then_import_gives_an_identical_automation(team, other_team):
    original = services.automation_import(project=make_project(team), document=document())
    exported = services.automation_export(automation=original)
    assert exported == document()
    copy = services.automation_import(project=make_project(other_team), document=exported)
    assert services.automation_export(automation=copy) == exported
    assert copy.webhook_token != original.webhook_token


def test_accounts_are_named_by_title_and_secrets_never_exported(team, vault_connector, monkeypatch):
    # A connector whose step uses an account: the Vault test connector grows an action.
    from connectors import fields as f
    from connectors.base import Action
    from tests.support.vault import VaultConnector

    class Lookup(Action):
        key = "lookup"
        label = "Lookup"
        needs_account = True
        fields = (f.Field("token", "Token", secret=True, required=False), f.Field("q", "Query"))

        def run(self, params, context):
            return {"q": params["q"]}

    monkeypatch.setattr(VaultConnector, "actions", (Lookup,))
    account = account_services.account_create(
        team=team,
        connector="vault",
        title="Vault EU",
        credentials={"api_key": "k" * 16, "region": "eu"},
    )
    doc = document()
    doc["steps"].insert(0, {"key": "look", "name": "", "connector": "vault", "action": "lookup",
                            "account": "Vault EU", "config": {"q": "x", "token": "tok-secret-999"},
                            "max_attempts": 3})  # fmt: skip
    automation = services.automation_import(project=make_project(team), document=doc)
    step = automation.steps.get(key="look")
    assert step.account == account
    assert step.get_secrets() == {"token": "tok-secret-999"}
    exported = services.automation_export(automation=automation)
    assert exported["steps"][0]["account"] == "Vault EU"
    assert "tok-secret-999" not in str(exported)
    assert exported["steps"][0]["config"] == {"q": "x"}


def _errors(team, doc) -> dict:
    project = team.projects.first() or make_project(team)
    with pytest.raises(ValidationError) as caught:
        services.automation_import(project=project, document=doc)
    return {k: v[0] for k, v in caught.value.message_dict.items()}


def test_import_reports_each_problem_with_its_json_path(team):
    doc = document()
    doc["steps"][1]["config"]["status"] = 700
    doc["steps"][0]["config"]["method"] = "FETCH"
    doc["steps"].append({"key": "reply", "connector": "response", "action": "shout", "config": {}})
    doc["steps"].append({"key": "Bad Key", "connector": "nope", "action": "x"})
    doc["trigger"]["conditions"][0]["operator"] = "sounds_like"
    errors = _errors(team, doc)
    assert errors["steps[1].config.status"] == "must be a number between 200 and 599"
    assert errors["steps[0].config.method"] == "must be one of: GET, POST, PUT, PATCH, DELETE"
    assert errors["steps[2].key"] == "'reply' is used by an earlier step"
    assert errors["steps[2].action"].startswith("Response has no action 'shout'")
    assert errors["steps[3].key"].startswith("must start with a letter")
    assert errors["steps[3].connector"] == "there is no connector 'nope'"
    assert errors["trigger.conditions[0].operator"].startswith("must be one of")


def test_import_refuses_references_to_later_steps(team):
    doc = document()
    doc["steps"][0]["config"]["url"] = "https://example.com/{{ steps.reply.body }}"
    assert (
        "refers to step 'reply', which does not come before"
        in _errors(team, doc)["steps[0].config.url"]
    )


def test_import_refuses_unknown_accounts_and_wrong_format(team):
    doc = document()
    doc["steps"][0]["account"] = "Nobody"
    assert _errors(team, doc)["steps[0].account"] == "no account titled 'Nobody' in this team"
    assert _errors(team, document(format="other@9")) == {
        "format": "must be 'switchboard/automation@1'"
    }


def test_reconfiguring_keeps_the_webhook_token_and_step_secrets(team):
    automation = services.automation_import(project=make_project(team), document=document())
    token = automation.webhook_token
    services.automation_update(
        automation=automation,
        data={"trigger": {"connector": "http", "trigger": "request",
                          "config": {"method": "ANY", "secret": "abc123456"}}},
    )  # fmt: skip
    automation.refresh_from_db()
    assert automation.webhook_token == token
    assert automation.get_secrets() == {"secret": "abc123456"}
    services.automation_update(
        automation=automation,
        data={"trigger": {"connector": "http", "trigger": "request", "config": {"method": "GET"}}},
    )
    automation.refresh_from_db()
    assert automation.get_secrets() == {"secret": "abc123456"}  # kept, never sent back
    assert automation.trigger_config == {"method": "GET"}
