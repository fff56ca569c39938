"""The audit log: services record what they changed, in the transaction that changed it.

The client address comes from the request being served (a context variable set by
AuditContextMiddleware), so the services take only the ``actor``; work done outside a
request (a command, a worker) records no address.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.clients import client_ip
from accounts.models import AuditEvent, AuditKind, Team

_client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "audit_client_address", default=None
)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _client_address.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_address.reset(token)


def audit_record(
    *,
    kind: AuditKind,
    team: Team | None = None,
    actor=None,
    obj: models.Model | None = None,
    summary: str = "",
) -> AuditEvent:
    """Write one entry. ``summary`` says what changed in words, never a value that is a
    secret (callers name fields, not their contents)."""
    actor = actor if getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        team=team,
        team_name=team.name if team else "",
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        kind=kind,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        summary=summary[:500],
        client_address=_client_address.get(),
    )


def audit_prune(*, days: int | None = None) -> int:
    """Delete entries older than AUDIT_RETENTION_DAYS."""
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    deleted, _ = AuditEvent.objects.filter(
        created_at__lt=timezone.now() - timedelta(days=days)
    ).delete()
    return deleted
