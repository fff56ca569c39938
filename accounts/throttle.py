"""Sign-in throttling, with django-axes: after AXES_FAILURE_LIMIT wrong passwords for
one user name, or from one client address, signing in (the wizard's and the admin's) is
refused until AXES_COOLOFF_TIME has passed since the last of them. Settings point axes
at the three pieces here."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOCKED_OUT_TEMPLATE = "accounts/locked_out.html"


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address a trusted reverse proxy put in AXES_CLIENT_IP_HEADER.
    Of a list (X-Forwarded-For) the right-most address is taken: the one the proxy
    added itself; anything to its left was sent by the client and can be forged."""
    header = settings.AXES_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler, except what a successful sign-in forgives.

    axes would delete every failure matching the user name OR the address; then anyone
    with an account of their own could sign into it after every few guesses at another
    user's password and never reach the address limit. Here a success forgives only the
    failures of that user name from that address (the user's own typos)."""

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
