"""Issue 9, item 7: runs a caller waits for stop at SYNC_RESPONSE_TIMEOUT.

The run API's ``wait`` uses the webhooks' limit: at the limit the caller gets 504 with
the execution id and the execution is marked timed out. Through the real gunicorn (its
gunicorn.conf.py: threads, a worker timeout above the limit) a webhook answers the same
504 while other requests are served meanwhile.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest

from accounts.tokens import token_create
from automations import services
from automations.models import Automation, Execution, Status
from tests.automations.factories import make_project
from tests.security.gunicorn import gunicorn, send_raw
from tests.standins.server import Reply, Routes

pytestmark = pytest.mark.django_db


def _slow_responder(team, url: str) -> Automation:
    automation = services.automation_create(
        project=make_project(team),
        data={
            "name": "Slow answer",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [
                {
                    "key": "slow",
                    "connector": "http",
                    "action": "request",
                    "config": {"method": "GET", "url": url},
                },
                {
                    "key": "reply",
                    "connector": "response",
                    "action": "respond",
                    "config": {"body": "done"},
                },
            ],
        },
    )
    return services.automation_activate(automation=automation)


def test_a_wait_run_answers_504_with_the_execution_id_at_the_limit(api, team, settings):
    settings.SYNC_RESPONSE_TIMEOUT = 0.5
    with Routes({("GET", "/slow"): Reply(200, "late", delay=5)}) as server:
        automation = _slow_responder(team, server.url + "/slow")
        started = time.monotonic()
        response = api.post(
            f"/api/v1/automations/{automation.pk}/run/", {"wait": True}, format="json"
        )
        took = time.monotonic() - started
    assert response.status_code == 504
    assert took < 5  # answered at the limit, not when the server did
    execution = Execution.objects.get(pk=response.json()["execution_id"])
    assert execution.status == Status.TIMED_OUT
    assert execution.error


def test_a_wait_run_within_the_limit_answers_its_execution(api, team, settings):
    settings.SYNC_RESPONSE_TIMEOUT = 5
    with Routes({("GET", "/slow"): Reply(200, "soon", delay=0.1)}) as server:
        automation = _slow_responder(team, server.url + "/slow")
        response = api.post(
            f"/api/v1/automations/{automation.pk}/run/", {"wait": True}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["status"] == Status.SUCCEEDED


def _post(address: str, path: str, body: Any, headers: dict[str, str] | None = None):
    payload = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return send_raw(
        address,
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n{head}Connection: close\r\n\r\n"
        ).encode()
        + payload,
    )


def _get_json(address: str, path: str, token: str) -> dict:
    request = urllib.request.Request(
        f"http://{address}{path}", headers={"Authorization": f"Token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - a local URL
        return json.loads(answer.read())


def wait_for(check, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_answers_504_at_the_limit_and_serves_others_meanwhile(owner, team, tmp_path):
    with Routes({("GET", "/slow"): Reply(200, "late", delay=5)}) as slow:
        automation = _slow_responder(team, slow.url + "/slow")
        _, token = token_create(user=owner, name="bench")
        auth = {"Authorization": f"Token {token}"}
        with gunicorn(tmp_path, "-c", "gunicorn.conf.py", SYNC_RESPONSE_TIMEOUT="2") as address:
            answers: dict[str, tuple] = {}
            calls = {
                "hook": lambda: _post(address, f"/hooks/{automation.webhook_token}/", {}),
                "run": lambda: _post(
                    address, f"/api/v1/automations/{automation.pk}/run/", {"wait": True}, auth
                ),
            }
            threads = [
                threading.Thread(target=lambda n=name, c=call: answers.__setitem__(n, c()))
                for name, call in calls.items()
            ]
            for thread in threads:
                thread.start()
            wait_for(lambda: len(slow.received) == 2)
            # Both slow runs are waiting on the outside server; the worker still serves.
            with urllib.request.urlopen(f"http://{address}/healthz", timeout=5) as health:  # noqa: S310
                assert health.status == 200
            assert all(thread.is_alive() for thread in threads)
            for thread in threads:
                thread.join()
            for name in calls:
                status, headers, body = answers[name]
                assert status == 504, (name, body)
                assert headers["content-type"].startswith("application/json")
                execution_id = json.loads(body)["execution_id"]
                shown = _get_json(address, f"/api/v1/executions/{execution_id}/", token)
                assert shown["status"] == Status.TIMED_OUT, name
