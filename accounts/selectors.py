"""Reads scoped to a team. Views and the API fetch team data only through these."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import ConnectedAccount, Membership, Team


def team_list_for_user(*, user) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def membership_get(*, user, team: Team) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team=team).first()


def team_get_for_user(*, user, slug: str) -> Team:
    """The team named by slug if the user is a member; 404 otherwise, so that other teams'
    names do not leak."""
    team = team_list_for_user(user=user).filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team


def account_list(*, team: Team, connector: str | None = None) -> QuerySet[ConnectedAccount]:
    accounts = ConnectedAccount.objects.filter(team=team)
    if connector:
        accounts = accounts.filter(connector=connector)
    return accounts.order_by("title")


def account_get(*, team: Team, pk: int) -> ConnectedAccount:
    account = ConnectedAccount.objects.filter(team=team, pk=pk).first()
    if account is None:
        raise Http404("No such account.")
    return account


def account_get_by_title(*, team: Team, title: str) -> ConnectedAccount | None:
    return ConnectedAccount.objects.filter(team=team, title=title).first()


class AccountOfAnotherTeam(Exception):
    """A row names an account that is not its team's: a run never uses it."""

    def __init__(self, pk: int) -> None:
        super().__init__(
            f"The account {pk} belongs to another team; choose one of this team's accounts."
        )
        self.message = str(self)


def accounts_of_team(*, team_id: int, ids: Iterable[int]) -> dict[int, ConnectedAccount]:
    """The accounts among ``ids`` that belong to the team. Runs read accounts only
    through here, so a row that points at another team's account (a wrong form, a
    hand-edited database) never lends that team's credentials."""
    return ConnectedAccount.objects.filter(team_id=team_id).in_bulk(list(ids))


def account_for_run(*, team_id: int, pk: int | None) -> ConnectedAccount | None:
    """The account ``pk`` for a run of the team; AccountOfAnotherTeam if it is not the
    team's."""
    if pk is None:
        return None
    account = accounts_of_team(team_id=team_id, ids=[pk]).get(pk)
    if account is None:
        raise AccountOfAnotherTeam(pk)
    return account
