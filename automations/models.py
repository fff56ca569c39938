from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from accounts.models import ConnectedAccount, EncryptedSecrets, Team


def _webhook_token() -> str:
    return secrets.token_urlsafe(24)


class Project(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="project_name_unique_in_team")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Automation(EncryptedSecrets):
    """One trigger plus ordered steps. Trigger fields declared secret (a webhook's shared
    secret, say) live encrypted in ``secrets_encrypted``, never in ``trigger_config``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="automations")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=False)
    trigger_connector = models.CharField(max_length=50, blank=True)
    trigger_key = models.CharField(max_length=50, blank=True)
    trigger_account = models.ForeignKey(
        ConnectedAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger_config = models.JSONField(default=dict, blank=True)
    trigger_conditions = models.JSONField(default=list, blank=True)
    trigger_sample = models.JSONField(null=True, blank=True)
    # Test Trigger waits for a real request until then: the next delivery becomes the
    # sample (even while inactive) and starts nothing.
    listening_until = models.DateTimeField(null=True, blank=True, editable=False)
    # State the trigger keeps with the outside service (a registered webhook's uid).
    trigger_state = models.JSONField(default=dict, blank=True)
    # Why the last registration with the service failed (shown until one succeeds).
    trigger_error = models.TextField(blank=True)
    # Set while a registration call is out (no row lock is held during the call); other
    # activations, deactivations and edits wait for it. Its value names the attempt.
    registering_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped by automation_touch in the transaction of every change to the automation
    # or its steps; cached plans are keyed by it. Only ever written by that F() update:
    # other saves name their update_fields or hold the row lock.
    version = models.PositiveIntegerField(default=0, editable=False)
    webhook_token = models.CharField(
        max_length=64, unique=True, default=_webhook_token, editable=False
    )
    # On failure (a run that ends failed or timed out): e-mail the team's owners and
    # admins, or the members listed by user id, at most once per FAILURE_ALERT_MINUTES;
    # and/or start an error automation (a sub automation of the same project).
    failure_email = models.BooleanField(default=False)
    failure_recipients = models.JSONField(default=list, blank=True)
    failure_automation = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the last failure e-mail went out, and the failures since that sent none.
    failure_alert_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures_unreported = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="automation_name_unique_in_project"
            )
        ]
        indexes = [models.Index(fields=["trigger_connector", "trigger_key", "active"])]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def team_id(self) -> int:
        return self.project.team_id


class Step(EncryptedSecrets):
    """One step of an automation's tree. A top-level step has no parent; a nested one
    belongs to one of its parent's lists (``branch``: then/else of a flow.if, do of a
    flow.for_each), at ``position`` within that list. Keys are unique across the whole
    tree, so a reference never needs a scope."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="steps")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    branch = models.CharField(max_length=10, blank=True)
    position = models.PositiveIntegerField(default=0)
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=100, blank=True)
    connector = models.CharField(max_length=50)
    action = models.CharField(max_length=50)
    account = models.ForeignKey(
        ConnectedAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="steps"
    )
    config = models.JSONField(default=dict, blank=True)
    sample_output = models.JSONField(null=True, blank=True)
    max_attempts = models.PositiveSmallIntegerField(default=3)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "key"], name="step_key_unique")
        ]
        ordering = ["automation", "position", "pk"]

    def __str__(self) -> str:
        return self.name or self.key


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"
    # A step in a branch that was not taken (step runs only).
    SKIPPED = "skipped", "Skipped"


FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.TIMED_OUT)


class Execution(models.Model):
    # Indexed by execution_by_automation (automation first): every index is paid for on
    # each webhook insert, so foreign keys covered by another index get none of their own.
    automation = models.ForeignKey(
        Automation, on_delete=models.CASCADE, related_name="executions", db_index=False
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    is_test = models.BooleanField(default=False)
    trigger_output = models.JSONField(null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        db_index=False,
    )
    depth = models.PositiveSmallIntegerField(default=0)
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        db_index=False,
    )
    # A retry resumes here; the steps before it take their outputs from retry_of. A run
    # resumed after its worker died, or waiting to retry a step, resumes here too, with
    # the outputs of its own earlier steps.
    resume_position = models.PositiveIntegerField(default=0)
    # The position path to continue at (docs/ARCHITECTURE.md, position paths): every
    # step up to it that has a recorded output takes it instead of running again.
    resume_path = models.CharField(max_length=200, blank=True)
    # Seconds spent in flow.delay waits: they do not count towards the run's time limit.
    waited_seconds = models.PositiveIntegerField(default=0)
    # Queue bookkeeping (docs/ARCHITECTURE.md, Running): when the id was last handed to
    # the broker (null: not handed yet, or waiting for a slot of its team), the earliest
    # time a queued run may start (a step waiting to retry), and until when the worker
    # running it holds it (renewed by its heartbeat; past it, recovery takes it over).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    response = models.JSONField(null=True, blank=True)
    tokens_used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["automation", "-created_at"], name="execution_by_automation"),
            models.Index(fields=["status", "created_at"], name="execution_by_status"),
            models.Index(
                fields=["parent"],
                name="execution_children",
                condition=models.Q(parent__isnull=False),
            ),
            # Housekeeping reads only unfinished rows: small partial indexes.
            models.Index(
                fields=["enqueued_at"],
                name="execution_queued",
                condition=models.Q(status="queued"),
            ),
            models.Index(
                fields=["lease_until"],
                name="execution_leased",
                condition=models.Q(status="running"),
            ),
            # Every claim counts its team's running runs: only those rows, by automation.
            models.Index(
                fields=["automation"],
                name="execution_running",
                condition=models.Q(status="running", parent__isnull=True),
            ),
        ]
        constraints = [
            # Retry pressed twice makes one retry: the second finds this one taken.
            models.UniqueConstraint(
                fields=["retry_of"],
                name="one_retry_per_execution",
                condition=models.Q(retry_of__isnull=False),
            ),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Execution {self.pk} of {self.automation_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class StepRun(models.Model):
    # Indexed by the (execution, path) unique constraint.
    execution = models.ForeignKey(
        Execution, on_delete=models.CASCADE, related_name="step_runs", db_index=False
    )
    step_key = models.CharField(max_length=50)
    # The top-level step this run belongs to (itself, or the branch or loop holding it).
    position = models.PositiveIntegerField()
    # Where the run is in the tree (docs/ARCHITECTURE.md, position paths): "2" for a
    # top-level step, "2.then.0" inside a branch, "2.do.3.0" in iteration 3 of a loop.
    path = models.CharField(max_length=200, default="")
    # The index of the innermost loop iteration this run belongs to, if any.
    iteration = models.PositiveIntegerField(null=True, blank=True)
    connector = models.CharField(max_length=50)
    action = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    output_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # True when a retried execution took this output from the run it retries.
    reused = models.BooleanField(default=False)
    tokens_used = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["execution", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "path"], name="one_run_per_path")
        ]

    def __str__(self) -> str:
        return f"{self.step_key} ({self.status})"


class DeliveryReceipt(models.Model):
    """One row per event a service delivered, for services that deliver again (retries):
    a second copy finds its key taken and starts nothing."""

    automation = models.ForeignKey(
        Automation, on_delete=models.CASCADE, related_name="receipts", db_index=False
    )
    key = models.CharField(max_length=255)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "key"], name="one_receipt_per_event")
        ]

    def __str__(self) -> str:
        return self.key
