from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import ConnectedAccount, Invitation, Membership, Role, Team
from connectors import fields as field_types
from connectors import registry


class TeamScopedAdmin(admin.ModelAdmin):
    """Superusers see every team; other staff only the teams they own or administer."""

    team_path = "team"

    def _admin_team_ids(self, request):
        return Membership.objects.filter(
            user=request.user, role__in=[Role.OWNER, Role.ADMIN]
        ).values("team_id")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.team_path}__in": self._admin_team_ids(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team" and not request.user.is_superuser:
            kwargs["queryset"] = Team.objects.filter(pk__in=self._admin_team_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if self.team_path == "team" and "team" not in initial:
            initial["team"] = services.team_ensure_for_user(user=request.user).pk
        return initial


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(TeamScopedAdmin):
    team_path = "pk"
    list_display = ["name", "slug", "is_personal", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["is_personal"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(TeamScopedAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(TeamScopedAdmin):
    list_display = ["email", "team", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "team__name"]
    list_select_related = ["team"]
    readonly_fields = ["accepted_at"]
    exclude = ["invited_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.invited_by = request.user
        super().save_model(request, obj, form, change)


def _credential_form_field(connector_key: str, f: field_types.Field) -> forms.Field:
    label = f"{f.label}"
    help_text = f.help
    if f.secret:
        help_text = (help_text + " " if help_text else "") + (
            "Stored encrypted, never shown. Leave blank to keep the current value."
        )
        return forms.CharField(
            label=label,
            required=False,
            help_text=help_text,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        )
    if f.type == field_types.CHOICE:
        return forms.ChoiceField(
            label=label,
            required=False,
            help_text=help_text,
            choices=[("", "---------"), *f.choices],
        )
    return forms.CharField(label=label, required=False, help_text=help_text)


def _form_key(connector_key: str, field_key: str) -> str:
    return f"cred__{connector_key}__{field_key}"


class ConnectedAccountForm(forms.ModelForm):
    """Credentials are write-only: secret inputs are always empty, and the values reach
    the database only through the accounts service (validated, checked, encrypted)."""

    connector = forms.ChoiceField(choices=())

    class Meta:
        model = ConnectedAccount
        fields = ["team", "connector", "title"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connector"].choices = [
            (c.key, c.label) for c in registry.all_connectors() if c.account_fields
        ]
        if self.instance.pk:
            self.fields["connector"].disabled = True
        for connector in registry.all_connectors():
            for f in connector.account_fields:
                name = _form_key(connector.key, f.key)
                self.fields[name] = _credential_form_field(connector.key, f)
                if self.instance.pk and self.instance.connector == connector.key and not f.secret:
                    self.initial[name] = self.instance.config.get(f.key, "")
        self.prepared: tuple[dict, dict] | None = None

    def clean(self):
        cleaned = super().clean()
        connector_key = cleaned.get("connector") or self.instance.connector
        if not connector_key or self.errors:
            return cleaned
        connector = registry.get(connector_key)
        typed = {
            f.key: cleaned.get(_form_key(connector_key, f.key))
            for f in connector.account_fields
            if cleaned.get(_form_key(connector_key, f.key)) not in (None, "")
        }
        try:
            if self.instance.pk:
                self.prepared = services.account_prepare_change(
                    account=self.instance, credentials=typed
                )
            else:
                self.prepared = services.account_prepare(connector=connector_key, credentials=typed)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                field_key = key.removeprefix("credentials.").removeprefix("credentials")
                name = _form_key(connector_key, field_key) if field_key else None
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        return cleaned


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(TeamScopedAdmin):
    form = ConnectedAccountForm
    list_display = ["title", "connector", "team", "hint", "created_at", "updated_at"]
    list_filter = ["connector"]
    search_fields = ["title", "team__name"]
    list_select_related = ["team"]
    readonly_fields = ["hint", "created_by", "created_at", "updated_at"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["team", "connector", "title", "hint"]})]
        for connector in registry.all_connectors():
            if not connector.account_fields or (obj and obj.connector != connector.key):
                continue
            names = [_form_key(connector.key, f.key) for f in connector.account_fields]
            fieldsets.append((f"{connector.label} credentials", {"fields": names}))
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        # The credential inputs are added by the form itself, not taken from the model.
        kwargs["fields"] = ["team", "connector", "title"]
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        public, secrets = form.prepared
        if not change:
            obj.created_by = request.user
        services.account_apply(account=obj, public=public, secrets=secrets)
        obj.save()
