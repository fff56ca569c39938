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


# The sub automations of a project, looked up at every call (the tools a Function
# Calling step offers, the sub automation a step runs) in plain SQL: compiling the ORM
# query cost more than running it. Identifiers come from the model, values go as
# parameters.
_ROWS_SQL = (  # noqa: S608
    "SELECT {name}, {pk}, {version}, {active} FROM {table} "
    "WHERE {project} = %s AND {connector} = %s AND {trigger} = %s AND {name} IN ({{names}})"
).format(
    name=Automation._meta.get_field("name").column,
    pk=Automation._meta.pk.column,
    version=Automation._meta.get_field("version").column,
    active=Automation._meta.get_field("active").column,
    table=Automation._meta.db_table,
    project=Automation._meta.get_field("project").column,
    connector=Automation._meta.get_field("trigger_connector").column,
    trigger=Automation._meta.get_field("trigger_key").column,
)


def callable_rows(project_id: int, names: list[str]) -> dict[str, tuple[int, int, bool]]:
    """The project's sub automations among ``names``: name -> (id, version, active)."""
    if not names:
        return {}
    sql = _ROWS_SQL.format(names=", ".join(["%s"] * len(names)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, SUB_CONNECTOR, SUB_TRIGGER, *names])
        return {name: (pk, version, bool(active)) for name, pk, version, active in cursor}


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
        found = callable_rows(self.parent.plan.automation.project_id, names)
        if any(name not in found or not found[name][2] for name in names):
            return True
        plans = {name: plan_for_version(*found[name][:2]) for name in names}
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
        """Name, description and input schema of each named sub automation, in order
        (from its plan, cached per version like every plan)."""
        from automations.engine.plans import plan_for_version

        found = callable_rows(self.parent.plan.automation.project_id, names)
        missing = [name for name in names if name not in found]
        if missing:
            raise ConnectorError(
                f"No sub automation named {', '.join(repr(n) for n in missing)} in this project."
            )
        described = []
        for name in names:
            pk, version, active = found[name]
            automation = plan_for_version(pk, version).automation
            config = automation.trigger_config or {}
            described.append({
                "name": name,
                "description": config.get("description") or automation.description,
                "schema": config.get("schema") or [],
                "active": active,
            })  # fmt: skip
        return described

    def _run(self, name: str, arguments: Any) -> Any:
        from automations.engine.plans import plan_for_version
        from automations.engine.runner import Runner

        parent = self.parent
        plan = self.checked.get(name)
        if plan is None:
            row = callable_rows(parent.plan.automation.project_id, [name]).get(name)
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
        runner.credentials = parent.credentials
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
