"""Team settings: members and their roles, invitations, rename, delete, transfer
ownership, leave; the team switcher and "Create team". Each view checks the role
(accounts/roles.py) and calls a service; a refusal is a message on the page it came from.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import roles, selectors, services
from accounts.models import Team
from accounts.roles import Action


def team_for(request: HttpRequest, slug: str, action: Action = Action.VIEW) -> Team:
    """The team (404 unless a member) if the user's role may do ``action`` (the site's
    403 page, naming the role needed, otherwise). The navigation shows this team."""
    team = selectors.team_get_for_user(user=request.user, slug=slug)
    membership = selectors.membership_of_request(request, team)
    roles.require(membership.role, action)
    request.team = team
    return team


def _attempt(request: HttpRequest, change: Callable[[], object], done: str) -> bool:
    try:
        change()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    messages.success(request, done)
    return True


@login_required
def settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug)
    role = request.membership.role
    members = list(selectors.member_list(team=team))
    context = {
        "team": team,
        "role": role,
        "can": roles.abilities(role),
        "members": members,
        "invitations": selectors.invitation_list_pending(team=team),
        "assignable": roles.assignable_roles(role),
        "others": [m for m in members if m.user_id != request.user.pk],
        "variables": selectors.variable_list(team=team),
    }
    return render(request, "accounts/team_settings.html", context)


def _back(slug: str) -> HttpResponse:
    return redirect("accounts:team", slug=slug)


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_MEMBERS)
    member = selectors.member_get(team=team, user_id=user_id)
    role = request.POST.get("role", "")
    _attempt(
        request,
        lambda: services.membership_set(actor=request.user, team=team, user=member.user, role=role),
        f"{member.user.get_username()} is now {role}.",
    )
    return _back(slug)


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_MEMBERS)
    member = selectors.member_get(team=team, user_id=user_id)
    _attempt(
        request,
        lambda: services.membership_remove(actor=request.user, membership=member),
        f"{member.user.get_username()} was removed from the team.",
    )
    return _back(slug)


@login_required
@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug)
    left = _attempt(
        request,
        lambda: services.membership_remove(actor=request.user, membership=request.membership),
        f"You left {team.name}.",
    )
    return redirect("/") if left else _back(slug)


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_MEMBERS)
    email = request.POST.get("email", "").strip()
    role = request.POST.get("role", "")
    _attempt(
        request,
        lambda: services.invitation_create(
            actor=request.user,
            team=team,
            email=email,
            role=role,
            base_url=request.build_absolute_uri("/"),
        ),
        f"Invitation sent to {email}.",
    )
    return _back(slug)


@login_required
@require_POST
def invitation_resend(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_MEMBERS)
    invitation = selectors.invitation_get(team=team, pk=pk)
    _attempt(
        request,
        lambda: services.invitation_resend(
            actor=request.user, invitation=invitation, base_url=request.build_absolute_uri("/")
        ),
        f"Invitation sent again to {invitation.email}; the earlier link no longer works.",
    )
    return _back(slug)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_MEMBERS)
    invitation = selectors.invitation_get(team=team, pk=pk)
    _attempt(
        request,
        lambda: services.invitation_revoke(actor=request.user, invitation=invitation),
        f"The invitation of {invitation.email} was revoked.",
    )
    return _back(slug)


@login_required
@require_POST
def rename(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_TEAM)
    name = request.POST.get("name", "")
    _attempt(
        request,
        lambda: services.team_rename(actor=request.user, team=team, name=name),
        "The team was renamed.",
    )
    return _back(slug)


@login_required
@require_POST
def delete(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_TEAM)
    if request.POST.get("confirm", "").strip() != team.name:
        messages.error(request, "Type the team's name exactly to delete it.")
        return _back(slug)
    name = team.name
    deleted = _attempt(
        request,
        lambda: services.team_delete(actor=request.user, team=team),
        f"The team {name} was deleted.",
    )
    return redirect("/") if deleted else _back(slug)


@login_required
@require_POST
def transfer(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for(request, slug, Action.MANAGE_OWNERS)
    user = get_object_or_404(get_user_model(), pk=request.POST.get("user") or 0)
    _attempt(
        request,
        lambda: services.team_transfer(actor=request.user, team=team, user=user),
        f"{user.get_username()} owns the team now; you are an admin.",
    )
    return _back(slug)


@login_required
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    team = selectors.team_get_for_user(user=request.user, slug=request.POST.get("team", ""))
    services.team_switch(user=request.user, team=team)
    return redirect("/")


@login_required
def create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            team = services.team_create(name=request.POST.get("name", ""), owner=request.user)
        except ValidationError as exc:
            return render(request, "accounts/team_new.html", {"errors": exc.messages}, status=400)
        services.team_switch(user=request.user, team=team)
        messages.success(request, f"{team.name} is ready; invite your colleagues.")
        return redirect("accounts:team", slug=team.slug)
    return render(request, "accounts/team_new.html", {})
