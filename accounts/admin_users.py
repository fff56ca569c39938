"""Django's user admin, with the one rule the teams add: deleting a user may not leave a
team without an owner (not even for a superuser, as with memberships)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from accounts import services

User = get_user_model()


class TeamAwareUserAdmin(UserAdmin):
    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, unquote(object_id))
        if user is not None:
            try:
                services.user_delete_check(user=user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                opts = self.opts
                return redirect(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk])
                )
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request, queryset):
        kept = []
        for user in queryset:
            try:
                services.user_delete_check(user=user)
            except ValidationError as exc:
                kept.append(user.pk)
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
        queryset.exclude(pk__in=kept).delete()


admin.site.unregister(User)
admin.site.register(User, TeamAwareUserAdmin)
