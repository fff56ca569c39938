from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from accounts.admin import TeamFilter, TeamScopedAdmin, TeamScopedInline
from automations import documents, services
from automations.definitions import clean_definition
from automations.models import Automation, Execution, Project, Step, StepRun
from automations.services import registration
from automations.services.versions import automation_touch


@admin.register(Project)
class ProjectAdmin(TeamScopedAdmin):
    list_display = ["name", "team", "created_at"]
    search_fields = ["name", "team__name"]
    list_filter = [TeamFilter]
    list_select_related = ["team"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # A plan carries its project (the team whose accounts a run may use).
        for automation_id in obj.automations.values_list("pk", flat=True):
            automation_touch(automation_id=automation_id)


STEP_FIELDS = [
    "position",
    "key",
    "name",
    "connector",
    "action",
    "account",
    "config",
    "max_attempts",
]
TRIGGER_FIELDS = [
    "trigger_connector",
    "trigger_key",
    "trigger_account",
    "trigger_config",
    "trigger_conditions",
]
# Where an error of clean_definition (by its JSON path) goes on the admin's forms.
TRIGGER_PATHS = {
    "trigger": "trigger_connector",
    "trigger.connector": "trigger_connector",
    "trigger.trigger": "trigger_key",
    "trigger.account": "trigger_account",
}
SECRETS_HERE = "Secret fields are set through the API or the wizard, never here."


def _value(form: forms.ModelForm, name: str) -> Any:
    """A field's cleaned value, or the object's own when the field is read-only."""
    if name in form.fields:
        return form.cleaned_data.get(name)
    return getattr(form.instance, name)


def _definition_errors(team, data: dict, existing: Automation | None, partial: bool):
    """clean_definition's result and its errors ({json path: message})."""
    try:
        return clean_definition(team, data, existing=existing, partial=partial), {}
    except ValidationError as exc:
        return None, {path: "; ".join(messages) for path, messages in exc.message_dict.items()}


def _add(form: forms.BaseForm, field: str | None, path: str, prefix: str, message: str) -> None:
    rest = path[len(prefix) :].lstrip(".")
    text = f"{rest}: {message}" if rest else message
    form.add_error(field if field in form.fields else None, text)


class AutomationForm(forms.ModelForm):
    """Validated by the API's validator (clean_definition): the name and the trigger
    here, the steps by the inline's formset. ``active`` is switched by the actions."""

    class Meta:
        model = Automation
        fields = ["project", "name", "description", *TRIGGER_FIELDS]

    def clean(self):
        cleaned = super().clean()
        existing = self.instance if self.instance.pk else None
        if existing is not None:
            try:
                # Held until the admin's transaction ends: no registration runs meanwhile.
                registration.automation_locked(existing.pk)
            except ValidationError as exc:
                raise forms.ValidationError(exc.messages) from None
        project = cleaned.get("project")
        if project is None or self.errors:
            return cleaned
        connector, key = _value(self, "trigger_connector"), _value(self, "trigger_key")
        account = _value(self, "trigger_account")
        trigger = (
            {
                "connector": connector,
                "trigger": key,
                "account": account.pk if account else None,
                "config": _value(self, "trigger_config"),
                "conditions": _value(self, "trigger_conditions"),
            }
            if connector or key
            else None
        )
        data = {
            "name": cleaned.get("name"),
            "description": cleaned.get("description") or "",
            "trigger": trigger,
            "steps": [],
        }
        partial = not (existing and existing.active)
        clean, errors = _definition_errors(project.team, data, existing, partial)
        for path, message in errors.items():
            if path.startswith("trigger.config"):
                _add(self, "trigger_config", path, "trigger.config", message)
            elif path.startswith("trigger.conditions"):
                _add(self, "trigger_conditions", path, "trigger", message)
            elif path.startswith("trigger"):
                _add(self, TRIGGER_PATHS.get(path, "trigger_connector"), path, path, message)
            elif not path.startswith("steps"):
                _add(self, path, path, path, message)
        if clean is not None and clean.trigger_secrets:
            self.add_error("trigger_config", SECRETS_HERE)
        elif clean is not None and "trigger_config" in self.fields:
            self.cleaned_data["trigger_config"] = clean.trigger_config
        return self.cleaned_data


class StepFormSet(forms.BaseInlineFormSet):
    """The steps, validated together by the API's validator: keys unique and
    slug-shaped, attempts between 1 and 10, references only to earlier steps, each
    config against its action's fields, accounts of the automation's team."""

    def clean(self):
        super().clean()
        automation = self.instance
        if any(self.errors) or not automation.project_id or _has_nested(automation):
            return
        forms_in_order = sorted(
            (f for f in self.forms if f.has_changed() or f.instance.pk),
            key=lambda f: f.cleaned_data.get("position") or 0,
        )
        forms_in_order = [f for f in forms_in_order if not self._should_delete_form(f)]
        steps = []
        for form in forms_in_order:
            data = form.cleaned_data
            steps.append(
                {
                    "key": data.get("key"),
                    "name": data.get("name") or "",
                    "connector": data.get("connector"),
                    "action": data.get("action"),
                    "account": data["account"].pk if data.get("account") else None,
                    "config": data.get("config"),
                    "max_attempts": data.get("max_attempts"),
                }
            )
        existing = automation if automation.pk else None
        definition = {"name": automation.name or "-", "trigger": None, "steps": steps}
        clean, errors = _definition_errors(
            automation.project.team, definition, existing, partial=not automation.active
        )
        for path, message in errors.items():
            index, _, rest = path.removeprefix("steps[").partition("]")
            if not path.startswith("steps[") or not index.isdigit():
                if path.startswith("steps"):
                    raise forms.ValidationError(message)
                continue
            field = rest.lstrip(".").split(".")[0].split("[")[0] or None
            form = forms_in_order[int(index)]
            _add(form, field, rest.lstrip("."), field or "", message)
        if errors and any(p.startswith("steps") for p in errors):
            return
        for form, item in zip(forms_in_order, clean.steps if clean else [], strict=False):
            if item.secrets:
                form.add_error("config", SECRETS_HERE)
            else:
                form.cleaned_data["config"] = item.config


def _has_nested(automation: Automation | None) -> bool:
    if automation is None or automation.pk is None:
        return False
    return automation.steps.filter(parent__isnull=False).exists()


class StepInline(TeamScopedInline, admin.StackedInline):
    """The steps as rows. An automation with branches or loops shows them read-only
    (with where each sits in the tree): this flat form cannot keep the tree, so it is
    changed through the API or a document; the tree is shown whole above."""

    model = Step
    formset = StepFormSet
    extra = 0
    fields = STEP_FIELDS
    ordering = ["parent_id", "branch", "position"]
    raw_id_fields = ["account"]

    def get_fields(self, request, obj=None):
        if _has_nested(obj):
            return ["parent", "branch", *STEP_FIELDS]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if _has_nested(obj):
            return ["parent", "branch", *STEP_FIELDS]
        return super().get_readonly_fields(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return not _has_nested(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _has_nested(obj) and super().has_delete_permission(request, obj)


ON_FAILURE_FIELDS = [
    "failure_email",
    "failure_recipients",
    "failure_automation",
    "failure_alert_at",
    "failures_unreported",
]


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
        "active",
        "trigger_error",
        "step_tree",
        "webhook_token",
        "trigger_sample",
        "trigger_state",
        "version",
        "created_at",
        "updated_at",
        # Changed through the API or the editor, whose service checks them (the error
        # automation must be a sub automation of the project, recipients members).
        *ON_FAILURE_FIELDS,
    ]
    raw_id_fields = ["trigger_account"]
    inlines = [StepInline]
    actions = ["activate", "deactivate"]
    fieldsets = [
        (None, {"fields": ["project", "name", "description", "active", "trigger_error"]}),
        ("Steps (the tree, read-only)", {"fields": ["step_tree"], "classes": ["collapse"]}),
        (
            "Trigger",
            {
                "fields": [
                    *TRIGGER_FIELDS,
                    "webhook_token",
                    "trigger_sample",
                    "trigger_state",
                ]
            },
        ),
        ("On failure", {"fields": ON_FAILURE_FIELDS}),
        (None, {"fields": ["created_at", "updated_at", "version"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The registration with the service follows the trigger: switch off to change it.
        if obj is not None and obj.active:
            return [*self.readonly_fields, *TRIGGER_FIELDS]
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Only what the form holds: never the version, the activation or the
        # registration state, which other writers own.
        obj.save(update_fields=[*form.fields, "updated_at"])

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        automation_touch(automation_id=form.instance.pk)

    @admin.action(description="Activate (register the trigger with its service)")
    def activate(self, request, queryset) -> None:
        self._switch(request, queryset, services.automation_activate, "activated")

    @admin.action(description="Deactivate (remove the trigger's registration)")
    def deactivate(self, request, queryset) -> None:
        self._switch(request, queryset, services.automation_deactivate, "deactivated")

    def _switch(self, request, queryset, service, done: str) -> None:
        count = 0
        for automation in queryset:
            try:
                service(automation=automation, actor=request.user)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{path}: {' '.join(messages)}" if path != "__all__" else " ".join(messages)
                    for path, messages in exc.message_dict.items()
                )
                self.message_user(request, f"{automation}: {problems}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} automation(s) {done}.", messages.SUCCESS)

    @admin.display(description="Team", ordering="project__team__name")
    def team_name(self, obj: Automation) -> str:
        return obj.project.team.name

    @admin.display(description="Step tree")
    def step_tree(self, obj: Automation) -> str:
        if obj.pk is None:
            return "-"
        steps = documents.automation_to_document(obj)["steps"]
        return format_html("<pre>{}</pre>", json.dumps(steps, indent=2, ensure_ascii=False))


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
