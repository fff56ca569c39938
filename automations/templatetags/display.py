"""Filters every page uses: times with seconds and the time zone (in TIME_ZONE), JSON
values shown as indented text, and a run's status by its label. Builtins
(settings.TEMPLATES): no ``{% load %}``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

from automations.models import Status

register = template.Library()

FORMAT = "Y-m-d H:i:s T"


@register.filter
def when(value: datetime | None) -> str:
    if not value:
        return "—"
    if timezone.is_aware(value):
        # The same text as FORMAT without date_format, a tenth of a millisecond a call:
        # much of the time of a page of the execution log.
        local = timezone.localtime(value)
        return f"{local.isoformat(' ', 'seconds')[:19]} {local.tzname()}"
    return date_format(value, FORMAT)


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def status_label(value: str | None) -> str:
    """ "Timed out" for "timed_out": the same words on every page, whether the status
    comes from a model instance, ``.values()`` or an annotation."""
    return _STATUS_LABELS.get(value, value or "—")


_STATUS_LABELS = {value: str(label) for value, label in Status.choices}
