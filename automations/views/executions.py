"""The team's executions: newest first, filtered by automation, status, dates and test
or live, a page at a time by cursor (views/log_pages.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date

from accounts.selectors import aware
from automations import selectors
from automations.models import Status
from automations.views.access import team_for
from automations.views.log_pages import log_page

KINDS = {"test": True, "live": False}


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    day = parse_date(value) if value else None
    if day is None:
        return None
    return aware(datetime.combine(day + timedelta(days=1) if end else day, time.min))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
def execution_list(request: HttpRequest) -> HttpResponse:
    team, _ = team_for(request)
    status = request.GET.get("status")
    rows = selectors.execution_list(
        team=team,
        automation_id=_int(request.GET.get("automation")),
        status=status if status in Status.values else None,
        since=_day(request.GET.get("since")),
        until=_day(request.GET.get("until"), end=True),
        top_level_only=request.GET.get("children") != "1",
        is_test=KINDS.get(request.GET.get("kind", "")),
    )
    context = {
        "team": team,
        "page": log_page(rows, request.GET),
        "automations": selectors.automation_list(team=team),
        "statuses": Status.choices,
        "filters": request.GET,
    }
    return render(request, "automations/execution_list.html", context)
