"""Sub automations: automations that other automations call, with declared inputs."""

from __future__ import annotations

from typing import Any

from connectors import fields as f
from connectors.base import (
    Action,
    Connector,
    ConnectorError,
    InboundEvent,
    RunContext,
    Trigger,
    TriggerRejected,
)

_TYPES = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}
_SAMPLES = {
    "string": "example",
    "number": 1.5,
    "integer": 1,
    "boolean": True,
    "object": {},
    "array": [],
}


def check_arguments(schema: list[dict[str, Any]], arguments: Any) -> dict[str, Any]:
    """The arguments if they fit the declared inputs; otherwise one error naming each
    bad argument."""
    if not isinstance(arguments, dict):
        raise ConnectorError("The arguments must be a JSON object.")
    declared = {row["key"]: row for row in schema}
    problems = []
    for key, row in declared.items():
        if key not in arguments:
            if row.get("required"):
                problems.append(f"{key}: is required")
            continue
        value = arguments[key]
        kinds = _TYPES[row["type"]]
        is_bool = isinstance(value, bool)
        wrong = not isinstance(value, kinds) or (is_bool and row["type"] != "boolean")
        if row["type"] == "integer" and isinstance(value, float) and value.is_integer():
            wrong = False
        if wrong:
            problems.append(
                f"{key}: must be {'an' if row['type'][0] in 'aeiou' else 'a'} {row['type']}"
            )
    for key in arguments:
        if key not in declared:
            problems.append(f"{key}: is not an input of this sub automation")
    if problems:
        raise ConnectorError("Bad arguments for the sub automation: " + "; ".join(problems) + ".")
    return arguments


class CalledTrigger(Trigger):
    key = "called"
    label = "Called by another automation"
    description = (
        "Runs when an automation's Sub Automation step or ChatGPT's Function Calling calls it."
    )
    delivery = "sub_automation"
    fields = (
        f.Field("description", "Description", type=f.LONG_TEXT, required=False,
                help="What this sub automation does: ChatGPT reads it to choose."),
        f.Field("schema", "Inputs", type=f.SCHEMA, required=False,
                help="The arguments it takes: key, type, required and description."),
    )  # fmt: skip

    def accept(
        self, event: InboundEvent, config: dict, secrets: dict, credentials: dict
    ) -> dict[str, Any]:
        raise TriggerRejected(404, "A sub automation is started by another automation.")

    def accept_payload(self, payload: Any, config: dict[str, Any]) -> Any:
        return check_arguments(config.get("schema") or [], payload)

    def sample(self, config: dict[str, Any], context: RunContext) -> dict[str, Any]:
        return {row["key"]: _SAMPLES[row["type"]] for row in config.get("schema") or []}


class RunAction(Action):
    key = "run"
    # Whatever the sub automation's steps do; assumed to change something.
    side_effects = True
    idempotent = False
    sub_automations_field = "sub_automation"
    label = "Sub Automation"
    description = "Run a sub automation of this project and use its answer."
    fields = (
        f.Field("sub_automation", "Sub automation", type=f.SUB_AUTOMATION,
                help="A name, or a reference such as {{ steps.choose.function_name }}."),
        f.Field("arguments", "Sub automation template", type=f.JSON, required=False,
                object_only=True, help="The arguments, e.g. {{ steps.choose.arguments }}."),
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any] | Any:
        if context.run_sub_automation is None:
            raise ConnectorError("Sub automations cannot be run here.")
        result = context.run_sub_automation(params["sub_automation"], params.get("arguments") or {})
        return result


class SubAutomationConnector(Connector):
    key = "sub_automation"
    label = "Sub Automation"
    description = "Automations that other automations call."
    triggers = (CalledTrigger,)
    actions = (RunAction,)
