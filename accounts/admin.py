from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect
from django.urls import reverse

from accounts import (
    admin_signins,  # noqa: F401  (registers the sign-in records' pages)
    admin_users,  # noqa: F401  (the user admin that keeps every team an owner)
    roles,
    services,
    tokens,
)
from accounts.admin_signins import SuperuserOnly
from accounts.audit import audit_record
from accounts.models import (
    ApiToken,
    AuditEvent,
    AuditKind,
    ConnectedAccount,
    Invitation,
    Membership,
    Team,
)
from connectors import fields as field_types
from connectors import registry


def admin_team_ids(request) -> QuerySet | None:
    """The teams the user administers in this admin; None for a superuser (every team)."""
    if request.user.is_superuser:
        return None
    return Membership.objects.filter(
        user=request.user, role__in=roles.roles_that_can(roles.Action.MANAGE_MEMBERS)
    ).values("team_id")


class TeamRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id input whose lookup popup opens on one team's rows, and which names only
    rows it may choose (a typed id of another team's row is not looked up)."""

    queryset: QuerySet | None = None
    team_id: int | None = None

    def url_parameters(self) -> dict[str, str]:
        params = super().url_parameters()
        if self.team_id is not None:
            params[TeamFilter.parameter_name] = str(self.team_id)
        return params

    def label_and_url_for_value(self, value):
        if self.queryset is not None:
            try:
                allowed = self.queryset.filter(pk=value).exists()
            except (ValueError, TypeError, ValidationError):
                allowed = False
            if not allowed:
                return "", ""
        return super().label_and_url_for_value(value)


class TeamFilter(admin.SimpleListFilter):
    """Filter by team, offering only the teams the user administers (the default related
    filter would list every team's name)."""

    title = "team"
    parameter_name = "team"

    def __init__(self, request, params, model, model_admin):
        self.team_path = model_admin.team_path
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        teams = Team.objects.order_by("name")
        ids = admin_team_ids(request)
        if ids is not None:
            teams = teams.filter(pk__in=ids)
        return list(teams.values_list("pk", "name"))

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{self.team_path: int(value)})


class TeamScopedFields:
    """Foreign keys to team rows (accounts, projects, automations...) offer, look up and
    accept only rows of the teams the user administers, and once the object exists only
    rows of the object's own team, for superusers too: the object's team decides."""

    def _related_admin(self, model) -> TeamScopedAdmin | None:
        related = self.admin_site._registry.get(model)
        return related if isinstance(related, TeamScopedAdmin) else None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = self._related_admin(db_field.related_model)
        if related is not None:
            ids = admin_team_ids(request)
            if ids is not None:
                kwargs["queryset"] = related.team_rows(ids)
            if db_field.name in self.raw_id_fields:
                kwargs["widget"] = TeamRawIdWidget(
                    db_field.remote_field, self.admin_site, using=kwargs.get("using")
                )
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, TeamRawIdWidget):
            field.widget.queryset = field.queryset
        return field

    def scope_to_team(self, form_class, team_id: int | None) -> None:
        """Narrow the form's team-scoped choices to one team (the object's)."""
        if team_id is None:
            return
        for field in form_class.base_fields.values():
            if not isinstance(field, forms.ModelChoiceField):
                continue
            related = self._related_admin(field.queryset.model)
            if related is None:
                continue
            field.queryset = field.queryset & related.team_rows([team_id])
            if isinstance(field.widget, TeamRawIdWidget):
                field.widget.queryset = field.queryset
                field.widget.team_id = team_id


class TeamScopedAdmin(TeamScopedFields, admin.ModelAdmin):
    """Superusers see every team; other staff only the teams they own or administer."""

    team_path = "team"

    def team_rows(self, team_ids) -> QuerySet:
        return self.model._default_manager.filter(**{f"{self.team_path}__in": team_ids})

    def team_id_of(self, obj) -> int | None:
        """The team of an object, following ``team_path``; None while it has none."""
        *hops, last = self.team_path.split("__")
        for hop in hops:
            obj = getattr(obj, hop, None)
        if obj is None:
            return None
        return obj.pk if last == "pk" else getattr(obj, f"{last}_id", None)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = admin_team_ids(request)
        if ids is None:
            return queryset
        return queryset.filter(**{f"{self.team_path}__in": ids})

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            self.scope_to_team(form, self.team_id_of(obj))
        return form

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if self.team_path == "team" and "team" not in initial:
            initial["team"] = services.team_ensure_for_user(user=request.user).pk
        return initial


class TeamScopedInline(TeamScopedFields, admin.options.InlineModelAdmin):
    """An inline whose foreign keys are limited to the parent object's team."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        parent = self._related_admin(self.parent_model)
        if obj is not None and parent is not None:
            self.scope_to_team(formset.form, parent.team_id_of(obj))
        return formset


# -- memberships and invitations: every change goes through the services' role rules --


class MembershipForm(forms.ModelForm):
    actor = None  # set per request by the admin

    class Meta:
        model = Membership
        fields = ["team", "user", "role"]

    def clean(self):
        cleaned = super().clean()
        team = cleaned.get("team") or getattr(self.instance, "team", None)
        user = cleaned.get("user") or getattr(self.instance, "user", None)
        if team is not None and user is not None and cleaned.get("role"):
            change = services.MemberChange(user, cleaned["role"])
            _as_field_errors(
                self,
                lambda: services.memberships_check(actor=self.actor, team=team, changes=[change]),
            )
        return cleaned


def _as_field_errors(form: forms.BaseForm, check) -> None:
    try:
        check()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)


class MembershipFormSet(forms.BaseInlineFormSet):
    """The team's members as one batch of changes, checked together (so demoting one
    owner while promoting another is judged by the result) and saved by the service."""

    actor = None  # set per request by the admin

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        self.changes = []
        for form in self.forms:
            old_user = form.instance.user if form.instance.pk else None
            if self._should_delete_form(form):
                if old_user is not None:
                    self.changes.append(services.MemberChange(old_user, None))
                continue
            user = form.cleaned_data.get("user")
            if user is None or not form.has_changed():
                continue
            if old_user is not None and old_user.pk != user.pk:
                self.changes.append(services.MemberChange(old_user, None))
            self.changes.append(services.MemberChange(user, form.cleaned_data["role"]))
        try:
            services.memberships_check(actor=self.actor, team=self.instance, changes=self.changes)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def save(self, commit=True):
        kept = services.memberships_apply(
            actor=self.actor, team=self.instance, changes=self.changes
        )
        removed = {c.user.pk for c in self.changes if c.role is None}
        before = {form.instance.user_id for form in self.initial_forms}
        self.new_objects = [m for m in kept if m.user_id not in before]
        self.changed_objects = [(m, ["role"]) for m in kept if m.user_id in before]
        self.deleted_objects = [
            f.instance for f in self.initial_forms if f.instance.user_id in removed
        ]
        return kept


class MembershipInline(TeamScopedInline, admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ["user"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.actor = request.user
        return formset


@admin.register(Team)
class TeamAdmin(TeamScopedAdmin):
    team_path = "pk"
    list_display = ["name", "slug", "is_personal", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["is_personal"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def _may_manage_team(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        role = Membership.objects.filter(team=obj, user=request.user).values_list("role", flat=True)
        return roles.can(role.first(), roles.Action.MANAGE_TEAM)

    def get_readonly_fields(self, request, obj=None):
        # Renaming is the owners' (docs/ROLES.md); admins manage the members inline.
        if obj is not None and not self._may_manage_team(request, obj):
            return ["name", "slug"]
        return []

    def get_prepopulated_fields(self, request, obj=None):
        return (
            {}
            if obj is not None and not self._may_manage_team(request, obj)
            else {"slug": ["name"]}
        )

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self._may_manage_team(request, obj))

    def save_model(self, request, obj, form, change):
        if change and "name" in form.changed_data:
            new_name, obj.name = obj.name, form.initial["name"]
            services.team_rename(actor=request.user, team=obj, name=new_name)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        services.team_delete(actor=request.user, team=obj)


class _OneRowDeletes:
    """Deleting goes through the service one row at a time, with its refusal shown as a
    message; the bulk delete action would bypass it."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Membership)
class MembershipAdmin(_OneRowDeletes, TeamScopedAdmin):
    form = MembershipForm
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", TeamFilter]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]

    def get_readonly_fields(self, request, obj=None):
        # A membership stays the same person's in the same team; only the role changes.
        return ["team", "user"] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        membership = services.membership_set(
            actor=request.user, team=obj.team, user=obj.user, role=obj.role
        )
        obj.pk = membership.pk
        obj.refresh_from_db()

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_delete_permission(request, obj):
            change = services.MemberChange(obj.user, None)
            try:
                services.memberships_check(actor=request.user, team=obj.team, changes=[change])
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                return redirect(reverse("admin:accounts_membership_change", args=[obj.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.membership_remove(actor=request.user, membership=obj)


class InvitationForm(forms.ModelForm):
    actor = None  # set per request by the admin

    class Meta:
        model = Invitation
        fields = ["team", "email", "role"]

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and cleaned.get("team") and cleaned.get("role"):
            _as_field_errors(
                self,
                lambda: services.invitation_check(
                    actor=self.actor, team=cleaned["team"], role=cleaned["role"]
                ),
            )
        return cleaned


@admin.register(Invitation)
class InvitationAdmin(TeamScopedAdmin):
    form = InvitationForm
    list_display = ["email", "team", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", TeamFilter]
    search_fields = ["email", "team__name"]
    list_select_related = ["team"]
    exclude = ["invited_by", "revoked_at", "sent_at", "expires_at"]

    def get_readonly_fields(self, request, obj=None):
        # To invite as another role, delete the invitation and invite again.
        if obj is not None:
            return ["team", "email", "role", "expires_at", "accepted_at", "revoked_at", "sent_at"]
        return ["accepted_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        if change:
            return
        invitation = services.invitation_create(
            actor=request.user,
            team=obj.team,
            email=obj.email,
            role=obj.role,
            base_url=request.build_absolute_uri("/"),
        )
        obj.pk = invitation.pk
        obj.refresh_from_db()


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
    list_filter = ["connector", TeamFilter]
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
        kind = AuditKind.ACCOUNT_CHANGED if change else AuditKind.ACCOUNT_CREATED
        audit_record(kind=kind, team=obj.team, actor=request.user, obj=obj, summary="in the admin")

    def delete_model(self, request, obj):
        services.account_delete(account=obj, actor=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(SuperuserOnly, admin.ModelAdmin):
    """Every team's entries, read-only, for superusers; team admins use the audit page."""

    list_display = ["created_at", "team_name", "actor_name", "kind", "object_repr", "summary"]
    list_filter = ["kind"]
    search_fields = ["team_name", "actor_name", "object_repr", "summary"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(SuperuserOnly, admin.ModelAdmin):
    """Superusers see and revoke tokens; the tokens themselves are never stored."""

    list_display = ["name", "user", "prefix", "read_only", "created_at", "last_used_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "read_only", "created_at", "last_used_at"]
    exclude = ["key_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj):
        tokens.token_revoke(token=obj, actor=request.user)
