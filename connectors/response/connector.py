from __future__ import annotations

from typing import Any

from connectors import fields as f
from connectors.base import Action, Connector, RunContext


class RespondAction(Action):
    key = "respond"
    label = "Response"
    description = "Answer the HTTP caller that started the automation."
    responds = True
    fields = (
        f.Field("status", "Response status", type=f.INTEGER, default=200, required=False,
                minimum=100, maximum=599),
        f.Field("body", "Response body", type=f.ANY, required=False,
                help="An object or list is sent as JSON, text as text."),
        f.Field("headers", "Response headers", type=f.KEY_VALUE, required=False),
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        headers = {row["key"]: row["value"] for row in params.get("headers") or []}
        return {"status": params.get("status", 200), "body": params.get("body"), "headers": headers}


class ResponseConnector(Connector):
    key = "response"
    label = "Response"
    description = "Answer the HTTP caller that started the automation."
    actions = (RespondAction,)
