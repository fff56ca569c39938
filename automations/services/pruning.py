"""Retention pruning: executions past EXECUTION_RETENTION_DAYS deleted while webhooks go
on inserting, so gently (docs/ARCHITECTURE.md, Speed).

- Small batches (EXECUTION_PRUNE_BATCH top-level executions, oldest first, their child
  runs and step runs with them), each its own short transaction: a month of a busy log
  in one transaction held its locks and WAL for minutes.
- On PostgreSQL a batch is one statement: the ids never travel to Python and back, no
  row is loaded into a model, and its row locks last as long as that statement.
- A rest after each batch, as long as the batch took (and at least
  EXECUTION_PRUNE_PAUSE): the prune keeps at most half of one connection busy, and backs
  off further on a busy database, whose batches take longer, leaving its CPU and WAL
  flushes to the webhooks at least half the time.

Every batch commits on its own: a prune cut short (its task's timeout on a large
backlog) keeps what it deleted, and the next one goes on from the oldest row left.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from automations.models import DeliveryReceipt, Execution, StepRun

# One statement per batch: the batch's top-level executions (walking the created_at
# index from where the last batch stopped: rows before it are gone), their descendants,
# then their step runs and themselves deleted, and retries of them that stay unlinked
# (as on_delete=SET_NULL does). The foreign keys are checked when it commits.
BATCH_SQL = """
WITH RECURSIVE batch AS (
    SELECT id, created_at FROM {execution}
    WHERE parent_id IS NULL AND created_at < %(cutoff)s AND created_at >= %(since)s
    ORDER BY created_at LIMIT %(batch)s
), tree(id) AS (
    SELECT id FROM batch
    UNION ALL
    SELECT e.id FROM {execution} e JOIN tree t ON e.parent_id = t.id
), runs AS (
    DELETE FROM {steprun} WHERE execution_id IN (SELECT id FROM tree)
), unlinked AS (
    UPDATE {execution} SET retry_of_id = NULL
    WHERE retry_of_id IN (SELECT id FROM tree) AND id NOT IN (SELECT id FROM tree)
), gone AS (
    DELETE FROM {execution} WHERE id IN (SELECT id FROM tree) RETURNING id
)
SELECT (SELECT COUNT(*) FROM batch), (SELECT COUNT(*) FROM gone),
    (SELECT MAX(created_at) FROM batch)
"""  # noqa: S608 (table names from the models, values as parameters)


def execution_prune(
    *, days: int | None = None, batch: int | None = None, pause: float | None = None
) -> int:
    """Delete top-level executions older than the retention period, their child runs
    and step runs with them, in batches; the number of executions deleted."""
    days = settings.EXECUTION_RETENTION_DAYS if days is None else days
    batch = settings.EXECUTION_PRUNE_BATCH if batch is None else batch
    pause = settings.EXECUTION_PRUNE_PAUSE if pause is None else pause
    cutoff = timezone.now() - timedelta(days=days)
    since = datetime.min.replace(tzinfo=UTC)
    deleted = 0
    while True:
        started = time.monotonic()
        top, count, since = _batch(cutoff, since, batch)
        deleted += count
        if top < batch:  # the last batch
            break
        _rest(started, pause)
    receipts = DeliveryReceipt.objects.filter(received_at__lt=cutoff)
    while True:
        started = time.monotonic()
        ids = list(receipts.order_by("pk").values_list("pk", flat=True)[:batch])
        if ids:
            DeliveryReceipt.objects.filter(pk__in=ids).delete()
        if len(ids) < batch:
            return deleted
        _rest(started, pause)


def _batch(cutoff: datetime, since: datetime, batch: int) -> tuple[int, int, datetime]:
    """Delete the oldest ``batch`` top-level executions created from ``since`` to
    ``cutoff``, with their trees: how many top-level ones there were, how many
    executions went in all, and the newest time of the batch."""
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        sql = BATCH_SQL.format(
            execution=quote(Execution._meta.db_table), steprun=quote(StepRun._meta.db_table)
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, {"cutoff": cutoff, "since": since, "batch": batch})
            return cursor.fetchone()
    top = Execution.objects.filter(
        parent__isnull=True, created_at__lt=cutoff, created_at__gte=since
    ).order_by("created_at")[:batch]
    rows = list(top.values_list("pk", "created_at"))
    if not rows:
        return 0, 0, since
    with transaction.atomic():
        _, per_model = Execution.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    return len(rows), per_model.get(Execution._meta.label, 0), rows[-1][1]


def _rest(started: float, pause: float) -> None:
    time.sleep(max(pause, time.monotonic() - started))
