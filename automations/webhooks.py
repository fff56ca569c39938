"""Inbound webhooks: an HTTP request becomes a trigger event and, if it passes, a run.

Every refusal answers with a JSON error and a precise status, and none of them creates
an execution: unknown token 404, inactive 409, wrong key 401, too large 413, bad JSON
400, wrong method 405. While Test Trigger waits for a request (``listening_until``),
the next one that passes the same checks, even to an inactive automation, becomes the
trigger sample and is answered ``{"status": "sampled"}``: it starts nothing.
``automations.middleware.HooksMiddleware`` adds what every answer
under /hooks/ carries (its sandbox headers, the hooks host, a 503 when the database is
down).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import HttpHeaders
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts import selectors as account_selectors
from automations import services
from automations.engine import inserts
from automations.engine.conditions import conditions_hold
from automations.engine.plans import forget_token, plan_cached, plan_for_token
from automations.engine.recorder import redact, secret_values
from automations.engine.runner import Plan
from automations.engine.start import answer_inline
from automations.models import DeliveryReceipt, Execution, Status
from connectors import jsondata, registry
from connectors.base import EventIgnored, InboundEvent, Trigger, TriggerRejected

logger = logging.getLogger(__name__)


def error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def read_event(request: HttpRequest) -> InboundEvent | JsonResponse:
    """The request as an InboundEvent, or a 413 when its body is too large."""
    limit = settings.MAX_WEBHOOK_BODY
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return error(413, f"The body is larger than {limit} bytes.")
    body = _read_body(request, limit)
    if len(body) > limit:
        return error(413, f"The body is larger than {limit} bytes.")
    query: dict[str, Any] = {}
    if request.META.get("QUERY_STRING"):
        for key, values in request.GET.lists():
            query[key] = values[0] if len(values) == 1 else values
    headers = {}
    for key, value in request.META.items():
        if name := _header_name(key):
            headers[name] = value
    return InboundEvent(
        method=request.method or "GET",
        headers=headers,
        query=query,
        body=body,
        content_type=request.content_type or "",
    )


@lru_cache(maxsize=512)
def _header_name(key: str) -> str | None:
    """A request header's name as the trigger sees it (``x-signature``), from its WSGI
    environ key, as ``request.headers`` names it (lower case): once per distinct key,
    where request.headers parsed every key of every request and then was read once."""
    name = HttpHeaders.parse_header_name(key)
    return name.lower() if name else None


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the body. A chunked body has no Content-Length, and
    Django then reads nothing; a server that ends the input itself (gunicorn; the WSGI
    flag wsgi.input_terminated) lets it be read to its end."""
    if request.META.get("CONTENT_LENGTH") or not request.META.get("wsgi.input_terminated"):
        return request.read(limit + 1)
    stream, chunks, size = request.META["wsgi.input"], [], 0
    while size <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def accept_event(
    plan: Plan, trigger: Trigger, event: InboundEvent, *, sampling: bool = False
) -> dict[str, Any] | HttpResponse:
    """Run the trigger's checks; the trigger output, or the answer that refuses it.
    ``sampling``: Test Trigger is waiting for this event, so an inactive automation
    takes it too (as its sample; see receive)."""
    automation = plan.automation
    if not automation.active and not sampling:
        return error(409, f"The automation {automation.name!r} is not active.")
    try:
        account = account_selectors.account_for_run(
            team_id=automation.project.team_id, pk=automation.trigger_account_id
        )
    except account_selectors.AccountOfAnotherTeam as exc:
        return error(409, exc.message)
    credentials = account.credentials() if account else {}
    secrets = automation.get_secrets()
    try:
        output = trigger.accept(event, automation.trigger_config, secrets, credentials)
    except TriggerRejected as exc:
        return error(exc.status, exc.message)
    except EventIgnored as exc:
        return JsonResponse({"status": "ignored", "reason": str(exc)})
    try:
        # A query, a header or a text body may hold what the log cannot store.
        jsondata.check(output)
    except jsondata.Unstorable as exc:
        return error(400, str(exc))
    # A caller may repeat the trigger's secret anywhere (a body field, another header):
    # the stored, shown and run trigger output never holds it.
    return redact(output, secret_values(list(secrets.values())))


def _first_delivery(plan: Plan, trigger: Trigger, output: dict[str, Any]) -> bool:
    key = trigger.delivery_key(output)
    if key is None:
        return True
    try:
        with transaction.atomic():
            DeliveryReceipt.objects.create(automation=plan.automation, key=key[:255])
    except IntegrityError:
        return False
    return True


DUPLICATE = {"status": "duplicate", "reason": "This event was received before."}


def start(plan: Plan, trigger: Trigger, output: dict[str, Any]) -> HttpResponse:
    """Start the run for an accepted event: inline with a Response step, else queued."""
    automation = plan.automation
    if not conditions_hold(automation.trigger_conditions, output):
        return JsonResponse({"status": "skipped", "reason": "The trigger conditions were not met."})
    if not plan.responds:
        # The receipt and the execution are committed together, and the task is sent
        # after the commit: no receipt without its run, no run sent before it exists.
        # A broker that is down leaves the run queued for the dispatcher (202 all the same).
        with transaction.atomic():
            if not _first_delivery(plan, trigger, output):
                return JsonResponse(DUPLICATE)
            execution = services.execution_enqueue(automation=automation, trigger_output=output)
        return JsonResponse({"execution_id": execution.pk, "status": "queued"}, status=202)
    execution = None
    if trigger.delivery_key(output) is not None:
        # A service that delivers again may be told "duplicate" only once this event has
        # its execution: receipt and execution are committed together, so a web process
        # that dies mid-run leaves a running execution for recovery, never a receipt alone.
        with transaction.atomic():
            if not _first_delivery(plan, trigger, output):
                return JsonResponse(DUPLICATE)
            execution = Execution.objects.create(
                automation=automation, status=Status.RUNNING, trigger_output=output,
                started_at=timezone.now(),
            )  # fmt: skip
    execution, answer = answer_inline(
        plan, output, timeout=settings.SYNC_RESPONSE_TIMEOUT, execution=execution
    )
    return _answer(execution, answer)


def _answer(execution: Execution, answer: Any) -> HttpResponse:
    if execution.status == Status.TIMED_OUT:
        return error(504, execution.error or "The run took too long.", execution_id=execution.pk)
    if execution.status != Status.SUCCEEDED or answer is None:
        return error(502, execution.error or "The run failed.", execution_id=execution.pk)
    return build_response(answer)


def build_response(answer: dict[str, Any]) -> HttpResponse:
    """The Response step's answer. Its headers passed the action's checks before the
    step succeeded (no cookies, policies or hop-by-hop headers, no line breaks)."""
    body = answer.get("body")
    if isinstance(body, str):
        response = HttpResponse(body, status=answer.get("status", 200))
        response["Content-Type"] = "text/plain; charset=utf-8"
    else:
        response = JsonResponse(body, status=answer.get("status", 200), safe=False)
    for name, value in (answer.get("headers") or {}).items():
        response[name] = value
    return response


def receive(request: HttpRequest, token: str, delivery: str) -> HttpResponse:
    """An inbound event for the automation whose token this is, if its trigger takes
    deliveries of this kind."""
    event = None
    cached = plan_cached(token) if inserts.supported() else None
    trigger = _trigger(cached) if cached else None
    if trigger is not None and trigger.delivery == delivery:
        event = read_event(request)
        answer = _start_unverified(cached, trigger, event)
        if answer is not None:
            return answer
    # No cached plan, or an outcome that must rest on a fresh one: read the version.
    plan = plan_for_token(token)
    trigger = _trigger(plan) if plan else None
    if trigger is None or trigger.delivery != delivery:
        return error(404, "There is no webhook at this address.")
    if event is None:
        event = read_event(request)
    if isinstance(event, HttpResponse):
        return event
    sampling = services.listening(plan.automation)
    output = accept_event(plan, trigger, event, sampling=sampling)
    if isinstance(output, HttpResponse):
        return output
    if sampling:
        if services.trigger_sample_take(automation_id=plan.automation.pk, output=output):
            return JsonResponse({"status": "sampled"})
        # Another request was the sample a moment ago: this one is an ordinary event.
        if not plan.automation.active:
            return error(409, f"The automation {plan.automation.name!r} is not active.")
    return start(plan, trigger, output)


def _start_unverified(
    plan: Plan, trigger: Trigger, event: InboundEvent | HttpResponse
) -> HttpResponse | None:
    """The answer to an event run with a cached plan whose freshness only the insert of
    its execution confirms (engine/plans.py), or None when the plan must be read fresh
    first: it was stale, or the answer would rest on it without a write confirming it
    (a refusal, skipped conditions, a delivery receipt)."""
    if isinstance(event, HttpResponse):
        return None
    automation = plan.automation
    try:
        output = accept_event(plan, trigger, event)
        if isinstance(output, HttpResponse) or trigger.delivery_key(output) is not None:
            return None
        if not conditions_hold(automation.trigger_conditions, output):
            return None
    except Exception:
        # A stale plan may fail where a fresh one would not (secrets encrypted with a
        # key since dropped): the fresh plan decides, and raises if it fails too.
        return None
    try:
        if not plan.responds:
            execution = services.execution_enqueue(
                automation=automation, trigger_output=output, unverified=True
            )
            return JsonResponse({"execution_id": execution.pk, "status": "queued"}, status=202)
        execution, answer = answer_inline(
            plan, output, timeout=settings.SYNC_RESPONSE_TIMEOUT, unverified=True
        )
    except inserts.StalePlan:
        forget_token(automation.webhook_token)
        return None
    return _answer(execution, answer)


def _trigger(plan: Plan) -> Trigger | None:
    automation = plan.automation
    try:
        return registry.get(automation.trigger_connector).trigger(automation.trigger_key)
    except (registry.UnknownConnector, KeyError):
        return None


@csrf_exempt
def http_hook(request: HttpRequest, token: str) -> HttpResponse:
    return receive(request, token, "http")


@csrf_exempt
def contentstack_hook(request: HttpRequest, token: str) -> HttpResponse:
    return receive(request, token, "contentstack")
