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
    # A backstop: every worker process runs housekeeping in a thread of its own every
    # HOUSEKEEPING_INTERVAL seconds, so it never waits behind user runs (see
    # automations/worker.py); this schedule covers a cluster whose threads cannot start.
    "switchboard: housekeeping": {
        "func": "automations.tasks.housekeeping",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
}
# Schedules an older version declared; removed by schedules_ensure.
RETIRED_SCHEDULES = ["switchboard: reap stale executions"]


def schedules_ensure() -> list[str]:
    Schedule.objects.filter(name__in=RETIRED_SCHEDULES).delete()
    for name, spec in PLATFORM_SCHEDULES.items():
        Schedule.objects.update_or_create(name=name, defaults={**spec, "repeats": -1})
    return list(PLATFORM_SCHEDULES)


RUN_SCHEDULED = "automations.tasks.run_scheduled"


def _name(automation_id: int) -> str:
    return f"switchboard: automation {automation_id}"


def automation_schedule_set(*, automation_id: int, minutes: int) -> Schedule:
    """The django-q2 schedule that starts a scheduled automation; the first run comes one
    interval after switching it on."""
    from datetime import timedelta

    from django.utils import timezone

    schedule, _ = Schedule.objects.update_or_create(
        name=_name(automation_id),
        defaults={
            "func": RUN_SCHEDULED,
            "args": str(automation_id),
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
            "next_run": timezone.now() + timedelta(minutes=minutes),
        },
    )
    return schedule


def automation_schedule_clear(*, automation_id: int) -> None:
    Schedule.objects.filter(name=_name(automation_id)).delete()
