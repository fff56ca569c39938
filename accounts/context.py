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
        membership = selectors.membership_of_request(request, team)
        role = membership.role if membership else None
        return {
            "teams": list(selectors.team_list_for_user(user=user)),
            "team": team,
            "role": role,
            "can": roles.abilities(role),
        }

    return {"nav": SimpleLazyObject(build), "allow_signup": settings.ALLOW_SIGNUP}
