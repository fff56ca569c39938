"""Who may see and change what, for the automations' pages: 404 for other teams' rows,
403 (naming the role needed) for a role that may not do the action (accounts/roles.py)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts import roles
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Membership, Team
from accounts.roles import Action
from automations.models import Automation


def membership(request: HttpRequest, team: Team) -> Membership:
    found = account_selectors.membership_of_request(request, team)
    if found is None:
        raise Http404("No such automation.")
    return found


def role_in(request: HttpRequest, team: Team) -> str:
    return membership(request, team).role


def automation_for(
    request: HttpRequest, pk: int, *, write: bool = False, action: Action | None = None
) -> Automation:
    """The automation if the user is in its team (404 otherwise); writing needs
    edit_automations, or the ``action`` given."""
    automation = Automation.objects.select_related("project__team").filter(pk=pk).first()
    if automation is None:
        raise Http404("No such automation.")
    found = membership(request, automation.project.team)
    if write or action:
        roles.require(found.role, action or Action.EDIT_AUTOMATIONS)
    return automation


def team_for(request: HttpRequest, action: Action = Action.VIEW) -> tuple[Team, str]:
    """The user's current team (made when they have none) and their role in it, if that
    role may do ``action``."""
    team = account_selectors.team_current(user=request.user)
    if team is None:
        team = account_services.team_ensure_for_user(user=request.user)
    found = membership(request, team)
    roles.require(found.role, action)
    request.team = team
    return team, found.role
