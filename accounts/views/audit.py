"""The audit log page (admins and owners): who did what and when, filtered by person,
kind and date."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date

from accounts import selectors
from accounts.models import AuditKind
from accounts.roles import Action
from accounts.views.teams import team_for


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    day = parse_date(value or "") if value else None
    if day is None:
        return None
    if end:
        day += timedelta(days=1)
    return selectors.aware(datetime.combine(day, time.min))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_MEMBERS)
    kind = request.GET.get("kind") if request.GET.get("kind") in AuditKind.values else None
    events = selectors.audit_list(
        team=team,
        actor_id=_int(request.GET.get("actor")),
        kind=kind,
        since=_day(request.GET.get("since")),
        until=_day(request.GET.get("until"), end=True),
    ).select_related("actor")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "team": team,
        "page": page,
        "members": selectors.member_list(team=team),
        "kinds": AuditKind.choices,
        "filters": request.GET,
        "query": query.urlencode(),
    }
    return render(request, "accounts/audit.html", context)
