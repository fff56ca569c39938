"""The claim: a worker takes a queued execution, with a lease, if its team has a slot.

One conditional UPDATE decides it (the row is queued and due, and its team runs fewer
than TEAM_MAX_CONCURRENT_RUNS), and returns the row, so the worker reads nothing after
it. On PostgreSQL claims of one team take turns on a transaction lock on the team's
number, so that two of them cannot both count the same free slot; SQLite runs one write
at a time, so there the one statement is the whole claim.

On PostgreSQL, outside a transaction (a worker), the claim's whole transaction goes as
ONE message of prepared statements: BEGIN, the lock, the update, COMMIT. A worker then
waits on the database once per claim instead of four times, and the server does not
plan the statements again each time. Each statement still takes its own snapshot, so
the update counts the runs that other claims committed while this one waited for the
lock. The claim commits without waiting for its WAL to reach the disk
(``synchronous_commit`` off for that transaction alone): a claim lost in a crash of the
database only puts its run back in the queue, and before a step may act the run writes
its log with an ordinary commit, which flushes the claim's WAL with its own.
"""

from __future__ import annotations

import re

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg import errors
from psycopg.pq import TransactionStatus

from automations.engine import lease
from automations.models import Automation, Execution, Project, Status

LOCK_TEAM_SLOTS = 7401  # the class of PostgreSQL advisory locks taken by claims
_execution, _automation, _project = (
    Execution._meta.db_table,
    Automation._meta.db_table,
    Project._meta.db_table,
)
# The team's lock, found and taken in one statement.
LOCK_SQL = f"""
SELECT pg_advisory_xact_lock(%(lock_class)s, COALESCE((
    SELECT CAST(p.team_id AS integer) FROM {_execution} e
    JOIN {_automation} a ON a.id = e.automation_id JOIN {_project} p ON p.id = a.project_id
    WHERE e.id = %(pk)s), 0))
"""  # noqa: S608 (table names from the models, values as parameters)
# The row is queued and due, and its team runs fewer than the limit; it comes back with
# its automation's version (the plan to run it with). The statuses are written into the
# SQL rather than passed: only a literal 'running' lets a plan made once for every
# execution (below) count the team's runs through the small partial index of running
# runs (execution_running) instead of all of an automation's runs.
CLAIM_SQL = f"""
UPDATE {_execution} SET status = '{Status.RUNNING.value}', lease_until = %(lease)s,
    not_before = NULL, started_at = COALESCE(started_at, %(now)s)
WHERE id = %(pk)s AND status = '{Status.QUEUED.value}'
  AND (not_before IS NULL OR not_before <= %(now)s)
  AND (
    SELECT COUNT(*) FROM {_execution} busy
    JOIN {_automation} ba ON ba.id = busy.automation_id
    JOIN {_project} bp ON bp.id = ba.project_id
    WHERE busy.status = '{Status.RUNNING.value}' AND busy.parent_id IS NULL AND bp.team_id = (
        SELECT p.team_id FROM {_automation} a JOIN {_project} p ON p.id = a.project_id
        WHERE a.id = {_execution}.automation_id
    )
  ) < %(limit)s
RETURNING *, (
    SELECT a.version FROM {_automation} a WHERE a.id = {_execution}.automation_id
) AS plan_version
"""  # noqa: S608 (table names from the models, statuses from Status, values as parameters)


def claim(execution_id: int) -> Execution | None:
    """Take a queued execution for this worker, with a lease: the execution as the claim
    left it, with ``plan_version`` (its automation's version) and ``first_start`` (it
    never ran before, so it has no step runs yet). None when another worker has it, it
    is not due yet, or its team already runs TEAM_MAX_CONCURRENT_RUNS; then it waits,
    marked not handed over, for a slot (``queue.dispatch`` sends it)."""
    now = timezone.now()
    params = {
        "pk": execution_id, "now": now, "lease": lease.lease_end(now),
        "limit": settings.TEAM_MAX_CONCURRENT_RUNS, "lock_class": LOCK_TEAM_SLOTS,
    }  # fmt: skip
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        claimed = _claim_in_one_message(params)
    elif connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(LOCK_SQL, params)
            claimed = list(Execution.objects.raw(CLAIM_SQL, params))
    else:
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


# -- PostgreSQL: the claim as one message -------------------------------------------------

_ORDER = ("lock_class", "pk", "now", "lease", "limit")
_NAMES = {"lock": "switchboard_claim_lock_2", "claim": "switchboard_claim_2"}


def _positional(sql: str) -> str:
    """``%(name)s`` placeholders as PREPARE's ``$n``."""
    return re.sub(r"%\((\w+)\)s", lambda m: f"${_ORDER.index(m.group(1)) + 1}", sql)


def _execute(name: str) -> str:
    return f"EXECUTE {_NAMES[name]}({', '.join(f'%({key})s' for key in _ORDER)})"


_TYPES = "integer, bigint, timestamptz, timestamptz, integer"  # as in _ORDER
PREPARE = "; ".join(
    f"PREPARE {_NAMES[name]} ({_TYPES}) AS {_positional(sql)}"
    for name, sql in (("lock", LOCK_SQL), ("claim", CLAIM_SQL))
)
# A prepared statement's plan is made once (plan_cache_mode): left to choose, the server
# kept planning the claim afresh for every execution, which cost it ten times what
# running the plan does.
_BEFORE_CLAIM = (
    "BEGIN",
    "SET LOCAL synchronous_commit TO OFF",
    "SET LOCAL plan_cache_mode TO force_generic_plan",
    _execute("lock"),
)
MESSAGE = "; ".join((*_BEFORE_CLAIM, _execute("claim"), "COMMIT"))
# Backend process ids of the sessions this process prepared the statements in.
_prepared: set[int] = set()


def _claim_in_one_message(params: dict) -> list[Execution]:
    # The claim is this task's first statement and stands in for Django's health check
    # (CONN_HEALTH_CHECKS: one more round trip per task): a connection found dead is
    # opened again and the claim sent once more. If the first one was applied and only
    # its answer lost, the second finds the row taken and the run's lease runs out into
    # recovery, which resumes it.
    try:
        return _claim_once(params)
    except (InterfaceError, OperationalError):
        if connection.is_usable():
            raise
        connection.close()
        return _claim_once(params)


def _claim_once(params: dict) -> list[Execution]:
    connection.ensure_connection()
    raw = connection.connection
    with connection.wrap_database_errors:
        try:
            claimed = _send(raw, params)
        except errors.InvalidSqlStatementName:
            # A new session that happens to have an old one's process id.
            _prepared.discard(raw.info.backend_pid)
            claimed = _send(raw, params)
    connection.health_check_done = True
    return claimed


def _send(raw: psycopg.Connection, params: dict) -> list[Execution]:
    # Client-side binding: a message may hold several statements only without
    # server-side parameters; psycopg quotes each value.
    cursor = psycopg.ClientCursor(raw)
    try:
        if raw.info.backend_pid not in _prepared:
            cursor.execute(PREPARE)
            _prepared.add(raw.info.backend_pid)
        cursor.execute(MESSAGE, params)
        for _ in _BEFORE_CLAIM:  # their results first, then the update's rows
            cursor.nextset()
        columns = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    except BaseException:
        if raw.info.transaction_status != TransactionStatus.IDLE:
            raw.rollback()
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
