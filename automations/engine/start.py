"""Ways a run starts: inline in the calling process, or claimed from the queue."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.pq import TransactionStatus

from automations.engine import lease, queue
from automations.engine.plans import plan_for_automation, plan_for_version
from automations.engine.runner import Plan, Runner
from automations.models import Automation, Execution, Project, Status, StepRun


def run_inline(
    plan: Plan, trigger_output: Any, *, is_test: bool = False, timeout: float | None = None
) -> Execution:
    """Run now, in this process; the log is written once, at the end."""
    return answer_inline(plan, trigger_output, is_test=is_test, timeout=timeout)[0]


def answer_inline(
    plan: Plan,
    trigger_output: Any,
    *,
    is_test: bool = False,
    timeout: float | None = None,
    execution: Execution | None = None,
    unverified: bool = False,
) -> tuple[Execution, Any]:
    """Run now for an HTTP caller: the execution, and the Response step's answer in full
    (``execution.response`` keeps a capped copy), or None. ``execution``, when given, was
    written already (with its delivery receipt); otherwise it is written at the end.
    ``unverified``: the plan came from the cache unread; its first write confirms it or
    raises StalePlan."""
    limit = min(settings.RUN_TIME_LIMIT, timeout) if timeout else settings.RUN_TIME_LIMIT
    if execution is None:
        execution = Execution(
            automation=plan.automation, status=Status.RUNNING, trigger_output=trigger_output,
            is_test=is_test, started_at=timezone.now(),
        )  # fmt: skip
    runner = Runner(plan, execution, deadline=time.monotonic() + limit, flush_each_step=False)
    if unverified:
        runner.recorder.expect_version = (plan.automation.pk, plan.automation.version)
    runner.run()
    return execution, runner.recorder.answer


def claim(execution_id: int) -> Execution | None:
    """Take a queued execution for this worker, with a lease: the execution as the claim
    left it, with ``plan_version`` (its automation's version) and ``first_start`` (it
    never ran before, so it has no step runs yet). None when another worker has it, it
    is not due yet, or its team already runs TEAM_MAX_CONCURRENT_RUNS; then it waits,
    marked not handed over, for a slot (``queue.dispatch`` sends it)."""
    now = timezone.now()
    params = {
        "pk": execution_id, "now": now, "lease": lease.lease_end(now),
        "limit": settings.TEAM_MAX_CONCURRENT_RUNS, "queued": Status.QUEUED,
        "running": Status.RUNNING, "lock_class": LOCK_TEAM_SLOTS,
    }  # fmt: skip
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        claimed = _claim_in_one_round_trip(params)
    elif connection.vendor == "postgresql":
        with transaction.atomic():
            # Claims of one team take turns (a transaction lock on the team's number),
            # so two of them cannot both count a free slot.
            with connection.cursor() as cursor:
                cursor.execute(LOCK_SQL, params)
            claimed = list(Execution.objects.raw(CLAIM_SQL, params))
    else:
        # SQLite runs one write at a time: there the one statement is the whole claim,
        # and the row comes back from it (no read after it).
        claimed = list(Execution.objects.raw(CLAIM_SQL, params))
    if claimed:
        execution = claimed[0]
        # COALESCE kept an earlier start: only a first start has the claim's own time.
        execution.first_start = execution.started_at == now
        return execution
    # Still queued and due: its team is at its limit.
    Execution.objects.filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now), pk=execution_id, status=Status.QUEUED
    ).update(enqueued_at=None)
    return None


LOCK_TEAM_SLOTS = 7401  # the class of PostgreSQL advisory locks taken by claims
_execution, _automation, _project = (
    Execution._meta.db_table,
    Automation._meta.db_table,
    Project._meta.db_table,
)
# The team's lock, found and taken in one statement (one round trip per claim).
LOCK_SQL = f"""
SELECT pg_advisory_xact_lock(%(lock_class)s, COALESCE((
    SELECT CAST(p.team_id AS integer) FROM {_execution} e
    JOIN {_automation} a ON a.id = e.automation_id JOIN {_project} p ON p.id = a.project_id
    WHERE e.id = %(pk)s), 0))
"""  # noqa: S608 (table names from the models, values as parameters)
# One statement: the row is queued and due, and its team runs fewer than the limit.
CLAIM_SQL = f"""
UPDATE {_execution} SET status = %(running)s, lease_until = %(lease)s, not_before = NULL,
    started_at = COALESCE(started_at, %(now)s)
WHERE id = %(pk)s AND status = %(queued)s
  AND (not_before IS NULL OR not_before <= %(now)s)
  AND (
    SELECT COUNT(*) FROM {_execution} busy
    JOIN {_automation} ba ON ba.id = busy.automation_id
    JOIN {_project} bp ON bp.id = ba.project_id
    WHERE busy.status = %(running)s AND busy.parent_id IS NULL AND bp.team_id = (
        SELECT p.team_id FROM {_automation} a JOIN {_project} p ON p.id = a.project_id
        WHERE a.id = {_execution}.automation_id
    )
  ) < %(limit)s
RETURNING *, (
    SELECT a.version FROM {_automation} a WHERE a.id = {_execution}.automation_id
) AS plan_version
"""  # noqa: S608 (table names from the models, values as parameters)


def _claim_in_one_round_trip(params: dict) -> list[Execution]:
    """The claim's transaction (BEGIN, the team's lock, the conditional update, COMMIT)
    sent as one message: a worker waits on the database once per claim instead of four
    times. Each statement still gets its own snapshot, so the update counts the runs
    that claims committed while this one waited for the lock. psycopg's client-side
    binding quotes the values (one message may hold several statements only without
    server-side parameters). Only outside a transaction: inside one (tests), the claim
    takes the two-statement path above."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = psycopg.ClientCursor(connection.connection)
        try:
            cursor.execute(f"BEGIN; {LOCK_SQL}; {CLAIM_SQL}; COMMIT", params)
            cursor.nextset()
            cursor.nextset()  # the update's rows
            columns = [column.name for column in cursor.description]
            rows = cursor.fetchall()
        except BaseException:
            if connection.connection.info.transaction_status != TransactionStatus.IDLE:
                connection.connection.rollback()
            raise
        finally:
            cursor.close()
    return [_execution_from_row(columns, row) for row in rows]


def _execution_from_row(columns: list[str], row: tuple) -> Execution:
    # As the ORM would load it: each field's own conversion (JSON arrives as text), in
    # the model's field order (the table's may differ); other columns as attributes.
    by_column = dict(zip(columns, row, strict=True))
    values = []
    for field in Execution._meta.concrete_fields:
        value = by_column.pop(field.column)
        if hasattr(field, "from_db_value"):
            value = field.from_db_value(value, None, connection)
        values.append(value)
    execution = Execution.from_db(
        connection.alias, [f.attname for f in Execution._meta.concrete_fields], values
    )
    for name, value in by_column.items():
        setattr(execution, name, value)
    return execution


def run_queued(execution_id: int) -> Execution | None:
    execution = claim(execution_id)
    if execution is None:
        return None
    own = [] if execution.first_start else list(execution.step_runs.all())
    # The run's time limit counts from its first start (a resumed run has used some),
    # less the time it spent in delays.
    used = (timezone.now() - execution.started_at).total_seconds() - execution.waited_seconds
    outputs, skipped = _previous_outputs(execution, own)
    if execution.plan_version is None:
        plan = plan_for_automation(execution.automation_id)
    else:
        plan = plan_for_version(execution.automation_id, execution.plan_version)
    with lease.holding(execution_id):
        runner = Runner(
            plan, execution,
            deadline=time.monotonic() + settings.RUN_TIME_LIMIT - used, flush_each_step=True,
            previous_outputs=outputs, previous_skipped=skipped, defer_retries=True,
            prior_attempts={r.path: r.attempts for r in own if r.status == Status.QUEUED},
            on_step=lambda: lease.renew_if_due(execution_id),
        )  # fmt: skip
        runner.recorder.written = {run.path for run in own}
        runner.recorder.ask_on_finish = queue.WAITING_EXISTS
        runner.run()
    # The slot this run held goes to the oldest run of its team waiting for one.
    queue.hand_on(team_id=runner.team_id, waiting=runner.recorder.finish_answer)
    return execution


def _previous_outputs(
    execution: Execution, own: list[StepRun]
) -> tuple[dict[str, Any], frozenset[str]]:
    """The outputs of the steps that ran before, by path, and the paths of the steps
    skipped: this execution's own when it ran some already (it waited for a delay or to
    retry a step, or lost its worker), else, for a retry, those of the execution it
    retries. The runner takes those up to the resume path."""
    if not execution.resume_path and not execution.resume_position:
        return {}, frozenset()
    if own:
        runs = own
    elif execution.retry_of_id:
        runs = list(execution.retry_of.step_runs.all())
    else:
        return {}, frozenset()
    outputs = {
        run.path: run.output
        for run in runs
        if run.status == Status.SUCCEEDED and not run.output_truncated
    }
    return outputs, frozenset(run.path for run in runs if run.status == Status.SKIPPED)
