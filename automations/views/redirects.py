"""Where a page may send the user next.

Every ``next`` a wizard view reads, renders (a Cancel link) or redirects to goes through
``safe_next``: only a URL of this site (Django's allowed-host check, https only when the
request came over https) is used, anything else (``javascript:``, another host, ``//``)
falls back to a page the view names. Django's own sign-in and sign-out views make the
same check on their ``next`` themselves.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

REDIRECT_FIELD = "next"


def safe_next(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get(REDIRECT_FIELD) or request.GET.get(REDIRECT_FIELD) or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
