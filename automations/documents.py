"""Automation documents: one automation as JSON, to version, share and move between
installs. Accounts are named by title; secrets are never written out."""

from __future__ import annotations

from typing import Any

from automations.models import Automation

FORMAT = "switchboard/automation@1"


def _title(account, team_id: int) -> str | None:
    # Another team's account (a wrong row) is not named: its title is that team's.
    if account is None or account.team_id != team_id:
        return None
    return account.title


def automation_to_document(automation: Automation) -> dict[str, Any]:
    team_id = automation.project.team_id
    steps = automation.steps.select_related("account").order_by("position", "pk")
    return {
        "format": FORMAT,
        "name": automation.name,
        "description": automation.description,
        "trigger": {
            "connector": automation.trigger_connector,
            "trigger": automation.trigger_key,
            "account": _title(automation.trigger_account, team_id),
            "config": automation.trigger_config,
            "conditions": automation.trigger_conditions,
        },
        "steps": [
            {
                "key": step.key,
                "name": step.name,
                "connector": step.connector,
                "action": step.action,
                "account": _title(step.account, team_id),
                "config": step.config,
                "max_attempts": step.max_attempts,
            }
            for step in steps
        ],
    }


def document_definition(document: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the envelope of a document; return the definition inside and any errors."""
    if not isinstance(document, dict):
        return {}, {"document": "must be a JSON object"}
    if document.get("format") != FORMAT:
        return {}, {"format": f"must be {FORMAT!r}"}
    return {key: value for key, value in document.items() if key != "format"}, {}


def automation_definition(automation: Automation) -> dict[str, Any]:
    """The automation as a definition with account ids (secrets left out)."""
    document = automation_to_document(automation)
    document.pop("format")
    document["trigger"]["account"] = automation.trigger_account_id
    accounts = dict(automation.steps.values_list("key", "account_id"))
    for step in document["steps"]:
        step["account"] = accounts.get(step["key"])
    return document
