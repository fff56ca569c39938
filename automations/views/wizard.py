"""The wizard: Configure Trigger, Configure Action Step, Show Optional Fields, Proceed,
Test, Save and Exit.

Views are thin: each starts with an access check (404 for other teams' rows, 403 for a
role that may not write), calls the services the API uses, and renders a page, or the
panel alone for htmx so the page keeps everything else that was typed.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import roles
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.roles import Action
from automations import definitions, documents, selectors, services
from automations.models import Automation
from automations.services.activation import sub_automations_of
from automations.views.access import automation_for as _automation_for
from automations.views.access import membership as _membership
from automations.views.accounts import with_account
from automations.views.execution_log import log_entries
from automations.views.forms import ConfigForm, add_path_errors
from automations.views.log_pages import log_page
from automations.views.redirects import safe_next
from connectors import registry
from connectors.base import ConnectorError
from connectors.fields import is_reference


def _panel(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    if request.htmx:
        return render(request, template, context)
    context["panel_template"] = template
    return render(request, "automations/editor.html", context)


def _editor_context(request: HttpRequest, automation: Automation, **extra: Any) -> dict[str, Any]:
    outline = selectors.step_outline(automation=automation)
    role = _membership(request, automation.project.team).role
    return {
        "automation": automation,
        "steps": [row["step"] for row in outline if "step" in row],
        "outline": outline,
        "inactive_subs": [a for a in sub_automations_of(automation) if not a.active],
        "webhook_url": selectors.webhook_url_for(automation, role=role, request=request),
        "trigger_connector": _connector_or_none(automation.trigger_connector),
        "can": roles.abilities(role),
        "on_failure": selectors.on_failure_choices(automation),
        **extra,
    }


def _connector_or_none(key: str):
    try:
        return registry.get(key) if key else None
    except registry.UnknownConnector:
        return None


@login_required
def editor(request: HttpRequest, pk: int) -> HttpResponse:
    automation = _automation_for(request, pk)
    context = _editor_context(request, automation)
    context["panel_template"] = "automations/panels/overview.html"
    return render(request, "automations/editor.html", context)


def _operation(connector, kind: str, key: str | None):
    """The connector's trigger or action of that key, or None (then the user chooses)."""
    if connector is None or not key:
        return None
    try:
        return getattr(connector, kind)(key)
    except KeyError:
        return None


def _choose(operations: str, connector_key: str | None) -> dict[str, Any]:
    connectors = [c for c in registry.all_connectors() if getattr(c, operations)]
    chosen = _connector_or_none(connector_key or "")
    return {"connectors": connectors, "chosen": chosen}


@login_required
def trigger_panel(request: HttpRequest, pk: int) -> HttpResponse:
    automation = _automation_for(request, pk, write=request.method == "POST")
    connector_key = (
        request.GET.get("connector")
        or request.POST.get("connector")
        or automation.trigger_connector
    )
    trigger_key = (
        request.GET.get("trigger") or request.POST.get("trigger") or automation.trigger_key
    )
    context = _editor_context(request, automation, **_choose("triggers", connector_key))
    connector = context["chosen"]
    trigger = _operation(connector, "trigger", trigger_key)
    if trigger is None:
        return _panel(request, "automations/panels/choose_trigger.html", context)
    same = (automation.trigger_connector, automation.trigger_key) == (connector.key, trigger.key)
    form = ConfigForm(
        trigger.fields,
        request.POST or None,
        config=automation.trigger_config if same else {},
        has_secrets=same and automation.has_secrets,
        lookup_url=_lookup_base(automation, connector),
    )
    posted = request.method == "POST"
    accounts = _accounts(automation, connector)
    context.update(
        configured=same,
        trigger=trigger,
        form=form,
        accounts=accounts,
        account=_chosen_account(request, automation.trigger_account_id if same else None, accounts),
        conditions=request.POST.get("conditions", "")
        if posted
        else json.dumps(automation.trigger_conditions or [], indent=2),
        saved=request.GET.get("saved") == "1",
        listening=services.listening(automation),
        sample_text=json.dumps(automation.trigger_sample, indent=2, ensure_ascii=False)
        if automation.trigger_sample is not None
        else "",
    )
    if posted and not form.row_change and form.is_valid():
        conditions_text = request.POST.get("conditions", "").strip() or "[]"
        try:
            conditions = json.loads(conditions_text)
        except json.JSONDecodeError as exc:
            context["errors"] = [
                f"Trigger conditions are not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno})."
            ]
            return _panel(request, "automations/panels/trigger.html", context)
        definition = {
            "connector": connector.key,
            "trigger": trigger.key,
            "account": _int(request.POST.get("account")),
            "config": form.config(),
            "conditions": conditions,
        }
        try:
            automation = services.automation_update(
                automation=automation,
                data={"trigger": definition},
                partial=True,
                actor=request.user,
            )
        except ValidationError as exc:
            data = {**documents.automation_definition(automation), "trigger": definition}
            context["errors"] = _form_errors(form, exc, "trigger.config", data)
            return _panel(request, "automations/panels/trigger.html", context)
        context.update(_editor_context(request, automation), saved=True, configured=True)
        if "test" in request.POST:
            context["test"] = _test_trigger(automation)
        url = reverse("wizard:trigger", args=[automation.pk])
        return _saved_panel(request, "automations/panels/trigger.html", context, url)
    return _panel(request, "automations/panels/trigger.html", context)


def _test_trigger(automation: Automation) -> dict[str, Any]:
    try:
        sample = services.automation_test_trigger(automation=automation)
    except ValidationError as exc:
        return {"error": " ".join(exc.messages)}
    return {"output": json.dumps(sample, indent=2, ensure_ascii=False)}


def _lookup_base(automation: Automation, connector) -> str:
    """Where a lookup field's live choices come from: this URL plus the lookup's name."""
    return reverse("wizard:editor", args=[automation.pk]) + f"lookup/{connector.key}/"


def _accounts(automation: Automation, connector) -> list:
    if not connector.account_fields:
        return []
    return list(
        account_selectors.account_list(team=automation.project.team, connector=connector.key)
    )


def _chosen_account(request: HttpRequest, saved: int | None, accounts: list) -> int | None:
    """The account the form shows chosen: as posted; else one just added (``?account=``,
    from + Add New Account); else the saved one; else a connector's only account."""
    if request.method == "POST":
        return _int(request.POST.get("account"))
    ids = [account.pk for account in accounts]
    added = _int(request.GET.get("account"))
    if added in ids:
        return added
    if saved is not None:
        return saved
    return ids[0] if len(ids) == 1 else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _saved_panel(
    request: HttpRequest, template: str, context: dict[str, Any], url: str
) -> HttpResponse:
    """After a save: the panel now edits what was saved, the step list and trigger
    summary are refreshed in place (htmx out-of-band), and a plain post is redirected
    so that a reload never posts again."""
    if "exit" in request.POST:
        target = reverse("wizard:editor", args=[context["automation"].pk])
        if request.htmx:
            return HttpResponse(status=204, headers={"HX-Redirect": target})
        return redirect(target)
    if not request.htmx:
        return redirect(url + "?saved=1")
    context["oob"] = True
    response = render(request, template, context)
    response["HX-Replace-Url"] = url
    return response


def _form_errors(form, exc: ValidationError, prefix: str, data: dict[str, Any]) -> list[str]:
    rest = add_path_errors(form, exc.message_dict, prefix)
    return definitions.describe_errors(rest, data)


def _new_place(request: HttpRequest, automation: Automation) -> dict[str, Any] | None:
    """Where a new step goes: None for the top level, or the step holding the list
    (``parent``) and the list's name (``branch``: then, else, do); 404 for a place the
    automation does not have."""
    parent = request.GET.get("parent") or request.POST.get("parent")
    if not parent:
        return None
    branch = request.GET.get("branch") or request.POST.get("branch") or ""
    try:
        holder = selectors.step_holder(automation=automation, parent=parent, branch=branch)
    except selectors.NoSuchPlace as exc:
        raise Http404(exc.message) from None
    return {
        "parent": holder,
        "branch": branch,
        "query": urlencode({"parent": parent, "branch": branch}),
    }


@login_required
def step_panel(request: HttpRequest, pk: int, key: str | None = None) -> HttpResponse:
    """Configure Action Step, for a step at any depth of the tree: a new one goes to the
    top level or, with ``?parent=<key>&branch=then``, to the end of that list; a saved one
    is replaced where it sits, keeping the steps it holds."""
    automation = _automation_for(request, pk, write=request.method == "POST")
    step = automation.steps.filter(key=key).first() if key else None
    if key and step is None:
        raise Http404("No such step.")
    place = _new_place(request, automation) if step is None else None
    connector_key = (
        request.GET.get("connector")
        or request.POST.get("connector")
        or (step.connector if step else None)
    )
    action_key = (
        request.GET.get("action") or request.POST.get("action") or (step.action if step else None)
    )
    context = _editor_context(
        request, automation, step=step, place=place, **_choose("actions", connector_key)
    )
    connector = context["chosen"]
    action = _operation(connector, "action", action_key)
    if action is None:
        return _panel(request, "automations/panels/choose_action.html", context)
    same = step is not None and (step.connector, step.action) == (connector.key, action.key)
    posted = request.method == "POST"
    form = ConfigForm(
        action.fields,
        request.POST or None,
        config=step.config if same else {},
        has_secrets=same and step.has_secrets,
        lookup_url=_lookup_base(automation, connector),
    )
    # What was chosen and typed is shown again as posted, whatever the post did.
    accounts = _accounts(automation, connector)
    context.update(
        action=action,
        form=form,
        accounts=accounts,
        account=_chosen_account(request, step.account_id if same else None, accounts),
        name=request.POST.get("name", "") if posted else (step.name if step else action.label),
        form_url=request.path,
        saved=request.GET.get("saved") == "1",
        sub_automations=selectors.sub_automation_names(project_id=automation.project_id),
        rekey=bool(request.POST.get("rekey")),
        **_suggestion_context(automation, step.key if step else None, place),
    )
    _localize_help(form, services.help_keys(automation, step.key if step else None))
    if posted and not form.row_change and form.is_valid():
        definition = documents.automation_definition(automation)
        name = request.POST.get("name", "").strip()
        new_key = step.key if step else services.step_key_for(automation, name, action.key)
        item = {
            "key": new_key,
            "name": name,
            "connector": connector.key,
            "action": action.key,
            "account": _int(request.POST.get("account")),
            "config": form.config(),
            "max_attempts": step.max_attempts if step else 3,
        }
        items, index, path = _place_in(definition["steps"], step, place)
        if step is not None:
            # The steps it holds stay with it; a new action that holds none is refused
            # by the definition's own check, naming the list.
            old = items[index]
            item.update({held: old[held] for held in documents.LISTS if old.get(held)})
        items[index : index + 1] = [item]
        # Renamed, with "update references" ticked: the key follows the name.
        if step and request.POST.get("rekey") and name:
            new_key = services.step_key_for(automation, name, step.key, own=step.key)
        try:
            automation = services.automation_update_renaming_step(
                automation=automation,
                steps=definition["steps"],
                old=item["key"],
                new=new_key,
                actor=request.user,
            )
        except ValidationError as exc:
            context["errors"] = _form_errors(form, exc, f"{path}.config", definition)
            return _panel(request, "automations/panels/step.html", context)
        saved_step = automation.steps.get(key=new_key)
        url = reverse("wizard:step", args=[automation.pk, new_key])
        context.update(
            _editor_context(request, automation),
            step=saved_step,
            place=None,
            saved=True,
            form_url=url,
            **_suggestion_context(automation, new_key, None),
        )
        if "test" in request.POST:
            context["test"] = _test_step(automation, new_key)
        return _saved_panel(request, "automations/panels/step.html", context, url)
    return _panel(request, "automations/panels/step.html", context)


def _localize_help(form: ConfigForm, keys: dict[str, str]) -> None:
    """Help texts name this automation's step keys, not the templates' examples."""
    if not keys:
        return
    for field in form.fields.values():
        if field.help_text:
            field.help_text = _STEP_REFERENCE.sub(
                lambda m: m[1] + keys.get(m[2], m[2]), field.help_text
            )


_STEP_REFERENCE = re.compile(r"(\bsteps\.)([A-Za-z_][A-Za-z0-9_]*)")


def _suggestion_context(automation: Automation, before: str | None) -> dict[str, Any]:
    rows = services.data_suggestions(automation=automation, before=before)
    return {"suggestions": rows, "suggestion_groups": _group_suggestions(automation, before, rows)}


def _place_in(steps: list[Any], step, place: dict[str, Any] | None) -> tuple[list[Any], int, str]:
    """The list of the definition's tree a step is written to, its index there and its
    JSON path: where a saved step sits, or the end of the list a new one goes to."""
    if step is not None:
        found = documents.step_place(steps, step.key)
        if found is None:
            raise Http404("No such step.")
        return found
    if place is None:
        return steps, len(steps), f"steps[{len(steps)}]"
    found = documents.branch_place(steps, place["parent"].key, place["branch"])
    if found is None:
        raise Http404("No such branch or loop.")
    items, path = found
    return items, len(items), f"{path}[{len(items)}]"


def _suggestion_context(
    automation: Automation, before: str | None, place: dict[str, Any] | None
) -> dict[str, Any]:
    where = {"parent": place["parent"].key, "branch": place["branch"]} if place else {}
    rows = services.data_suggestions(automation=automation, before=before, **where)
    scope = selectors.step_scope_of(automation=automation, before=before, **where)
    return {"suggestions": rows, "suggestion_groups": _group_suggestions(scope, rows)}


def _group_suggestions(scope, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per source (the trigger, each step it may name by name and key, the loop around
    it): its references, or a hint when it has no sample yet."""
    groups = [{"title": "Trigger", "root": "trigger", "items": []}]
    for step in scope.earlier:
        groups.append({"title": step.name or step.key, "root": f"steps.{step.key}", "items": []})
    if scope.loops:
        title = f"Loop: {scope.loops[-1].name or scope.loops[-1].key}"
        groups.append({"title": title, "root": "loop", "items": []})
    by_root = {g["root"]: g for g in groups}
    for row in rows:
        path = row["path"]
        if path.startswith("steps."):
            root = ".".join(path.split(".")[:2])
        else:
            root = "loop" if path.startswith("loop.") else "trigger"
        if root in by_root:
            by_root[root]["items"].append(row)
    for group in groups:
        tested = "the trigger" if group["root"] == "trigger" else "this step"
        group["reference"] = f"{{{{ {group['root']} }}}}"
        group["hint"] = "" if group["items"] else f"Test {tested} to see each of its values."
    return groups


def _test_step(automation: Automation, key: str) -> dict[str, Any]:
    try:
        execution = services.step_test(automation=automation, key=key)
    except ValidationError as exc:
        return {"error": " ".join(exc.messages)}
    # The step's own run (a branch or loop under test also logs the steps it holds).
    run = execution.step_runs.filter(step_key=key).first()
    return {
        "error": run.error if run and run.error else execution.error,
        "output": json.dumps(run.output, indent=2, ensure_ascii=False)
        if run and not run.error
        else None,
        "execution": execution,
    }


@login_required
def lookup_options(request: HttpRequest, pk: int, connector_key: str, name: str) -> HttpResponse:
    """<option>s for a lookup field, fetched live with the account chosen in the form."""
    automation = _automation_for(request, pk, action=Action.USE_ACCOUNTS)
    connector = _connector_or_none(connector_key)
    account_id = _int(request.GET.get("account"))
    if connector is None or account_id is None:
        return render(
            request, "automations/panels/options.html", {"message": "Choose an account first."}
        )
    account = account_selectors.account_get(team=automation.project.team, pk=account_id)
    if account.connector != connector.key:
        raise Http404("No such account.")
    # A reference (``{{ steps.x.uid }}``) has no value until a run: never send it as one.
    params = {
        key: value
        for key, value in request.GET.items()
        if key != "account" and not is_reference(value)
    }
    try:
        choices = connector.lookup(name, account.credentials(), params)
    except ConnectorError as exc:
        return render(request, "automations/panels/options.html", {"message": exc.message})
    return render(request, "automations/panels/options.html", {"choices": choices})


@login_required
@require_POST
def trigger_test(request: HttpRequest, pk: int) -> HttpResponse:
    automation = _automation_for(request, pk, write=True)
    try:
        sample = services.automation_test_trigger(automation=automation)
    except ValidationError as exc:
        return render(
            request, "automations/panels/test_result.html", {"error": "; ".join(exc.messages)}
        )
    return render(
        request, "automations/panels/test_result.html", {"output": json.dumps(sample, indent=2)}
    )


@login_required
@require_POST
def step_test(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    automation = _automation_for(request, pk, write=True)
    return render(request, "automations/panels/test_result.html", _test_step(automation, key))


@login_required
def step_delete(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """Asks first (a page that works without JavaScript); deletes on its POST."""
    automation = _automation_for(request, pk, write=True)
    step = automation.steps.filter(key=key).first()
    if step is None:
        raise Http404("No such step.")
    if request.method != "POST":
        return render(
            request,
            "automations/confirm_delete.html",
            {
                "automation": automation,
                "what": f"the step {step.name or step.key!r} ({step.key})"
                + _held_note(automation, step),
                "cancel": reverse("wizard:step", args=[pk, key]),
            },
        )
    definition = documents.automation_definition(automation)
    items, index, _ = _place_in(definition["steps"], step, None)
    del items[index]
    try:
        services.automation_update(
            automation=automation,
            data={"steps": definition["steps"]},
            partial=True,
            actor=request.user,
        )
    except ValidationError as exc:
        _flash_errors(request, exc, definition)
    return redirect("wizard:editor", pk=pk)


def _held_note(automation: Automation, step) -> str:
    """A branch or loop is deleted with the steps it holds: say how many."""
    definition = documents.automation_definition(automation)
    items, index, _ = _place_in(definition["steps"], step, None)
    held = sum(1 for _ in documents.walk_steps([items[index]])) - 1
    if not held:
        return ""
    return f" and the {held} step{'s' if held > 1 else ''} inside it"


def _flash_errors(request: HttpRequest, exc: ValidationError, data: dict[str, Any]) -> None:
    for line in definitions.describe_errors(exc.message_dict, data):
        messages.error(request, line)


@login_required
@require_POST
def switch(request: HttpRequest, pk: int, on: bool) -> HttpResponse:
    """Activate / Deactivate, then back to the automation page (post/redirect/get: a
    reload never posts again). A parent whose sub automations are off is refused with
    their names, and the page offers to activate them together."""
    automation = _automation_for(request, pk, write=True)
    try:
        if on and request.POST.get("together"):
            activated = services.automation_activate_together(
                automation=automation, actor=request.user
            )
            names = ", ".join(a.name for a in activated)
            messages.success(request, f"Activated {names}.")
        elif on:
            services.automation_activate(automation=automation, actor=request.user)
        else:
            services.automation_deactivate(automation=automation, actor=request.user)
    except ValidationError as exc:
        _flash_errors(request, exc, documents.automation_definition(automation))
    # The Automations page switches too, and comes back to itself.
    return redirect(safe_next(request, reverse("wizard:editor", args=[pk])))


@login_required
def automation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    automation = _automation_for(request, pk, write=True)
    if request.method != "POST":
        return render(
            request,
            "automations/confirm_delete.html",
            {
                "automation": automation,
                "what": f"the automation {automation.name!r}",
                "cancel": reverse("wizard:editor", args=[pk]),
            },
        )
    try:
        services.automation_delete(automation=automation, actor=request.user)
    except ValidationError as exc:
        _flash_errors(request, exc, documents.automation_definition(automation))
        return redirect("wizard:editor", pk=pk)
    messages.success(request, f"Deleted {automation.name}.")
    return redirect("wizard:dashboard")


@login_required
@require_POST
def step_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """New step order: ``order`` lists every top-level key (drag and drop), or ``move``
    is ``<key>:up`` / ``<key>:down`` (the buttons, for the keyboard), which moves a step
    within its own list: the top level, a branch or a loop. References are checked like
    any save: a step cannot end up before a step it uses."""
    automation = _automation_for(request, pk, write=True)
    steps = documents.automation_definition(automation)["steps"]
    move_key, _, direction = request.POST.get("move", "").partition(":")
    if direction in ("up", "down") and _move_in_list(steps, move_key, direction):
        reordered = steps
    else:
        order = [k for k in request.POST.get("order", "").split(",") if k]
        if sorted(order) != sorted(s["key"] for s in steps):
            messages.error(request, "The new order must list every step once.")
            return redirect("wizard:editor", pk=pk)
        by_key = {s["key"]: s for s in steps}
        reordered = [by_key[k] for k in order]
    try:
        services.automation_update(
            automation=automation, data={"steps": reordered}, partial=True, actor=request.user
        )
    except ValidationError as exc:
        data = {**documents.automation_definition(automation), "steps": reordered}
        _flash_errors(request, exc, data)
    return redirect("wizard:editor", pk=pk)


def _move_in_list(steps: list[dict[str, Any]], key: str, direction: str) -> bool:
    """Swap the step ``key`` with its neighbour in the list that holds it (its first
    stays first, its last last); False when no list holds it."""
    for i, step in enumerate(steps):
        if step["key"] == key:
            j = i - 1 if direction == "up" else i + 1
            if 0 <= j < len(steps):
                steps[i], steps[j] = steps[j], steps[i]
            return True
        for name in documents.LISTS:
            if isinstance(step.get(name), list) and _move_in_list(step[name], key, direction):
                return True
    return False


@login_required
def account_new(request: HttpRequest, pk: int, connector_key: str) -> HttpResponse:
    """+ Add New Account: the Authorize form of a connector, from its account fields."""
    automation = _automation_for(request, pk, action=Action.MANAGE_ACCOUNTS)
    connector = _connector_or_none(connector_key)
    if connector is None or not connector.account_fields:
        raise Http404("No such connector.")
    form = ConfigForm(connector.account_fields, request.POST or None, config={})
    context = {
        "automation": automation,
        "connector": connector,
        "form": form,
        "title": request.POST.get("title", ""),
        "next": safe_next(request, reverse("wizard:editor", args=[pk])),
    }
    if request.method == "POST" and form.is_valid():
        try:
            account = account_services.account_create(
                team=automation.project.team,
                connector=connector.key,
                title=request.POST.get("title", ""),
                credentials=form.config(),
                created_by=request.user,
            )
        except ValidationError as exc:
            rest = add_path_errors(form, exc.message_dict, "credentials")
            context["errors"] = [m for messages in rest.values() for m in messages]
            return render(request, "automations/account_new.html", context, status=400)
        return redirect(with_account(context["next"], account.pk))
    return render(request, "automations/account_new.html", context)


@login_required
def executions(request: HttpRequest, pk: int) -> HttpResponse:
    automation = _automation_for(request, pk)
    rows = selectors.execution_list(
        team=automation.project.team, automation_id=pk, top_level_only=True
    )
    context = {"automation": automation, "page": log_page(rows, request.GET)}
    return render(request, "automations/executions.html", context)


@login_required
@require_POST
def execution_retry(request: HttpRequest, pk: int) -> HttpResponse:
    found = Automation.objects.filter(executions__pk=pk).select_related("project__team").first()
    if found is None:
        raise Http404("No such execution.")
    roles.require(_membership(request, found.project.team).role, Action.RUN)
    execution = selectors.execution_get(team=found.project.team, pk=pk)
    try:
        retry, _ = services.execution_retry(execution=execution, actor=request.user)
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    return redirect("wizard:execution", pk=retry.pk)


@login_required
def execution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = Automation.objects.filter(executions__pk=pk).select_related("project__team").first()
    if found is None:
        raise Http404("No such execution.")
    role = _membership(request, found.project.team).role
    execution = selectors.execution_get(team=found.project.team, pk=pk)
    runs = log_entries(list(execution.step_runs.all()))
    context = {"execution": execution, "runs": runs, "can": roles.abilities(role)}
    return render(request, "automations/execution.html", context)
