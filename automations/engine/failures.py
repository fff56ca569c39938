"""The one place a run that ends failed or timed out is reported from.

Every way a top-level run can end badly (the runner, inline or queued; recovery failing
a run whose worker died) calls ``execution_failed``. When the automation asks for it
("On failure": an e-mail, an error automation), the failure is handed to a task once the
execution's row is committed, so that the alert reads the recorded execution and nothing
slows the run's own answer (a webhook's caller waits for an inline run). The task,
``automations.services.failures.execution_failure_handle``, sends the e-mail and queues
the error automation.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_q.tasks import async_task

from automations.models import Execution, Status

logger = logging.getLogger(__name__)

FAILURE_TASK = "automations.tasks.handle_failure"
BAD_ENDINGS = (Status.FAILED, Status.TIMED_OUT)


def execution_failed(execution: Execution) -> None:
    """Report a run that ended failed or timed out, after the current transaction
    commits. Test runs and sub automations' runs (their parent's run fails with them)
    are not reported."""
    if execution.pk is None or execution.parent_id or execution.is_test:
        return
    if execution.status not in BAD_ENDINGS:
        return
    automation = execution.automation
    if not (automation.failure_email or automation.failure_automation_id):
        return
    pk = execution.pk
    transaction.on_commit(lambda: _hand_over(pk))


def _hand_over(execution_id: int) -> None:
    try:
        async_task(FAILURE_TASK, execution_id, task_name=f"failure-{execution_id}")
    except Exception:
        # The run's own log is written; only its alert is lost.
        logger.warning(
            "The task broker refused the failure alert of execution %s",
            execution_id,
            exc_info=True,
        )
