"""Platform time of use case 1 (HTTP -> Function Calling -> Sub Automation -> Function
Calling Response -> Response) against an OpenAI stand-in that answers at once.

Each webhook request is handed to Django's WSGI handler in this process, the handler a
WSGI server calls in production (so the connection's health check and the request
signals run as they do there); only the server's socket and HTTP parsing are left out.
The stand-in records how long it spent on each request it served, from the arrival of
its request line to the last byte of its answer (parsing and writing HTTP included).
Platform time is the request's wall time less the stand-in's own time for the three
calls it served (so it includes the SDK, the guarded HTTP client, three HTTP round
trips' client side, the engine, the database and the execution log). The main thread's
CPU time is reported beside it: on a busy machine it moves far less than wall time.
Run by bench/run.py, with the environment that sets the database; prints JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("OUTBOUND_ALLOWLIST", "127.0.0.1")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from accounts import services as account_services  # noqa: E402
from automations import services  # noqa: E402
from tests.standins.openai import OpenAIStandIn  # noqa: E402

CALLS = 3  # stand-in requests per webhook: two by the parent, one by the sub automation
WARM_UP = 30


class Status(list):
    def append_status(self, code: str, headers: list, exc_info: object = None) -> None:
        self.append(code)


class TimedStandIn(OpenAIStandIn):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._times_lock = threading.Lock()

    def served(self, seconds: float) -> None:
        with self._times_lock:
            self.times.append(seconds)

    def spent_on(self, first: int, count: int) -> float:
        """The stand-in's time for requests ``first`` to ``first + count``, once all are
        recorded (its thread records the last one just after the caller has its answer)."""
        deadline = time.monotonic() + 5
        while len(self.times) < first + count:
            if time.monotonic() > deadline:
                raise SystemExit("the stand-in did not record its requests")
            time.sleep(0)
        return sum(self.times[first : first + count])


def main(requests: int = 300) -> None:
    from django.contrib.auth import get_user_model

    with TimedStandIn() as openai:
        openai.tool_to_call = "German_translator"
        user = get_user_model().objects.create_user(f"uc1-{time.time()}")
        team = account_services.team_create(name=f"UC1 {time.time()}", owner=user)
        account = account_services.account_create(
            team=team, connector="chatgpt", title="GPT",
            credentials={"api_key": openai.api_key, "base_url": openai.base_url},
        )  # fmt: skip
        project = services.project_create(team=team, name="Bench")
        created = services.blueprint_use(
            project=project, key="translate_with_function_calling", accounts={"chatgpt": account.pk}
        )
        for automation in created:
            services.automation_activate(automation=automation)
        url = f"/hooks/{created[-1].webhook_token}/"
        handler = WSGIHandler()
        factory = RequestFactory(HTTP_HOST="127.0.0.1")
        body = json.dumps({"text": "Good morning"})
        samples = []
        for index in range(requests + WARM_UP):
            environ = factory.post(url, body, content_type="application/json").environ
            status = Status()
            first = len(openai.times)
            cpu = time.thread_time()
            started = time.perf_counter()
            response = handler(environ, status.append_status)
            content = b"".join(response)
            response.close()  # as a WSGI server does: request_finished
            total = time.perf_counter() - started
            cpu = time.thread_time() - cpu
            if not status[0].startswith("200"):
                raise SystemExit(f"request failed: {status[0]} {content[:300]}")
            spent = openai.spent_on(first, CALLS)
            if len(openai.times) != first + CALLS:
                raise SystemExit(f"expected {CALLS} stand-in calls per webhook")
            if index >= WARM_UP:
                samples.append((total, spent, cpu))
    platform = sorted((total - spent) * 1000 for total, spent, _ in samples)
    print(
        json.dumps(
            {
                "requests": len(samples),
                "platform_p50_ms": round(statistics.median(platform), 2),
                "platform_p90_ms": round(platform[int(len(platform) * 0.9)], 2),
                "standin_p50_ms": round(statistics.median(s * 1000 for _, s, _ in samples), 2),
                "total_p50_ms": round(statistics.median(t * 1000 for t, _, _ in samples), 2),
                "cpu_p50_ms": round(statistics.median(c * 1000 for _, _, c in samples), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
