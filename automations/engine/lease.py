"""Leases: a running execution is held by its worker until ``lease_until``.

The worker renews the lease before every step and, while a step waits on an outside
service, from the housekeeping thread of its process (``automations.worker``). A lease
that runs out means the worker is gone; recovery (``automations.engine.queue``) takes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from automations.models import Execution, Status

_held: set[int] = set()
_lock = threading.Lock()


def lease_end(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.LEASE_SECONDS)


def renew(execution_id: int) -> bool:
    """Extend the lease; False when the execution is no longer this worker's to run."""
    return bool(
        Execution.objects.filter(pk=execution_id, status=Status.RUNNING).update(
            lease_until=lease_end()
        )
    )


@contextmanager
def holding(execution_id: int) -> Iterator[None]:
    """While the block runs, the heartbeat renews this execution's lease."""
    with _lock:
        _held.add(execution_id)
    try:
        yield
    finally:
        with _lock:
            _held.discard(execution_id)


def renew_held() -> int:
    with _lock:
        held = list(_held)
    return sum(renew(pk) for pk in held)
