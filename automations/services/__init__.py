"""Writes for projects, automations, steps and executions, one module per concern.

The API, the wizard, the admin, tasks and management commands all come here, through
the names below.
"""

from automations.services.activation import automation_activate, automation_activate_together
from automations.services.editing import (
    automation_create,
    automation_delete,
    automation_export,
    automation_import,
    automation_update,
    blueprint_use,
    secrets_rotate,
)
from automations.services.executions import (
    RUN_TASK,
    automation_run,
    automation_run_scheduled,
    execution_enqueue,
    execution_housekeeping,
    execution_prune,
    execution_retry,
)
from automations.services.failures import (
    automation_on_failure_set,
    execution_failure_handle,
)
from automations.services.projects import project_create
from automations.services.registration import automation_deactivate
from automations.services.testing import (
    automation_test_trigger,
    data_suggestions,
    step_test,
)
from automations.services.versions import automation_touch

__all__ = [
    "RUN_TASK",
    "automation_activate",
    "automation_activate_together",
    "automation_create",
    "automation_deactivate",
    "automation_delete",
    "automation_export",
    "automation_on_failure_set",
    "execution_failure_handle",
    "automation_import",
    "automation_run",
    "automation_run_scheduled",
    "automation_test_trigger",
    "automation_touch",
    "automation_update",
    "blueprint_use",
    "data_suggestions",
    "execution_enqueue",
    "execution_prune",
    "execution_housekeeping",
    "execution_retry",
    "project_create",
    "secrets_rotate",
    "step_test",
]
