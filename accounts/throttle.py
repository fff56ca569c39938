"""Sign-in throttling, with django-axes: after AXES_FAILURE_LIMIT wrong passwords for
one user name, or from one client address, signing in (the wizard's and the admin's) is
refused until AXES_COOLOFF_TIME has passed since the last of them. Settings point axes
at the three pieces here."""

from __future__ import annotations

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.audit import audit_record
from accounts.clients import client_ip  # noqa: F401  (AXES_CLIENT_IP_CALLABLE names it here)
from accounts.models import AuditKind

LOCKED_OUT_TEMPLATE = "accounts/locked_out.html"


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler, except what a successful sign-in forgives.

    axes would delete every failure matching the user name OR the address; then anyone
    with an account of their own could sign into it after every few guesses at another
    user's password and never reach the address limit. Here a success forgives only the
    failures of that user name from that address (the user's own typos)."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        """axes counts the failure; the audit log records it (and a lockout) against the
        user it names. An unknown user name is not written down: it may be a password
        typed into the wrong box."""
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None:
            return
        username = get_client_username(request, credentials)
        user = get_user_model().objects.filter(username=username).first() if username else None
        locked = getattr(request, "axes_locked_out", False)
        kind = AuditKind.SIGNIN_LOCKED_OUT if locked else AuditKind.SIGNIN_FAILED
        summary = "wrong password" if user else "unknown user name"
        audit_record(
            kind=kind, actor=user, summary=summary + (", sign-in paused" if locked else "")
        )

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page shown instead of the sign-in form while locked out: it says when signing
    in works again (the latest failure counted plus the cool-off), with Retry-After."""
    cool_off = get_cool_off(request) or timedelta(0)
    attempts = LoginThrottleHandler().get_user_attempts(request, credentials)
    latest = [a.aggregate(latest=Max("attempt_time"))["latest"] for a in attempts]
    retry_at = max((t for t in latest if t), default=timezone.now()) + cool_off
    wait = max(retry_at - timezone.now(), timedelta(0))
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    response = render(
        request,
        LOCKED_OUT_TEMPLATE,
        {
            "retry_at": retry_at,
            "minutes": minutes,
            "cool_off_minutes": int(cool_off.total_seconds() // 60),
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        },
        status=429,
    )
    response["Retry-After"] = str(int(wait.total_seconds()) + 1)
    return response
