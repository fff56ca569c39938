"""Automation documents: one automation as JSON, to version, share and move between
installs. Accounts are named by title; secrets are never written out.

A step may hold nested steps (``then``/``else`` of a flow.if, ``do`` of a flow.for_each):
the lists appear only on the steps whose action holds them, so a document without
branches or loops reads exactly as before (switchboard/automation@1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from automations.models import Automation, Step
from connectors import registry

FORMAT = "switchboard/automation@1"
# The nested lists a step may hold, in the order they run.
LISTS = ("then", "else", "do")


def _title(account, team_id: int) -> str | None:
    # Another team's account (a wrong row) is not named: its title is that team's.
    if account is None or account.team_id != team_id:
        return None
    return account.title


def automation_to_document(automation: Automation) -> dict[str, Any]:
    team_id = automation.project.team_id
    steps = list(automation.steps.select_related("account").order_by("position", "pk"))
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
        "steps": _step_documents(steps, team_id),
    }


def _step_documents(steps: list[Step], team_id: int) -> list[dict[str, Any]]:
    children: dict[tuple[int | None, str], list[Step]] = {}
    for step in steps:
        children.setdefault((step.parent_id, step.branch), []).append(step)

    def document(step: Step) -> dict[str, Any]:
        item = {
            "key": step.key,
            "name": step.name,
            "connector": step.connector,
            "action": step.action,
            "account": _title(step.account, team_id),
            "config": step.config,
            "max_attempts": step.max_attempts,
        }
        for name in nested_names(step.connector, step.action):
            item[name] = [document(child) for child in children.get((step.pk, name), [])]
        return item

    return [document(step) for step in children.get((None, ""), [])]


def nested_names(connector: str, action: str) -> tuple[str, ...]:
    """The nested lists a step of this action holds (none for an unknown action)."""
    try:
        return registry.get(connector).action(action).nested
    except (registry.UnknownConnector, KeyError):
        return ()


def walk_steps(steps: Any) -> Iterator[dict[str, Any]]:
    """Every step dict of a definition's tree, in the order they run (holders first)."""
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        yield step
        for name in LISTS:
            yield from walk_steps(step.get(name))


def step_place(
    steps: list[Any], key: str, path: str = "steps"
) -> tuple[list[Any], int, str] | None:
    """Where the step ``key`` sits in a definition's tree: the list that holds it, its
    index there and its JSON path (``steps[2].then[0]``); None when there is none."""
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        here = f"{path}[{index}]"
        if step.get("key") == key:
            return steps, index, here
        for name in LISTS:
            if isinstance(step.get(name), list):
                found = step_place(step[name], key, f"{here}.{name}")
                if found:
                    return found
    return None


def branch_place(steps: list[Any], parent: str, branch: str) -> tuple[list[Any], str] | None:
    """The list ``branch`` (then, else, do) of the step ``parent`` and its JSON path, made
    if the step holds such a list but has no steps in it yet; None when it holds none."""
    found = step_place(steps, parent)
    if found is None:
        return None
    holder_list, index, path = found
    holder = holder_list[index]
    if branch not in nested_names(holder.get("connector", ""), holder.get("action", "")):
        return None
    if not isinstance(holder.get(branch), list):
        holder[branch] = []
    return holder[branch], f"{path}.{branch}"


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
    for step in walk_steps(document["steps"]):
        step["account"] = accounts.get(step["key"])
    return document
