"""A small client for the Contentstack Content Management API.

Ours rather than the official SDK, which keeps headers on a shared, mutable object
across calls: here every request carries its own ``api_key``, ``authorization`` and
``branch`` headers. It talks through the guarded HTTP client (a custom base URL is the
user's to choose), with timeouts, and raises ConnectorErrors carrying Contentstack's own
``error_message`` and ``error_code``; 429 and 5xx say a retry can help. Values go into
paths only through ``api_path`` (one percent-encoded segment each) and into headers only
without control characters, so no value can reach another endpoint or add a header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings

from connectors.base import ConnectorError, RunContext
from connectors.fields import CONTROL_CHARACTERS_REFUSED, has_control_characters
from connectors.http.request_action import retry_after_seconds
from connectors.http_client import guarded_session

REGIONS = {
    "na": ("North America", "https://api.contentstack.io"),
    "eu": ("Europe", "https://eu-api.contentstack.com"),
    "au": ("Australia", "https://au-api.contentstack.com"),
    "azure-na": ("Azure North America", "https://azure-na-api.contentstack.com"),
    "azure-eu": ("Azure Europe", "https://azure-eu-api.contentstack.com"),
    "gcp-na": ("GCP North America", "https://gcp-na-api.contentstack.com"),
    "gcp-eu": ("GCP Europe", "https://gcp-eu-api.contentstack.com"),
    "custom": ("Custom base URL", ""),
}
DEFAULT_TIMEOUT = 30.0


def base_url(credentials: dict[str, Any]) -> str:
    region = credentials.get("region") or "na"
    if region == "custom":
        url = (credentials.get("base_url") or "").rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ConnectorError(
                "A custom region needs a base URL (https://host[:port]).", field="base_url"
            )
        return url.removesuffix("/v3")
    if region not in REGIONS:
        raise ConnectorError(f"Unknown region {region!r}.", field="region")
    return REGIONS[region][1]


def _checked(field: str, value: Any) -> str:
    text = "" if value is None else str(value)
    if has_control_characters(text):
        raise ConnectorError(f"{field} {CONTROL_CHARACTERS_REFUSED}.", field=field)
    return text


def api_path(template: str, **values: Any) -> str:
    """``api_path("/content_types/{content_type}/entries", content_type=uid)``: each value
    becomes one percent-encoded path segment (``../webhooks`` cannot climb out of it); an
    empty value, dots alone or a control character are refused, naming the field."""
    segments = {}
    for field, value in values.items():
        text = _checked(field, value)
        if not text:
            raise ConnectorError(f"{field} is required.", field=field)
        # A segment of dots would climb the path even encoded: requests decodes %2E.
        if not text.strip("."):
            raise ConnectorError(f"{field} {text!r} is not a Contentstack uid.", field=field)
        segments[field] = quote(text, safe="")
    return template.format(**segments)


def _header(field: str, value: Any) -> str:
    text = _checked(field, value)
    if not text.isascii():
        raise ConnectorError(f"{field} must be plain ASCII text.", field=field)
    return text


def _error(response) -> ConnectorError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("error_message") or response.text[:200] or response.reason or "no message"
    code = body.get("error_code")
    details = body.get("errors") or {}
    detail = (
        "; ".join(
            f"{key} {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in details.items()
        )
        if isinstance(details, dict)
        else ""
    )
    text = f"Contentstack: {message}" + (f" (error code {code})" if code is not None else "")
    if detail:
        text += f" [{detail}]"
    retryable = response.status_code == 429 or response.status_code >= 500
    field = None
    if code == 105 or response.status_code == 401:
        field = "management_token"
    elif code == 109 or "api_key" in details:
        field = "api_key"
    return ConnectorError(
        text,
        retryable=retryable,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")) if retryable else None,
        field=field,
    )


class ContentstackClient:
    def __init__(
        self,
        credentials: dict[str, Any],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        context: RunContext | None = None,
    ) -> None:
        self.base = base_url(credentials) + "/v3"
        self.api_key = credentials.get("api_key") or ""
        self.token = credentials.get("management_token") or ""
        self.timeout = timeout
        # In a run, each request gets what is left of the run's time, at most ``timeout``.
        self.context = context
        self.session = guarded_session(timeout=timeout)

    @classmethod
    def for_context(cls, context: RunContext) -> ContentstackClient:
        return cls(context.credentials, timeout=settings.OUTBOUND_TIMEOUT, context=context)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        branch: str | None = None,
    ) -> dict[str, Any]:
        headers = {
            "api_key": _header("api_key", self.api_key),
            "authorization": _header("management_token", self.token),
        }
        if branch:
            headers["branch"] = _header("branch", branch)
        response = self.session.request(
            method,
            self.base + path,
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
            timeout=self.context.remaining(self.timeout) if self.context else self.timeout,
        )
        if response.status_code >= 400:
            raise _error(response)
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                "Contentstack answered with something that is not JSON.", retryable=True
            ) from None

    def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self.session.close()
