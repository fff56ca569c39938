"""Writes for projects, and the automation changes the Automations page offers beside
them (rename, clone)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Team
from automations import documents
from automations.models import Automation, Project
from automations.services.editing import automation_import, automation_update


def _clean_name(team: Team, name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "is required"})
    if len(name) > Project._meta.get_field("name").max_length:
        raise ValidationError({"name": "is too long (100 characters at most)"})
    if Project.objects.filter(team=team, name=name).exclude(pk=exclude).exists():
        raise ValidationError({"name": f"the team already has a project named {name!r}"})
    return name


def project_create(*, team: Team, name: str, description: str = "") -> Project:
    return Project.objects.create(team=team, name=_clean_name(team, name), description=description)


def project_rename(*, project: Project, name: str) -> Project:
    project.name = _clean_name(project.team, name, exclude=project.pk)
    project.save(update_fields=["name"])
    return project


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Only an empty project: deleting one would take its automations with it."""
    locked = Project.objects.select_for_update().get(pk=project.pk)
    count = locked.automations.count()
    if count:
        raise ValidationError(
            f"The project {locked.name!r} still has {count} automation{'s' if count > 1 else ''}; "
            "move or delete them first."
        )
    locked.delete()


def automation_rename(*, automation: Automation, name: str, actor=None) -> Automation:
    """A rename is a change of the definition, checked like any save."""
    return automation_update(
        automation=automation, data={"name": (name or "").strip()}, partial=True, actor=actor
    )


def automation_clone(*, automation: Automation, created_by=None) -> Automation:
    """A copy in the same project, inactive, named "<name> (copy)" (then (copy 2), ...).
    Secrets are not copied: they are entered again in the copy."""
    document = documents.automation_to_document(automation)
    taken = set(automation.project.automations.values_list("name", flat=True))
    name, n = f"{automation.name} (copy)", 2
    while name in taken:
        name, n = f"{automation.name} (copy {n})", n + 1
    return automation_import(
        project=automation.project,
        document=document,
        created_by=created_by,
        name=name[:100],
        partial=True,
    )
