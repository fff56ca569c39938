"""django-q2 entry points. Queued tasks store these dotted paths: keep them stable.

Each takes ids, never model instances (task arguments are pickled), and calls a service.
"""

from __future__ import annotations

from accounts.audit import audit_prune
from automations import services
from automations.engine.start import run_queued


def run_execution(execution_id: int) -> str:
    execution = run_queued(execution_id)
    return execution.status if execution else "already claimed"


def run_scheduled(automation_id: int | str) -> str:
    execution = services.automation_run_scheduled(automation_id=int(automation_id))
    return execution.status if execution else "skipped"


def prune_executions() -> int:
    """The hourly prune: old executions, and audit entries past AUDIT_RETENTION_DAYS."""
    return services.execution_prune() + audit_prune()


def housekeeping() -> str:
    return str(services.execution_housekeeping())


def reap_stale_executions() -> str:
    """The old name of ``housekeeping``, still stored in schedules made before it."""
    return housekeeping()


def handle_failure(execution_id: int) -> str:
    """On failure: the e-mail and the error automation of a failed execution."""
    return str(services.execution_failure_handle(execution_id=execution_id))
