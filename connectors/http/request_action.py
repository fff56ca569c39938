"""Send an HTTP request to any public URL, through the guarded client."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from connectors import fields as f
from connectors.base import Action, ConnectorError, RunContext
from connectors.http_client import fetch

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# By the HTTP semantics (RFC 9110, 9.2): safe methods change nothing, and idempotent ones
# may be repeated with the effect of one.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "DELETE"}


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def raise_for_status(status: int, host: str, detail: str, retry_after: str | None) -> None:
    """The platform-wide reading of an HTTP status: 429 and 5xx may pass, others won't."""
    if status < 400:
        return
    retryable = status == 429 or status >= 500
    raise ConnectorError(
        f"{host} answered {status}: {detail}" if detail else f"{host} answered {status}.",
        retryable=retryable,
        retry_after=retry_after_seconds(retry_after) if retryable else None,
    )


class RequestAction(Action):
    key = "request"
    label = "Send an HTTP request"
    description = "Call a URL and use its answer in later steps."
    fields = (
        f.Field("method", "Method", type=f.CHOICE, default="GET",
                choices=tuple((m, m) for m in METHODS)),
        f.Field("url", "URL"),
        f.Field("headers", "Headers", type=f.KEY_VALUE, required=False),
        f.Field("body", "Body", type=f.ANY, required=False,
                help="An object or list is sent as JSON, text as it is."),
    )  # fmt: skip

    def has_side_effects(self, params: dict[str, Any]) -> bool:
        return str(params.get("method", "GET")).upper() not in SAFE_METHODS

    def is_idempotent(self, params: dict[str, Any]) -> bool:
        return str(params.get("method", "GET")).upper() in IDEMPOTENT_METHODS

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        headers = {row["key"]: row["value"] for row in params.get("headers") or []}
        body = params.get("body")
        timeout = context.remaining(settings.OUTBOUND_TIMEOUT)
        kwargs: dict[str, Any] = {"headers": headers, "timeout": timeout}
        if isinstance(body, str):
            kwargs["data"] = body.encode()
        elif body is not None:
            kwargs["json"] = body
        response = fetch(params["method"], params["url"], **kwargs)
        host = response.url.split("/")[2] if "://" in response.url else params["url"]
        try:
            parsed: Any = response.json()
        except (ValueError, json.JSONDecodeError):
            parsed = response.text
        raise_for_status(
            response.status_code, host, response.text[:300], response.headers.get("Retry-After")
        )
        return {"status": response.status_code, "headers": dict(response.headers), "body": parsed}
