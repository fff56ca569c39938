"""Your profile: your teams, your API tokens (shown once when made), your password."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts import selectors, tokens
from accounts.models import Membership


def _context(request: HttpRequest, **extra) -> dict:
    return {
        "memberships": Membership.objects.filter(user=request.user)
        .select_related("team")
        .order_by("team__name"),
        "tokens": selectors.token_list(user=request.user),
        **extra,
    }


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", _context(request))


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Renders the page itself (no redirect): the new token is shown this once."""
    try:
        token, key = tokens.token_create(
            user=request.user,
            name=request.POST.get("name", ""),
            read_only=request.POST.get("read_only") == "on",
        )
    except ValidationError as exc:
        context = _context(request, errors=exc.messages)
        return render(request, "accounts/profile.html", context, status=400)
    response = render(request, "accounts/profile.html", _context(request, new_key=key, new=token))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.token_get(user=request.user, pk=pk)
    tokens.token_revoke(token=token, actor=request.user)
    messages.success(request, f"The token {token.name} was revoked.")
    return redirect("accounts:profile")


class PasswordChange(auth_views.PasswordChangeView):
    """Django's view: it keeps this session signed in (update_session_auth_hash); the
    sessions of other devices end, since they carry the old password's hash."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        messages.success(self.request, "Your password was changed; other devices are signed out.")
        return super().form_valid(form)
