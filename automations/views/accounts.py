"""The Accounts page: the team's connected accounts, with their connector, title and
where each is used; admins add, rename, re-enter secrets and delete them
(accounts/roles.py: manage_accounts); editors and viewers read titles."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import ConnectedAccount
from accounts.roles import Action, abilities
from automations import services
from automations.models import Automation, Step
from automations.views.access import team_for
from automations.views.forms import ConfigForm, add_path_errors
from automations.views.redirects import safe_next
from connectors import registry


def _connector(key: str):
    try:
        connector = registry.get(key)
    except registry.UnknownConnector:
        raise Http404("No such connector.") from None
    if not connector.account_fields:
        raise Http404("No such connector.")
    return connector


def _label(key: str) -> str:
    try:
        return registry.get(key).label
    except registry.UnknownConnector:
        return key


def _uses(team) -> dict[int, list[dict[str, Any]]]:
    """Per account id, where it is used: two queries for the whole team."""
    uses: dict[int, list[dict[str, Any]]] = defaultdict(list)
    triggers = Automation.objects.filter(project__team=team, trigger_account__isnull=False)
    for pk, name, account_id in triggers.values_list("pk", "name", "trigger_account_id"):
        uses[account_id].append({"automation_id": pk, "automation": name, "where": "trigger"})
    steps = Step.objects.filter(automation__project__team=team, account__isnull=False)
    rows = steps.order_by("automation__name", "position").values_list(
        "automation_id", "automation__name", "position", "name", "key", "account_id"
    )
    for pk, automation, position, name, key, account_id in rows:
        where = f"step {position + 1} ({name or key})"
        uses[account_id].append({"automation_id": pk, "automation": automation, "where": where})
    return uses


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    team, role = team_for(request)
    uses = _uses(team)
    accounts = []
    for account in account_selectors.account_list(team=team):
        account.connector_label = _label(account.connector)
        account.uses = uses.get(account.pk, [])
        accounts.append(account)
    connectors = [c for c in registry.all_connectors() if c.account_fields]
    context = {"team": team, "accounts": accounts, "connectors": connectors, "can": abilities(role)}
    return render(request, "automations/accounts.html", context)


def _account(request: HttpRequest, pk: int, action: Action) -> ConnectedAccount:
    team, _ = team_for(request, action)
    return account_selectors.account_get(team=team, pk=pk)


def _errors(form: ConfigForm, exc: ValidationError) -> list[str]:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    rest = add_path_errors(form, errors, "credentials")
    return [m for found in rest.values() for m in found]


@login_required
def account_add(request: HttpRequest, connector_key: str) -> HttpResponse:
    """Add an account from the Accounts page; the wizard's + Add New Account comes here
    with ``next`` (the step that asked), which gets the new account chosen."""
    team, _ = team_for(request, Action.MANAGE_ACCOUNTS)
    connector = _connector(connector_key)
    form = ConfigForm(connector.account_fields, request.POST or None, config={})
    context = {
        "connector": connector,
        "form": form,
        "title": request.POST.get("title", ""),
        "next": safe_next(request, reverse("wizard:accounts")),
    }
    if request.method == "POST" and form.is_valid():
        try:
            account = account_services.account_create(
                team=team,
                connector=connector.key,
                title=request.POST.get("title", ""),
                credentials=form.config(),
                created_by=request.user,
            )
        except ValidationError as exc:
            context["errors"] = _errors(form, exc)
            return render(request, "automations/account_new.html", context, status=400)
        messages.success(request, f"Added the account {account.title!r}.")
        return redirect(with_account(context["next"], account.pk))
    return render(request, "automations/account_new.html", context)


def with_account(url: str, pk: int) -> str:
    """The page that asked for an account, told which one was just added."""
    return f"{url}{'&' if '?' in url else '?'}account={pk}"


@login_required
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, or enter the secrets again (blank ones are kept; a new base URL or
    region needs them all again: account_update's rule)."""
    account = _account(request, pk, Action.MANAGE_ACCOUNTS)
    connector = _connector(account.connector)
    posted = request.method == "POST"
    form = ConfigForm(
        connector.account_fields,
        request.POST if posted else None,
        config=account.config,
        has_secrets=account.has_secrets,
    )
    context = {
        "account": account,
        "connector": connector,
        "form": form,
        "title": request.POST.get("title", account.title) if posted else account.title,
    }
    if posted and form.is_valid():
        try:
            account_services.account_update(
                account=account,
                title=request.POST.get("title", ""),
                credentials=form.config(),
                actor=request.user,
            )
        except ValidationError as exc:
            if "title" in getattr(exc, "error_dict", {}):
                context["title_errors"] = exc.message_dict["title"]
            context["errors"] = [
                e for e in _errors(form, exc) if e not in context.get("title_errors", [])
            ]
            account.refresh_from_db()
            return render(request, "automations/account_edit.html", context, status=400)
        messages.success(request, f"Saved the account {account.title!r}.")
        return redirect("wizard:accounts")
    return render(request, "automations/account_edit.html", context)


@login_required
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first, naming the automations that would lose the account (they are
    switched off and need another account before they run again)."""
    account = _account(request, pk, Action.MANAGE_ACCOUNTS)
    used = services.automations_using(account=account)
    if request.method != "POST":
        context = {"account": account, "used": used, "connector_label": _label(account.connector)}
        return render(request, "automations/account_delete.html", context)
    try:
        if used:
            services.account_delete_everywhere(account=account, actor=request.user)
        else:
            account_services.account_delete(account=account, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("wizard:accounts")
    lost = f"; {', '.join(a.name for a in used)} lost it and were switched off" if used else ""
    messages.success(request, f"Deleted the account {account.title!r}{lost}.")
    return redirect("wizard:accounts")
