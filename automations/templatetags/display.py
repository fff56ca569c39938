"""Filters every page uses: times with seconds and the time zone (in TIME_ZONE), and
JSON values shown as indented text. Builtins (settings.TEMPLATES): no ``{% load %}``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

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
