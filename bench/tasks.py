"""The bare django-q2 task the drain benchmark compares the platform with: the same I/O
as a one-step automation calling the local server (one POST, one INSERT), nothing else."""

from __future__ import annotations

import requests
from django.utils import timezone

from bench.models import BareRun


def bare_post(url: str, n: int) -> None:
    started = timezone.now()
    requests.post(url, json={"n": n}, timeout=10)
    BareRun.objects.create(n=n, started_at=started)
