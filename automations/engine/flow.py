"""Flow control in the walk through an automation's step tree: branches and loops.

A branch (flow.if) evaluates its conditions, records the steps of the list not taken
as skipped and walks the other; a loop (flow.for_each) walks its ``do`` list once per
item, with ``loop.item``, ``loop.index`` and that iteration's step outputs in scope. A
holder's own row is written when the steps it holds are done (succeeded, or failed
naming the step and, for a loop, the index), so a resumed run walks into it again and
reuses what its steps did. Delays and stops are single steps: see the runner.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from automations.engine.conditions import MISSING, OPERATORS
from automations.engine.outcomes import StepFailed, Stopped
from automations.engine.paths import Address, path_text
from automations.engine.references import lookup
from automations.models import Status, Step
from connectors.base import Action, ConnectorError

if TYPE_CHECKING:
    from automations.engine.runner import Runner


def condition_value(data: dict[str, Any], path: str) -> Any:
    """The value at ``trigger.…``, ``steps.<key>.…`` or ``loop.…`` (MISSING if none)."""
    value: Any = data
    for key in [part for part in path.strip().split(".") if part]:
        value = lookup(value, key)
        if value is MISSING:
            return MISSING
    return value


def conditions_met(config: dict[str, Any], data: dict[str, Any]) -> bool:
    results = (
        OPERATORS[row["operator"]][2](condition_value(data, row["path"]), row.get("value"))
        for row in config.get("conditions") or []
    )
    return any(results) if config.get("match") == "any" else all(results)


def run_holder(runner: Runner, address: Address, step: Step, action: Action, data: dict) -> None:
    started_at, clock = timezone.now(), time.monotonic()
    runner._address = address
    label = step.name or step.key
    logged: Any = step.config
    try:
        try:
            params = runner.params(action, step, dict(step.config), data)
            logged = params
            items = _items(action, params) if action.control == "loop" else []
        except StepFailed as exc:
            # The holder's own failure (a reference, a list too long), not a step's inside.
            message = f"Step '{label}' failed: {exc.message}"
            raise StepFailed(message, timed_out=exc.timed_out) from None
        if action.control == "branch":
            output = _branch(runner, address, step, params, data)
        else:
            output = _loop(runner, address, step, items, data)
    except Stopped as stop:
        partial = getattr(stop, "partial", None)
        _record(runner, address, step, started_at, clock, logged, Status.SUCCEEDED,
                output=partial, error=f"Stopped: {stop.message}")  # fmt: skip
        raise
    except StepFailed as exc:
        status = Status.TIMED_OUT if exc.timed_out else Status.FAILED
        _record(runner, address, step, started_at, clock, logged, status, error=exc.message)
        raise
    _record(runner, address, step, started_at, clock, logged, Status.SUCCEEDED, output=output)
    data["steps"][step.key] = output


def _items(action: Action, params: dict) -> list[Any]:
    try:
        return action.run(params, None)["items"]
    except ConnectorError as exc:
        raise StepFailed(exc.message) from None


def _record(
    runner: Runner, address: Address, step: Step, started_at, clock: float, logged: Any,
    status: str, *, output: Any = None, error: str = "",
) -> None:  # fmt: skip
    runner.record(
        address, step, status=status, input=logged, output=output, error=error, attempts=1,
        started_at=started_at, duration_ms=int((time.monotonic() - clock) * 1000),
    )  # fmt: skip


def _branch(runner: Runner, address: Address, step: Step, params: dict, data: dict) -> dict:
    earlier = runner.previous_outputs.get(path_text(address))
    if isinstance(earlier, dict) and earlier.get("branch") in ("then", "else"):
        taken = earlier["branch"]  # resumed: the branch this run took before
    else:
        taken = "then" if conditions_met(params, data) else "else"
    label = step.name or step.key
    nested = step.nested
    for name, steps in nested.items():
        if name != taken:
            why = f"it is in the '{name}' branch of '{label}', which did not run"
            _skip(runner, (*address, name), steps, why)
    runner.walk(nested.get(taken, []), (*address, taken), data)
    return {"branch": taken}


def _skip(runner: Runner, prefix: Address, steps: list[Step], why: str) -> None:
    """Record the steps of a branch not taken (and of branches inside it) as skipped."""
    for index, step in enumerate(steps):
        address = (*prefix, index)
        runner.skipped[step.key] = f"step '{step.name or step.key}' did not run: {why}"
        if path_text(address) not in runner.recorder.written:
            runner.record(
                address, step, status=Status.SKIPPED, input=None, output=None, error="",
                attempts=0, started_at=timezone.now(), duration_ms=0,
            )  # fmt: skip
        for name, children in step.nested.items():
            if name != "do":  # a loop that never started has no iterations to show
                _skip(runner, (*address, name), children, why)


def _loop(runner: Runner, address: Address, step: Step, items: list, data: dict) -> dict:
    label = step.name or step.key
    body = step.nested.get("do", [])
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        scope = {**data, "steps": dict(data["steps"]), "loop": {"item": item, "index": index}}
        try:
            runner.walk(body, (*address, "do", index), scope)
        except StepFailed as exc:
            raise StepFailed(
                f"Step '{label}' failed at item {index}: {exc.message}", timed_out=exc.timed_out
            ) from None
        except Stopped as stop:
            stop.partial = {"count": len(results), "results": results}
            raise
        results.append({k: v for k, v in scope["steps"].items() if k not in data["steps"]})
    return {"count": len(items), "results": results}
