"""Times as every page shows them: with seconds and the time zone, in TIME_ZONE.

A builtin (settings.TEMPLATES), so pages need no ``{% load %}``."""

from __future__ import annotations

from datetime import datetime

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
        value = timezone.localtime(value)
    return date_format(value, FORMAT)
