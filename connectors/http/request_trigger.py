"""The HTTP request trigger: a webhook URL that starts the automation."""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import parse_qs

from connectors import fields as f
from connectors import jsondata
from connectors.base import InboundEvent, Trigger, TriggerRejected

KEY_HEADER = "x-switchboard-key"
KEY_PARAM = "key"
# Never handed to the automation: credentials of the caller.
HIDDEN_HEADERS = {"authorization", "cookie", "proxy-authorization", KEY_HEADER}


def parse_body(event: InboundEvent) -> Any:
    content_type = event.content_type.split(";")[0].strip().lower()
    if not event.body:
        return None
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return jsondata.loads(event.body, where="body")
        except jsondata.Unstorable as exc:
            raise TriggerRejected(400, str(exc)) from None
        except UnicodeDecodeError:
            raise TriggerRejected(400, "The body is not valid UTF-8 JSON.") from None
        except json.JSONDecodeError as exc:
            raise TriggerRejected(
                400,
                f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
            ) from None
    if content_type == "application/x-www-form-urlencoded":
        fields = parse_qs(event.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
    return event.body.decode("utf-8", "replace")


class RequestTrigger(Trigger):
    key = "request"
    label = "HTTP request"
    description = "Runs when the automation's webhook URL is called."
    fields = (
        f.Field(
            "method", "Method", type=f.CHOICE, default="POST",
            choices=(("GET", "GET"), ("POST", "POST"), ("ANY", "Any method")),
        ),
        f.Field(
            "secret", "Secret key", required=False, secret=True,
            help="When set, callers must send it in the X-Switchboard-Key header "
            "or the key query parameter.",
        ),
    )  # fmt: skip

    def accept(
        self, event: InboundEvent, config: dict, secrets: dict, credentials: dict
    ) -> dict[str, Any]:
        method = config.get("method", "POST")
        if method != "ANY" and event.method != method:
            raise TriggerRejected(405, f"This webhook accepts {method} requests only.")
        expected = secrets.get("secret")
        if expected:
            given = event.headers.get(KEY_HEADER) or _first(event.query.get(KEY_PARAM)) or ""
            if not hmac.compare_digest(given.encode(), str(expected).encode()):
                raise TriggerRejected(401, "The webhook key is missing or wrong.")
        return {
            "method": event.method,
            "query": {k: v for k, v in event.query.items() if k != KEY_PARAM},
            "headers": {k: v for k, v in event.headers.items() if k not in HIDDEN_HEADERS},
            "body": parse_body(event),
        }

    def sample(self, config: dict, context) -> dict[str, Any]:
        return {
            "method": config.get("method", "POST") if config.get("method") != "ANY" else "POST",
            "query": {},
            "headers": {"content-type": "application/json"},
            "body": {"text": "Hello, world"},
        }


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value
