"""The editor's "On failure" form: e-mail on a failed run, and an error automation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from automations import services
from automations.views.wizard import _automation_for


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@login_required
@require_POST
def on_failure(request: HttpRequest, pk: int) -> HttpResponse:
    automation = _automation_for(request, pk, write=True)
    data = {
        "email": request.POST.get("email") == "on",
        "recipients": [int(v) for v in request.POST.getlist("recipients") if v.isdigit()],
        "automation": _int_or_none(request.POST.get("automation", "")),
    }
    try:
        services.automation_on_failure_set(automation=automation, data=data, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "On failure settings saved.")
    return redirect("wizard:editor", pk=pk)
