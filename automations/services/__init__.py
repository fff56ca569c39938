"""Writes for projects, automations, steps and executions, one module per concern.

The API, the wizard, the admin, tasks and management commands all come here, through
the names below.
"""

from automations.services.accounts import account_delete_everywhere, automations_using
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
    execution_retry,
)
from automations.services.failures import (
    automation_on_failure_set,
    execution_failure_handle,
)
from automations.services.keys import automation_update_renaming_step, help_keys, step_key_for
from automations.services.projects import (
    automation_clone,
    automation_rename,
    project_create,
    project_delete,
    project_rename,
)
from automations.services.pruning import execution_prune
from automations.services.registration import automation_deactivate
from automations.services.sampling import (
    listening,
    trigger_listen,
    trigger_listen_stop,
    trigger_sample_paste,
    trigger_sample_take,
)
from automations.services.testing import automation_test_trigger, data_suggestions, step_test
from automations.services.versions import automation_touch

__all__ = [
    "RUN_TASK",
    "account_delete_everywhere",
    "automation_activate",
    "automation_activate_together",
    "automation_clone",
    "automation_create",
    "automation_deactivate",
    "automation_delete",
    "automation_export",
    "automation_on_failure_set",
    "execution_failure_handle",
    "automation_import",
    "automation_rename",
    "automation_run",
    "automation_run_scheduled",
    "automation_test_trigger",
    "automation_touch",
    "automation_update_renaming_step",
    "automations_using",
    "automation_update",
    "blueprint_use",
    "data_suggestions",
    "execution_enqueue",
    "execution_prune",
    "execution_housekeeping",
    "execution_retry",
    "help_keys",
    "listening",
    "project_create",
    "project_delete",
    "project_rename",
    "secrets_rotate",
    "step_key_for",
    "step_test",
    "trigger_listen",
    "trigger_listen_stop",
    "trigger_sample_paste",
    "trigger_sample_take",
]
