"""The recurring jobs the platform needs, declared here rather than made by hand.

Task paths are stored as strings in django-q2's schedule table: treat them as public.
"""

from __future__ import annotations

from django_q.models import Schedule

PLATFORM_SCHEDULES = {
    "switchboard: prune old executions": {
        "func": "automations.tasks.prune_executions",
        "schedule_type": Schedule.HOURLY,
    },
}


def schedules_ensure() -> list[str]:
    for name, spec in PLATFORM_SCHEDULES.items():
        Schedule.objects.update_or_create(name=name, defaults={**spec, "repeats": -1})
    return list(PLATFORM_SCHEDULES)
