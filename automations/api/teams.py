"""Which team an API request acts in, and what the caller's role lets it do."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Membership, Role, Team

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
    """An API view acting in one team. Reading needs any role; writing needs
    ``write_role`` (editor unless a view says otherwise)."""

    write_role = Role.EDITOR

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.team, self.membership = request_team(request)
        needed = Role.VIEWER if request.method in SAFE_METHODS else self.write_role
        if not self.membership.allows(needed):
            raise PermissionDenied(
                f"Your role in this team ({self.membership.role}) cannot do this."
            )
