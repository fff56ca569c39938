"""Reads scoped to a team. Views and the API fetch team data only through these."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import (
    PERSONAL_KINDS,
    ApiToken,
    AuditEvent,
    ConnectedAccount,
    Invitation,
    Membership,
    Team,
    TeamVariable,
)


def team_list_for_user(*, user) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def membership_get(*, user, team: Team) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team=team).first()


def membership_of_request(request, team: Team | None) -> Membership | None:
    """The signed-in user's membership in ``team`` for this request: the row the view
    read when it checked the role (``request.membership``), or read now and kept there,
    so that the navigation shows that role without reading it again."""
    if team is None:
        return None
    found = getattr(request, "membership", None)
    if found is None or found.team_id != team.pk:
        found = membership_get(user=request.user, team=team)
        if found is not None:
            request.membership = found
    return found


def team_get_for_user(*, user, slug: str) -> Team:
    """The team named by slug if the user is a member; 404 otherwise, so that other teams'
    names do not leak."""
    team = team_list_for_user(user=user).filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team


def team_current(*, user) -> Team | None:
    """The team the user chose last (Membership.last_used_at), else their first."""
    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user=user)
        .select_related("team")
        .order_by(F("last_used_at").desc(nulls_last=True), "team__name")
        .first()
    )
    return membership.team if membership else None


def member_list(*, team: Team) -> QuerySet[Membership]:
    return Membership.objects.filter(team=team).select_related("user").order_by("user__username")


def member_get(*, team: Team, user_id: int) -> Membership:
    membership = member_list(team=team).filter(user_id=user_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitation_list_pending(*, team: Team) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        team=team, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")


def invitation_get(*, team: Team, pk: int) -> Invitation:
    invitation = Invitation.objects.filter(team=team, pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def token_list(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def token_get(*, user, pk: int) -> ApiToken:
    token = token_list(user=user).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    return token


def audit_list(
    *,
    team: Team,
    actor_id: int | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The team's entries, and its members' personal ones (their sign-in failures and
    API tokens), newest first."""
    members = Membership.objects.filter(team=team).values("user_id")
    events = AuditEvent.objects.filter(
        Q(team=team) | Q(team__isnull=True, kind__in=PERSONAL_KINDS, actor__in=members)
    )
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if kind:
        events = events.filter(kind=kind)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events.order_by("-created_at", "-pk")


def aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


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
    ids = list(ids)
    if not ids:
        return {}
    # Every run reads its accounts afresh here: in plain SQL, since compiling the ORM
    # query cost twice what running it did. Columns come from the model.
    sql = _ACCOUNTS_SQL.format(ids=", ".join(["%s"] * len(ids)))
    return {account.pk: account for account in ConnectedAccount.objects.raw(sql, [team_id, *ids])}


_ACCOUNTS_SQL = "SELECT {columns} FROM {table} WHERE {team} = %s AND {pk} IN ({{ids}})".format(  # noqa: S608
    columns=", ".join(f.column for f in ConnectedAccount._meta.concrete_fields),
    table=ConnectedAccount._meta.db_table,
    team=ConnectedAccount._meta.get_field("team").column,
    pk=ConnectedAccount._meta.pk.column,
)


def account_for_run(*, team_id: int, pk: int | None) -> ConnectedAccount | None:
    """The account ``pk`` for a run of the team; AccountOfAnotherTeam if it is not the
    team's."""
    if pk is None:
        return None
    account = accounts_of_team(team_id=team_id, ids=[pk]).get(pk)
    if account is None:
        raise AccountOfAnotherTeam(pk)
    return account


def variable_list(*, team: Team) -> QuerySet[TeamVariable]:
    return TeamVariable.objects.filter(team=team).order_by("name")


def variable_get(*, team: Team, pk: int) -> TeamVariable:
    variable = TeamVariable.objects.filter(team=team, pk=pk).first()
    if variable is None:
        raise Http404("No such variable.")
    return variable


def variable_names(*, team_id: int) -> set[str]:
    return set(TeamVariable.objects.filter(team_id=team_id).values_list("name", flat=True))


def variables_for_run(*, team_id: int) -> tuple[dict[str, str], frozenset[str]]:
    """The team's variables by name, secrets decrypted (for the engine, at run time
    only), and the names of the secret ones."""
    values, secret = {}, set()
    for variable in TeamVariable.objects.filter(team_id=team_id):
        values[variable.name] = variable.run_value()
        if variable.is_secret:
            secret.add(variable.name)
    return values, frozenset(secret)
