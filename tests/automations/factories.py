"""Small helpers that make rows for tests."""

from __future__ import annotations

import itertools
from typing import Any

from automations.models import Automation, Execution, Project, Status, Step, StepRun

_numbers = itertools.count(1)


def make_project(team, name: str | None = None) -> Project:
    return Project.objects.create(team=team, name=name or f"Project {next(_numbers)}")


def make_automation(project: Project, name: str = "Hello", **extra: Any) -> Automation:
    defaults = {
        "trigger_connector": "http",
        "trigger_key": "request",
        "trigger_config": {"method": "POST"},
    }
    return Automation.objects.create(project=project, name=name, **{**defaults, **extra})


def make_execution(automation: Automation, steps: int = 2, **extra: Any) -> Execution:
    execution = Execution.objects.create(automation=automation, status=Status.SUCCEEDED, **extra)
    for position in range(steps):
        StepRun.objects.create(
            execution=execution,
            step_key=f"s{position}",
            position=position,
            path=str(position),
            connector="response",
            action="respond",
            status=Status.SUCCEEDED,
        )
    return execution


def add_step(
    automation: Automation,
    key: str,
    connector: str,
    action: str,
    config: dict,
    position: int | None = None,
    **extra: Any,
) -> Step:
    if position is None:
        position = automation.steps.count()
    return Step.objects.create(
        automation=automation,
        key=key,
        connector=connector,
        action=action,
        config=config,
        position=position,
        **extra,
    )
