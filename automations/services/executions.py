"""Starting, queueing and retrying executions, and the queue's housekeeping (pruning:
services/pruning.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from automations.audit import Kind, automation_audit
from automations.engine import queue
from automations.engine.conditions import conditions_hold
from automations.engine.paths import run_order
from automations.engine.runner import load_plan
from automations.engine.start import run_inline, run_queued
from automations.models import Automation, Execution, Status
from connectors import jsondata, registry
from connectors.base import ConnectorError

RUN_TASK = queue.RUN_TASK


def execution_enqueue(
    *, automation: Automation, trigger_output: Any, is_test: bool = False, unverified: bool = False
) -> Execution:
    """Record a queued execution; a worker gets it once the row is committed.
    ``unverified``: see ``queue.enqueue``."""
    return queue.enqueue(
        automation=automation,
        trigger_output=trigger_output,
        is_test=is_test,
        unverified=unverified,
    )


def execution_retry(*, execution: Execution, actor=None) -> tuple[Execution, bool]:
    """Run a failed execution again from the step that failed, with the outputs of the
    steps before it. An execution has one retry: asked again, this returns the one it
    has (and False)."""
    existing = Execution.objects.filter(retry_of=execution).first()
    if existing is not None:
        return existing, False
    if execution.status not in (Status.FAILED, Status.TIMED_OUT, Status.CANCELLED):
        raise ValidationError("Only a failed, timed out or cancelled execution can be retried.")
    if execution.parent_id:
        raise ValidationError("Retry the parent execution; this one was started by it.")
    runs = sorted(execution.step_runs.all(), key=lambda run: run_order(run.path))
    unfinished = [r for r in runs if r.status not in (Status.SUCCEEDED, Status.SKIPPED)]
    # The deepest step that did not finish (inside a loop: that iteration's step).
    failed = unfinished[-1] if unfinished else None
    resume, path = (failed.position, failed.path) if failed else (0, "")
    if any(r.output_truncated for r in runs):
        resume, path = 0, ""  # an earlier output was too large to keep: start over
    try:
        with transaction.atomic():
            retry = Execution.objects.create(
                automation=execution.automation, status=Status.QUEUED,
                trigger_output=execution.trigger_output, retry_of=execution,
                resume_position=resume, resume_path=path, is_test=execution.is_test,
                enqueued_at=timezone.now(),
            )  # fmt: skip
    except IntegrityError:
        # Pressed twice at once: the constraint let one through; this is the other.
        return Execution.objects.get(retry_of=execution), False
    queue.send_on_commit(retry.pk)
    automation_audit(Kind.AUTOMATION_RUN, retry.automation, actor, f"retry of {execution.pk}")
    return retry, True


def execution_housekeeping() -> dict[str, int]:
    """Recover the runs of workers that died and hand waiting runs to the broker. Run by
    the housekeeping thread of every worker process (``automations.worker``) and, as a
    backstop, by a django-q2 schedule. A queued run is never timed out for waiting: a
    backlog is not a failure."""
    return queue.housekeeping()


def automation_run(
    *, automation: Automation, payload: Any, wait: bool = False, is_test: bool = False, actor=None
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
    automation_audit(Kind.AUTOMATION_RUN, automation, actor)
    if wait:
        # The caller waits, as a webhook's does: the same limit, after which the run
        # stops and is marked timed out (the web worker's timeout sits above it).
        return run_inline(
            load_plan(automation.pk),
            output,
            is_test=is_test,
            timeout=settings.SYNC_RESPONSE_TIMEOUT,
        )
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
        automation=automation, status=Status.QUEUED, trigger_output=output,
        enqueued_at=timezone.now(),
    )  # fmt: skip
    return run_queued(execution.pk)
