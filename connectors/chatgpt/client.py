"""The OpenAI SDK, one client per set of credentials, and its errors read as
ConnectorErrors.

The SDK's own retries are off (the engine retries, with its backoff and limits), and it
talks through the guarded HTTP client, since the base URL is the user's to choose.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai

from connectors.base import ConnectorError, RunContext
from connectors.http.request_action import retry_after_seconds

DEFAULT_TIMEOUT = 60.0


def make_client(credentials: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> openai.OpenAI:
    from connectors.http_client import sdk_http_client

    return openai.OpenAI(
        api_key=credentials["api_key"],
        organization=credentials.get("organization_id") or None,
        project=credentials.get("project_id") or None,
        base_url=credentials.get("base_url") or None,
        max_retries=0,
        timeout=timeout,
        http_client=sdk_http_client(),
    )


# Building an SDK client (its headers, auth and base URL) cost a step as much as the
# rest of its request, so a run's calls reuse one client per distinct set of values it is
# built from: the key is all of them, so a changed API key, organization, project or base
# URL gets a new client at its next call, and the timeout goes with each request. The
# credentials themselves are still read from the account for every run. An entry holds
# no more than a run does (the decrypted credentials), only in this process; 32 bound it.
MAX_CLIENTS = 32


@functools.lru_cache(maxsize=MAX_CLIENTS)
def _shared_client(
    api_key: str, organization: str | None, project: str | None, base_url: str | None
) -> openai.OpenAI:
    credentials = {"api_key": api_key, "organization_id": organization,
                   "project_id": project, "base_url": base_url}  # fmt: skip
    return make_client(credentials)


def client_for(context: RunContext) -> openai.OpenAI:
    credentials = context.credentials
    return _shared_client(
        credentials["api_key"],
        credentials.get("organization_id") or None,
        credentials.get("project_id") or None,
        credentials.get("base_url") or None,
    )


def call(context: RunContext, path: str, body: dict[str, Any], model: str | None = None) -> dict:
    """POST a JSON body with the SDK's documented low-level ``client.post`` and return the
    JSON answer. The typed ``create`` methods re-walk the whole request against their
    type hints and build models of the answer: for a step that is already validated by
    its fields and hands plain JSON on, that was most of the platform's time per call.
    Authentication, errors and timeouts stay the SDK's."""
    import httpx2

    with openai_errors(model):
        timeout = context.remaining(DEFAULT_TIMEOUT)
        response = client_for(context).post(
            path, body=body, cast_to=httpx2.Response, options={"timeout": timeout}
        )
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                "OpenAI answered with something that is not JSON.", retryable=True
            ) from None


def _error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    """OpenAI's {"error": {...}} object (the SDK hands over either level)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body)
    return inner if isinstance(inner, dict) else body


def _message(exc: openai.APIStatusError) -> str:
    return str(_error_body(exc).get("message") or exc.message or "no message")


def _code(exc: openai.APIStatusError) -> str:
    return str(_error_body(exc).get("code") or "")


@contextmanager
def openai_errors(model: str | None = None) -> Iterator[None]:
    """Translate the SDK's exceptions: rate limits and server errors may pass with a
    retry (Retry-After honoured), a bad request fails with OpenAI's own message."""
    try:
        yield
    except openai.APITimeoutError:
        raise ConnectorError("OpenAI did not answer in time.", retryable=True) from None
    except openai.APIConnectionError as exc:
        if isinstance(exc.__cause__, ConnectorError):
            raise exc.__cause__ from None
        raise ConnectorError(f"Could not reach OpenAI: {exc.message}", retryable=True) from None
    except (openai.RateLimitError, openai.InternalServerError) as exc:
        what = "rate limit" if exc.status_code == 429 else f"server error ({exc.status_code})"
        raise ConnectorError(
            f"OpenAI {what}: {_message(exc)}",
            retryable=True,
            retry_after=retry_after_seconds(exc.response.headers.get("retry-after")),
        ) from None
    except openai.AuthenticationError as exc:
        field = "organization_id" if "organization" in _code(exc) else "api_key"
        raise ConnectorError(
            f"OpenAI refused the credentials: {_message(exc)}", field=field
        ) from None
    except openai.NotFoundError as exc:
        if _code(exc) == "model_not_found" and model:
            raise ConnectorError(
                f"Unknown model {model!r}: {_message(exc)}", field="model"
            ) from None
        raise ConnectorError(f"OpenAI: {_message(exc)}") from None
    except openai.APIStatusError as exc:
        raise ConnectorError(
            f"OpenAI rejected the request ({exc.status_code}): {_message(exc)}"
        ) from None


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
