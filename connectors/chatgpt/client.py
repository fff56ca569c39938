"""Calls to the OpenAI API, and their errors read as ConnectorErrors.

A step's call (``call``) is one JSON POST on the guarded HTTP client, the request the
SDK's low-level ``client.post`` sends. The account check and lookups use the official
SDK (``make_client``), its own retries off (the engine retries, with its backoff and
limits). Both talk through the guarded HTTP client, since the base URL is the user's to
choose, and both read an error answer the same way (``status_error``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai

from connectors.base import ConnectorError, RunContext
from connectors.http.request_action import retry_after_seconds

DEFAULT_TIMEOUT = 60.0
DEFAULT_BASE_URL = "https://api.openai.com/v1"


def make_client(credentials: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> openai.OpenAI:
    from connectors.http_client import sdk_http_client

    return openai.OpenAI(
        api_key=credentials["api_key"],
        organization=credentials.get("organization_id") or None,
        project=credentials.get("project_id") or None,
        base_url=credentials.get("base_url") or DEFAULT_BASE_URL,
        max_retries=0,
        timeout=timeout,
        http_client=sdk_http_client(),
    )


def _headers(credentials: dict[str, Any]) -> dict[str, str]:
    """The headers the SDK authenticates with, from the credentials of this run."""
    headers = {
        "Authorization": f"Bearer {credentials['api_key']}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "Switchboard",
    }
    if credentials.get("organization_id"):
        headers["OpenAI-Organization"] = credentials["organization_id"]
    if credentials.get("project_id"):
        headers["OpenAI-Project"] = credentials["project_id"]
    return headers


def call(context: RunContext, path: str, body: dict[str, Any], model: str | None = None) -> dict:
    """POST a JSON body to the account's API and return the JSON answer.

    Sent on the shared guarded httpx2 client as the SDK's low-level ``client.post``
    sends it (the same URL, body and authentication), without the SDK: building a client
    and then a request through it (an options model, headers merged and URLs parsed
    several times over) cost more CPU per call than the rest of a step. The typed
    ``create`` methods cost more still (they re-walk the request against their type
    hints and build models of the answer), while our fields validate the request and
    later steps want plain JSON. Nothing is kept between calls but that one HTTP client.
    """
    import httpx2

    from connectors.http_client import sdk_http_client

    credentials = context.credentials
    base_url = (credentials.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    timeout = context.remaining(DEFAULT_TIMEOUT)
    try:
        response = sdk_http_client().post(
            f"{base_url}/{path.lstrip('/')}",
            # As httpx2 encodes ``json=`` (and so the SDK).
            content=json.dumps(
                body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode(),
            headers=_headers(credentials),
            timeout=timeout,
        )
    except httpx2.TimeoutException:
        raise ConnectorError("OpenAI did not answer in time.", retryable=True) from None
    except httpx2.RequestError:
        raise ConnectorError("Could not reach OpenAI: Connection error.", retryable=True) from None
    if not response.is_success:
        raise status_error(
            response.status_code, _answer(response), response.headers.get("retry-after"), model
        )
    try:
        return response.json()
    except ValueError:
        raise ConnectorError(
            "OpenAI answered with something that is not JSON.", retryable=True
        ) from None


def _answer(response: Any) -> Any:
    """An error answer's body: its JSON, else its text (as the SDK keeps it)."""
    try:
        return response.json()
    except ValueError:
        return response.text.strip()


def status_error(
    status: int, body: Any, retry_after: str | None, model: str | None = None
) -> ConnectorError:
    """An error answer as a ConnectorError: rate limits and server errors may pass with a
    retry (Retry-After honoured), a bad request fails with OpenAI's own message. ``body``
    is the answer's JSON ({"error": {...}}, or the inner object) or text."""
    inner = body.get("error", body) if isinstance(body, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    fallback = f"Error code: {status} - {body}" if body else f"Error code: {status}"
    message = str(inner.get("message") or fallback)
    code = str(inner.get("code") or "")
    if status == 429 or status >= 500:
        what = "rate limit" if status == 429 else f"server error ({status})"
        return ConnectorError(
            f"OpenAI {what}: {message}",
            retryable=True,
            retry_after=retry_after_seconds(retry_after),
        )
    if status == 401:
        field = "organization_id" if "organization" in code else "api_key"
        return ConnectorError(f"OpenAI refused the credentials: {message}", field=field)
    if status == 404:
        if code == "model_not_found" and model:
            return ConnectorError(f"Unknown model {model!r}: {message}", field="model")
        return ConnectorError(f"OpenAI: {message}")
    return ConnectorError(f"OpenAI rejected the request ({status}): {message}")


@contextmanager
def openai_errors(model: str | None = None) -> Iterator[None]:
    """Translate the SDK's exceptions (the account check, lookups) like ``call``'s."""
    try:
        yield
    except openai.APITimeoutError:
        raise ConnectorError("OpenAI did not answer in time.", retryable=True) from None
    except openai.APIConnectionError as exc:
        if isinstance(exc.__cause__, ConnectorError):
            raise exc.__cause__ from None
        raise ConnectorError(f"Could not reach OpenAI: {exc.message}", retryable=True) from None
    except openai.APIStatusError as exc:
        body = exc.body if exc.body is not None else exc.message
        retry_after = exc.response.headers.get("retry-after")
        raise status_error(exc.status_code, body, retry_after, model) from None


def record_usage(context: RunContext, usage: Any) -> dict[str, int]:
    if not usage:
        return {}
    data = usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)
    tokens = {
        key: data.get(key) or 0 for key in ("prompt_tokens", "completion_tokens", "total_tokens")
    }
    if not tokens["total_tokens"] and data.get("total_tokens") is not None:
        tokens["total_tokens"] = data["total_tokens"]
    context.add_usage(tokens["total_tokens"])
    return tokens
