"""Writes for projects, automations, steps and executions."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from automations.models import Execution


def execution_prune(*, days: int | None = None) -> int:
    """Delete top-level executions older than the retention period (children go with them)."""
    days = settings.EXECUTION_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Execution.objects.filter(created_at__lt=cutoff, parent__isnull=True).delete()
    return deleted


def secrets_rotate() -> int:
    """Re-encrypt every stored secret (accounts, trigger and step secrets) under the
    newest key, so that old keys can be dropped."""
    from accounts import crypto
    from accounts.services import account_rotate_encryption
    from automations.models import Automation, Step

    count = account_rotate_encryption()
    for model in (Automation, Step):
        for row in model.objects.exclude(secrets_encrypted="").only("pk", "secrets_encrypted"):
            row.secrets_encrypted = crypto.rotate(row.secrets_encrypted)
            row.save(update_fields=["secrets_encrypted"])
            count += 1
    return count
