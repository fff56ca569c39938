"""Writes of automation definitions: create, update, delete, import, export, templates."""

from __future__ import annotations

import copy
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import crypto
from accounts.audit import audit_record
from accounts.models import AuditKind
from accounts.services import account_rotate_encryption
from automations import documents
from automations.blueprints import blueprint
from automations.definitions import CleanDefinition, CleanStep, clean_definition
from automations.models import Automation, Project, Step
from automations.services import registration
from automations.services.versions import automation_touch


def _apply_trigger(automation: Automation, clean: CleanDefinition) -> None:
    """Set the definition's name and trigger on ``automation``, in memory."""
    changed_trigger = (
        automation.trigger_connector != clean.trigger_connector
        or automation.trigger_key != clean.trigger_key
    )
    automation.name = clean.name
    automation.description = clean.description
    automation.trigger_connector = clean.trigger_connector
    automation.trigger_key = clean.trigger_key
    automation.trigger_account = clean.trigger_account
    automation.trigger_config = clean.trigger_config
    automation.trigger_conditions = clean.trigger_conditions
    kept = {} if changed_trigger or not automation.has_secrets else automation.get_secrets()
    automation.set_secrets({**kept, **clean.trigger_secrets})
    if changed_trigger:
        automation.trigger_sample = None


def _save_steps(
    automation: Automation,
    items: list[CleanStep],
    existing: dict[str, Step],
    *,
    parent: Step | None,
    branch: str,
) -> None:
    """Save one list of the tree, each step before the lists it holds; the steps found
    in ``existing`` are taken out of it (what is left there is deleted)."""
    for position, item in enumerate(items):
        step = existing.pop(item.key, None)
        same = step is not None and (step.connector, step.action) == (item.connector, item.action)
        if step is None:
            step = Step(automation=automation, key=item.key)
        kept = step.get_secrets() if same and step.has_secrets else {}
        if not same:
            step.sample_output = None
        step.parent, step.branch, step.position = parent, branch, position
        step.name = item.name
        step.connector, step.action = item.connector, item.action
        step.account = item.account
        step.config = item.config
        step.max_attempts = item.max_attempts
        step.set_secrets({**kept, **item.secrets})
        step.save()
        for name, children in item.nested.items():
            _save_steps(automation, children, existing, parent=step, branch=name)


def _apply(automation: Automation, clean: CleanDefinition) -> Automation:
    _apply_trigger(automation, clean)
    try:
        with transaction.atomic():
            automation.save()
    except IntegrityError:
        raise ValidationError(
            {"name": f"the project already has an automation named {clean.name!r}"}
        ) from None
    existing = {step.key: step for step in automation.steps.all()}
    _save_steps(automation, clean.steps, existing, parent=None, branch="")
    Step.objects.filter(pk__in=[step.pk for step in existing.values()]).delete()
    automation_touch(automation_id=automation.pk)
    return automation


@transaction.atomic
def automation_create(
    *,
    project: Project,
    data: dict[str, Any],
    created_by=None,
    partial: bool = False,
    audit_kind: AuditKind = AuditKind.AUTOMATION_CREATED,
) -> Automation:
    clean = clean_definition(project.team, data, partial=partial, project=project)
    if Automation.objects.filter(project=project, name=clean.name).exists():
        raise ValidationError(
            {"name": f"the project already has an automation named {clean.name!r}"}
        )
    automation = _apply(Automation(project=project, created_by=created_by), clean)
    audit_record(kind=audit_kind, team=project.team, actor=created_by, obj=automation)
    return automation


def automation_update(
    *, automation: Automation, data: dict[str, Any], partial: bool = False, actor=None
) -> Automation:
    """Replace the parts of the definition that ``data`` names; keep the rest. An
    active automation whose trigger changes registers the new trigger with its service
    first, with no lock held during the call, and keeps the old one if that fails."""
    with transaction.atomic():
        locked = registration.automation_locked(automation.pk)
        audit_record(
            kind=AuditKind.AUTOMATION_CHANGED,
            team=locked.project.team,
            actor=actor,
            obj=locked,
            summary=f"changed: {', '.join(sorted(data))}",
        )
        merged = {**documents.automation_definition(locked), **data}
        # An active automation must stay complete: no drafts while it runs.
        clean = clean_definition(
            locked.project.team,
            merged,
            existing=locked,
            partial=partial and not locked.active,
        )
        candidate = copy.copy(locked)
        _apply_trigger(candidate, clean)
        if not locked.active or not registration.trigger_changes(locked, candidate):
            return _apply(locked, clean)
        pending = registration.registration_start(locked, new=candidate)
    return registration.registration_finish(pending, apply=lambda row: _apply(row, clean))


def automation_delete(*, automation: Automation, actor=None) -> None:
    registration.automation_deactivate(automation=automation, actor=actor)
    with transaction.atomic():
        team = automation.project.team
        audit_record(kind=AuditKind.AUTOMATION_DELETED, team=team, actor=actor, obj=automation)
        automation.delete()


def automation_import(
    *,
    project: Project,
    document: Any,
    created_by=None,
    name: str | None = None,
    partial: bool = False,
) -> Automation:
    """Create an automation from a document. ``partial`` lets required parts (an
    account, say) stay empty, for drafts the user completes before activating."""
    definition, errors = documents.document_definition(document)
    if errors:
        raise ValidationError(errors)
    if name:
        definition["name"] = name
    return automation_create(
        project=project,
        data=definition,
        created_by=created_by,
        partial=partial,
        audit_kind=AuditKind.AUTOMATION_IMPORTED,
    )


def _free_name(project: Project, name: str) -> str:
    taken = set(project.automations.values_list("name", flat=True))
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


@transaction.atomic
def blueprint_use(
    *, project: Project, key: str, accounts: dict[str, int] | None = None, created_by=None
) -> list[Automation]:
    """Create a blueprint's automations in a project, inactive. ``accounts`` maps a
    connector to an account of the team, put into every step and trigger that needs one;
    the others are left for the user to choose."""

    found = blueprint(key)
    if found is None:
        raise ValidationError({"key": f"there is no template {key!r}"})
    accounts = accounts or {}
    renamed: dict[str, str] = {}
    created = []
    for document in found["documents"]:
        document = json.loads(json.dumps(document))
        new_name = _free_name(project, document["name"])
        renamed[document["name"]] = new_name
        for part in [document["trigger"], *documents.walk_steps(document["steps"])]:
            if part.get("account") is None and part["connector"] in accounts:
                part["account"] = accounts[part["connector"]]
            names = part.get("config", {}).get("sub_automations")
            if names:
                part["config"]["sub_automations"] = [renamed.get(n, n) for n in names]
        created.append(
            automation_import(
                project=project,
                document=document,
                created_by=created_by,
                name=new_name,
                partial=True,
            )  # fmt: skip
        )
    return created


def automation_export(*, automation: Automation) -> dict[str, Any]:
    return documents.automation_to_document(automation)


def secrets_rotate() -> int:
    """Re-encrypt every stored secret (accounts, trigger and step secrets) under the
    newest key, so that old keys can be dropped."""

    count = account_rotate_encryption()
    for model, owner in ((Automation, "pk"), (Step, "automation_id")):
        rows = model.objects.exclude(secrets_encrypted="").only("pk", owner, "secrets_encrypted")
        for row in rows:
            with transaction.atomic():
                row.secrets_encrypted = crypto.rotate(row.secrets_encrypted)
                row.save(update_fields=["secrets_encrypted"])
                # Cached plans hold the old ciphertext, which the old key, once dropped,
                # can no longer read.
                automation_touch(automation_id=getattr(row, owner))
            count += 1
    return count
