"""On failure: what happens when a run of an automation fails or times out.

The settings (``automation_on_failure_set``): e-mail the team's owners and admins, or
chosen members, and/or run an error automation, a sub automation of the same project,
with ``{execution_id, automation, step, error, url}`` as its input. The handling
(``execution_failure_handle``) runs as a task after the failed execution is committed
(``automations.engine.failures``).

E-mails are throttled per automation: at most one per FAILURE_ALERT_MINUTES; failures
in between are counted, and the next e-mail says "and N more". An automation that is
some automation's error automation never starts an error run itself, so error
automations cannot call each other in a loop.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from automations.audit import Kind, automation_audit
from automations.engine import queue
from automations.engine.failures import BAD_ENDINGS
from automations.engine.subruns import SUB_CONNECTOR, SUB_TRIGGER
from automations.models import Automation, Execution
from automations.services.versions import automation_touch
from connectors import registry
from connectors.base import ConnectorError

logger = logging.getLogger(__name__)


# -- settings --------------------------------------------------------------------------


def _clean_recipients(automation: Automation, recipients: Any) -> list[int]:
    if recipients in (None, ""):
        return []
    if not isinstance(recipients, list) or not all(
        isinstance(r, int) and not isinstance(r, bool) for r in recipients
    ):
        raise ValidationError({"on_failure.recipients": "must be a list of user ids"})
    members = set(
        Membership.objects.filter(
            team_id=automation.project.team_id, user_id__in=recipients
        ).values_list("user_id", flat=True)
    )
    strangers = [r for r in recipients if r not in members]
    if strangers:
        raise ValidationError(
            {"on_failure.recipients": f"not members of this team: {strangers[:10]}"}
        )
    return sorted(set(recipients))


def _clean_error_automation(automation: Automation, value: Any) -> Automation | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({"on_failure.automation": "must be an automation id or name"})
    rows = Automation.objects.filter(project_id=automation.project_id)
    target = rows.filter(pk=value).first() if isinstance(value, int) else None
    if target is None and isinstance(value, str):
        target = rows.filter(name=value).first()
    if target is None:
        raise ValidationError({"on_failure.automation": "no such automation in this project"})
    if target.pk == automation.pk:
        raise ValidationError({"on_failure.automation": "cannot be the automation itself"})
    if (target.trigger_connector, target.trigger_key) != (SUB_CONNECTOR, SUB_TRIGGER):
        raise ValidationError(
            {
                "on_failure.automation": f"{target.name!r} is not a sub automation "
                "(its trigger must be Sub Automation: called)"
            }
        )
    return target


@transaction.atomic
def automation_on_failure_set(*, automation: Automation, data: dict[str, Any], actor=None):
    """Change the "On failure" settings that ``data`` names (email, recipients,
    automation); keep the rest."""
    if not isinstance(data, dict):
        raise ValidationError({"on_failure": "must be an object"})
    unknown = sorted(set(data) - {"email", "recipients", "automation"})
    if unknown:
        raise ValidationError({"on_failure": f"unknown settings: {', '.join(unknown)}"})
    if "email" in data:
        if not isinstance(data["email"], bool):
            raise ValidationError({"on_failure.email": "must be true or false"})
        automation.failure_email = data["email"]
    if "recipients" in data:
        automation.failure_recipients = _clean_recipients(automation, data["recipients"])
    if "automation" in data:
        automation.failure_automation = _clean_error_automation(automation, data["automation"])
    automation.save(update_fields=["failure_email", "failure_recipients", "failure_automation"])
    # Cached plans carry the automation row, which the run's failure hook reads.
    automation_touch(automation_id=automation.pk)
    automation_audit(Kind.AUTOMATION_CHANGED, automation, actor, "changed: on_failure")
    return automation


# -- handling a failure ----------------------------------------------------------------


def execution_failure_handle(*, execution_id: int) -> dict[str, Any]:
    """Alert about a failed execution as its automation's settings say. What was done."""
    execution = (
        Execution.objects.select_related("automation__project__team")
        .filter(pk=execution_id)
        .first()
    )
    if execution is None or execution.status not in BAD_ENDINGS or execution.parent_id:
        return {}
    done: dict[str, Any] = {}
    automation = execution.automation
    step = _failed_step(execution)
    if automation.failure_email:
        done["emailed"] = _email_if_due(execution, step)
    if automation.failure_automation_id:
        done["error_run"] = _start_error_automation(execution, step)
    return done


def _failed_step(execution: Execution) -> str:
    run = execution.step_runs.filter(status__in=BAD_ENDINGS).order_by("position").first()
    if run is None:
        return ""
    name = execution.automation.steps.filter(key=run.step_key).values_list("name", flat=True)
    return next(iter(name), "") or run.step_key


def execution_link(execution: Execution) -> str:
    """The execution's page: on PUBLIC_BASE_URL when set, else the path alone."""
    return settings.PUBLIC_BASE_URL + reverse("wizard:execution", args=[execution.pk])


def _recipients(automation: Automation) -> list[str]:
    members = Membership.objects.filter(team_id=automation.project.team_id).select_related("user")
    if automation.failure_recipients:
        members = members.filter(user_id__in=automation.failure_recipients)
    else:
        members = members.filter(role__in=[Role.OWNER, Role.ADMIN])
    return sorted({m.user.email for m in members if m.user.email and m.user.is_active})


def _take_alert_slot(automation: Automation) -> int | None:
    """The failures left unreported before this one when an e-mail is due now (the slot
    is taken), None when one went out less than FAILURE_ALERT_MINUTES ago (this failure
    is counted for the next one)."""
    now = timezone.now()
    due = Q(failure_alert_at__isnull=True) | Q(
        failure_alert_at__lte=now - timedelta(minutes=settings.FAILURE_ALERT_MINUTES)
    )
    with transaction.atomic():
        row = (
            Automation.objects.select_for_update()
            .filter(pk=automation.pk)
            .values("failure_alert_at", "failures_unreported")
            .first()
        )
        if row is None:
            return None
        rows = Automation.objects.filter(pk=automation.pk)
        if rows.filter(due).update(failure_alert_at=now, failures_unreported=0):
            return row["failures_unreported"]
        rows.update(failures_unreported=F("failures_unreported") + 1)
        return None


def _email_if_due(execution: Execution, step: str) -> bool:
    automation = execution.automation
    to = _recipients(automation)
    if not to:
        return False
    more = _take_alert_slot(automation)
    if more is None:
        return False
    context = {
        "automation": automation,
        "execution": execution,
        "step": step or "(none)",
        "link": execution_link(execution),
        "more": more,
        "minutes": settings.FAILURE_ALERT_MINUTES,
    }
    subject = f"[Switchboard] {' '.join(automation.name.split())} failed"
    if more:
        subject += f" (and {more} more failure{'s' if more > 1 else ''})"
    try:
        send_mail(
            subject, render_to_string("automations/email/failure_alert.txt", context), None, to
        )
    except OSError as exc:
        # The server's answer may name the account it signs in with: the kind only.
        logger.error(
            "Sending the failure alert of execution %s failed: %s", execution.pk, type(exc).__name__
        )
        return False
    return True


def _start_error_automation(execution: Execution, step: str) -> int | None:
    automation = execution.automation
    if Automation.objects.filter(failure_automation_id=automation.pk).exists():
        # This automation handles others' failures: its own start no error run (no loops).
        return None
    target = Automation.objects.filter(
        pk=automation.failure_automation_id,
        project_id=automation.project_id,
        trigger_connector=SUB_CONNECTOR,
        trigger_key=SUB_TRIGGER,
    ).first()
    if target is None or not target.active:
        logger.warning(
            "The error automation of automation %s is missing or inactive; execution %s "
            "started none",
            automation.pk,
            execution.pk,
        )
        return None
    payload = {
        "execution_id": execution.pk,
        "automation": automation.name,
        "step": step,
        "error": execution.error,
        "url": execution_link(execution),
    }
    # A sub automation that declares inputs gets those of the five it declares (checked
    # as a call would be); one that declares none gets all five.
    declared = {row.get("key") for row in target.trigger_config.get("schema") or []}
    trigger = registry.get(SUB_CONNECTOR).trigger(SUB_TRIGGER)
    try:
        if declared:
            payload = {key: value for key, value in payload.items() if key in declared}
            output = trigger.accept_payload(payload, target.trigger_config)
        else:
            output = payload
    except ConnectorError as exc:
        logger.warning("The error automation %s refused its input: %s", target.pk, exc.message)
        return None
    return queue.enqueue(automation=target, trigger_output=output).pk
