"""The Automations page: the team's automations grouped by project, with their status,
trigger and last run; rename, clone, delete, export, import, activate and deactivate;
projects created, renamed and deleted when empty. Creating from a template says what
was made and what is left to do."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from accounts import roles
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.roles import Action
from automations import definitions, documents, selectors, services
from automations.blueprints import blueprints
from automations.models import Automation, Project
from automations.views.access import automation_for, membership
from connectors import registry

MAX_DOCUMENT_BYTES = 1024 * 1024


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    teams = account_selectors.team_list_for_user(user=request.user)
    if not teams.exists():
        account_services.team_ensure_for_user(user=request.user)
    chosen = teams.filter(slug=request.GET.get("team")).first()
    if chosen:
        account_services.team_switch(user=request.user, team=chosen)
    team = chosen or account_selectors.team_current(user=request.user)
    return render(request, "automations/dashboard.html", _context(request, team))


def _context(request: HttpRequest, team, **extra: Any) -> dict[str, Any]:
    request.team = team
    projects = {p.pk: {"project": p, "automations": []} for p in selectors.project_list(team=team)}
    for automation in selectors.automation_overview(team=team):
        automation.trigger_label = _trigger_label(automation)
        projects[automation.project_id]["automations"].append(automation)
    return {
        "can": roles.abilities(membership(request, team).role),
        "team": team,
        "groups": list(projects.values()),
        "projects": [group["project"] for group in projects.values()],
        "blueprints": blueprints().values(),
        **extra,
    }


def _trigger_label(automation: Automation) -> str:
    if not automation.trigger_connector:
        return ""
    try:
        connector = registry.get(automation.trigger_connector)
        return f"{connector.label} · {connector.trigger(automation.trigger_key).label}"
    except (registry.UnknownConnector, KeyError):
        return f"{automation.trigger_connector} · {automation.trigger_key}"


def _team(request: HttpRequest, action: Action = Action.EDIT_AUTOMATIONS):
    team = account_selectors.team_get_for_user(user=request.user, slug=request.POST.get("team", ""))
    roles.require(membership(request, team).role, action)
    return team


def _flash(request: HttpRequest, exc: ValidationError, prefix: str = "") -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                messages.error(request, f"{prefix}{field.capitalize()} {error}")
    else:
        for error in exc.messages:
            messages.error(request, error)


@login_required
@require_POST
def automation_new(request: HttpRequest) -> HttpResponse:
    team = _team(request)
    name = request.POST.get("project_name", "").strip() or "My project"
    project, _ = Project.objects.get_or_create(team=team, name=name)
    template = request.POST.get("template")
    try:
        if template:
            created = services.blueprint_use(project=project, key=template, created_by=request.user)
            _say_what_was_made(request, created)
            return redirect("wizard:editor", pk=created[-1].pk)
        automation = services.automation_create(
            project=project,
            data={"name": request.POST.get("name", "")},
            created_by=request.user,
            partial=True,
        )
    except ValidationError as exc:
        field_errors = exc.message_dict
        context = _context(
            request,
            team,
            name_errors=field_errors.pop("name", []),
            errors=definitions.describe_errors(field_errors, {}),
            typed=request.POST,
        )
        return render(request, "automations/dashboard.html", context, status=400)
    return redirect("wizard:editor", pk=automation.pk)


def _say_what_was_made(request: HttpRequest, created: list[Automation]) -> None:
    """What a template made (the sub automations too) and what is left: the accounts
    each step still needs."""
    *subs, main = created
    made = f"Created {main.name!r}"
    if subs:
        made += " and its sub automations " + ", ".join(repr(a.name) for a in subs)
    messages.success(request, made + ", inactive.")
    for automation in created:
        for where, connector_key in _missing_accounts(automation):
            label = registry.get(connector_key).label
            messages.info(request, f"{automation.name}: choose a {label} account in {where}.")
    messages.info(request, "Then test the trigger and each step, and activate.")


def _missing_accounts(automation: Automation) -> list[tuple[str, str]]:
    missing = []
    trigger = automation.trigger_connector
    if trigger and automation.trigger_account_id is None and registry.get(trigger).account_fields:
        missing.append(("the trigger", trigger))
    for step in automation.steps.order_by("position", "pk"):
        if step.account_id is None and registry.get(step.connector).account_fields:
            missing.append((f"step {step.position + 1} ({step.name or step.key})", step.connector))
    return missing


@login_required
@require_POST
def automation_rename(request: HttpRequest, pk: int) -> HttpResponse:
    automation = automation_for(request, pk, write=True)
    try:
        renamed = services.automation_rename(
            automation=automation, name=request.POST.get("name", ""), actor=request.user
        )
    except ValidationError as exc:
        data = documents.automation_definition(automation)
        for line in definitions.describe_errors(exc.message_dict, data):
            messages.error(request, f"Renaming {automation.name!r}: {line}")
        return redirect("wizard:dashboard")
    messages.success(request, f"Renamed {automation.name!r} to {renamed.name!r}.")
    return redirect("wizard:dashboard")


@login_required
@require_POST
def automation_clone(request: HttpRequest, pk: int) -> HttpResponse:
    automation = automation_for(request, pk, write=True)
    try:
        copy = services.automation_clone(automation=automation, created_by=request.user)
    except ValidationError as exc:
        _flash(request, exc)
        return redirect("wizard:dashboard")
    messages.success(
        request, f"Cloned {automation.name!r} as {copy.name!r} (inactive; enter its secrets)."
    )
    return redirect("wizard:dashboard")


@login_required
def automation_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The automation as a document, downloaded (no secrets; accounts by title)."""
    automation = automation_for(request, pk)
    document = services.automation_export(automation=automation)
    response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
    filename = f"{slugify(automation.name) or 'automation'}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def automation_import(request: HttpRequest) -> HttpResponse:
    """Upload a document; every error is shown with its path in the document."""
    team = _team(request)
    upload = request.FILES.get("document")
    errors: list[str] = []
    document = None
    if upload is None:
        errors.append("Choose a document (a .json file) to import.")
    elif upload.size > MAX_DOCUMENT_BYTES:
        errors.append(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    else:
        try:
            document = json.loads(upload.read().decode("utf-8"))
        except UnicodeDecodeError:
            errors.append("The document is not UTF-8 text.")
        except json.JSONDecodeError as exc:
            errors.append(
                f"The document is not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno})."
            )
    if not errors:
        name = request.POST.get("project_name", "").strip() or "My project"
        project, _ = Project.objects.get_or_create(team=team, name=name)
        try:
            automation = services.automation_import(
                project=project, document=document, created_by=request.user, partial=True
            )
        except ValidationError as exc:
            errors = _with_paths(exc)
        else:
            messages.success(request, f"Imported {automation.name!r} into {project.name}.")
            return redirect("wizard:editor", pk=automation.pk)
    context = _context(request, team, import_errors=errors)
    return render(request, "automations/dashboard.html", context, status=400)


def _with_paths(exc: ValidationError) -> list[str]:
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    return [f"{path}: {message}" for path, found in exc.message_dict.items() for message in found]


@login_required
@require_POST
def project_new(request: HttpRequest) -> HttpResponse:
    team = _team(request)
    try:
        project = services.project_create(team=team, name=request.POST.get("name", ""))
    except ValidationError as exc:
        _flash(request, exc, "Project: ")
        return redirect("wizard:dashboard")
    messages.success(request, f"Created the project {project.name!r}.")
    return redirect("wizard:dashboard")


@login_required
@require_POST
def project_rename(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    old = project.name
    try:
        services.project_rename(project=project, name=request.POST.get("name", ""))
    except ValidationError as exc:
        _flash(request, exc, "Project: ")
        return redirect("wizard:dashboard")
    messages.success(request, f"Renamed the project {old!r} to {project.name!r}.")
    return redirect("wizard:dashboard")


@login_required
@require_POST
def project_delete(request: HttpRequest, pk: int) -> HttpResponse:
    project = _project_or_404(request, pk)
    try:
        services.project_delete(project=project)
    except ValidationError as exc:
        _flash(request, exc)
        return redirect("wizard:dashboard")
    messages.success(request, f"Deleted the project {project.name!r}.")
    return redirect("wizard:dashboard")


def _project_or_404(request: HttpRequest, pk: int) -> Project:
    project = Project.objects.select_related("team").filter(pk=pk).first()
    if project is None:
        raise Http404("No such project.")
    roles.require(membership(request, project.team).role, Action.EDIT_AUTOMATIONS)
    return project
