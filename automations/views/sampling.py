"""Test Trigger with a real request: wait for the next call of the webhook URL (the
panel polls with htmx until it arrives or the wait ends), or paste a sample body."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from automations import selectors, services
from automations.models import Automation
from automations.views.access import automation_for, role_in

TEMPLATE = "automations/panels/_listen.html"


def _context(request: HttpRequest, automation: Automation, **extra: Any) -> dict[str, Any]:
    role = role_in(request, automation.project.team)
    sample = automation.trigger_sample
    return {
        "automation": automation,
        "webhook_url": selectors.webhook_url_for(automation, role=role, request=request),
        "listening": services.listening(automation),
        "sample": json.dumps(sample, indent=2, ensure_ascii=False) if sample is not None else "",
        **extra,
    }


def _answer(request: HttpRequest, automation: Automation, **extra: Any) -> HttpResponse:
    if not request.htmx:
        return redirect("wizard:trigger", pk=automation.pk)
    return render(request, TEMPLATE, _context(request, automation, **extra))


@login_required
def listen(request: HttpRequest, pk: int) -> HttpResponse:
    """POST starts waiting; GET is the poll, which answers the sample once it came."""
    automation = automation_for(request, pk, write=True)
    if request.method == "POST":
        try:
            automation = services.trigger_listen(automation=automation)
        except ValidationError as exc:
            return _answer(request, automation, errors=exc.messages)
        return _answer(request, automation)
    if not request.htmx:
        return redirect("wizard:trigger", pk=automation.pk)
    listening = services.listening(automation)
    arrived = automation.listening_until is None and request.GET.get("waiting") == "1"
    return render(
        request,
        TEMPLATE,
        _context(request, automation, arrived=arrived, expired=not listening and not arrived),
    )


@login_required
@require_POST
def listen_stop(request: HttpRequest, pk: int) -> HttpResponse:
    automation = automation_for(request, pk, write=True)
    automation = services.trigger_listen_stop(automation=automation)
    return _answer(request, automation)


@login_required
@require_POST
def sample_paste(request: HttpRequest, pk: int) -> HttpResponse:
    automation = automation_for(request, pk, write=True)
    body = request.POST.get("sample", "")
    try:
        services.trigger_sample_paste(automation=automation, body=body)
    except ValidationError as exc:
        return _answer(request, automation, errors=exc.messages, pasted=body)
    return _answer(request, automation, pasted_saved=True)
