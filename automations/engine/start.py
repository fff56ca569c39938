"""Ways a run starts: inline in the calling process, or claimed from the queue."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.utils import timezone

from automations.engine.runner import Plan, Runner, load_plan
from automations.models import Execution, Status


def run_inline(
    plan: Plan, trigger_output: Any, *, is_test: bool = False, timeout: float | None = None
) -> Execution:
    """Run now, in this process; the log is written once, at the end."""
    return answer_inline(plan, trigger_output, is_test=is_test, timeout=timeout)[0]


def answer_inline(
    plan: Plan, trigger_output: Any, *, is_test: bool = False, timeout: float | None = None
) -> tuple[Execution, Any]:
    """Run now for an HTTP caller: the execution, and the Response step's answer in full
    (``execution.response`` keeps a capped copy), or None."""
    limit = min(settings.RUN_TIME_LIMIT, timeout) if timeout else settings.RUN_TIME_LIMIT
    execution = Execution(
        automation=plan.automation, status=Status.RUNNING, trigger_output=trigger_output,
        is_test=is_test, started_at=timezone.now(),
    )  # fmt: skip
    runner = Runner(plan, execution, deadline=time.monotonic() + limit, flush_each_step=False)
    runner.run()
    return execution, runner.recorder.answer


def claim(execution_id: int) -> bool:
    """Take a queued execution for this worker; False when another worker has it."""
    return bool(
        Execution.objects.filter(pk=execution_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now()
        )
    )


def run_queued(execution_id: int) -> Execution | None:
    if not claim(execution_id):
        return None
    execution = Execution.objects.get(pk=execution_id)
    previous = _previous_outputs(execution)
    runner = Runner(
        load_plan(execution.automation_id), execution,
        deadline=time.monotonic() + settings.RUN_TIME_LIMIT, flush_each_step=True,
        previous_outputs=previous,
    )  # fmt: skip
    runner.run()
    return execution


def _previous_outputs(execution: Execution) -> dict[str, Any]:
    """For a retry: the outputs of the steps before the one that failed."""
    if not execution.retry_of_id or not execution.resume_position:
        return {}
    runs = execution.retry_of.step_runs.filter(
        position__lt=execution.resume_position, status=Status.SUCCEEDED, output_truncated=False
    )
    return {run.step_key: run.output for run in runs}
