"""The sign-in records of django-axes in the admin, for superusers only.

They hold the user names and client addresses of every team's members, so the
model permissions a team admin may be given must not open them.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.http import HttpRequest


class SuperuserOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Deleting an access attempt is how a superuser unlocks a name or an address.
        return self.has_module_permission(request)


@admin.register(AccessAttempt)
class SignInAttemptAdmin(SuperuserOnly, AccessAttemptAdmin):
    pass


@admin.register(AccessLog)
class SignInLogAdmin(SuperuserOnly, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class SignInFailureAdmin(SuperuserOnly, AccessFailureLogAdmin):
    pass
