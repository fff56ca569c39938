from __future__ import annotations

import re
from typing import Any

from connectors import fields as f
from connectors.base import Action, Connector, RunContext

# RFC 9110 field names are tokens; values are visible ASCII, spaces and tabs (no CR or
# LF, which would split the answer into headers of the caller's choosing).
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")
# Headers an answer on the platform's host must not carry from a step: cookies (session
# fixation), browser security policies, cross-origin grants, and hop-by-hop headers
# that belong to the server.
FORBIDDEN_HEADERS = frozenset({
    "set-cookie", "set-cookie2", "strict-transport-security", "x-frame-options",
    "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
    "proxy-authenticate", "proxy-authorization", "proxy-connection", "content-length",
})  # fmt: skip
FORBIDDEN_PREFIXES = ("content-security-policy", "access-control-")


def header_problem(name: str) -> str | None:
    """Why a Response step may not send a header of this name, or None."""
    if not _HEADER_NAME.match(name):
        return f"{name!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~)"
    lowered = name.lower()
    if lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_PREFIXES):
        return f"{name} cannot be set by a Response step"
    return None


def value_problem(name: str, value: str) -> str | None:
    if not _HEADER_VALUE.match(value):
        return f"the value of {name} holds a line break, a control or a non-ASCII character"
    return None


class RespondAction(Action):
    key = "respond"
    label = "Response"
    description = "Answer the HTTP caller that started the automation."
    responds = True
    side_effects = False
    idempotent = True
    fields = (
        f.Field("status", "Response status", type=f.INTEGER, default=200, required=False,
                minimum=200, maximum=599),
        f.Field("body", "Response body", type=f.ANY, required=False,
                help="An object or list is sent as JSON, text as text."),
        f.Field("headers", "Response headers", type=f.KEY_VALUE, required=False,
                help="Location only with a 3xx status. Cookies, security policies, "
                "Access-Control-* and hop-by-hop headers cannot be set."),
    )  # fmt: skip

    def check(self, config: dict[str, Any], *, resolved: bool) -> dict[str, str]:
        rows = config.get("headers")
        if not isinstance(rows, list):
            return {}  # none, or one reference checked at run time
        status = config.get("status", 200)
        for index, row in enumerate(rows, start=1):
            name, value = row["key"], row["value"]
            if not resolved and f.is_reference(name):
                continue
            problem = header_problem(name)
            if problem is None and (resolved or not f.is_reference(value)):
                problem = value_problem(name, str(value))
            redirects = isinstance(status, int) and 300 <= status <= 399
            if problem is None and name.lower() == "location" and isinstance(status, int):
                problem = None if redirects else f"Location needs a 3xx status, not {status}"
            if problem:
                return {"headers": f"row {index}: {problem}"}
        return {}

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        headers = {row["key"]: row["value"] for row in params.get("headers") or []}
        return {"status": params.get("status", 200), "body": params.get("body"), "headers": headers}


class ResponseConnector(Connector):
    key = "response"
    label = "Response"
    description = "Answer the HTTP caller that started the automation."
    actions = (RespondAction,)
