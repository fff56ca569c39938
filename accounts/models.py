from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts import crypto, roles
from accounts.roles import Role


class EncryptedSecrets(models.Model):
    """Holds a dict of secret values, encrypted; read only by the engine at run time."""

    secrets_encrypted = models.TextField(blank=True, default="", editable=False)

    class Meta:
        abstract = True

    def set_secrets(self, values: dict[str, Any]) -> None:
        kept = {key: value for key, value in values.items() if value not in (None, "")}
        self.secrets_encrypted = crypto.encrypt_json(kept) if kept else ""

    def get_secrets(self) -> dict[str, Any]:
        return crypto.decrypt_json(self.secrets_encrypted)

    @property
    def has_secrets(self) -> bool:
        return bool(self.secrets_encrypted)


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    is_personal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)
    # The team the user chose last is the one the pages open on, across sessions.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership")]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    def allows(self, role: str) -> bool:
        return roles.at_least(self.role, role)

    def can(self, action: roles.Action) -> bool:
        return roles.can(self.role, action)


def _invitation_token() -> str:
    # Named by migration 0001; invitations now keep only a hash (token_hash).
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """How invitation links and API tokens are kept: their SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_DAYS)


class InvitationState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Used"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Invitation(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    # The link's token is e-mailed, never stored: a database reader cannot join a team.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.team}"

    @property
    def state(self) -> InvitationState:
        if self.accepted_at:
            return InvitationState.ACCEPTED
        if self.revoked_at:
            return InvitationState.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationState.EXPIRED
        return InvitationState.PENDING


class ConnectedAccount(EncryptedSecrets):
    """Credentials for one outside service. Secret fields are encrypted and never shown;
    the non-secret ones (organization id, region, ...) are kept in ``config``."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="accounts")
    connector = models.CharField(max_length=50)
    title = models.CharField(max_length=100)
    config = models.JSONField(default=dict, blank=True)
    hint = models.CharField(max_length=20, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "title"], name="account_title_unique_in_team")
        ]
        indexes = [models.Index(fields=["team", "connector"])]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def __repr__(self) -> str:
        return f"<ConnectedAccount {self.pk} {self.connector} {self.title!r}>"

    def credentials(self) -> dict[str, Any]:
        """Settings and secrets together, for the connector at run time only."""
        return {**self.config, **self.get_secrets()}


class TeamVariable(EncryptedSecrets):
    """A named value of a team, referenced as ``{{ vars.NAME }}``. A secret one keeps its
    value encrypted in ``secrets_encrypted`` (as {"value": ...}) and ``value`` empty; no
    interface shows it again, only a masked ``hint``."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="variables")
    name = models.CharField(max_length=64)
    value = models.TextField(blank=True)
    is_secret = models.BooleanField(default=False)
    hint = models.CharField(max_length=20, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="variable_name_unique_in_team")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<TeamVariable {self.pk} {self.name}{' (secret)' if self.is_secret else ''}>"

    def run_value(self) -> str:
        """The value a run renders with; a secret's is decrypted here, at run time only."""
        return self.get_secrets().get("value", "") if self.is_secret else self.value


class ApiToken(models.Model):
    """A user's API token: shown once when made, kept as a SHA-256 hash. ``prefix`` (the
    token's first characters) finds the row and names the token in lists."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditKind(models.TextChoices):
    AUTOMATION_CREATED = "automation.created", "Automation created"
    AUTOMATION_CHANGED = "automation.changed", "Automation changed"
    AUTOMATION_ACTIVATED = "automation.activated", "Automation activated"
    AUTOMATION_DEACTIVATED = "automation.deactivated", "Automation deactivated"
    AUTOMATION_DELETED = "automation.deleted", "Automation deleted"
    AUTOMATION_IMPORTED = "automation.imported", "Automation imported"
    AUTOMATION_RUN = "automation.run", "Automation run by hand"
    ACCOUNT_CREATED = "account.created", "Account created"
    ACCOUNT_CHANGED = "account.changed", "Account changed"
    ACCOUNT_DELETED = "account.deleted", "Account deleted"
    VARIABLE_CREATED = "variable.created", "Variable created"
    VARIABLE_CHANGED = "variable.changed", "Variable changed"
    VARIABLE_DELETED = "variable.deleted", "Variable deleted"
    MEMBER_INVITED = "member.invited", "Member invited"
    MEMBER_JOINED = "member.joined", "Member joined"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member's role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    INVITATION_REVOKED = "invitation.revoked", "Invitation revoked"
    TOKEN_CREATED = "token.created", "API token created"
    TOKEN_REVOKED = "token.revoked", "API token revoked"
    TEAM_RENAMED = "team.renamed", "Team renamed"
    TEAM_DELETED = "team.deleted", "Team deleted"
    OWNERSHIP_TRANSFERRED = "team.ownership_transferred", "Ownership transferred"
    SIGNIN_FAILED = "signin.failed", "Sign-in failed"
    SIGNIN_LOCKED_OUT = "signin.locked_out", "Sign-in paused (too many failures)"


# Events of a person rather than a team: a team's audit log shows those of its members.
PERSONAL_KINDS = [
    AuditKind.TOKEN_CREATED,
    AuditKind.TOKEN_REVOKED,
    AuditKind.SIGNIN_FAILED,
    AuditKind.SIGNIN_LOCKED_OUT,
]


class AuditEvent(models.Model):
    """Who did what, when and from where. Names are copied, so that the entry still
    reads after the team, the person or the object is gone. Never holds a secret."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    team_name = models.CharField(max_length=100, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=40, choices=AuditKind.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="audit_team_time"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_time"),
            models.Index(fields=["created_at"], name="audit_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.kind}"
