from __future__ import annotations

from django import forms
from django.contrib import admin

from accounts.admin import TeamFilter, TeamScopedAdmin, TeamScopedInline
from automations.engine.conditions import validate_conditions
from automations.models import Automation, Execution, Project, Step, StepRun
from connectors import registry


@admin.register(Project)
class ProjectAdmin(TeamScopedAdmin):
    list_display = ["name", "team", "created_at"]
    search_fields = ["name", "team__name"]
    list_filter = [TeamFilter]
    list_select_related = ["team"]


def check_operation(
    form: forms.ModelForm,
    key_field: str,
    account_field: str,
    config_field: str,
    project: Project | None,
) -> None:
    """Check a step's action or an automation's trigger against its declaration, as the
    API does: it exists, the account is of its connector and of the project's team (for
    superusers too: the automation's team decides), the config fits its fields (secret
    fields are set through the API, never here)."""
    cleaned = form.cleaned_data
    is_trigger = key_field == "trigger_key"
    connector_key = cleaned.get("trigger_connector" if is_trigger else "connector") or ""
    key = cleaned.get(key_field) or ""
    try:
        connector = registry.get(connector_key)
        operation = connector.trigger(key) if is_trigger else connector.action(key)
    except (registry.UnknownConnector, KeyError):
        kind = "trigger" if is_trigger else "action"
        form.add_error(key_field, f"There is no {kind} {connector_key}.{key}.")
        return
    account = cleaned.get(account_field)
    if account is not None and project is not None and account.team_id != project.team_id:
        form.add_error(account_field, "Choose an account of this automation's team.")
    elif account is not None and account.connector != connector_key:
        form.add_error(account_field, f"Choose a {connector_key} account.")
    config = cleaned.get(config_field)
    if not isinstance(config, dict):
        form.add_error(config_field, "Must be a JSON object.")
        return
    fields = [f for f in operation.fields if not f.secret]
    _, errors = operation.validate(config, resolved=False, partial=True, fields=fields)
    for name, message in errors.items():
        form.add_error(config_field, f"{name}: {message}")


class StepForm(forms.ModelForm):
    """Checks a step against its action's field declarations, as the API does."""

    class Meta:
        model = Step
        fields = [
            "position",
            "key",
            "name",
            "connector",
            "action",
            "account",
            "config",
            "max_attempts",
        ]

    def clean(self):
        cleaned = super().clean()
        # The inline's parent, unsaved on the add page but with its project chosen.
        automation = cleaned.get("automation")
        project = getattr(automation, "project", None) if automation else None
        check_operation(self, "action", "account", "config", project)
        return cleaned


class StepInline(TeamScopedInline, admin.StackedInline):
    model = Step
    form = StepForm
    extra = 0
    fields = ["position", "key", "name", "connector", "action", "account", "config", "max_attempts"]
    ordering = ["position"]
    raw_id_fields = ["account"]


class AutomationForm(forms.ModelForm):
    """Checks the trigger against its declaration, as the API does."""

    class Meta:
        model = Automation
        fields = [
            "project", "name", "description", "active", "trigger_connector", "trigger_key",
            "trigger_account", "trigger_config", "trigger_conditions",
        ]  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("trigger_connector") or cleaned.get("trigger_key"):
            check_operation(
                self, "trigger_key", "trigger_account", "trigger_config", cleaned.get("project")
            )
        _, problems = validate_conditions(cleaned.get("trigger_conditions"))
        for key, message in problems.items():
            self.add_error("trigger_conditions", f"{key}: {message}")
        return cleaned


@admin.register(Automation)
class AutomationAdmin(TeamScopedAdmin):
    form = AutomationForm
    team_path = "project__team"
    list_display = [
        "name",
        "project",
        "team_name",
        "active",
        "trigger_connector",
        "trigger_key",
        "updated_at",
    ]
    list_filter = ["active", "trigger_connector", TeamFilter]
    search_fields = ["name", "description", "project__name"]
    list_select_related = ["project__team"]
    readonly_fields = [
        "webhook_token",
        "trigger_sample",
        "trigger_state",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["trigger_account"]
    inlines = [StepInline]
    fieldsets = [
        (None, {"fields": ["project", "name", "description", "active"]}),
        (
            "Trigger",
            {
                "fields": [
                    "trigger_connector",
                    "trigger_key",
                    "trigger_account",
                    "trigger_config",
                    "trigger_conditions",
                    "webhook_token",
                    "trigger_sample",
                    "trigger_state",
                ]
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Team", ordering="project__team__name")
    def team_name(self, obj: Automation) -> str:
        return obj.project.team.name


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    can_delete = False
    fields = [
        "position",
        "step_key",
        "connector",
        "action",
        "status",
        "attempts",
        "duration_ms",
        "tokens_used",
        "input",
        "output",
        "output_truncated",
        "error",
        "reused",
    ]
    readonly_fields = fields
    ordering = ["position"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(TeamScopedAdmin):
    team_path = "automation__project__team"
    list_display = [
        "pk",
        "automation",
        "status",
        "is_test",
        "created_at",
        "duration_ms",
        "tokens_used",
    ]
    list_filter = ["status", "is_test", "created_at"]
    search_fields = ["automation__name", "error"]
    list_select_related = ["automation"]
    date_hierarchy = "created_at"
    inlines = [StepRunInline]
    readonly_fields = [
        "automation",
        "status",
        "is_test",
        "trigger_output",
        "parent",
        "depth",
        "retry_of",
        "resume_position",
        "error",
        "response",
        "tokens_used",
        "created_at",
        "started_at",
        "finished_at",
        "duration_ms",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StepRun)
class StepRunAdmin(TeamScopedAdmin):
    team_path = "execution__automation__project__team"
    list_display = [
        "execution",
        "position",
        "step_key",
        "connector",
        "action",
        "status",
        "attempts",
        "duration_ms",
    ]
    list_filter = ["status", "connector"]
    search_fields = ["step_key", "error"]
    list_select_related = ["execution"]
    readonly_fields = [f.name for f in StepRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
