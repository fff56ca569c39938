"""Starting, queueing, retrying and pruning executions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from automations.engine.conditions import conditions_hold
from automations.engine.runner import load_plan
from automations.engine.start import run_inline, run_queued
from automations.models import Automation, DeliveryReceipt, Execution, Status
from connectors import jsondata, registry
from connectors.base import ConnectorError

RUN_TASK = "automations.tasks.run_execution"


def execution_enqueue(
    *, automation: Automation, trigger_output: Any, is_test: bool = False
) -> Execution:
    """Record a queued execution and hand its id to a worker once the row is committed."""
    execution = Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output=trigger_output, is_test=is_test
    )
    _enqueue(execution.pk)
    return execution


def _enqueue(execution_id: int) -> None:
    transaction.on_commit(
        lambda: async_task(RUN_TASK, execution_id, task_name=f"execution-{execution_id}")
    )


def execution_retry(*, execution: Execution) -> Execution:
    """Run a failed execution again from the step that failed, with the outputs of the
    steps before it."""
    if execution.status not in (Status.FAILED, Status.TIMED_OUT, Status.CANCELLED):
        raise ValidationError("Only a failed, timed out or cancelled execution can be retried.")
    if execution.parent_id:
        raise ValidationError("Retry the parent execution; this one was started by it.")
    failed = execution.step_runs.exclude(status=Status.SUCCEEDED).order_by("position").first()
    resume = failed.position if failed else 0
    reusable = execution.step_runs.filter(
        position__lt=resume, status=Status.SUCCEEDED, output_truncated=False
    ).count()
    if reusable < resume:
        resume = 0  # an earlier output was too large to keep: start over
    retry = Execution.objects.create(
        automation=execution.automation, status=Status.QUEUED,
        trigger_output=execution.trigger_output, retry_of=execution, resume_position=resume,
        is_test=execution.is_test,
    )  # fmt: skip
    _enqueue(retry.pk)
    return retry


def execution_prune(*, days: int | None = None) -> int:
    """Delete top-level executions older than the retention period (children go with them)."""
    days = settings.EXECUTION_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Execution.objects.filter(created_at__lt=cutoff, parent__isnull=True).delete()
    DeliveryReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted


def execution_reap_stale() -> int:
    """Executions left running or queued by a worker that died: past twice the run time
    limit they are marked timed out, with a message saying so, and keep their log."""
    cutoff = timezone.now() - timedelta(seconds=2 * settings.RUN_TIME_LIMIT)
    return Execution.objects.filter(
        status__in=[Status.RUNNING, Status.QUEUED], created_at__lt=cutoff
    ).update(
        status=Status.TIMED_OUT,
        finished_at=timezone.now(),
        error="The run did not finish: its worker stopped, or no worker took it in time.",
    )


def automation_run(
    *, automation: Automation, payload: Any, wait: bool = False, is_test: bool = False
) -> Execution:
    """Start a run with ``payload`` as the event: queued, or inline when ``wait``."""

    if not automation.trigger_connector:
        raise ValidationError({"trigger": "is not configured yet"})
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    try:
        output = trigger.accept_payload(payload, automation.trigger_config)
        jsondata.check(output, "payload")
    except ConnectorError as exc:
        raise ValidationError({"payload": exc.message}) from None
    except jsondata.Unstorable as exc:
        raise ValidationError({"payload": str(exc)}) from None
    if wait:
        execution = run_inline(load_plan(automation.pk), output, is_test=is_test)
        return execution
    return execution_enqueue(automation=automation, trigger_output=output, is_test=is_test)


def automation_run_scheduled(*, automation_id: int) -> Execution | None:
    """A schedule's tick: run now in this worker, unless the automation was switched off
    or its conditions do not hold."""

    automation = Automation.objects.filter(pk=automation_id, active=True).first()
    if automation is None:
        return None
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    output = trigger.accept_payload({}, automation.trigger_config)
    if not conditions_hold(automation.trigger_conditions, output):
        return None
    execution = Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output=output
    )
    return run_queued(execution.pk)
