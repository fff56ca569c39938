"""Leases: a running execution is held by its worker until ``lease_until``.

The worker renews the lease before every step and, while a step waits on an outside
service, from the housekeeping thread of its process (``automations.worker``). A lease
that runs out means the worker is gone; recovery (``automations.engine.queue``) takes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from automations.models import Execution, Status

_held: set[int] = set()
# When this process last moved each held lease (monotonic): a claim sets the lease, so
# the first step needs no renewal of its own.
_renewed: dict[int, float] = {}
_lock = threading.Lock()


def lease_end(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.LEASE_SECONDS)


def renew(execution_id: int) -> bool:
    """Extend the lease; False when the execution is no longer this worker's to run."""
    renewed = bool(
        Execution.objects.filter(pk=execution_id, status=Status.RUNNING).update(
            lease_until=lease_end()
        )
    )
    with _lock:
        if execution_id in _renewed:
            _renewed[execution_id] = time.monotonic()
    return renewed


def renew_if_due(execution_id: int) -> None:
    """Before a step: renew only when a third of the lease has passed since it was last
    moved (by the claim, the heartbeat or an earlier step). A step-by-step renewal cost a
    short run one more write than its log; the heartbeat covers a step that waits long."""
    with _lock:
        last = _renewed.get(execution_id)
    if last is None or time.monotonic() - last >= settings.LEASE_SECONDS / 3:
        renew(execution_id)


@contextmanager
def holding(execution_id: int) -> Iterator[None]:
    """While the block runs, the heartbeat renews this execution's lease (which its
    claim has just set)."""
    with _lock:
        _held.add(execution_id)
        _renewed[execution_id] = time.monotonic()
    try:
        yield
    finally:
        with _lock:
            _held.discard(execution_id)
            _renewed.pop(execution_id, None)


def renew_held() -> int:
    with _lock:
        held = list(_held)
    return sum(renew(pk) for pk in held)
