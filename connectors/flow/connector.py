"""Flow control: branches, loops, delays, transforms and stops.

These actions change nothing outside the run. What they mean for the walk through the
steps (which list runs, how often, when the run continues) is the engine's
(``automations/engine/flow.py``): each declares its ``control`` kind, and ``run`` returns
the plain data the engine needs. A branch's conditions use the engine's condition
operators, so they are evaluated there; here only their shape is declared.
"""

from __future__ import annotations

from typing import Any

from connectors import fields as f
from connectors.base import Action, Connector, ConnectorError, RunContext

SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600}
MAX_DELAY_SECONDS = 30 * 24 * 3600
MAX_ITEMS = 10_000


class _FlowAction(Action):
    side_effects = False
    idempotent = True


class IfAction(_FlowAction):
    key = "if"
    label = "If (branch)"
    description = "Run the steps of `then` when the conditions hold, else those of `else`."
    control = "branch"
    nested = ("then", "else")
    fields = (
        f.Field("match", "Match", type=f.CHOICE, default="all", required=False,
                choices=(("all", "All conditions"), ("any", "Any condition"))),
        f.Field("conditions", "Conditions", type=f.CONDITIONS,
                help="Rows of path (trigger.…, steps.<key>.… or, inside a loop, loop.item…), "
                "operator and value, as in the trigger's conditions."),
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        raise ConnectorError("A branch is decided by the engine.")


class ForEachAction(_FlowAction):
    key = "for_each"
    label = "For each (loop)"
    description = "Run the steps of `do` once per item of a list, in order."
    control = "loop"
    nested = ("do",)
    fields = (
        f.Field("items", "Items", type=f.ANY, required=False,
                help="A list, usually a reference such as {{ trigger.body.tags }}."),
        f.Field("max_items", "At most", type=f.INTEGER, default=1000, required=False,
                minimum=1, maximum=MAX_ITEMS,
                help="A longer list fails the step before the first iteration."),
    )  # fmt: skip

    def check(self, config: dict[str, Any], *, resolved: bool) -> dict[str, str]:
        # An empty list is blank to the fields (and dropped): at run time it is no items.
        if "items" not in config:
            return {} if resolved else {"items": "is required (a list)"}
        items = config["items"]
        if (resolved or not f.is_reference(items)) and not isinstance(items, list):
            return {"items": f"must be a list, not {type(items).__name__}"}
        return {}

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        items, limit = params.get("items", []), params.get("max_items", 1000)
        if len(items) > limit:
            raise ConnectorError(
                f"The list has {len(items)} items, more than the {limit} allowed (max_items)."
            )
        return {"items": items}


def delay_seconds(config: dict[str, Any]) -> float | None:
    """The delay in seconds, or None while a part of it is still a reference."""
    total = 0.0
    for key, factor in SECONDS.items():
        value = config.get(key)
        if value is None:
            continue
        if not isinstance(value, int | float):
            return None
        total += value * factor
    return int(total) if float(total).is_integer() else total


class DelayAction(_FlowAction):
    key = "delay"
    label = "Delay"
    description = (
        "Wait before the next step. A background run frees its worker and continues "
        "after the delay."
    )
    control = "delay"
    fields = tuple(
        f.Field(key, key.capitalize(), type=f.NUMBER, required=False, minimum=0) for key in SECONDS
    )

    def check(self, config: dict[str, Any], *, resolved: bool) -> dict[str, str]:
        if not any(config.get(key) is not None for key in SECONDS):
            return {"seconds": "give seconds, minutes or hours"}
        total = delay_seconds(config)
        if total is None:
            return {}
        if total <= 0:
            return {"seconds": "the delay must be longer than 0 seconds"}
        if total > MAX_DELAY_SECONDS:
            return {"seconds": "the delay must be at most 30 days"}
        return {}

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        return {"seconds": delay_seconds(params)}


class TransformAction(_FlowAction):
    key = "transform"
    label = "Transform"
    description = "Output a value built from references, for later steps to use."
    fields = (
        f.Field("value", "Value", type=f.ANY,
                help="Any JSON with references; its resolved form is the output."),
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> Any:
        return params["value"]


class StopAction(_FlowAction):
    key = "stop"
    label = "Stop"
    description = "End the run here, as succeeded or failed, with a message."
    control = "stop"
    fields = (
        f.Field("outcome", "Outcome", type=f.CHOICE, default="succeeded", required=False,
                choices=(("succeeded", "Succeeded"), ("failed", "Failed"))),
        f.Field("message", "Message", required=False),
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        return {"outcome": params.get("outcome", "succeeded"), "message": params.get("message", "")}


class FlowConnector(Connector):
    key = "flow"
    label = "Flow"
    description = "Branches, loops, delays, transforms and stops."
    actions = (IfAction, ForEachAction, DelayAction, TransformAction, StopAction)
