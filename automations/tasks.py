"""django-q2 entry points. Queued tasks store these dotted paths: keep them stable.

Each takes ids, never model instances (task arguments are pickled), and calls a service.
"""

from __future__ import annotations

from automations import services


def prune_executions() -> int:
    return services.execution_prune()
