"""The version number that cached plans are keyed by."""

from __future__ import annotations

from django.db.models import F

from automations.models import Automation


def automation_touch(*, automation_id: int) -> None:
    """Mark the automation as changed, in the caller's transaction. Every write to an
    automation or its steps that a run can see calls this (services, the admin, key
    rotation, bulk updates), so a process holding a cached plan reloads it on its next
    use. An F() update: two writers never bump to the same number."""
    Automation.objects.filter(pk=automation_id).update(version=F("version") + 1)
