"""Helpers that build automations through the services, for connector tests."""

from __future__ import annotations

from typing import Any

from automations import services
from automations.models import Execution, Project, Status


def http_automation(
    project: Project, name: str, steps: list[dict[str, Any]], *, active: bool = True
):
    automation = services.automation_create(
        project=project,
        data={"name": name, "trigger": {"connector": "http", "trigger": "request",
                                        "config": {"method": "POST"}}, "steps": steps},
    )  # fmt: skip
    return services.automation_activate(automation=automation) if active else automation


def sub_automation(project: Project, name: str, description: str, schema: list[dict],
                   steps: list[dict[str, Any]], *, active: bool = True):  # fmt: skip
    automation = services.automation_create(
        project=project,
        data={"name": name, "description": "",
              "trigger": {"connector": "sub_automation", "trigger": "called",
                          "config": {"description": description, "schema": schema}},
              "steps": steps},
    )  # fmt: skip
    return services.automation_activate(automation=automation) if active else automation


def run_now(automation, payload: Any = None) -> Execution:
    """Run inline, as the API's run endpoint with wait does; the execution, reloaded."""
    execution = services.automation_run(automation=automation, payload=payload or {}, wait=True)
    return Execution.objects.get(pk=execution.pk)


def reply_step(body: str, key: str = "reply") -> dict[str, Any]:
    return {"key": key, "connector": "response", "action": "respond", "config": {"body": body}}


__all__ = ["http_automation", "sub_automation", "run_now", "reply_step", "Status"]
