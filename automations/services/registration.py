"""Switching automations on and off, and keeping their triggers registered with
the outside services they come from (webhooks, schedules)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from accounts import selectors as account_selectors
from accounts.models import ConnectedAccount
from automations import documents
from automations.audit import Kind, automation_audit
from automations.definitions import clean_definition
from automations.models import Automation
from automations.schedules import automation_schedule_clear, automation_schedule_set
from automations.selectors import public_hooks_base, webhook_url
from connectors import registry
from connectors.base import ConnectorError, Trigger, TriggerSetup


def _trigger_identity(automation: Automation) -> tuple:
    """Everything a trigger registers with its service depends on."""
    return (
        automation.trigger_connector,
        automation.trigger_key,
        automation.trigger_account_id,
        automation.trigger_config,
        automation.get_secrets() if automation.has_secrets else {},
    )


@dataclass(frozen=True)
class Registered:
    """What an active automation's trigger registered, before a change to it."""

    identity: tuple
    trigger: Trigger
    setup: TriggerSetup
    state: dict[str, Any]


def trigger_registered(automation: Automation) -> Registered:
    return Registered(
        identity=_trigger_identity(automation),
        trigger=registry.get(automation.trigger_connector).trigger(automation.trigger_key),
        setup=_trigger_setup(automation),
        state=automation.trigger_state or {},
    )


def trigger_refresh(automation: Automation, previous: Registered) -> None:
    """Register again with the service when what the trigger registered has changed,
    so that what it sends matches the new trigger."""
    if _trigger_identity(automation) == previous.identity:
        return
    new_trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    try:
        previous.trigger.deactivate(previous.setup, previous.state)
        _generate_secrets(automation, new_trigger)
        automation.trigger_state = new_trigger.activate(_trigger_setup(automation)) or {}
    except ConnectorError as exc:
        raise ValidationError(
            {"trigger": f"could not be registered again: {exc.message}"}
        ) from None
    automation.save(update_fields=["trigger_state", "updated_at"])
    _sync_schedule(automation, new_trigger)


def _trigger_setup(automation: Automation) -> TriggerSetup:

    account = trigger_account(automation)
    return TriggerSetup(
        config=automation.trigger_config,
        secrets=automation.get_secrets(),
        credentials=account.credentials() if account else {},
        hook_url=webhook_url(automation) if public_hooks_base() else None,
        automation_name=automation.name,
    )


def trigger_account(automation: Automation) -> ConnectedAccount | None:
    try:
        return account_selectors.account_for_run(
            team_id=automation.project.team_id, pk=automation.trigger_account_id
        )
    except account_selectors.AccountOfAnotherTeam as exc:
        raise ValidationError({"trigger.account": exc.message}) from None


def automation_activate(*, automation: Automation, actor=None) -> Automation:
    """Switch on: the definition must be complete, and the trigger registers itself with
    its service where it can."""
    clean_definition(
        automation.project.team,
        documents.automation_definition(automation),
        existing=automation,
        partial=False,
    )
    if automation.active:
        return automation
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    _generate_secrets(automation, trigger)
    try:
        state = trigger.activate(_trigger_setup(automation))
    except ConnectorError as exc:
        raise ValidationError({"trigger": f"could not be activated: {exc.message}"}) from None
    automation.trigger_state = state or {}
    automation.active = True
    automation.save(update_fields=["active", "trigger_state", "updated_at"])
    automation_audit(Kind.AUTOMATION_ACTIVATED, automation, actor)
    _sync_schedule(automation, trigger)
    return automation


def _sync_schedule(automation: Automation, trigger) -> None:
    """A scheduled trigger has a django-q2 schedule exactly while its automation is on."""

    minutes = trigger.interval_minutes(automation.trigger_config) if trigger else None
    if automation.active and trigger is not None and trigger.delivery == "schedule" and minutes:
        automation_schedule_set(automation_id=automation.pk, minutes=minutes)
    else:
        automation_schedule_clear(automation_id=automation.pk)


def _generate_secrets(automation: Automation, trigger) -> None:
    """A shared secret the trigger registers with its service itself is made here when
    the user left it blank. Without a public URL the user sets the webhook up by hand,
    so the secret must be one they chose (it is never shown back)."""
    stored = automation.get_secrets() if automation.has_secrets else {}
    missing = [key for key in trigger.generated_secrets if not stored.get(key)]
    if not missing:
        return
    if not settings.PUBLIC_BASE_URL and not settings.HOOKS_BASE_URL:
        labels = {f.key: f.label for f in trigger.fields}
        names = ", ".join(labels.get(key, key) for key in missing)
        raise ValidationError(
            {"trigger.config": f"Set the {names}: without PUBLIC_BASE_URL the webhook is set "
             "up by hand in the service, with the URL shown and the secret you choose."}
        )  # fmt: skip
    automation.set_secrets({**stored, **{key: secrets.token_urlsafe(32) for key in missing}})
    automation.save(update_fields=["secrets_encrypted", "updated_at"])


def automation_deactivate(*, automation: Automation, actor=None) -> Automation:
    if not automation.active:
        return automation
    trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    try:
        trigger.deactivate(_trigger_setup(automation), automation.trigger_state or {})
    except ConnectorError as exc:
        raise ValidationError({"trigger": f"could not be deactivated: {exc.message}"}) from None
    automation.trigger_state = {}
    automation.active = False
    automation.save(update_fields=["active", "trigger_state", "updated_at"])
    automation_audit(Kind.AUTOMATION_DEACTIVATED, automation, actor)
    _sync_schedule(automation, trigger)
    return automation
