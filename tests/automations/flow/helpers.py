"""Automations with branches and loops, built through the services."""

from __future__ import annotations

import json
from typing import Any

from automations import services
from automations.models import Execution
from tests.automations.factories import make_project


def flow_step(key: str, action: str, config: dict[str, Any], **lists: Any) -> dict[str, Any]:
    return {"key": key, "connector": "flow", "action": action, "config": config, **lists}


def condition(path: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"path": path, "operator": operator, "value": value}


def reply(body: Any, key: str = "reply") -> dict[str, Any]:
    return {"key": key, "connector": "response", "action": "respond", "config": {"body": body}}


def fetch(key: str, url: str) -> dict[str, Any]:
    return {"key": key, "connector": "http", "action": "request",
            "config": {"method": "GET", "url": url}, "max_attempts": 1}  # fmt: skip


def definition(steps: list[dict[str, Any]], name: str = "Flow") -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
        "steps": steps,
    }


def automation(team, steps: list[dict[str, Any]], name: str = "Flow"):
    created = services.automation_create(project=make_project(team), data=definition(steps, name))
    return services.automation_activate(automation=created)


def post(client, target, body: Any):
    return client.post(
        f"/hooks/{target.webhook_token}/", json.dumps(body), content_type="application/json"
    )


def runs(execution: Execution) -> dict[str, tuple[str, Any]]:
    """Step runs by path: (status, output)."""
    return {r.path: (r.status, r.output) for r in execution.step_runs.all()}
