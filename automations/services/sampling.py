"""Trigger samples from real requests: Test Trigger waits for the next delivery to the
webhook URL (which then starts nothing), or takes a body the user pasted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from automations.engine.recorder import redact, secret_values
from automations.models import Automation
from automations.services.versions import automation_touch
from connectors import registry
from connectors.base import InboundEvent, TriggerRejected
from connectors.http.request_trigger import parse_body


def _http_trigger(automation: Automation):
    try:
        trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    except (registry.UnknownConnector, KeyError):
        trigger = None
    if trigger is None or trigger.delivery != "http":
        raise ValidationError({"trigger": "Only an HTTP trigger waits for a request."})
    return trigger


@transaction.atomic
def trigger_listen(*, automation: Automation) -> Automation:
    """Wait TRIGGER_LISTEN_SECONDS for the next request to the webhook URL. The plan
    (which the webhook reads) changes, so its version is bumped."""
    _http_trigger(automation)
    automation.listening_until = timezone.now() + timedelta(seconds=settings.TRIGGER_LISTEN_SECONDS)
    automation.save(update_fields=["listening_until"])
    automation_touch(automation_id=automation.pk)
    return automation


@transaction.atomic
def trigger_listen_stop(*, automation: Automation) -> Automation:
    automation.listening_until = None
    automation.save(update_fields=["listening_until"])
    automation_touch(automation_id=automation.pk)
    return automation


def listening(automation: Automation) -> bool:
    return automation.listening_until is not None and automation.listening_until > timezone.now()


@transaction.atomic
def trigger_sample_take(*, automation_id: int, output: dict[str, Any]) -> bool:
    """Keep an accepted delivery as the sample if the automation is still waiting for
    one. One conditional update: of two requests at once, exactly one is the sample."""
    taken = Automation.objects.filter(pk=automation_id, listening_until__gt=timezone.now()).update(
        listening_until=None, trigger_sample=output
    )
    if taken:
        automation_touch(automation_id=automation_id)
    return bool(taken)


def trigger_sample_paste(*, automation: Automation, body: str) -> dict[str, Any]:
    """A sample whose body the user pasted: parsed by the rules a webhook body meets
    (size, strict JSON), the rest like Test Trigger's sample; trigger secrets redacted."""
    trigger = _http_trigger(automation)
    raw = (body or "").encode()
    if not raw.strip():
        raise ValidationError({"sample": "Paste a JSON body first."})
    if len(raw) > settings.MAX_WEBHOOK_BODY:
        raise ValidationError(
            {"sample": f"The body is larger than {settings.MAX_WEBHOOK_BODY} bytes."}
        )
    event = InboundEvent(
        method="POST", headers={}, query={}, body=raw, content_type="application/json"
    )
    try:
        parsed = parse_body(event)
    except TriggerRejected as exc:
        raise ValidationError({"sample": exc.message}) from None
    sample = {**trigger.sample(automation.trigger_config, None), "body": parsed}
    secrets = automation.get_secrets() if automation.has_secrets else {}
    sample = redact(sample, secret_values(list(secrets.values())))
    automation.trigger_sample = sample
    automation.save(update_fields=["trigger_sample"])
    return sample
