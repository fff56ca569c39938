from __future__ import annotations

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
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=7)


class Invitation(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    token = models.CharField(max_length=64, unique=True, default=_invitation_token, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.team}"


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
