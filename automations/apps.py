from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from automations.worker import lower_priority, start_housekeeping

        # Not domain logic: the worker process's housekeeping thread and its CPU priority
        # (automations/worker.py).
        post_spawn.connect(start_housekeeping, dispatch_uid="switchboard-housekeeping")
        post_spawn.connect(lower_priority, dispatch_uid="switchboard-worker-priority")
