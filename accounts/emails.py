"""E-mails the platform sends, through Django's mail framework (EMAIL_URL)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Invitation

logger = logging.getLogger(__name__)


def absolute(path: str, base_url: str = "") -> str:
    """A link for an e-mail: on PUBLIC_BASE_URL when set, else on the host the request
    came to (``base_url``)."""
    base = (settings.PUBLIC_BASE_URL or base_url or "http://localhost:8000").rstrip("/")
    return base + path


def invitation_send(*, invitation: Invitation, token: str, base_url: str = "") -> None:
    link = absolute(reverse("accounts:invitation", args=[token]), base_url)
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "Switchboard"
    context = {"invitation": invitation, "link": link, "inviter": inviter}
    subject = f"{inviter} invited you to {invitation.team.name} on Switchboard"
    try:
        send_mail(
            subject,
            render_to_string("accounts/email/invitation.txt", context),
            None,
            [invitation.email],
        )
    except OSError as exc:
        # The server's answer may name the account it signs in with: log the kind only.
        logger.error("Sending an invitation e-mail failed: %s", type(exc).__name__)
        raise ValidationError(
            {
                "email": "The invitation e-mail could not be sent; nothing was saved. "
                "Ask the operator to check EMAIL_URL."
            }
        ) from None
