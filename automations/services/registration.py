"""Switching automations on and off, and keeping their triggers registered with the
outside services they come from (webhooks, schedules).

No outside call is made while the automation's row is locked. Each change goes in three
steps: under the row lock it is checked and ``registering_since`` marks the attempt
(committed); the service is called with no lock held; under the lock again the outcome
is written, if the mark is still this attempt's. While the mark is set, other
activations, deactivations and edits of the automation are refused ("try again"), so a
double click registers one webhook. A new registration is made before the old one is
removed: a failure leaves the old one live and the database naming it. Every change ends
true: active with a live registration, or inactive with ``trigger_error`` saying why.
"""

from __future__ import annotations

import contextlib
import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import ConnectedAccount
from automations import documents
from automations.audit import Kind, automation_audit
from automations.definitions import clean_definition
from automations.models import Automation
from automations.schedules import automation_schedule_clear, automation_schedule_set
from automations.selectors import public_hooks_base, webhook_url
from automations.services.versions import automation_touch
from connectors import registry
from connectors.base import ConnectorError, Trigger, TriggerSetup

# Longer than any registration call can take (the connectors' HTTP timeouts): a mark
# older than this was left by a process that died, and may be taken over.
REGISTERING_FOR = timedelta(minutes=5)
BUSY = (
    "The automation is being switched on, off or registered again right now; try again in a moment."
)


def _trigger_identity(automation: Automation) -> tuple:
    """Everything a trigger registers with its service depends on."""
    return (
        automation.trigger_connector,
        automation.trigger_key,
        automation.trigger_account_id,
        automation.trigger_config,
        automation.get_secrets() if automation.has_secrets else {},
    )


def trigger_changes(automation: Automation, candidate: Automation) -> bool:
    """Whether ``candidate`` (the automation as an edit would leave it) must register
    with the service again."""
    return _trigger_identity(candidate) != _trigger_identity(automation)


@dataclass(frozen=True)
class Registered:
    """A registration that is live at the service (to be removed once replaced)."""

    trigger: Trigger
    setup: TriggerSetup
    state: dict[str, Any]


@dataclass(frozen=True)
class Pending:
    """A registration change whose outside calls are still to be made."""

    automation_id: int
    mark: datetime
    # The automation as it will be when on (its trigger to register), or None to switch off.
    new: Automation | None
    old: Registered | None


def _trigger(automation: Automation) -> Trigger:
    return registry.get(automation.trigger_connector).trigger(automation.trigger_key)


def _registered(automation: Automation) -> Registered | None:
    if not automation.trigger_state:
        return None
    return Registered(
        trigger=_trigger(automation),
        setup=_trigger_setup(automation),
        state=automation.trigger_state,
    )


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


def automation_locked(automation_id: int) -> Automation:
    """The automation, its row locked until the transaction ends; refused while a
    registration of it is out."""
    automation = (
        Automation.objects.select_related("project__team")
        .select_for_update(of=("self",))
        .get(pk=automation_id)
    )
    since = automation.registering_since
    if since is not None and timezone.now() - since < REGISTERING_FOR:
        raise ValidationError({"trigger": BUSY})
    return automation


def registration_start(
    automation: Automation, *, new: Automation | None, fields: tuple[str, ...] = ()
) -> Pending:
    """Under the row lock (``automation_locked``): mark the attempt and save ``fields``;
    the caller commits, then calls ``registration_finish`` with no lock held."""
    if new is not None:
        _generate_secrets(new, _trigger(new))
    old = _registered(automation)
    mark = timezone.now()
    automation.registering_since = mark
    automation.save(update_fields=["registering_since", *fields])
    automation_touch(automation_id=automation.pk)
    return Pending(automation_id=automation.pk, mark=mark, new=new, old=old)


def registration_finish(
    pending: Pending, *, apply: Callable[[Automation], Automation] | None = None
) -> Automation:
    """Call the service with no lock held and write what is then true. Switching on
    (or re-registering): register the new trigger, record it (``apply`` writes the
    rest of an edit), then remove the old registration. Switching off: remove it, then
    record that."""
    if pending.new is None:
        left = _remove(pending.old)
        automation = _record(pending, error=left, apply=None, state={})
        if left:
            raise ValidationError({"trigger": left})
        return automation
    try:
        state = _trigger(pending.new).activate(_trigger_setup(pending.new)) or {}
    except ConnectorError as exc:
        error = f"Could not register the trigger with its service: {exc.message}"
        _record(pending, error=error, apply=None, state={})
        raise ValidationError({"trigger": error}) from None
    try:
        automation = _record(pending, error="", apply=apply, state=state)
    except ValidationError:
        _undo(pending.new, state)
        raise
    left = _remove(pending.old)
    if left:
        # The new registration is live and recorded; the old one is shown, to be removed
        # by hand (it only reaches a URL that now refuses or ignores what it sends).
        Automation.objects.filter(pk=automation.pk).update(trigger_error=left)
        automation.trigger_error = left
    return automation


def _remove(old: Registered | None) -> str:
    """Remove a registration at its service; the problem, or ""."""
    if old is None:
        return ""
    try:
        old.trigger.deactivate(old.setup, old.state)
    except ConnectorError as exc:
        return f"Could not remove the old registration from the service: {exc.message}"
    return ""


def _record(pending: Pending, *, error: str, apply, state: dict) -> Automation:
    """Write the outcome under the row lock, if the mark is still this attempt's."""
    try:
        with transaction.atomic():
            automation = (
                Automation.objects.select_related("project__team")
                .select_for_update(of=("self",))
                .get(pk=pending.automation_id)
            )
            if automation.registering_since != pending.mark:
                raise ValidationError({"trigger": BUSY})
            automation.registering_since = None
            automation.trigger_error = error
            if pending.new is None:
                # Switched off at the start. A registration that could not be removed
                # stays named, so that switching off again removes it.
                automation.trigger_state = pending.old.state if error and pending.old else {}
            elif not error:
                if apply is not None:
                    automation = apply(automation)
                automation.secrets_encrypted = pending.new.secrets_encrypted
                automation.active = True
                automation.trigger_state = state
            # else nothing changed at the service: what the database says stays true.
            automation.save(
                update_fields=[
                    "registering_since",
                    "trigger_error",
                    "trigger_state",
                    "active",
                    "secrets_encrypted",
                    "updated_at",
                ]
            )
            automation_touch(automation_id=automation.pk)
            _sync_schedule(automation)
            return automation
    except ValidationError as exc:
        _release(pending, error or "; ".join(exc.messages))
        raise


def _release(pending: Pending, error: str) -> None:
    """The outcome could not be written (the edit no longer fits, say): clear the mark
    if it is still this attempt's, keeping what was true before."""
    Automation.objects.filter(pk=pending.automation_id, registering_since=pending.mark).update(
        registering_since=None, trigger_error=error
    )


def _undo(new: Automation, state: dict) -> None:
    """Remove a registration that was made but is not recorded (best effort)."""
    with contextlib.suppress(ConnectorError):
        _trigger(new).deactivate(_trigger_setup(new), state)


def automation_activate(*, automation: Automation, actor=None) -> Automation:
    """Switch on: the definition must be complete, and the trigger registers itself with
    its service where it can."""
    with transaction.atomic():
        locked = automation_locked(automation.pk)
        clean_definition(
            locked.project.team,
            documents.automation_definition(locked),
            existing=locked,
            partial=False,
        )
        if locked.active:
            return _refreshed(automation)
        pending = registration_start(locked, new=copy.copy(locked))
    try:
        registration_finish(pending)
    finally:
        _refreshed(automation)
    if automation.active:
        automation_audit(Kind.AUTOMATION_ACTIVATED, automation, actor)
    return automation


def automation_deactivate(*, automation: Automation, actor=None) -> Automation:
    """Switch off at once (deliveries are refused from now on), then remove the
    registration; one that cannot be removed is kept named, with the error shown."""
    with transaction.atomic():
        locked = automation_locked(automation.pk)
        if not locked.active and not locked.trigger_state:
            return _refreshed(automation)
        locked.active = False
        pending = registration_start(locked, new=None, fields=("active", "updated_at"))
        automation_audit(Kind.AUTOMATION_DEACTIVATED, locked, actor)
    try:
        registration_finish(pending)
    finally:
        _refreshed(automation)
    return automation


def _refreshed(automation: Automation) -> Automation:
    """The caller's instance, showing what is now true."""
    automation.refresh_from_db()
    return automation


def _sync_schedule(automation: Automation) -> None:
    """A scheduled trigger has a django-q2 schedule exactly while its automation is on."""
    try:
        trigger = _trigger(automation) if automation.trigger_connector else None
    except (registry.UnknownConnector, KeyError):
        trigger = None
    minutes = trigger.interval_minutes(automation.trigger_config) if trigger else None
    if automation.active and trigger is not None and trigger.delivery == "schedule" and minutes:
        automation_schedule_set(automation_id=automation.pk, minutes=minutes)
    else:
        automation_schedule_clear(automation_id=automation.pk)


def _generate_secrets(automation: Automation, trigger: Trigger) -> None:
    """A shared secret the trigger registers with its service itself is made here (in
    memory) when the user left it blank. Without a public URL the user sets the webhook
    up by hand, so the secret must be one they chose (it is never shown back)."""
    stored = automation.get_secrets() if automation.has_secrets else {}
    missing = [key for key in trigger.generated_secrets if not stored.get(key)]
    if not missing:
        return
    if not settings.PUBLIC_BASE_URL and not settings.HOOKS_BASE_URL:
        labels = {f.key: f.label for f in trigger.fields}
        names = ", ".join(labels.get(key, key) for key in missing)
        raise ValidationError(
            {
                "trigger.config": f"Set the {names}: without PUBLIC_BASE_URL the webhook is set "
                "up by hand in the service, with the URL shown and the secret you choose."
            }
        )
    automation.set_secrets({**stored, **{key: secrets.token_urlsafe(32) for key in missing}})
