"""Which team an API request acts in, and what the caller's role lets it do."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from accounts import roles
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Membership, Team

TEAM_HEADER = "X-Team"


def request_team(request) -> tuple[Team, Membership]:
    """The team named by the X-Team header (its slug), or the user's only team."""
    user = request.user
    slug = request.headers.get(TEAM_HEADER)
    if slug:
        team = account_selectors.team_list_for_user(user=user).filter(slug=slug).first()
        if team is None:
            raise NotFound(f"You are not a member of a team {slug!r}.")
    else:
        teams = list(account_selectors.team_list_for_user(user=user)[:2])
        if not teams:
            team = account_services.team_ensure_for_user(user=user)
        elif len(teams) > 1:
            raise ValidationError(
                {TEAM_HEADER: ["You belong to several teams: name one in the X-Team header."]}
            )
        else:
            team = teams[0]
    membership = account_selectors.membership_get(user=user, team=team)
    return team, membership


class TeamAPIView(APIView):
    """An API view acting in one team. Reading is ``read_action`` (view unless a view
    says otherwise), writing ``write_action`` (edit automations unless a view says
    otherwise), both as accounts/roles.py rules them."""

    read_action = roles.Action.VIEW
    write_action = roles.Action.EDIT_AUTOMATIONS

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.team, self.membership = request_team(request)
        action = self.read_action if request.method in SAFE_METHODS else self.write_action
        roles.require(self.membership.role, action)
