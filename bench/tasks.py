"""The bare django-q2 task the drain benchmark compares the platform with: the same I/O
as a one-step automation calling the local server (one POST, one INSERT), nothing else.
Its connection is kept open between tasks, as the platform's guarded client keeps its
own (a worker process runs one task at a time, so one session per process is safe)."""

from __future__ import annotations

import requests
from django.utils import timezone

from bench.models import BareRun

_session = requests.Session()


def bare_post(url: str, n: int) -> None:
    started = timezone.now()
    _session.post(url, json={"n": n}, timeout=10)
    BareRun.objects.create(n=n, started_at=started)
