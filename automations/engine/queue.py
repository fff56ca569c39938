"""The queue: the database says what must run, the broker only carries the doorbell.

A queued execution is handed to django-q2 by id (``enqueued_at`` records when). The
dispatcher hands it over again when no worker took it within DISPATCH_AFTER seconds (a
broker that was down or restarted, a cluster killed with tasks it had prefetched), or
when it was never handed over (its team had no free slot, a step waits to retry until
``not_before``). Recovery takes executions whose lease ran out (their worker died) and
resumes them at their first unfinished step, unless that step may have acted already.
Both take rows with conditional updates, so any number of them may run at once.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from automations.engine import inserts
from automations.engine.failures import execution_failed
from automations.engine.lease import lease_end
from automations.engine.paths import run_order
from automations.models import FINISHED, Automation, Execution, Status, Step, StepRun

logger = logging.getLogger(__name__)

RUN_TASK = "automations.tasks.run_execution"
BATCH = 200


def _broker() -> Broker:
    """One broker per process: django-q2 makes a new one (a new Redis client and
    connection) for every task it is not given one for, which cost a queued webhook more
    than its insert. The Redis client is thread-safe and reconnects after a fork. Keyed
    by django-q2's broker configuration, so a changed one gets a broker of its own."""
    return _broker_for(Conf.CLUSTER_NAME, repr(Conf.REDIS), repr(Conf.ORM))


@functools.lru_cache(maxsize=4)
def _broker_for(*configuration: str) -> Broker:
    return get_broker()


def send(execution_ids: list[int]) -> list[int]:
    """Hand ids to the broker now; the ids it took. When it cannot be reached the rows
    stay queued, marked not handed over, for the dispatcher's next pass."""
    sent = []
    for pk in execution_ids:
        try:
            async_task(RUN_TASK, pk, task_name=f"execution-{pk}", broker=_broker())
        except Exception:
            logger.warning(
                "The task broker refused execution %s; it stays queued for the dispatcher.",
                pk, exc_info=True,
            )  # fmt: skip
            Execution.objects.filter(
                pk__in=[p for p in execution_ids if p not in sent], status=Status.QUEUED
            ).update(enqueued_at=None)
            break
        sent.append(pk)
    return sent


def send_on_commit(execution_id: int) -> None:
    transaction.on_commit(lambda: send([execution_id]))


def enqueue(
    *, automation: Automation, trigger_output: Any, is_test: bool = False, unverified: bool = False
) -> Execution:
    """Record a queued execution and hand its id to a worker once the row is committed.
    A broker that cannot be reached then loses nothing: the row stays queued and the
    dispatcher hands it over when the broker is back. ``unverified``: ``automation``
    comes from a cached plan; the insert confirms its version or raises StalePlan."""
    execution = inserts.new_execution(
        automation,
        status=Status.QUEUED,
        trigger_output=trigger_output,
        is_test=is_test,
        enqueued_at=timezone.now(),
    )
    if unverified:
        inserts.insert_execution(execution, [], expect=(automation.pk, automation.version))
    else:
        execution.save(force_insert=True)
    send_on_commit(execution.pk)
    return execution


def running_per_team(team_ids: set[int]) -> dict[int, int]:
    rows = (
        Execution.objects.filter(
            status=Status.RUNNING, parent__isnull=True, automation__project__team_id__in=team_ids
        )
        .values_list("automation__project__team_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def _waiting(now: datetime) -> Q:
    """Queued, due, and not with a worker: never handed over, or not taken in time."""
    stale = now - timedelta(seconds=settings.DISPATCH_AFTER)
    return (
        Q(status=Status.QUEUED, parent__isnull=True)
        & (Q(not_before__isnull=True) | Q(not_before__lte=now))
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
    )


# Whether any run waits to be handed over: asked after every background run, by the
# write that finishes it where it can (Recorder.ask_on_finish), else on its own. The
# status is a literal, not a parameter: only then can a prepared statement's one plan
# use the partial index of queued runs, and PostgreSQL stop planning the write that
# asks it afresh for every run.
WAITING_EXISTS = (
    f"EXISTS (SELECT 1 FROM {Execution._meta.db_table} "  # noqa: S608 (the model's table)
    f"WHERE status = '{Status.QUEUED.value}' AND enqueued_at IS NULL AND parent_id IS NULL)",
    [],
)


def hand_on(*, team_id: int | None, waiting: bool | None = None) -> int:
    """After a run: its slot goes to its team's oldest run waiting for one (refused by a
    claim for want of a slot, or due after a wait). One indexed look first (``waiting``
    when the run's last write answered it): in a backlog every run is handed over
    already, and a full dispatch after each run cost more than the claim. Runs handed
    over but never taken wait for housekeeping (DISPATCH_AFTER)."""
    if waiting is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + WAITING_EXISTS[0], WAITING_EXISTS[1])
            waiting = bool(cursor.fetchone()[0])
    if not waiting:
        return 0
    return dispatch(team_id=team_id)


def dispatch(*, team_id: int | None = None) -> int:
    """Hand waiting executions to the broker, oldest first, as many per team as it has
    free slots (so a team at its limit costs the broker nothing). The number sent."""
    now = timezone.now()
    rows = Execution.objects.filter(_waiting(now))
    if team_id is not None:
        rows = rows.filter(automation__project__team_id=team_id)
    candidates = list(
        rows.order_by("created_at", "pk").values_list("pk", "automation__project__team_id")[:BATCH]
    )
    if not candidates:
        return 0
    running = running_per_team({team for _, team in candidates})
    room = {
        team: settings.TEAM_MAX_CONCURRENT_RUNS - running.get(team, 0) for _, team in candidates
    }
    taken = []
    for pk, team in candidates:
        if room[team] <= 0:
            continue
        # Taken with a conditional update: two dispatchers never both send one row.
        if Execution.objects.filter(_waiting(now), pk=pk).update(enqueued_at=now):
            room[team] -= 1
            taken.append(pk)
    return len(send(taken))


def _expired(now: datetime) -> Q:
    """Running past its lease; a row without one (written by a web process) after the
    longest a run may take."""
    limit = now - timedelta(seconds=settings.RUN_TIME_LIMIT + settings.LEASE_SECONDS)
    return Q(status=Status.RUNNING, parent__isnull=True) & (
        Q(lease_until__lt=now)
        | Q(lease_until__isnull=True, started_at__lt=limit)
        | Q(lease_until__isnull=True, started_at__isnull=True, created_at__lt=limit)
    )


def recover() -> int:
    """Take over executions whose worker died; the number taken."""
    now = timezone.now()
    expired = list(Execution.objects.filter(_expired(now)).values_list("pk", flat=True)[:BATCH])
    taken = 0
    for pk in expired:
        # Like a claim: whoever moves the lease owns the recovery of this row.
        if Execution.objects.filter(_expired(now), pk=pk).update(lease_until=lease_end(now)):
            _recover(pk)
            taken += 1
    return taken


def _recover(execution_id: int) -> None:
    execution = Execution.objects.get(pk=execution_id)
    runs = sorted(execution.step_runs.all(), key=lambda run: run_order(run.path))
    stopped = next((run for run in runs if run.status == Status.RUNNING), None)
    if stopped is not None:
        # Logged as started before an action with side effects: it may have acted.
        _fail(execution, stopped, _label(execution, stopped))
        return
    if any(run.output_truncated for run in runs):
        # Its output cannot be given to the steps after it: the run cannot continue.
        cut = next(run for run in runs if run.output_truncated)
        _fail(execution, cut, _label(execution, cut))
        return
    # Everything it logged as done is reused; it continues after the last of it (inside
    # a loop or branch: that holder is walked again, its finished steps reused).
    path = runs[-1].path if runs else execution.resume_path
    position = int(path.split(".")[0]) if path else execution.resume_position
    with transaction.atomic():
        resumed = Execution.objects.filter(pk=execution_id, status=Status.RUNNING).update(
            status=Status.QUEUED, resume_position=position, resume_path=path,
            enqueued_at=timezone.now(), not_before=None, lease_until=None,
        )  # fmt: skip
        if resumed:
            logger.warning("Execution %s lost its worker; resumed at step %s", execution_id, path)
            send_on_commit(execution_id)


def _label(execution: Execution, run: StepRun | None) -> str:
    if run is None:
        return "?"
    name = (
        Step.objects.filter(automation_id=execution.automation_id, key=run.step_key)
        .values_list("name", flat=True)
        .first()
    )
    return name or run.step_key


def _fail(execution: Execution, run: StepRun | None, label: str) -> None:
    message = (
        f"The worker stopped during step '{label}'. It may have acted already: check, then retry."
    )
    now = timezone.now()
    elapsed = (now - execution.started_at).total_seconds() * 1000 if execution.started_at else 0
    with transaction.atomic():
        failed = Execution.objects.filter(pk=execution.pk, status=Status.RUNNING).update(
            status=Status.FAILED, error=message, finished_at=now, lease_until=None,
            duration_ms=int(elapsed),
        )  # fmt: skip
        if not failed:
            return
        if run is not None:
            StepRun.objects.filter(pk=run.pk).exclude(status__in=FINISHED).update(
                status=Status.FAILED, error=message, finished_at=now
            )
        Execution.objects.filter(parent=execution).exclude(status__in=FINISHED).update(
            status=Status.FAILED, error=message, finished_at=now
        )
        execution.status = Status.FAILED
        execution.error = message
        execution_failed(execution)
    logger.warning("Execution %s lost its worker during step %s: failed", execution.pk, label)


def housekeeping() -> dict[str, int]:
    """One pass: recover what dead workers left, then hand waiting runs over."""
    return {"recovered": recover(), "dispatched": dispatch()}
