"""Reads scoped to a team: views, the API and commands fetch automations only here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from accounts import roles
from accounts import selectors as account_selectors
from accounts.models import Team
from automations import documents
from automations.engine.runner import step_tree
from automations.engine.scope import Scope, step_scope
from automations.models import Automation, Execution, Project, Step


def project_list(*, team: Team) -> QuerySet[Project]:
    return Project.objects.filter(team=team).order_by("name")


def project_get(*, team: Team, pk: int) -> Project:
    project = Project.objects.filter(team=team, pk=pk).first()
    if project is None:
        raise Http404("No such project.")
    return project


def automation_list(*, team: Team, project_id: int | None = None) -> QuerySet[Automation]:
    automations = Automation.objects.filter(project__team=team).select_related("project")
    if project_id:
        automations = automations.filter(project_id=project_id)
    return automations.order_by("project__name", "name")


def automation_overview(*, team: Team) -> QuerySet[Automation]:
    """The Automations page's rows: each with its last run's id, time and status, in one
    query whatever the number of automations."""
    last = Execution.objects.filter(automation=OuterRef("pk"), parent__isnull=True).order_by(
        "-created_at", "-pk"
    )
    return automation_list(team=team).annotate(
        last_run_id=Subquery(last.values("pk")[:1]),
        last_run_at=Subquery(last.values("created_at")[:1]),
        last_run_status=Subquery(last.values("status")[:1]),
    )


def automation_get(*, team: Team, pk: int) -> Automation:
    automation = (
        Automation.objects.filter(project__team=team, pk=pk).select_related("project").first()
    )
    if automation is None:
        raise Http404("No such automation.")
    return automation


# What the log's lists (the pages and the API) show of each execution: the trigger's
# output and the response, JSON that can be large, stay in the database until one
# execution is opened.
LIST_COLUMNS = (
    "id", "automation", "status", "is_test", "parent", "depth", "retry_of", "error",
    "tokens_used", "created_at", "started_at", "finished_at", "duration_ms",
    "automation__name", "automation__project", "automation__project__name",
)  # fmt: skip


def execution_list(
    *,
    team: Team,
    automation_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    top_level_only: bool = False,
    is_test: bool | None = None,
) -> QuerySet[Execution]:
    # The team's automations as a list of ids, not a join: through the join PostgreSQL
    # could not tell how many rows a filter keeps, and at a million runs it sorted every
    # failed run of the team (a second) instead of walking an index to the first page.
    automation_ids = list(
        Automation.objects.filter(project__team=team).values_list("pk", flat=True)
    )
    if automation_id:
        automation_ids = [automation_id] if automation_id in automation_ids else []
    executions = (
        Execution.objects.filter(automation_id__in=automation_ids)
        .select_related("automation__project")
        .only(*LIST_COLUMNS)
    )
    if status:
        executions = executions.filter(status=status)
    if since:
        executions = executions.filter(created_at__gte=since)
    if until:
        executions = executions.filter(created_at__lt=until)
    if top_level_only:
        executions = executions.filter(parent__isnull=True)
    if is_test is not None:
        executions = executions.filter(is_test=is_test)
    return executions.order_by("-created_at", "-pk")


def execution_get(*, team: Team, pk: int) -> Execution:
    execution = (
        Execution.objects.filter(automation__project__team=team, pk=pk)
        .select_related("automation")
        .prefetch_related("step_runs", "children")
        .first()
    )
    if execution is None:
        raise Http404("No such execution.")
    return execution


def step_outline(*, automation: Automation) -> list[dict[str, Any]]:
    """The editor's step list: each step in the order they run, a nested one after its
    holder (``{"step": step}``, the step with ``depth``, ``in_branch`` (then, else, do),
    ``number``, its place in its list, and ``last_in_list``), and after each list a
    branch or loop holds, ``{"parent": holder, "branch": name, "depth": depth}``, where a
    step is added to it."""
    rows: list[dict[str, Any]] = []

    def add(steps: list[Step], depth: int, branch: str) -> None:
        for number, step in enumerate(steps, start=1):
            step.depth, step.in_branch, step.number = depth, branch, number
            step.last_in_list = number == len(steps)
            rows.append({"step": step})
            for name in documents.nested_names(step.connector, step.action):
                add(step.nested.get(name, []), depth + 1, name)
                rows.append({"parent": step, "branch": name, "depth": depth + 1})

    add(step_tree(list(automation.steps.order_by("position", "pk"))), 0, "")
    return rows


class NoSuchPlace(Exception):
    """A new step's place the automation does not have: ``field`` (parent or branch)
    names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def step_holder(
    *, automation: Automation, parent: str, branch: str, steps: dict[str, Step] | None = None
) -> Step:
    """The step ``parent`` holding the list ``branch`` (then, else, do) that a new step
    goes to the end of, or NoSuchPlace. ``steps``: the automation's steps by key, when
    the caller has them."""
    holder = steps.get(parent) if steps is not None else automation.steps.filter(key=parent).first()
    if holder is None:
        raise NoSuchPlace("parent", f"This automation has no step {parent!r}.")
    names = documents.nested_names(holder.connector, holder.action)
    if branch not in names:
        allowed = ", ".join(names) or "none: it holds no steps"
        raise NoSuchPlace("branch", f"{parent!r} holds the lists: {allowed}.")
    return holder


def step_list(*, automation: Automation) -> list[Step]:
    """The steps in the order they run, each nested one after its holder, with ``depth``,
    ``in_branch`` (then, else, do) and ``number`` (its place in its list)."""
    return [row["step"] for row in step_outline(automation=automation) if "step" in row]


def step_scope_of(
    *,
    automation: Automation,
    before: str | None = None,
    parent: str | None = None,
    branch: str = "",
) -> Scope:
    """What the step ``before`` sees (or a new step at the end of ``branch`` of
    ``parent``, or at the end of the top level): the steps it may name, the loops around
    it."""
    tree = step_tree(list(automation.steps.order_by("position", "pk")))
    found = step_scope(tree, key=before, parent=parent, branch=branch)
    return found if found is not None else step_scope(tree)


def sub_automation_names(*, project_id: int) -> list[str]:
    """The automations of a project that other automations can call."""
    return list(
        Automation.objects.filter(
            project_id=project_id, trigger_connector="sub_automation", trigger_key="called"
        )
        .order_by("name")
        .values_list("name", flat=True)
    )


def webhook_url_for(automation: Automation, *, role: str | None, request=None) -> str | None:
    """The webhook URL as a member of this role may see it: it starts runs without any
    other credential, so it is shown only to roles that may run the automation."""
    if not roles.can(role, roles.Action.SEE_WEBHOOK_URL):
        return None
    return webhook_url(automation, request)


def webhook_url(automation: Automation, request=None) -> str | None:
    """The URL a caller uses to start this automation, as users should see it."""
    from django.urls import reverse

    from connectors import registry

    try:
        trigger = registry.get(automation.trigger_connector).trigger(automation.trigger_key)
        delivery = trigger.delivery
    except (registry.UnknownConnector, KeyError):
        delivery = "http"
    if delivery not in ("http", "contentstack"):
        return None
    path = reverse(f"hooks:{delivery}", args=[automation.webhook_token])
    base = public_hooks_base()
    if base:
        return base + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path


def public_hooks_base() -> str:
    """Where services reach the webhooks: their own host (HOOKS_BASE_URL) when set, else
    the platform's public address, else "" (URLs are then shown relative to a request)."""
    return settings.HOOKS_BASE_URL or settings.PUBLIC_BASE_URL


def on_failure_settings(automation: Automation) -> dict[str, Any]:
    """An automation's "On failure" settings, as the API and the editor show them."""
    return {
        "email": automation.failure_email,
        "recipients": list(automation.failure_recipients or []),
        "automation": automation.failure_automation_id,
    }


def on_failure_choices(automation: Automation) -> dict[str, Any]:
    """The editor's "On failure" form: the settings, the team's members, and the
    project's sub automations but this one."""
    choices = (
        Automation.objects.filter(
            project_id=automation.project_id,
            trigger_connector="sub_automation",
            trigger_key="called",
        )
        .exclude(pk=automation.pk)
        .order_by("name")
        .values_list("pk", "name")
    )
    return {
        "settings": on_failure_settings(automation),
        "members": account_selectors.member_list(team=automation.project.team),
        "automations": list(choices),
    }
