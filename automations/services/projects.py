"""Writes for projects."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.models import Team
from automations.models import Project


def project_create(*, team: Team, name: str, description: str = "") -> Project:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "is required"})
    if Project.objects.filter(team=team, name=name).exists():
        raise ValidationError({"name": f"the team already has a project named {name!r}"})
    return Project.objects.create(team=team, name=name, description=description)
