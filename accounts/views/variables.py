"""The Variables section of the team page: members see names and plain values, admins
add, change and delete variables. A secret's value is never put into the page (its
input is an empty password field: leave it blank to keep the value)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts import variables as team_variables
from accounts.roles import Action
from accounts.views.teams import _attempt, _back, team_for


@login_required
@require_POST
def variable_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_VARIABLES)
    name = request.POST.get("name", "").strip()
    _attempt(
        request,
        lambda: team_variables.variable_create(
            actor=request.user,
            team=team,
            name=name,
            value=request.POST.get("value", ""),
            secret=request.POST.get("secret") == "on",
        ),
        f"Variable {name} added: use it as {{{{ vars.{name} }}}}.",
    )
    return _back(slug)


@login_required
@require_POST
def variable_change(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_VARIABLES)
    variable = selectors.variable_get(team=team, pk=pk)
    _attempt(
        request,
        lambda: team_variables.variable_update(
            actor=request.user, variable=variable, value=request.POST.get("value", "")
        ),
        f"Variable {variable.name} changed.",
    )
    return _back(slug)


@login_required
@require_POST
def variable_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_VARIABLES)
    variable = selectors.variable_get(team=team, pk=pk)
    _attempt(
        request,
        lambda: team_variables.variable_delete(actor=request.user, variable=variable),
        f"Variable {variable.name} deleted.",
    )
    return _back(slug)
