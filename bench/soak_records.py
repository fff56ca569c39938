"""The soak's look at the database (bench/soak.py): the automations it drives, and the
count at the end. Imported once Django is set up with the platform's environment."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.db import close_old_connections

from accounts.services import team_create
from automations import services
from automations.models import FINISHED, Execution
from bench.soak_load import Delivery
from bench.soak_platform import Service

STOPPED = "The worker stopped during step"


def _request(key: str, method: str, url: str, d: str) -> dict[str, Any]:
    """An HTTP request step; the delivery id travels in the URL (the stand-in counts by
    it) and, for a POST, in the body."""
    config = {"method": method, "url": f"{url}?d={{{{ {d} }}}}"}
    if method == "POST":
        config["body"] = {"d": f"{{{{ {d} }}}}"}
    return {"key": key, "connector": "http", "action": "request", "config": config}


def _reply(d: str) -> dict[str, Any]:
    return {
        "key": "reply",
        "connector": "response",
        "action": "respond",
        "config": {"status": 200, "body": {"d": f"{{{{ {d} }}}}"}},
    }


def create_automations(service: Service) -> dict[str, str]:
    """Two teams: one with the sync and queued webhooks, one with the parent and its
    child. The webhook token of each kind."""
    owner = get_user_model().objects.create_user("soak")
    first = services.project_create(team=team_create(name="Soak A", owner=owner), name="Soak")
    second = services.project_create(team=team_create(name="Soak B", owner=owner), name="Soak")
    url, d = service.url, "trigger.body.d"

    def active(project, name: str, trigger: dict[str, Any], steps: list[dict]) -> str:
        data = {"name": name, "description": "", "trigger": trigger, "steps": steps}
        automation = services.automation_create(project=project, data=data)
        return services.automation_activate(automation=automation).webhook_token

    webhook = {"connector": "http", "trigger": "request", "config": {"method": "POST"}}
    called = {
        "connector": "sub_automation",
        "trigger": "called",
        "config": {
            "description": "Tells the service",
            "schema": [{"key": "d", "type": "string", "required": True, "description": ""}],
        },
    }
    active(
        second,
        "Child",
        called,
        [_request("tell", "POST", url + "/child", "trigger.d"), _reply("trigger.d")],
    )
    call = {
        "key": "call",
        "connector": "sub_automation",
        "action": "run",
        "config": {"sub_automation": "Child", "arguments": {"d": f"{{{{ {d} }}}}"}},
    }
    return {
        "sync": active(first, "Sync", webhook, [_reply(d)]),
        "queued": active(
            first,
            "Queued",
            webhook,
            [
                _request("read", "GET", url + "/read", d),
                _request("write", "POST", url + "/write", d),
            ],
        ),
        "parent": active(second, "Parent", webhook, [call]),
    }


def unfinished() -> int:
    return Execution.objects.exclude(status__in=FINISHED).count()


def drain(seconds: float) -> float:
    """Wait until nothing is queued or running; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        close_old_connections()
        if unfinished() == 0:
            break
        time.sleep(1.0)
    return round(time.monotonic() - start, 1)


# The side effect of each kind of run, as the stand-in counts it (method, path).
EFFECTS = {"queued": ("POST", "/write"), "parent": ("POST", "/child")}


class Problems:
    """Deliveries found lost, duplicated or unexplained, one reason each at most."""

    def __init__(self) -> None:
        self.found: dict[str, dict[str, str]] = {"lost": {}, "duplicated": {}, "unexplained": {}}

    def add(self, kind: str, delivery: Delivery, reason: str) -> None:
        self.found[kind].setdefault(delivery.d, f"{delivery.d} ({delivery.kind}): {reason}")

    def counts(self) -> dict[str, int]:
        return {kind: len(found) for kind, found in self.found.items()}

    def examples(self, limit: int = 20) -> dict[str, list[str]]:
        return {kind: list(found.values())[:limit] for kind, found in self.found.items() if found}


def count(deliveries: list[Delivery], service: Service) -> dict[str, Any]:
    runs_of: dict[str, list[dict]] = {}
    rows = Execution.objects.filter(parent__isnull=True).values(
        "pk", "status", "error", "trigger_output__body__d"
    )
    for row in rows:
        runs_of.setdefault(row["trigger_output__body__d"], []).append(row)
    problems = Problems()
    finished: Counter[str] = Counter()
    interrupted = 0
    for delivery in deliveries:
        runs = runs_of.get(delivery.d, [])
        effect = EFFECTS.get(delivery.kind)
        effects = service.calls[(*effect, delivery.d)] if effect else None
        if effects is not None and effects > 1:
            problems.add("duplicated", delivery, f"side effect made {effects} times")
        if len(runs) > 1:
            problems.add("duplicated", delivery, f"executions {[r['pk'] for r in runs]}")
        if delivery.outcome != "accepted":
            if delivery.outcome == "error" or runs:
                ran = f"; it ran as {[r['pk'] for r in runs]}" if runs else ""
                problems.add("unexplained", delivery, f"{delivery.outcome}, {delivery.detail}{ran}")
            continue
        if delivery.detail:
            problems.add("unexplained", delivery, delivery.detail)
        if not runs:
            problems.add("lost", delivery, "accepted, no execution")
            continue
        run = runs[0]
        if delivery.execution_id not in (None, *(r["pk"] for r in runs)):
            problems.add(
                "unexplained", delivery, f"answered {delivery.execution_id}, ran {run['pk']}"
            )
        if run["status"] not in FINISHED:
            problems.add("lost", delivery, f"execution {run['pk']} is still {run['status']}")
            continue
        finished[run["status"]] += 1
        if run["status"] == "failed" and run["error"].startswith(STOPPED):
            interrupted += 1
        elif run["status"] != "succeeded":
            problems.add("unexplained", delivery, f"{run['status']}: {run['error'][:200]}")
        elif effects == 0:
            problems.add("unexplained", delivery, "succeeded without its side effect")
    accepted = Counter(d.kind for d in deliveries if d.outcome == "accepted")
    children = Execution.objects.filter(parent__isnull=False).values_list("status", flat=True)
    return {
        "sent": len(deliveries),
        "requests": sum(d.attempts for d in deliveries),
        "refused_503": sum(d.answers.count(503) for d in deliveries),
        "never_accepted": sum(1 for d in deliveries if d.outcome == "refused"),
        "accepted": sum(accepted.values()),
        "accepted_by_kind": dict(accepted),
        "finished": dict(finished),
        "interrupted": interrupted,
        **problems.counts(),
        "stuck": unfinished(),
        "children": dict(Counter(children)),
        "repeated_reads": sum(
            1 for (_, path, _), n in service.calls.items() if path == "/read" and n > 1
        ),
        "examples": problems.examples(),
    }
