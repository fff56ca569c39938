"""What every page's navigation needs: the user's teams, the current one, the role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts import roles, selectors


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"allow_signup": settings.ALLOW_SIGNUP}

    def build() -> dict[str, Any]:
        # A page about one team (its settings, its audit log) names it in request.team.
        team = getattr(request, "team", None) or selectors.team_current(user=user)
        # The view read the membership already when it checked the role (access.py,
        # teams.py): the same row, not read again.
        membership = getattr(request, "membership", None)
        if membership is None or membership.team_id != getattr(team, "pk", None):
            membership = selectors.membership_get(user=user, team=team) if team else None
        role = membership.role if membership else None
        return {
            "teams": list(selectors.team_list_for_user(user=user)),
            "team": team,
            "role": role,
            "can": roles.abilities(role),
        }

    return {"nav": SimpleLazyObject(build), "allow_signup": settings.ALLOW_SIGNUP}
