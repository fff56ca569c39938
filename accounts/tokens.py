"""API tokens: made, found and revoked here. A token is shown once, when made; the
database keeps its SHA-256 and a short prefix to find it by."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiToken, AuditKind, token_hash

TOKEN_START = "sbt_"  # noqa: S105 (a label, not a secret)
PREFIX_LENGTH = 12
# Writing the last use on every request would make each API call a write.
LAST_USED_PRECISION = timedelta(minutes=1)


@transaction.atomic
def token_create(*, user, name: str, read_only: bool = False) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token itself (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A token needs a name."})
    key = TOKEN_START + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=key[:PREFIX_LENGTH],
        key_hash=token_hash(key),
        read_only=read_only,
    )
    access = "read-only" if read_only else "read and write"
    audit_record(
        kind=AuditKind.TOKEN_CREATED, actor=user, obj=token, summary=f"{access} token {name!r}"
    )
    return token, key


@transaction.atomic
def token_revoke(*, token: ApiToken, actor) -> None:
    audit_record(
        kind=AuditKind.TOKEN_REVOKED, actor=actor, obj=token, summary=f"token {token.name!r}"
    )
    token.delete()


def token_authenticate(key: str) -> ApiToken | None:
    """The live token ``key`` names, or None; notes when it was last used."""
    if not key or len(key) < PREFIX_LENGTH:
        return None
    digest = token_hash(key)
    for token in ApiToken.objects.filter(prefix=key[:PREFIX_LENGTH]).select_related("user"):
        if hmac.compare_digest(token.key_hash, digest):
            now = timezone.now()
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
                token.last_used_at = now
            return token
    return None
