"""Team management in the API: the team itself, members, invitations, the audit log and
the caller's API tokens. The team is named in the URL; a team the caller is not a member
of answers 404, an action their role may not do 403 (accounts/roles.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles, tokens
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import AuditKind, Membership, Role, Team
from automations.api import team_serializers as s
from automations.api.serializers import TeamOut
from automations.api.views import _int_param, _time_param, _valid


class TeamScoped(APIView):
    """Resolves ``slug`` to a team the caller belongs to, and their membership."""

    def team_and_role(self, request, slug: str) -> tuple[Team, Membership]:
        team = account_selectors.team_get_for_user(user=request.user, slug=slug)
        return team, account_selectors.membership_get(user=request.user, team=team)

    def require(self, request, slug: str, action: roles.Action) -> Team:
        team, membership = self.team_and_role(request, slug)
        roles.require(membership.role, action)
        return team


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


class TeamDetail(TeamScoped):
    @extend_schema(request=s.TeamUpdateIn, responses=TeamOut, summary="Rename the team")
    def patch(self, request, slug: str):
        team = self.require(request, slug, roles.Action.MANAGE_TEAM)
        data = _valid(s.TeamUpdateIn, request)
        team = account_services.team_rename(actor=request.user, team=team, name=data["name"])
        return Response(TeamOut(team, context={"roles": {team.pk: Role.OWNER.value}}).data)

    @extend_schema(responses={204: None}, summary="Delete the team and everything in it")
    def delete(self, request, slug: str):
        team = self.require(request, slug, roles.Action.MANAGE_TEAM)
        account_services.team_delete(actor=request.user, team=team)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberList(TeamScoped):
    @extend_schema(responses=s.MemberOut(many=True))
    def get(self, request, slug: str):
        team = self.require(request, slug, roles.Action.VIEW)
        return Response(s.MemberOut(account_selectors.member_list(team=team), many=True).data)


class MemberDetail(TeamScoped):
    @extend_schema(request=s.MemberIn, responses=s.MemberOut, summary="Change a member's role")
    def patch(self, request, slug: str, user_id: int):
        team = self.require(request, slug, roles.Action.MANAGE_MEMBERS)
        member = account_selectors.member_get(team=team, user_id=user_id)
        data = _valid(s.MemberIn, request)
        membership = account_services.membership_set(
            actor=request.user, team=team, user=member.user, role=data["role"]
        )
        return Response(s.MemberOut(membership).data)

    @extend_schema(responses={204: None}, summary="Remove a member (or leave, for yourself)")
    def delete(self, request, slug: str, user_id: int):
        team, membership = self.team_and_role(request, slug)
        if user_id != request.user.pk:
            roles.require(membership.role, roles.Action.MANAGE_MEMBERS)
        member = account_selectors.member_get(team=team, user_id=user_id)
        account_services.membership_remove(actor=request.user, membership=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationList(TeamScoped):
    @extend_schema(responses=s.InvitationOut(many=True), summary="Pending invitations")
    def get(self, request, slug: str):
        team = self.require(request, slug, roles.Action.MANAGE_MEMBERS)
        pending = account_selectors.invitation_list_pending(team=team)
        return Response(s.InvitationOut(pending, many=True).data)

    @extend_schema(
        request=s.InvitationIn, responses={201: s.InvitationOut}, summary="Invite by e-mail"
    )
    def post(self, request, slug: str):
        team = self.require(request, slug, roles.Action.MANAGE_MEMBERS)
        data = _valid(s.InvitationIn, request)
        invitation = account_services.invitation_create(
            actor=request.user,
            team=team,
            email=data["email"],
            role=data["role"],
            base_url=_base_url(request),
        )
        return Response(s.InvitationOut(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetail(TeamScoped):
    @extend_schema(responses={204: None}, summary="Revoke an invitation")
    def delete(self, request, slug: str, pk: int):
        team = self.require(request, slug, roles.Action.MANAGE_MEMBERS)
        invitation = account_selectors.invitation_get(team=team, pk=pk)
        account_services.invitation_revoke(actor=request.user, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditList(TeamScoped):
    @extend_schema(
        parameters=[
            OpenApiParameter("actor", int, required=False, description="a user id"),
            OpenApiParameter("kind", str, required=False, enum=AuditKind.values),
            OpenApiParameter("since", str, required=False, description="ISO 8601 time"),
            OpenApiParameter("until", str, required=False, description="ISO 8601 time"),
        ],
        responses=s.AuditEventOut(many=True),
        summary="The team's audit log, newest first",
    )
    def get(self, request, slug: str):
        team = self.require(request, slug, roles.Action.MANAGE_MEMBERS)
        kind = request.query_params.get("kind") or None
        if kind and kind not in AuditKind.values:
            raise ValidationError({"kind": [f"must be one of: {', '.join(AuditKind.values)}"]})
        events = account_selectors.audit_list(
            team=team,
            actor_id=_int_param(request, "actor"),
            kind=kind,
            since=_time_param(request, "since"),
            until=_time_param(request, "until"),
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(s.AuditEventOut(page, many=True).data)


class TokenList(APIView):
    @extend_schema(responses=s.TokenOut(many=True), summary="Your API tokens")
    def get(self, request):
        return Response(s.TokenOut(account_selectors.token_list(user=request.user), many=True).data)

    @extend_schema(
        request=s.TokenIn,
        responses={201: s.TokenCreatedOut},
        summary="Make an API token (the answer is the only time it is shown)",
    )
    def post(self, request):
        data = _valid(s.TokenIn, request)
        token, key = tokens.token_create(
            user=request.user, name=data["name"], read_only=data["read_only"]
        )
        token.token = key
        return Response(s.TokenCreatedOut(token).data, status=status.HTTP_201_CREATED)


class TokenDetail(APIView):
    @extend_schema(responses={204: None}, summary="Revoke an API token")
    def delete(self, request, pk: int):
        token = account_selectors.token_get(user=request.user, pk=pk)
        tokens.token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
