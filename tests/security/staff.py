"""Staff users of the admin who are not superusers: what a team's admin or owner has."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.test import Client


def staff_client(user) -> Client:
    """Log ``user`` into the admin with every model permission of our apps; what they
    may touch is then decided by their roles in teams alone."""
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["accounts", "automations"])
    )
    client = Client()
    client.force_login(user)
    return client
