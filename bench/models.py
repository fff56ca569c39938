from django.db import models


class CeilingRow(models.Model):
    """One row per request to the ceiling view: the least work a webhook could do."""

    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"CeilingRow {self.pk}"


class BareRun(models.Model):
    """One row per bare django-q2 task (bench/tasks.py): the drain's ceiling."""

    n = models.BigIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"BareRun {self.n}"
