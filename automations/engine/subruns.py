"""Sub automations run by a step: a child execution, inline, linked to its parent."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from automations.models import Automation, Execution, Status
from connectors import registry
from connectors.base import ConnectorError

if TYPE_CHECKING:
    from automations.engine.runner import Plan, Runner

SUB_CONNECTOR = "sub_automation"
SUB_TRIGGER = "called"


def callable_automations(project_id: int):
    return Automation.objects.filter(
        project_id=project_id, trigger_connector=SUB_CONNECTOR, trigger_key=SUB_TRIGGER
    )


class SubRunner:
    def __init__(self, parent: Runner) -> None:
        self.parent = parent
        self.thread = threading.get_ident()
        # Sub automations found free of side effects for this step, by name: run with the
        # very plan that was checked (a newer version might have some).
        self.checked: dict[str, Plan] = {}

    def may_act(self, names: Any) -> bool:
        """Whether running the named sub automation(s) may change something outside:
        False only when each one is active and no step of its current plan has side
        effects. Anything unclear (a name not found, not a name) counts as "may"."""
        from automations.engine.plans import plan_for_version

        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            return True
        rows = callable_automations(self.parent.plan.automation.project_id).filter(name__in=names)
        found = {name: (pk, version) for name, pk, version, active in
                 rows.values_list("name", "pk", "version", "active") if active}  # fmt: skip
        if any(name not in found for name in names):
            return True
        plans = {name: plan_for_version(*found[name]) for name in names}
        if any(plan.side_effects for plan in plans.values()):
            return True
        self.checked.update(plans)
        return False

    def run(self, name: str, arguments: Any) -> Any:
        try:
            return self._run(name, arguments)
        finally:
            # Called from a worker thread (parallel tool calls): that thread's database
            # connection is its own and must not outlive it.
            if threading.get_ident() != self.thread:
                connection.close()

    def describe(self, names: list[str]) -> list[dict[str, Any]]:
        """Name, description and input schema of each named sub automation, in order."""
        rows = callable_automations(self.parent.plan.automation.project_id).filter(name__in=names)
        found = {
            row["name"]: row
            for row in rows.values("name", "description", "trigger_config", "active")
        }
        missing = [name for name in names if name not in found]
        if missing:
            raise ConnectorError(
                f"No sub automation named {', '.join(repr(n) for n in missing)} in this project."
            )
        return [
            {
                "name": name,
                "description": found[name]["trigger_config"].get("description")
                or found[name]["description"],
                "schema": found[name]["trigger_config"].get("schema") or [],
                "active": found[name]["active"],
            }
            for name in names
        ]

    def _run(self, name: str, arguments: Any) -> Any:
        from automations.engine.plans import plan_for_version
        from automations.engine.runner import Runner

        parent = self.parent
        plan = self.checked.get(name)
        if plan is None:
            row = (
                callable_automations(parent.plan.automation.project_id)
                .filter(name=name)
                .values_list("pk", "version", "active")
                .first()
            )
            if row is None:
                raise ConnectorError(f"There is no sub automation named {name!r} in this project.")
            if not row[2]:
                raise ConnectorError(f"The sub automation {name!r} is not active.")
            plan = plan_for_version(row[0], row[1])
        automation = plan.automation
        depth = parent.execution.depth + 1
        if automation.pk in parent.ancestry:
            raise ConnectorError(
                f"The sub automation {name!r} is already running further up this chain "
                "(a cycle); it was not called again."
            )
        if depth > settings.SUB_AUTOMATION_MAX_DEPTH:
            raise ConnectorError(
                f"Sub automations are nested more than {settings.SUB_AUTOMATION_MAX_DEPTH} "
                "deep; stopping here."
            )
        trigger = registry.get(SUB_CONNECTOR).trigger(SUB_TRIGGER)
        output = trigger.accept_payload(arguments, automation.trigger_config)
        child = Execution(
            automation=automation, status=Status.RUNNING, trigger_output=output,
            parent=parent.execution if parent.execution.pk else None, depth=depth,
            is_test=parent.execution.is_test, started_at=timezone.now(),
        )  # fmt: skip
        runner = Runner(
            plan, child, deadline=parent.deadline, flush_each_step=False,
            ancestry=parent.ancestry, accounts=parent.accounts,
        )  # fmt: skip
        with parent.lock:
            parent.recorder.children.append(runner.recorder)
        runner.run(flush=False)
        with parent.lock:
            parent.tokens += runner.tokens
            # What the child answers may hold its secrets (a secret variable, say): the
            # parent's log redacts them too.
            parent.recorder.add_secrets(list(runner.recorder.secrets))
        if child.status == Status.TIMED_OUT or time.monotonic() > parent.deadline:
            raise ConnectorError(f"The sub automation {name!r} ran out of time.")
        if child.status != Status.SUCCEEDED:
            raise ConnectorError(f"The sub automation {name!r} failed: {child.error}")
        return runner.result
