"""What every answer under /hooks/ carries, whatever produced it (a Response step, a
refusal, Django's own 404 or 500).

A webhook answer is shaped by the automation's editors, who may belong to any team, and
it is served on a host that signed-in users visit: so the browser is told to treat it as
a sandboxed document of no origin (no scripts, no cookies, no access to the wizard or
the API), never to guess its type, and never to embed it elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port

logger = logging.getLogger(__name__)

HOOKS_PREFIX = "/hooks/"
SECURITY_HEADERS = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}
RETRY_AFTER_SECONDS = 30


class HooksMiddleware:
    """Listed first in MIDDLEWARE, so that its headers are set last."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(HOOKS_PREFIX):
            if not _serves_only_hooks(request):
                return self.get_response(request)
            # The hooks host is the untrusted origin: no sign-in, wizard or API there,
            # so no session ever shares an origin with what automations answer.
            response = JsonResponse({"error": "There is no page at this address."}, status=404)
        elif _on_hooks_host(request):
            response = self.get_response(request)
        else:
            response = JsonResponse({"error": "There is no webhook at this address."}, status=404)
        for name, value in SECURITY_HEADERS.items():
            response[name] = value
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The database is unreachable: callers are told to come back, in JSON, rather
        than given Django's HTML error page."""
        if not request.path_info.startswith(HOOKS_PREFIX):
            return None
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("Webhook answered 503: the database is unavailable (%s)", exception)
        response = JsonResponse(
            {"error": "The service is unavailable for a moment; try again shortly."}, status=503
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


PROBES = ("/healthz", "/readyz")


def _serves_only_hooks(request: HttpRequest) -> bool:
    """A request on a separate hooks host for anything but a webhook or a probe."""
    if not settings.HOOKS_BASE_URL or request.path_info in PROBES:
        return False
    hooks_host = _hostname(settings.HOOKS_BASE_URL)
    if hooks_host == _hostname(settings.PUBLIC_BASE_URL):
        return False  # one host for both: nothing to keep apart
    return _on_hooks_host(request)


def _hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower() if url else ""


def _on_hooks_host(request: HttpRequest) -> bool:
    """With HOOKS_BASE_URL set, webhooks live on that host only (a separate origin)."""
    if not settings.HOOKS_BASE_URL:
        return True
    try:
        host, _ = split_domain_port(request.get_host())
    except DisallowedHost:
        return False
    return host == _hostname(settings.HOOKS_BASE_URL)
