"""Platform time of use case 1 (HTTP -> Function Calling -> Sub Automation -> Function
Calling Response -> Response) against an OpenAI stand-in that answers at once.

Each webhook request is sent through Django's WSGI handler in this process; the
stand-in records how long it spent on each request it served. Platform time is the
request's wall time less the stand-in's own time (so it includes the SDK, the guarded
HTTP client, three HTTP round trips' client side, the engine and the execution log).
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

from django.test import Client  # noqa: E402

from accounts import services as account_services  # noqa: E402
from automations import services  # noqa: E402
from tests.standins.openai import OpenAIStandIn  # noqa: E402


class TimedStandIn(OpenAIStandIn):
    def __init__(self) -> None:
        super().__init__()
        self.spent = 0.0
        self._spent_lock = threading.Lock()

    def handle(self, request):
        started = time.perf_counter()
        try:
            return super().handle(request)
        finally:
            with self._spent_lock:
                self.spent += time.perf_counter() - started


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
        client = Client(HTTP_HOST="127.0.0.1")
        body = json.dumps({"text": "Good morning"})
        samples = []
        for index in range(requests + 30):
            before = openai.spent
            started = time.perf_counter()
            response = client.post(url, body, content_type="application/json")
            total = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"request failed: {response.status_code} {response.content[:300]}")
            if index >= 30:  # warm-up
                samples.append((total, openai.spent - before))
    platform = sorted((total - spent) * 1000 for total, spent in samples)
    print(
        json.dumps(
            {
                "requests": len(samples),
                "platform_p50_ms": round(statistics.median(platform), 2),
                "platform_p90_ms": round(platform[int(len(platform) * 0.9)], 2),
                "standin_p50_ms": round(statistics.median(s * 1000 for _, s in samples), 2),
                "total_p50_ms": round(statistics.median(t * 1000 for t, _ in samples), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
