"""What every answer under /hooks/ carries, whatever produced it (a Response step, a
refusal, Django's own 404 or 500).

A webhook answer is shaped by the automation's editors, who may belong to any team, and
it is served on a host that signed-in users visit: so the browser is told to treat it as
a sandboxed document of no origin (no scripts, no cookies, no access to the wizard or
the API), never to guess its type, and never to embed it elsewhere.

The hooks fast path: a webhook needs none of the session, CSRF, authentication, audit,
messages, htmx or sign-in throttling middleware (it is CSRF-exempt, signed in by no
one, and renders no page), and each of them costs every request some Python. So /hooks/
is served by a chain of its own, built once per process: the ALLOWED_HOSTS check and
the Content-Length that CommonMiddleware gives other pages, SecurityMiddleware (HTTPS
redirect, HSTS, nosniff), XFrameOptionsMiddleware, the view, and the JSON 503 when the
database is down. Every other path goes through the whole MIDDLEWARE list as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import convert_exception_to_response
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import get_resolver

logger = logging.getLogger(__name__)

HOOKS_PREFIX = "/hooks/"
HOOKS_URLCONF = "automations.hook_urls"
SECURITY_HEADERS = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}
RETRY_AFTER_SECONDS = 30
# What a webhook answer goes through, outermost first (see the module's docstring).
HOOKS_MIDDLEWARE = (SecurityMiddleware, XFrameOptionsMiddleware)


class HooksMiddleware:
    """Listed first in MIDDLEWARE, so that its headers are set last."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.serve_hook = _hooks_chain()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(HOOKS_PREFIX):
            if not _serves_only_hooks(request):
                return self.get_response(request)
            # The hooks host is the untrusted origin: no sign-in, wizard or API there,
            # so no session ever shares an origin with what automations answer.
            response = JsonResponse({"error": "There is no page at this address."}, status=404)
        elif _on_hooks_host(request):
            response = self.serve_hook(request)
        else:
            response = JsonResponse({"error": "There is no webhook at this address."}, status=404)
        for name, value in SECURITY_HEADERS.items():
            response[name] = value
        return response


def _hooks_chain() -> Callable[[HttpRequest], HttpResponse]:
    """The hook view inside HOOKS_MIDDLEWARE, each layer turning an exception into an
    answer as Django's own handler does (404 page, 400 for a bad host, 500)."""
    handler = convert_exception_to_response(_hook_view)
    for middleware in reversed(HOOKS_MIDDLEWARE):
        handler = convert_exception_to_response(middleware(handler))

    def serve(request: HttpRequest) -> HttpResponse:
        response = handler(request)
        # As CommonMiddleware does elsewhere: a known length, not a chunked answer.
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response

    return serve


def _hook_view(request: HttpRequest) -> HttpResponse:
    # The Host header is checked against ALLOWED_HOSTS as on every other page
    # (CommonMiddleware does it there): DisallowedHost answers 400.
    request.get_host()
    # Only the hooks' own patterns: walking the whole URLconf cost every webhook more
    # than some of its queries.
    match = get_resolver(HOOKS_URLCONF).resolve(request.path_info[len(HOOKS_PREFIX) - 1 :])
    request.resolver_match = match
    try:
        return match.func(request, *match.args, **match.kwargs)
    except (OperationalError, InterfaceError) as exc:
        return database_unavailable(exc)


def database_unavailable(exception: Exception) -> HttpResponse:
    """The database is unreachable: callers are told to come back, in JSON, rather
    than given Django's HTML error page."""
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
