"""/healthz and /readyz for load balancers and orchestrators.

Answered by a middleware at the top of the stack, before the host check, the HTTPS
redirect, sessions and authentication: a probe comes from inside the network, by IP and
over plain HTTP, and must get the same answer whatever ALLOWED_HOSTS and
SECURE_SSL_REDIRECT say. Neither page shows anything but which part is down.

- /healthz: the process answers. No database access, so a slow database does not get
  healthy web processes restarted.
- /readyz: the database answers and has every migration of this code applied, and the
  task broker answers (Redis when REDIS_URL is set; otherwise the broker is the
  database). 503 naming the failing part otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0

# Once this process has seen its migrations applied they stay applied (a later release
# with new ones runs as new processes), so the migration graph is not reloaded per probe.
_migrated = False


def _database() -> str | None:
    global _migrated
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrated:
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                return "migrations"
            _migrated = True
    except DatabaseError as exc:
        logger.warning("Readiness: database unavailable: %s", type(exc).__name__)
        return "database"
    return None


def _broker() -> str | None:
    if not settings.REDIS_URL:
        return None  # the ORM broker is the database, checked already
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        logger.warning("Readiness: broker unavailable: %s", type(exc).__name__)
        return "broker"
    return None


def healthz() -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz() -> HttpResponse:
    failing = [part for part in (_database(), _broker()) if part]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})


PROBES: dict[str, Callable[[], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        response = probe()
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
