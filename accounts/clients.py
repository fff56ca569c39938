"""The client address of a request, for sign-in throttling and the audit log."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


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
