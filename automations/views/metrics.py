"""/metrics for Prometheus: to a bearer of METRICS_TOKEN or from METRICS_ALLOWED_IPS,
and to nobody (404) while neither is set."""

from __future__ import annotations

import ipaddress
import os
import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from automations.metrics import DatabaseCollector


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and secrets.compare_digest(
            given[len("Bearer ") :].encode(), token.encode()
        ):
            return True
    try:
        # REMOTE_ADDR is the peer: behind a proxy, list the proxy or use the token.
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_IPS
    )


def _queue_size() -> int:
    return get_broker().queue_size() or 0


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_IPS:
        raise Http404
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    read = CollectorRegistry()
    read.register(DatabaseCollector(_queue_size))
    body = generate_latest(counted) + generate_latest(read)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
