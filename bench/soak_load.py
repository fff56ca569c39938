"""The soak's client (bench/soak.py): paced webhook senders, one per kind of run, and a
retrier for deliveries answered 503, all recorded."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

KINDS = ("sync", "queued", "parent")
# A 503's Retry-After is honoured up to this (the soak is bounded in time), and a
# delivery is offered this many times at most.
MAX_RETRY_AFTER = 10.0
MAX_ATTEMPTS = 20


@dataclass
class Delivery:
    d: str
    kind: str
    attempts: int = 0
    answers: list[int] = field(default_factory=list)
    outcome: str = "pending"  # accepted, refused (503 every time), error
    execution_id: int | None = None
    detail: str = ""


class Load:
    """The client: paced senders per kind, and a retrier for refused deliveries."""

    def __init__(self, base_url: str, tokens: dict[str, str], rate: float) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.rate = rate
        self.deliveries: list[Delivery] = []
        self.retries: list[tuple[float, Delivery]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def send(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        url = f"{self.base_url}/hooks/{self.tokens[delivery.kind]}/"
        try:
            answer = self._session().post(url, json={"d": delivery.d}, timeout=60)
        except requests.RequestException as exc:
            # No answer: the delivery may or may not have been taken. Not retried, so
            # that a second execution always means the platform made two.
            delivery.outcome, delivery.detail = "error", f"no answer: {type(exc).__name__}"
            return
        delivery.answers.append(answer.status_code)
        body = _json(answer)
        if answer.status_code == 503 and delivery.attempts < MAX_ATTEMPTS:
            wait = min(float(answer.headers.get("Retry-After") or 1), MAX_RETRY_AFTER)
            with self.lock:
                self.retries.append((time.monotonic() + wait, delivery))
            delivery.outcome = "refused"
            return
        expected = 200 if delivery.kind == "sync" else 202
        if answer.status_code == expected:
            delivery.outcome = "accepted"
            delivery.execution_id = body.get("execution_id")
            if delivery.kind == "sync" and body != {"d": delivery.d}:
                delivery.detail = f"answered {body!r}"
        elif answer.status_code in (502, 504) and body.get("execution_id"):
            delivery.outcome, delivery.execution_id = "accepted", body["execution_id"]
            delivery.detail = f"{answer.status_code}: {body.get('error')}"
        else:
            delivery.outcome = "error"
            delivery.detail = f"{answer.status_code}: {answer.text[:200]}"

    def sender(self, kind: str, seconds: float) -> None:
        start, sent = time.monotonic(), 0
        while not self.stop.is_set() and time.monotonic() - start < seconds:
            delivery = Delivery(d=f"{kind[0]}{sent}-{secrets.token_hex(4)}", kind=kind)
            with self.lock:
                self.deliveries.append(delivery)
            self.send(delivery)
            sent += 1
            pause = start + sent / self.rate - time.monotonic()
            if pause > 0:
                self.stop.wait(pause)

    def retrier(self) -> None:
        while True:
            with self.lock:
                due = [item for item in self.retries if item[0] <= time.monotonic()]
                self.retries = [item for item in self.retries if item[0] > time.monotonic()]
                waiting = bool(self.retries)
            for _, delivery in due:
                self.send(delivery)
            if self.stop.is_set() and not due and not waiting:
                return
            time.sleep(0.2)

    def run(self, seconds: float) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self.sender, args=(kind, seconds), name=f"send-{kind}")
            for kind in KINDS
        ]
        threads.append(threading.Thread(target=self.retrier, name="retry"))
        for thread in threads:
            thread.start()
        return threads


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
