"""Ways a run starts: inline in the calling process, or claimed from the queue."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.utils import timezone

from automations.engine import lease, queue
from automations.engine.claims import claim
from automations.engine.inserts import new_execution
from automations.engine.plans import plan_for_automation, plan_for_version
from automations.engine.runner import Plan, Runner
from automations.models import Execution, Status, StepRun


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
        execution = new_execution(
            plan.automation, status=Status.RUNNING, trigger_output=trigger_output,
            is_test=is_test, started_at=timezone.now(),
        )  # fmt: skip
    runner = Runner(plan, execution, deadline=time.monotonic() + limit, flush_each_step=False)
    if unverified:
        runner.recorder.expect_version = (plan.automation.pk, plan.automation.version)
    runner.run()
    return execution, runner.recorder.answer


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
